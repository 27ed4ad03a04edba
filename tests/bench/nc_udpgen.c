/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_udpgen: kernel-free memcached-over-UDP (or over TCP) load generator, a DPDK program.
 *
 * It drives one DPDK port (the first EAL gives it; meant for net_memif as the client of
 * nicached's memif server, so no kernel is on the path), builds its own Ethernet/IPv4/UDP
 * frames with both checksums in software, resolves the server's MAC by ARP and answers ARP
 * for its own address. Requests are memcached text over UDP (frame header: request id,
 * sequence 0 of 1): `get <key>` or `set <key> 0 0 <n>` with keys of exactly --key-size bytes
 * ("key:" + zero-padded number) drawn uniformly from --keys, and values derived from the key,
 * so every hit is checked byte for byte. A closed loop keeps --window requests in flight,
 * each with its own request id; a request unanswered for 100 ms is given up (a timeout) and
 * its reply, if it comes later, ignored. --warm first sets every key once, so every get must
 * hit (a miss then counts as verify_failed). --multiget N (UDP only): every get asks for N
 * keys in one line (the drawn one and the N - 1 after it), each key counted as a get, a hit
 * or a miss. The timed phase lasts --duration seconds (at
 * most 600), then the requests in flight are drained.
 *
 * --proto tcp: the same requests over TCP, through the project's own TCP (lib/tcp, active
 * open; tcpgen_load.c): --conns connections to the server's TCP port (the same --port), each
 * with --window requests pipelined, every reply cut out of the stream and checked byte for
 * byte in order. A stream cannot give a request up: a reply missing for 2 s (or a reset, an
 * EOF, an unparsable stream) fails the connection, its requests counted as timeouts.
 *
 *   nc_udpgen [EAL args] -- [--proto udp|tcp] [--conns N] [--src-ip A] [--dst-ip A]
 *             [--port P] [--keys K] [--key-size B] [--value-size B] [--get-ratio R]
 *             [--window W] [--duration S] [--multiget N] [--warm] [--seed X]
 *
 * Defaults: UDP, 10.88.0.2 -> 10.88.0.1:11211, 10000 keys, 16-byte keys, 32-byte values, get
 * ratio 0.9, window 32 (at most 1024; per connection with TCP), 1 connection (at most 256),
 * 10 s, seed 1. EAL args for nicached's memif profile:
 *   -l 0 --no-huge --no-shconf --file-prefix gen$$ --no-pci
 *   --vdev=net_memif0,role=client,id=0,socket=/run/nicached-IFACE.memif,rsize=10,bsize=2048
 *
 * Before and after the timed phase it reads the server's `stats` over UDP (reassembled from
 * numbered datagrams) and reports the server's cost per request from its own accounting:
 * Δbusy_cycles / Δrequests, and the same without the cycles inside the NIC driver calls
 * (busy_driver_cycles); one stats request falls in the interval and is not counted. Prints
 * a WARM line (with --warm) and a LOAD line (the counters of each phase, late replies
 * included), a GEN line (frames the generator dropped or ignored), with TCP a TCP line (the
 * client's connections and lib/tcp counters) and an SRVTCP line (what the server's `stats
 * tcp` counters gained during the timed phase, and requests per segment received), a NIC
 * line (the non-zero drop and error counters of the server's `stats nic`, or none) and last:
 *
 *   RESULT tps=N requests=N gets=N hits=N misses=N sets=N verify_failed=N timeouts=N
 *          server_cycles_per_request=N server_app_cycles_per_request=N server_busy_percent=P
 *
 * (one line), tps being replies per second of the timed phase.
 *
 * Exit status: 0 on success; 1 when verify_failed or timeouts exceed 0.1% of the requests
 * (with TCP: any bad reply, timeout or failed connection), the server's stats could not be
 * read, or the port, link, ARP, connections or warm-up failed; 2 on bad usage. It sends as
 * fast as the server answers: point it only at servers you run yourself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "bench_opts.h"
#include "tcp/tcp.h"
#include "udpgen.h"

#define LINK_WAIT_MS   10000
#define ARP_TRIES      50
#define ARP_TRY_MS     100 /* genlink_resolve()'s */
#define WARM_MAX_S     120.0
#define STRAGGLER_MS   200 /* quiet time before a stats request: late replies die out */
#define STATS_CAP      (96 * 1024)
#define SOURCE_PORT    40001
#define STATS_ID_START 0xfff0
#define STATS_ID_NIC   0xfff8 /* after the ids of STATS_ID_START's retries */
#define STATS_ID_TCP   0xffe8 /* and its retries: below STATS_ID_START's */
#define TCP_STATS_CAP  (16 * 1024)

/* The server figures read before and after the timed phase. */
#define SERVER_STATS(X) X(requests) X(busy_cycles) X(busy_driver_cycles) X(tsc_hz)

struct server_stats {
#define X_FIELD(name) uint64_t name;
	SERVER_STATS(X_FIELD)
#undef X_FIELD
};

/* Words that mark a `stats nic` counter as a loss or an error worth showing. */
static const char *const nic_alarm_words[] = {"drop", "missed", "nombuf", "error", "full"};

enum {
	OPT_PROTO = 256,
	OPT_SRC_IP,
	OPT_DST_IP,
	OPT_WARM,
#define X_ENUM(f, ...) OPT_##f,
	UDPGEN_NUM_OPTS(X_ENUM)
#undef X_ENUM
};

static void
usage(void)
{
	fputs("usage: nc_udpgen [EAL args] -- [--proto udp|tcp] [--conns N] [--src-ip A]\n"
	      "                 [--dst-ip A] [--port P] [--keys K] [--key-size B]\n"
	      "                 [--value-size B] [--get-ratio R] [--window W] [--duration S]\n"
	      "                 [--multiget N] [--warm] [--seed X]\n",
	      stderr);
	exit(2);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("nc_udpgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double
opt_num(const char *name, const char *s, double lo, double hi)
{
	double v;

	if (!bench_number(s, lo, hi, &v)) {
		fprintf(stderr, "nc_udpgen: --%s wants a number in [%g, %g]\n", name, lo, hi);
		usage();
	}
	return v;
}

static rte_be32_t
opt_ip(const char *name, const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "nc_udpgen: --%s wants an IPv4 address\n", name);
		usage();
	}
	return a.s_addr;
}

static void
parse_args(struct udpgen_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{"proto", required_argument, NULL, OPT_PROTO},
		{"src-ip", required_argument, NULL, OPT_SRC_IP},
		{"dst-ip", required_argument, NULL, OPT_DST_IP},
		{"warm", no_argument, NULL, OPT_WARM},
#define X_OPT(f, name, ...) {name, required_argument, NULL, OPT_##f},
		UDPGEN_NUM_OPTS(X_OPT)
#undef X_OPT
			{NULL, 0, NULL, 0},
	};
	int o;

	*cfg = (struct udpgen_config){
		.src_ip = opt_ip("src-ip", "10.88.0.2"),
		.dst_ip = opt_ip("dst-ip", "10.88.0.1"),
	};
#define X_DEFAULT(f, name, type, lo, hi, def) cfg->f = (type)(def);
	UDPGEN_NUM_OPTS(X_DEFAULT)
#undef X_DEFAULT
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case OPT_PROTO:
			if (strcmp(optarg, "udp") != 0 && strcmp(optarg, "tcp") != 0) {
				fputs("nc_udpgen: --proto wants udp or tcp\n", stderr);
				usage();
			}
			cfg->tcp = strcmp(optarg, "tcp") == 0;
			break;
		case OPT_SRC_IP:
			cfg->src_ip = opt_ip("src-ip", optarg);
			break;
		case OPT_DST_IP:
			cfg->dst_ip = opt_ip("dst-ip", optarg);
			break;
		case OPT_WARM:
			cfg->warm = true;
			break;
#define X_CASE(f, name, type, lo, hi, def)                    \
	case OPT_##f:                                         \
		cfg->f = (type)opt_num(name, optarg, lo, hi); \
		break;
			UDPGEN_NUM_OPTS(X_CASE)
#undef X_CASE
		default:
			usage();
		}
	}
	if (optind != argc) {
		fprintf(stderr, "nc_udpgen: stray argument %s\n", argv[optind]);
		usage();
	}
	if (cfg->conns > 1 && !cfg->tcp) {
		fputs("nc_udpgen: --conns wants --proto tcp\n", stderr);
		usage();
	}
	if (cfg->multiget > 1 && cfg->tcp) {
		fputs("nc_udpgen: --multiget wants --proto udp\n", stderr);
		usage();
	}
}

/* Sets up the first port with one queue pair, starts it, and learns the server's MAC. */
static void
port_start(struct genlink *l)
{
	char msg[256];
	int rc = genlink_port_start(l, 1, LINK_WAIT_MS, msg, sizeof(msg));

	if (rc != 0)
		die("%s", msg);
	if (genlink_resolve(l, ARP_TRIES) != 0)
		die("no ARP reply from the server in %u s", ARP_TRIES * ARP_TRY_MS / 1000);
}

/* Reads `stats tcp` into @p tcp (an empty text when it cannot). */
static void
server_tcp_read(struct genlink *l, char *tcp)
{
	long n = genlink_stats_fetch(l, "tcp", STATS_ID_TCP, tcp, TCP_STATS_CAP);

	if (n < 0) {
		fprintf(stderr, "nc_udpgen: stats tcp: %s\n", strerror((int)-n));
		tcp[0] = '\0';
	}
}

/*
 * Reads the figures of `stats`; returns 0 or a negative errno (said on stderr). With @p tcp,
 * also the text of `stats tcp` into it: before `stats` when @p before, else after, so that
 * only one stats request falls between the readings before and after the timed phase.
 */
static int
server_stats_read(struct genlink *l, char *buf, struct server_stats *s, char *tcp, bool before)
{
	long n;

	genlink_idle(l, STRAGGLER_MS);
	if (tcp != NULL && before)
		server_tcp_read(l, tcp);
	n = genlink_stats_fetch(l, NULL, STATS_ID_START, buf, STATS_CAP);
	if (tcp != NULL && !before)
		server_tcp_read(l, tcp);
	if (n < 0) {
		fprintf(stderr, "nc_udpgen: stats: %s\n", strerror((int)-n));
		return (int)n;
	}
#define X_READ(name)                                                                           \
	if (genlink_stats_value(buf, #name, &s->name) != 0) {                                   \
		fprintf(stderr, "nc_udpgen: stats: no numeric STAT %s in the reply\n", #name); \
		return -ENOENT;                                                                \
	}
	SERVER_STATS(X_READ)
#undef X_READ
	return 0;
}

/* Prints the non-zero loss and error counters of `stats nic` on one line. */
static void
nic_alarms_print(struct genlink *l, char *buf)
{
	long n = genlink_stats_fetch(l, "nic", STATS_ID_NIC, buf, STATS_CAP);
	unsigned shown = 0;
	char name[128];
	uint64_t v;

	if (n < 0) {
		printf("NIC (stats nic: %s)\n", strerror((int)-n));
		return;
	}
	fputs("NIC", stdout);
	for (const char *p = buf; (p = strstr(p, "STAT ")) != NULL; p++) {
		bool alarm = false;

		if (sscanf(p, "STAT %127s %" SCNu64, name, &v) != 2 || v == 0)
			continue;
		for (size_t i = 0; i < RTE_DIM(nic_alarm_words); i++)
			alarm |= strstr(name, nic_alarm_words[i]) != NULL;
		if (alarm)
			shown += printf(" %s=%" PRIu64, name, v) > 0;
	}
	fputs(shown ? "\n" : " none\n", stdout);
}

/*
 * Prints what the server's TCP counters gained between @p t0 and @p t1 (texts of `stats tcp`)
 * and the requests per segment it received (@p requests of them in between).
 */
static void
server_tcp_print(const char *t0, const char *t1, double requests)
{
	uint64_t v0, v1, segs_in = 0;

	fputs("SRVTCP", stdout);
	for (unsigned i = 0; i < TCP_C_MAX; i++) {
		const char *name = tcp_counter_name((enum tcp_counter)i);

		if (genlink_stats_value(t0, name, &v0) != 0 ||
		    genlink_stats_value(t1, name, &v1) != 0)
			continue;
		if (i == TCP_C_segs_in)
			segs_in = v1 - v0;
		if (v1 != v0)
			printf(" %s=%" PRIu64, name, v1 - v0);
	}
	printf(" requests_per_seg_in=%.2f\n", segs_in ? requests / (double)segs_in : 0);
}

static void
counters_print(const char *label, const uint64_t *c)
{
	static const char *const names[] = {
#define X_NAME(n) #n,
		UDPGEN_COUNTERS(X_NAME)
#undef X_NAME
	};

	fputs(label, stdout);
	for (unsigned i = 0; i < UDPGEN_C_COUNT; i++)
		printf(" %s=%" PRIu64, names[i], c[i]);
	fputs("\n", stdout);
}

int
main(int argc, char **argv)
{
	uint64_t warm[UDPGEN_C_COUNT] = {0}, c[UDPGEN_C_COUNT] = {0};
	struct server_stats s0, s1;
	struct udpgen_config cfg;
	struct genlink l = {0};
	struct udpgen_loop *lp;
	double secs, req, busy, app;
	bool stats_ok, fail;
	char *buf, *tcp0 = NULL, *tcp1 = NULL;
	int rc;

	rc = rte_eal_init(argc, argv);
	if (rc < 0)
		die("EAL: %s", rte_strerror(rte_errno));
	argv[rc] = argv[0];
	parse_args(&cfg, argc - rc, argv + rc);
	l.ip = cfg.src_ip;
	l.peer_ip = cfg.dst_ip;
	l.sport = rte_cpu_to_be_16(SOURCE_PORT);
	l.dport = rte_cpu_to_be_16(cfg.port);
	buf = malloc(STATS_CAP);
	if (cfg.tcp) {
		tcp0 = calloc(1, TCP_STATS_CAP);
		tcp1 = calloc(1, TCP_STATS_CAP);
	}
	if (buf == NULL || (cfg.tcp && (tcp0 == NULL || tcp1 == NULL)))
		die("out of memory");
	port_start(&l);
	lp = cfg.tcp ? tcpgen_load_create(&cfg, &l) : udpgen_load_create(&cfg, &l);
	if (lp == NULL)
		die("cannot set up the load");
	if (cfg.warm) {
		rc = udpgen_loop_warm(lp, WARM_MAX_S, warm);
		if (rc == -EPIPE)
			die("warm-up: a connection failed");
		if (rc != 0)
			die("warm-up: not every key stored in %.0f s", WARM_MAX_S);
		counters_print("WARM", warm);
		if (warm[UDPGEN_C_verify_failed] > 0)
			die("warm-up: %" PRIu64 " sets not answered STORED",
			    warm[UDPGEN_C_verify_failed]);
	}
	stats_ok = server_stats_read(&l, buf, &s0, tcp0, true) == 0;
	secs = udpgen_loop_timed(lp, c);
	stats_ok = server_stats_read(&l, buf, &s1, tcp1, false) == 0 && stats_ok;
	counters_print("LOAD", c);
	printf("GEN secs=%.3f arp_answered=%" PRIu64 " rx_bad=%" PRIu64 " rx_other=%" PRIu64
	       " rx_tcp=%" PRIu64 " tx_dropped=%" PRIu64 "\n",
	       secs, l.arp_answered, l.rx_bad, l.rx_other, l.rx_tcp, l.tx_dropped);
	req = busy = app = 0;
	if (stats_ok && s1.requests > s0.requests + 1) {
		req = (double)(s1.requests - s0.requests - 1);
		busy = (double)(s1.busy_cycles - s0.busy_cycles);
		app = busy - (double)(s1.busy_driver_cycles - s0.busy_driver_cycles);
	} else {
		stats_ok = false;
	}
	if (lp->print != NULL)
		lp->print(lp);
	if (cfg.tcp)
		server_tcp_print(tcp0, tcp1, req);
	nic_alarms_print(&l, buf);
	printf("RESULT tps=%.0f requests=%" PRIu64 " gets=%" PRIu64 " hits=%" PRIu64
	       " misses=%" PRIu64 " sets=%" PRIu64 " verify_failed=%" PRIu64 " timeouts=%" PRIu64
	       " server_cycles_per_request=%.0f server_app_cycles_per_request=%.0f"
	       " server_busy_percent=%.1f\n",
	       (double)c[UDPGEN_C_replies] / secs, c[UDPGEN_C_requests], c[UDPGEN_C_gets],
	       c[UDPGEN_C_hits], c[UDPGEN_C_misses], c[UDPGEN_C_sets], c[UDPGEN_C_verify_failed],
	       c[UDPGEN_C_timeouts], stats_ok ? busy / req : 0, stats_ok ? app / req : 0,
	       stats_ok ? busy / (secs * (double)s1.tsc_hz) * 100 : 0);
	fflush(stdout);
	fail = !stats_ok || c[UDPGEN_C_verify_failed] * 1000 > c[UDPGEN_C_requests] ||
	       c[UDPGEN_C_timeouts] * 1000 > c[UDPGEN_C_requests] || c[UDPGEN_C_replies] == 0;
	/* A stream gives nothing up: one bad reply or lost request fails a TCP run. */
	if (cfg.tcp)
		fail = fail || c[UDPGEN_C_verify_failed] > 0 || c[UDPGEN_C_timeouts] > 0 ||
		       lp->failed > 0;
	lp->destroy(lp);
	free(buf);
	free(tcp0);
	free(tcp1);
	genlink_port_stop(&l);
	rte_eal_cleanup();
	return fail ? 1 : 0;
}
