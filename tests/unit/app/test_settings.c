/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for app/nicached/settings.c: flags, INI file, listen list, EAL arguments, stats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"

#define ERRCAP 256

/* Parse "nicached" + the given words; returns settings_parse()'s result. */
#define PARSE(s, act, err, ...) \
	parse_words((s), (act), (err), (char *[]){"nicached", __VA_ARGS__, NULL})

static int
parse_words(struct nc_settings *s, enum settings_action *act, char *err, char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return settings_parse(s, argc, argv, act, err, ERRCAP);
}

/* Expect -EINVAL and a message containing @p needle. */
static void
expect_bad(char **argv, const char *needle)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];
	int rc;

	settings_defaults(&s);
	s.port = 4242; /* must stay untouched on error */
	rc = parse_words(&s, &act, err, argv);
	if (rc != -EINVAL || strstr(err, needle) == NULL)
		fail_msg("argv[1]='%s': rc %d, err '%s', wanted '%s'", argv[1], rc, err, needle);
	assert_int_equal(s.port, 4242);
}

#define BAD(needle, ...) expect_bad((char *[]){"nicached", __VA_ARGS__, NULL}, (needle))

/* A temp file with @p text; its name goes into @p path (PATH_MAX-ish). */
static void
temp_file(char *path, size_t cap, const char *text)
{
	int fd;
	ssize_t n = (ssize_t)strlen(text);

	snprintf(path, cap, "/tmp/nc_test_settings_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, (size_t)n), n);
	close(fd);
}

static void
test_defaults(void **state)
{
	struct nc_settings s, p;
	enum settings_action act = SETTINGS_HELP;
	char err[ERRCAP];

	(void)state;
	settings_defaults(&s);
	assert_int_equal(s.port, 11211);
	assert_int_equal(s.udp_port, 0);
	assert_string_equal(s.listen, "0.0.0.0");
	assert_int_equal(s.memory_limit, 64);
	assert_int_equal(s.conn_limit, 1024);
	assert_int_equal(s.threads, 0);
	assert_int_equal(s.max_item_size, 1024 * 1024);
	assert_true(s.growth_factor == 1.25);
	assert_int_equal(s.slab_min_size, 48);
	assert_int_equal(s.listen_backlog, 1024);
	assert_int_equal(s.verbose, 0);
	assert_int_equal(s.udp_payload, 1400);
	assert_int_equal(s.backend, SETTINGS_BACKEND_SOCKET);
	assert_string_equal(s.eal, "");
	assert_string_equal(s.config, "");

	/* No flags at all: the defaults, RUN. */
	assert_int_equal(PARSE(&p, &act, err, NULL), 0);
	assert_int_equal(act, SETTINGS_RUN);
	assert_memory_equal(&s, &p, sizeof(s));
	/* argc 0 and argv NULL are harmless. */
	assert_int_equal(settings_parse(&p, 0, NULL, &act, err, ERRCAP), 0);
	assert_int_equal(p.port, 11211);
}

static void
test_every_flag(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];

	(void)state;
	assert_int_equal(PARSE(&s, &act, err, "-p", "1234", "-U", "2345", "-l", "127.0.0.1", "-m",
			       "128", "-c", "99", "-t", "3", "-I", "512k", "-f", "1.5", "-n", "64",
			       "-b", "77", "-v", "--udp-payload", "9000", "--backend", "dpdk",
			       "--eal", "--huge-dir /mnt/h -a 0000:01:00.0"),
			 0);
	assert_int_equal(act, SETTINGS_RUN);
	assert_int_equal(s.port, 1234);
	assert_int_equal(s.udp_port, 2345);
	assert_string_equal(s.listen, "127.0.0.1");
	assert_int_equal(s.memory_limit, 128);
	assert_int_equal(s.conn_limit, 99);
	assert_int_equal(s.threads, 3);
	assert_int_equal(s.max_item_size, 512 * 1024);
	assert_true(s.growth_factor == 1.5);
	assert_int_equal(s.slab_min_size, 64);
	assert_int_equal(s.listen_backlog, 77);
	assert_int_equal(s.verbose, 1);
	assert_int_equal(s.udp_payload, 9000);
	assert_int_equal(s.backend, SETTINGS_BACKEND_DPDK);
	assert_string_equal(s.eal, "--huge-dir /mnt/h -a 0000:01:00.0");

	/* Long forms, --flag=value, attached short values. */
	assert_int_equal(PARSE(&s, &act, err, "--port=1", "--udp-port", "2", "--listen=::1",
			       "--memory-limit=5", "--conn-limit", "6", "--threads=7",
			       "--max-item-size=2048", "--slab-growth-factor=2",
			       "--slab-min-size=16", "--listen-backlog=8", "--verbose", "-m9",
			       "-I4K"),
			 0);
	assert_int_equal(s.port, 1);
	assert_int_equal(s.udp_port, 2);
	assert_string_equal(s.listen, "::1");
	assert_int_equal(s.memory_limit, 9);
	assert_int_equal(s.conn_limit, 6);
	assert_int_equal(s.threads, 7);
	assert_int_equal(s.max_item_size, 4096);
	assert_true(s.growth_factor == 2.0);
	assert_int_equal(s.slab_min_size, 16);
	assert_int_equal(s.listen_backlog, 8);
	assert_int_equal(s.verbose, 1);

	/* Help and version. */
	assert_int_equal(PARSE(&s, &act, err, "-h"), 0);
	assert_int_equal(act, SETTINGS_HELP);
	assert_int_equal(PARSE(&s, &act, err, "-p", "1", "--help"), 0);
	assert_int_equal(act, SETTINGS_HELP);
	assert_int_equal(PARSE(&s, &act, err, "-V"), 0);
	assert_int_equal(act, SETTINGS_VERSION);
	assert_int_equal(PARSE(&s, &act, err, "--version"), 0);
	assert_int_equal(act, SETTINGS_VERSION);
	/* Port 0 = TCP off is fine with UDP on. */
	assert_int_equal(PARSE(&s, &act, err, "-p", "0", "-U", "11211"), 0);
	assert_int_equal(s.port, 0);
}

static void
test_verbose_count(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];

	(void)state;
	assert_int_equal(PARSE(&s, &act, err, "-vv"), 0);
	assert_int_equal(s.verbose, 2);
	assert_int_equal(PARSE(&s, &act, err, "-vvv"), 0);
	assert_int_equal(s.verbose, 3);
	assert_int_equal(PARSE(&s, &act, err, "-v", "-v", "--verbose"), 0);
	assert_int_equal(s.verbose, 3);
	assert_int_equal(PARSE(&s, &act, err, "-vp", "99"), 0);
	assert_int_equal(s.verbose, 1);
	assert_int_equal(s.port, 99);
	BAD("-v/--verbose", "-vvvv");
}

/* memcached -o: idle_timeout sets --idle-timeout; memcached's other suboptions are accepted. */
static void
test_suboptions(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];

	(void)state;
	assert_int_equal(PARSE(&s, &act, err, "-o", "idle_timeout=5"), 0);
	assert_int_equal(s.idle_timeout, 5);
	assert_string_equal(s.extended, "idle_timeout=5");
	assert_int_equal(PARSE(&s, &act, err, "--idle-timeout", "7"), 0);
	assert_int_equal(s.idle_timeout, 7);
	/* The last one given wins, either spelling. */
	assert_int_equal(PARSE(&s, &act, err, "--idle-timeout", "7", "-oidle_timeout=3"), 0);
	assert_int_equal(s.idle_timeout, 3);
	assert_int_equal(PARSE(&s, &act, err, "-o", "modern,slab_reassign,slab_automove=1,"
					  "hashpower=20,idle_timeout=9,lru_crawler,ext_path=/x:1g"),
			 0);
	assert_int_equal(s.idle_timeout, 9);
	assert_int_equal(PARSE(&s, &act, err, "-o", ""), 0);
	assert_int_equal(s.idle_timeout, 0);
	BAD("-o/--extended: unknown suboption 'nonsense'", "-o", "modern,nonsense=1");
	BAD("-o/--extended: idle_timeout needs a value (idle_timeout=N)", "-o", "idle_timeout");
	BAD("--idle-timeout: 'soon' is not a number", "-o", "idle_timeout=soon");
	BAD("--idle-timeout: '2592001' is out of range (0..2592000)", "-o", "idle_timeout=2592001");
}

/* Compression: off by default; -o suboptions and long flags set the same fields. */
static void
test_compression(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];

	(void)state;
	assert_int_equal(PARSE(&s, &act, err, "-p", "1"), 0);
	assert_int_equal(s.compression, SETTINGS_COMPRESSION_NONE);
	assert_int_equal(s.compression_min, 1024);
	assert_int_equal(s.compression_min_saving, 10);
	assert_int_equal(PARSE(&s, &act, err, "-o",
			       "compression=lzf,compression_min=2k,compression_min_saving=25"),
			 0);
	assert_int_equal(s.compression, SETTINGS_COMPRESSION_LZF);
	assert_int_equal(s.compression_min, 2048);
	assert_int_equal(s.compression_min_saving, 25);
	assert_int_equal(PARSE(&s, &act, err, "--compression", "lzf", "--compression-min", "100",
			       "--compression-min-saving", "0"),
			 0);
	assert_int_equal(s.compression, SETTINGS_COMPRESSION_LZF);
	assert_int_equal(s.compression_min, 100);
	assert_int_equal(s.compression_min_saving, 0);
	assert_int_equal(PARSE(&s, &act, err, "--compression", "lzf", "-o", "compression=none"),
			 0);
	assert_int_equal(s.compression, SETTINGS_COMPRESSION_NONE);
	BAD("--compression: 'zstd' is not none or lzf", "-o", "compression=zstd");
	BAD("--compression-min-saving: '100' is out of range (0..99)", "-o",
	    "compression_min_saving=100");
	BAD("-o/--extended: compression_min needs a value (compression_min=N)", "-o",
	    "compression_min");
}

static void
test_sizes(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];

	(void)state;
	assert_int_equal(PARSE(&s, &act, err, "-I", "1k"), 0);
	assert_int_equal(s.max_item_size, 1024);
	assert_int_equal(PARSE(&s, &act, err, "-I", "1m"), 0);
	assert_int_equal(s.max_item_size, 1048576);
	assert_int_equal(PARSE(&s, &act, err, "-I", "1M"), 0);
	assert_int_equal(PARSE(&s, &act, err, "-I", "1048576"), 0);
	assert_int_equal(PARSE(&s, &act, err, "-I", "100000"), 0);
	assert_int_equal(s.max_item_size, 100000);
	/* Up to 1024m (values over half a page are chained), and half of -m, as memcached. */
	assert_int_equal(PARSE(&s, &act, err, "-I", "2m"), 0);
	assert_int_equal(s.max_item_size, 2 * 1048576);
	assert_int_equal(PARSE(&s, &act, err, "-I", "1048577"), 0);
	assert_int_equal(PARSE(&s, &act, err, "-I", "1g", "-m", "2048"), 0);
	assert_int_equal(s.max_item_size, 1073741824);
	assert_int_equal(PARSE(&s, &act, err, "-I", "32m"), 0);
	BAD("-I/--max-item-size: 33554433 is more than half of -m/--memory-limit (64 MB)", "-I",
	    "33554433");
	BAD("-I/--max-item-size: 536870912 is more than half of -m/--memory-limit (1000 MB)",
	    "-I", "512m", "-m", "1000");
	BAD("-I/--max-item-size: '1025m' is above the maximum", "-I", "1025m", "-m", "4096");
	BAD("-I/--max-item-size: '2g' is above", "-I", "2g");
	BAD("-I/--max-item-size: '1023' is below the minimum 1k", "-I", "1023");
	BAD("-I/--max-item-size: '0k' is below", "-I", "0k");
	BAD("-I/--max-item-size: '1kb' is not a number", "-I", "1kb");
	BAD("-I/--max-item-size: 'k' is not a number", "-I", "k");
	BAD("-I/--max-item-size: '99999999999999999999k'", "-I", "99999999999999999999k");
	BAD("-I/--max-item-size: '18014398509481984k'", "-I", "18014398509481984k");
	/* -n must stay below -I. */
	BAD("-n/--slab-min-size: 2048 must be smaller than -I/--max-item-size", "-I", "2k", "-n",
	    "2048");
}

static void
test_bad_values(void **state)
{
	(void)state;
	BAD("-m/--memory-limit: 'abc' is not a number", "-m", "abc");
	BAD("-m/--memory-limit: '-5' is negative", "-m", "-5");
	BAD("-m/--memory-limit: '12x' is not a number", "-m", "12x");
	BAD("-m/--memory-limit: ' 12' is not a number", "-m", " 12");
	BAD("-m/--memory-limit: '+12' is not a number", "-m", "+12");
	BAD("-m/--memory-limit: missing value", "-m", "");
	BAD("-m/--memory-limit: '0' is out of range (1..1048576)", "-m", "0");
	BAD("-m/--memory-limit: '99999999999999999999999' is out of range", "-m",
	    "99999999999999999999999");
	BAD("-m/--memory-limit: '18446744073709551616' is out of range", "-m",
	    "18446744073709551616");
	BAD("-p/--port: '65536' is out of range (0..65535)", "-p", "65536");
	BAD("-U/--udp-port: '70000' is out of range", "-U", "70000");
	BAD("-c/--conn-limit: '0' is out of range", "-c", "0");
	BAD("-t/--threads: '128' is out of range (0..127)", "-t", "128");
	BAD("-b/--listen-backlog: 'x' is not a number", "-b", "x");
	BAD("--udp-payload: '511' is out of range (512..65000)", "--udp-payload", "511");
	BAD("--udp-payload: '65001' is out of range", "--udp-payload=65001");
	BAD("-f/--slab-growth-factor: '1.0' must be greater than 1", "-f", "1.0");
	BAD("-f/--slab-growth-factor: '0.5' must be greater", "-f", "0.5");
	BAD("-f/--slab-growth-factor: 'nan' is not a number", "-f", "nan");
	BAD("-f/--slab-growth-factor: 'inf' is not a number", "-f", "inf");
	BAD("-f/--slab-growth-factor: '1.5x' is not a number", "-f", "1.5x");
	BAD("-f/--slab-growth-factor: '-2' is not a number", "-f", "-2");
	BAD("-f/--slab-growth-factor: '1e999' is not a number", "-f", "1e999");
	BAD("-f/--slab-growth-factor: '11' must be greater than 1 and at most 10", "-f", "11");
	BAD("--backend: 'xdp' is not socket or dpdk", "--backend", "xdp");
	BAD("--replication: 'sync' is not async or quorum", "--replication", "sync");
	BAD("-n/--slab-min-size: '8' is out of range", "-n", "8");
	/* Flags themselves. */
	BAD("unknown option '-z'", "-z");
	BAD("unknown option '-?'", "-?");
	BAD("unknown or ambiguous option '--prot'", "--prot", "1");
	BAD("unknown or ambiguous option '--slab-'", "--slab-", "1"); /* ambiguous */
	BAD("-l/--listen: missing value", "--listen");		      /* exact name beats prefix */
	BAD("-p/--port: missing value", "-p");
	BAD("--udp-payload: missing value", "--udp-payload");
	BAD("-h/--help: takes no value", "--help=yes");
	BAD("-v/--verbose: takes no value", "--verbose=3");
	BAD("unexpected argument 'stray'", "stray");
	BAD("unexpected argument 'x'", "-p", "1", "x", "--", "y");
	BAD("--config: missing file name", "--config=");
	BAD("-p/--port and -U/--udp-port are both 0", "-p", "0");
	{
		char big[SETTINGS_STR_LEN + 10];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		BAD("--eal: too long", "--eal", big);
		BAD("--config: too long", "--config", big);
	}
	{
		char many[3 * SETTINGS_EAL_ARGV_MAX + 1];

		for (unsigned i = 0; i < SETTINGS_EAL_ARGV_MAX; i++)
			memcpy(many + 3 * i, "-x ", 3);
		many[sizeof(many) - 1] = '\0';
		BAD("--eal: more than", "--eal", many);
	}
}

static void
test_listen(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	struct stack_listen l[STACK_LISTEN_MAX];
	const struct sockaddr_in *v4;
	const struct sockaddr_in6 *v6;
	char err[ERRCAP];
	int n;

	(void)state;
	settings_defaults(&s);
	n = settings_listen(&s, l, STACK_LISTEN_MAX, err, ERRCAP);
	assert_int_equal(n, 1);
	v4 = (const struct sockaddr_in *)&l[0].addr.ss;
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(v4->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(l[0].tcp_port, 11211);
	assert_int_equal(l[0].udp_port, 0);

	assert_int_equal(PARSE(&s, &act, err, "-l", "127.0.0.1, ::1,127.0.0.2:11300,[::1]:11400",
			       "-U", "5000", "-p", "6000"),
			 0);
	n = settings_listen(&s, l, STACK_LISTEN_MAX, err, ERRCAP);
	assert_int_equal(n, 4);
	v4 = (const struct sockaddr_in *)&l[0].addr.ss;
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(v4->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(l[0].tcp_port, 6000);
	assert_int_equal(l[0].udp_port, 5000);
	v6 = (const struct sockaddr_in6 *)&l[1].addr.ss;
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr));
	assert_int_equal(l[1].tcp_port, 6000);
	assert_int_equal(l[2].tcp_port, 11300);
	assert_int_equal(l[2].udp_port, 5000);
	v6 = (const struct sockaddr_in6 *)&l[3].addr.ss;
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_int_equal(l[3].tcp_port, 11400);
	/* Too little room in the caller's array. */
	assert_int_equal(settings_listen(&s, l, 2, err, ERRCAP), -E2BIG);

	/* TCP off globally but one entry has its own port: fine. */
	assert_int_equal(PARSE(&s, &act, err, "-p", "0", "-l", "127.0.0.1:7000"), 0);
	n = settings_listen(&s, l, STACK_LISTEN_MAX, err, ERRCAP);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].tcp_port, 7000);

	/* A host name: each address it resolves to (localhost is 127.0.0.1 here, perhaps ::1). */
	assert_int_equal(PARSE(&s, &act, err, "-l", "localhost:7001"), 0);
	n = settings_listen(&s, l, STACK_LISTEN_MAX, err, ERRCAP);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++) {
		assert_int_equal(l[i].tcp_port, 7001);
		if (l[i].addr.ss.ss_family == AF_INET)
			assert_int_equal(((const struct sockaddr_in *)&l[i].addr.ss)->sin_addr.s_addr,
					 htonl(INADDR_LOOPBACK));
		else
			assert_true(IN6_IS_ADDR_LOOPBACK(
				&((const struct sockaddr_in6 *)&l[i].addr.ss)->sin6_addr));
	}

	/* Eight is the limit. */
	assert_int_equal(PARSE(&s, &act, err, "-l", "::1,::1,::1,::1,::1,::1,::1,::1"), 0);
	BAD("-l/--listen: more than 8 addresses", "-l", "::1,::1,::1,::1,::1,::1,::1,::1,::1");
	BAD("-l/--listen: host name 'no-such-host.invalid' does not resolve", "-l",
	    "no-such-host.invalid");
	BAD("-l/--listen: '1.2.3' is not a numeric", "-l", "1.2.3");
	BAD("-l/--listen: empty address", "-l", "");
	BAD("-l/--listen: empty address", "-l", "127.0.0.1,");
	BAD("-l/--listen: empty address", "-l", ",,");
	BAD("-l/--listen: bad port", "-l", "127.0.0.1:0");
	BAD("-l/--listen: bad port", "-l", "127.0.0.1:65536");
	BAD("-l/--listen: bad port", "-l", "127.0.0.1:");
	BAD("-l/--listen: bad port", "-l", "[::1]:x");
	BAD("-l/--listen: '[::1' is not an address or [v6]:port", "-l", "[::1");
	BAD("-l/--listen: '[::1]x'", "-l", "[::1]x");
	BAD("-l/--listen: 'fe80::zz' is not a numeric", "-l", "fe80::zz");
	BAD("-l/--listen: '' is not a numeric", "-l", ":11211");
	BAD("is not a numeric", "-l",
	    "1111111111111111111111111111111111111111111111111111111111111111111111111111111111");
}

static void
test_config_file(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP], path[64];

	(void)state;
	temp_file(path, sizeof(path),
		  "# nicached test\n"
		  "[nicached]\n"
		  "port = 2000\n"
		  "  udp-port=3000   # trailing comment\n"
		  "listen = 127.0.0.1,::1\n"
		  "memory-limit = 256\r\n"
		  "\n"
		  "max-item-size = 64k\n"
		  "slab-growth-factor = 1.07\n"
		  "verbose = 2\n"
		  "backend = dpdk\n"
		  "eal = --huge-dir=/mnt/huge --iova-mode va\n"
		  "udp-payload = 1200\n");
	assert_int_equal(PARSE(&s, &act, err, "--config", path), 0);
	assert_int_equal(act, SETTINGS_RUN);
	assert_string_equal(s.config, path);
	assert_int_equal(s.port, 2000);
	assert_int_equal(s.udp_port, 3000);
	assert_string_equal(s.listen, "127.0.0.1,::1");
	assert_int_equal(s.memory_limit, 256);
	assert_int_equal(s.max_item_size, 65536);
	assert_true(s.growth_factor > 1.069 && s.growth_factor < 1.071);
	assert_int_equal(s.verbose, 2);
	assert_int_equal(s.backend, SETTINGS_BACKEND_DPDK);
	assert_string_equal(s.eal, "--huge-dir=/mnt/huge --iova-mode va");
	assert_int_equal(s.udp_payload, 1200);
	assert_int_equal(s.conn_limit, 1024);

	/* Flags override the file, whether they come before or after --config. */
	assert_int_equal(PARSE(&s, &act, err, "-p", "1", "--config", path, "-m", "32", "-v"), 0);
	assert_int_equal(s.port, 1);
	assert_int_equal(s.memory_limit, 32);
	assert_int_equal(s.verbose, 1); /* the first -v replaces the file's 2 */
	assert_int_equal(s.udp_port, 3000);
	{
		char opt[80];

		snprintf(opt, sizeof(opt), "--config=%s", path);
		assert_int_equal(PARSE(&s, &act, err, opt, "--backend=socket"), 0);
		assert_int_equal(s.backend, SETTINGS_BACKEND_SOCKET);
		assert_int_equal(s.port, 2000);
	}
	unlink(path);

	/* An empty file and a file with only the section are fine. */
	temp_file(path, sizeof(path), "");
	assert_int_equal(PARSE(&s, &act, err, "--config", path), 0);
	assert_int_equal(s.port, 11211);
	unlink(path);
	temp_file(path, sizeof(path), "[nicached]\n# nothing\n");
	assert_int_equal(PARSE(&s, &act, err, "--config", path), 0);
	unlink(path);

	/* Missing file. */
	BAD("--config: cannot read '/nonexistent/nicached.ini'", "--config",
	    "/nonexistent/nicached.ini");
	/* A directory. */
	BAD("cannot read", "--config", "/tmp");
}

/* Write @p text to a file, expect -EINVAL with "<path>:<needle>". */
static void
bad_file(const char *text, const char *needle)
{
	char path[64], want[160];

	temp_file(path, sizeof(path), text);
	snprintf(want, sizeof(want), "%s%s", path, needle);
	BAD(want, "--config", path);
	unlink(path);
}

/* --fault: checked with net_fault_parse, kept as given, in the file too. */
/* --peers and --advertise: a member list as clients write it, this node among them. */
static void
test_cluster(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];

	(void)state;
	assert_int_equal(PARSE(&s, &act, err, "--peers", "10.0.0.1:11211, 10.0.0.2,cache3:22122",
			       "--advertise", "10.0.0.2:11211"),
			 0);
	assert_string_equal(s.peers, "10.0.0.1:11211, 10.0.0.2,cache3:22122");
	assert_string_equal(s.advertise, "10.0.0.2:11211");
	assert_int_equal(PARSE(&s, &act, err, "--peers", "[::1]:7000,[::1]:7001", "--advertise",
			       "[::1]:7001"),
			 0);
	BAD("--peers and --advertise go together", "--peers", "a:1,b:2");
	BAD("--peers and --advertise go together", "--advertise", "a:1");
	BAD("--advertise: 'c:3' is not one of --peers", "--peers", "a:1,b:2", "--advertise",
	    "c:3");
	/* A list naming this node twice ("a" is a:11211). */
	BAD("--peers: 'a:11211' names a member twice", "--peers", "a,b:2,a:11211", "--advertise",
	    "b:2");
	BAD("--peers: 'a:99999' is not a member name", "--peers", "a:99999");
	BAD("--peers: no member named", "--peers", " , ");
	BAD("--advertise: one member name (host:port), not a list", "--advertise", "a:1,b:2");
	/* etcd: --advertise needed; --peers optional (the list until etcd answers). */
	assert_int_equal(PARSE(&s, &act, err, "--etcd", "http://127.0.0.1:2379", "--advertise",
			       "10.0.0.1:11211", "--cluster-name", "c1", "--etcd-ttl", "3"),
			 0);
	assert_string_equal(s.etcd, "http://127.0.0.1:2379");
	assert_string_equal(s.cluster_name, "c1");
	assert_int_equal(s.etcd_ttl, 3);
	BAD("--etcd needs --advertise", "--etcd", "http://127.0.0.1:2379");
	BAD("--advertise: 'c:3' is not one of --peers", "--etcd", "http://127.0.0.1:2379",
	    "--peers", "a:1,b:2", "--advertise", "c:3");
	BAD("--etcd-ttl: '1' is out of range (2..3600)", "--etcd-ttl", "1");
	/* Replicas: a cluster's, 1..8. */
	assert_int_equal(PARSE(&s, &act, err, "--peers", "a:1,b:2", "--advertise", "b:2",
			       "--replicas", "2", "--replication-queue", "1m"),
			 0);
	assert_int_equal(s.replicas, 2);
	assert_int_equal(s.replication_queue, 1048576);
	BAD("--replicas needs a cluster (--peers or --etcd)", "--replicas", "2");
	BAD("--replicas: '9' is out of range (1..8)", "--peers", "a:1,b:2", "--advertise", "b:2",
	    "--replicas", "9");
}

static void
test_fault(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP], path[64];

	(void)state;
	settings_defaults(&s);
	assert_string_equal(s.fault, "");
	assert_int_equal(PARSE(&s, &act, err, "--fault", "seed=1,drop=0.05,reorder=0.05"), 0);
	assert_string_equal(s.fault, "seed=1,drop=0.05,reorder=0.05");
	assert_int_equal(PARSE(&s, &act, err, "--fault=rx-corrupt=0.001", "--fault", ""), 0);
	assert_string_equal(s.fault, "");
	BAD("--fault: 'drop=2' is not a fault specification", "--fault", "drop=2");
	BAD("--fault: 'seed=x' is not a fault", "--fault", "seed=x");
	BAD("--fault: 'loss=0.1' is not a fault", "--fault", "loss=0.1");
	BAD("--fault: 'drop=0.1,' is not a fault", "--fault", "drop=0.1,");
	BAD("--fault: missing value", "--fault");

	temp_file(path, sizeof(path), "[nicached]\nfault = seed=7,tx-drop=0.5\n");
	assert_int_equal(PARSE(&s, &act, err, "--config", path), 0);
	assert_string_equal(s.fault, "seed=7,tx-drop=0.5");
	unlink(path);
	bad_file("[nicached]\nfault = drop=-1\n", ":2: fault: 'drop=-1' is not a fault");
}

static void
test_config_bad_lines(void **state)
{
	(void)state;
	bad_file("[nicached]\nport = 1\nprot = 2\n", ":3: unknown setting 'prot'");
	bad_file("[nicached]\nport = abc\n", ":2: port: 'abc' is not a number");
	bad_file("[nicached]\n\n\nmemory-limit = -1\n", ":4: memory-limit: '-1' is negative");
	bad_file("[nicached]\nmax-item-size = 2g\n", ":2: max-item-size: '2g' is above");
	bad_file("[nicached]\nport =\n", ":2: port: missing value");
	bad_file("[nicached]\nlisten = nothing.invalid\n", ":2: listen: host name 'nothing.invalid' does not resolve");
	bad_file("[other]\nport = 1\n", ":1: unknown section '[other]'");
	bad_file("[nicached]\nport = 1\n[nicached]\n", ":3: section [nicached] appears twice");
	bad_file("port = 1\n[nicached]\n", ":1: 'port = 1' is outside section");
	bad_file("[nicached]\njust words\n", ":2: expected 'setting = value'");
	bad_file("[nicached]\n= 5\n", ":2: expected 'setting = value'");
	bad_file("[nicached\nport = 1\n", ":1: missing ']'");
	bad_file("[nicached]\nconfig = /etc/x\n", ":2: 'config' is a command-line flag only");
	bad_file("[nicached]\nhelp = 1\n", ":2: 'help' is a command-line flag only");
	bad_file("[nicached]\nverbose = 4\n", ":2: verbose: '4' is out of range (0..3)");
	bad_file("[nicached]\nbackend = xdp\n", ":2: backend: 'xdp' is not socket or dpdk");
	bad_file("[nicached]\nslab-growth-factor = 1\n", ":2: slab-growth-factor: '1' must be");
	{
		char text[600];

		snprintf(text, sizeof(text), "[nicached]\neal = %0500d\n", 1);
		bad_file(text, ":2: line too long");
	}
	{
		char path[64], want[160];
		int fd;

		snprintf(path, sizeof(path), "/tmp/nc_test_settings_XXXXXX");
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "[nicached]\npo\0rt = 1\n", 21), 21);
		close(fd);
		snprintf(want, sizeof(want), "%s:2: NUL byte", path);
		BAD(want, "--config", path);
		unlink(path);
	}
}

static bool
has_words(const struct settings_eal *e, const char *a, const char *b)
{
	for (int i = 0; i < e->argc; i++)
		if (strcmp(e->argv[i], a) == 0)
			return b == NULL || (i + 1 < e->argc && strcmp(e->argv[i + 1], b) == 0);
	return false;
}

static void
test_eal_args(void **state)
{
	struct nc_settings s;
	struct settings_eal e;
	enum settings_action act;
	char err[ERRCAP], num[16];

	(void)state;
	settings_defaults(&s);
	s.threads = 3;
	assert_int_equal(settings_eal_args(&s, 8, false, &e, err, ERRCAP), 0);
	assert_string_equal(e.argv[0], "nicached");
	assert_null(e.argv[e.argc]);
	assert_true(has_words(&e, "--lcores", "0@0,1@1,2@2,3@3"));
	/*
	 * 4 KiB pages: -m, memcached's first page of each of the 39 default classes split over
	 * 3 shards (13 pages each), and 24 MB; the index tables are mapped outside EAL.
	 */
	assert_int_equal(settings_eal_index_mb(&s, 3, false), 0);
	assert_int_equal(settings_eal_first_pages_mb(&s, 3), 3 * 13);
	assert_int_equal(settings_eal_first_pages_mb(&s, 1), 39);
	snprintf(num, sizeof(num), "%u", 64 + 3 * 13 + 24);
	assert_true(has_words(&e, "-m", num));
	assert_true(has_words(&e, "--no-huge", "--no-shconf"));
	assert_false(has_words(&e, "--in-memory", NULL));
	assert_true(has_words(&e, "--file-prefix", "nicached-11211"));
	assert_true(has_words(&e, "--no-pci", NULL));
	assert_true(has_words(&e, "--log-level", "lib.eal:error"));

	/*
	 * EAL arguments after `--` (and --eal's) replace the derived ones of their group: here
	 * the lcores, the memory and the log level; pages, prefix and --no-pci stay derived.
	 */
	assert_int_equal(PARSE(&s, &act, err, "-t", "2", "--eal", "--log-level=lib.eal:debug",
			       "--", "-l", "0-2", "--socket-mem=512", "--main-lcore", "0"),
			 0);
	assert_string_equal(s.eal, "--log-level=lib.eal:debug -l 0-2 --socket-mem=512 --main-lcore 0");
	assert_true(settings_eal_user_replaces(&s, SETTINGS_EAL_lcores));
	assert_true(settings_eal_user_replaces(&s, SETTINGS_EAL_memory));
	assert_true(settings_eal_user_replaces(&s, SETTINGS_EAL_log));
	assert_false(settings_eal_user_replaces(&s, SETTINGS_EAL_pages));
	assert_false(settings_eal_user_replaces(&s, SETTINGS_EAL_prefix));
	assert_int_equal(settings_eal_args(&s, 8, false, &e, err, ERRCAP), 0);
	assert_false(has_words(&e, "--lcores", NULL));
	assert_false(has_words(&e, "-m", NULL));
	assert_true(has_words(&e, "-l", "0-2"));
	assert_true(has_words(&e, "--socket-mem=512", "--main-lcore"));
	assert_true(has_words(&e, "--log-level=lib.eal:debug", "-l"));
	assert_true(has_words(&e, "--no-huge", "--no-shconf"));
	assert_true(has_words(&e, "--file-prefix", "nicached-11211"));
	assert_true(has_words(&e, "--no-pci", NULL));
	assert_int_equal(PARSE(&s, &act, err, "--", "--file-prefix=mine", "-lx"), 0);
	assert_true(settings_eal_user_replaces(&s, SETTINGS_EAL_prefix));
	assert_true(settings_eal_user_replaces(&s, SETTINGS_EAL_lcores));
	assert_false(settings_eal_user_replaces(&s, SETTINGS_EAL_memory));
	BAD("no spaces inside one", "--", "-l 0-2");

	/* Hugepages, dpdk backend, -vv, more lcores than CPUs, UDP only. */
	assert_int_equal(PARSE(&s, &act, err, "-vv", "--backend", "dpdk", "-t", "4", "-p", "0",
			       "-U", "11311", "-m", "1000", "--eal", "  -a 0000:01:00.0\t --x  "),
			 0);
	assert_int_equal(settings_eal_args(&s, 4, true, &e, err, ERRCAP), 0);
	assert_true(has_words(&e, "--lcores", "(0-4)@(0,1,2,3)"));
	assert_true(has_words(&e, "--in-memory", NULL));
	assert_false(has_words(&e, "--no-huge", NULL));
	assert_false(has_words(&e, "--no-pci", NULL));
	assert_false(has_words(&e, "--log-level", NULL));
	/*
	 * Hugepages: -m 1000, the first pages (38 classes over 4 shards: 10 each), the first
	 * index table of each shard (65536 keys, 0.6 MB: 1 MB), 24 MB, and 32 + 48 per worker
	 * for the dpdk backend's mbufs.
	 */
	assert_int_equal(settings_eal_memory_total_mb(&s, 4, true),
			 1000 + 4 * 10 + 4 * 1 + 24 + 32 + 48 * 4);
	assert_true(has_words(&e, "-m", "1292"));
	assert_int_equal(PARSE(&s, &act, err, "--backend", "dpdk", "--site", "/etc/nc/site.ini",
			       "--drivers-dir", "/usr/share/nc", "--udp-reply-max", "128k"),
			 0);
	assert_string_equal(s.site, "/etc/nc/site.ini");
	assert_string_equal(s.drivers_dir, "/usr/share/nc");
	assert_int_equal(s.udp_reply_max, 128 * 1024);
	assert_int_equal(PARSE(&s, &act, err, "-vv", "--backend", "dpdk", "-t", "4", "-p", "0",
			       "-U", "11311", "-m", "1000", "--eal", "  -a 0000:01:00.0\t --x  "),
			 0);
	assert_true(has_words(&e, "-m", "1292"));
	assert_true(has_words(&e, "--file-prefix", "nicached-11311"));
	/* The raw words come last, split on spaces and tabs. */
	assert_int_equal(e.argc, 11);
	assert_string_equal(e.argv[e.argc - 3], "-a");
	assert_string_equal(e.argv[e.argc - 2], "0000:01:00.0");
	assert_string_equal(e.argv[e.argc - 1], "--x");
	/*
	 * --pdump: on hugepages EAL keeps its shared files (no --in-memory) under the file
	 * prefix the capture tools name; 4 KiB pages stay private (main refuses to start them).
	 */
	assert_int_equal(PARSE(&s, &act, err, "--backend", "dpdk", "--pdump"), 0);
	assert_int_equal(s.pdump, 1);
	assert_int_equal(settings_eal_args(&s, 4, true, &e, err, ERRCAP), 0);
	assert_false(has_words(&e, "--in-memory", NULL));
	assert_false(has_words(&e, "--no-huge", NULL));
	assert_false(has_words(&e, "--no-shconf", NULL));
	assert_true(has_words(&e, "--file-prefix", "nicached-11211"));
	assert_int_equal(settings_eal_args(&s, 4, false, &e, err, ERRCAP), 0);
	assert_true(has_words(&e, "--no-huge", "--no-shconf"));
	BAD("--pdump: captures the dpdk backend's port", "--pdump");
	BAD("leave that to --pdump", "--backend", "dpdk", "--pdump", "--", "--in-memory");
	BAD("--pdump with -u/--user", "--backend", "dpdk", "--pdump", "-u", "nobody");

	/* Auto threads: all CPUs but one, pinned. */
	settings_defaults(&s);
	assert_int_equal(settings_workers(&s, 4), 3);
	assert_int_equal(settings_workers(&s, 1), 1);
	assert_int_equal(settings_workers(&s, 0), 1);
	assert_int_equal(settings_workers(&s, 1000), SETTINGS_WORKERS_MAX);
	assert_int_equal(settings_eal_args(&s, 4, false, &e, err, ERRCAP), 0);
	assert_true(has_words(&e, "--lcores", "0@0,1@1,2@2,3@3"));
	assert_int_equal(settings_eal_args(&s, 1, false, &e, err, ERRCAP), 0);
	assert_true(has_words(&e, "--lcores", "(0-1)@(0)"));
	/* Only the CPUs the process may use (taskset): pinned or floating over exactly those. */
	assert_int_equal(settings_eal_args_cpus(&s, (unsigned[]){1, 3}, 2, false, &e, err,
						ERRCAP), 0);
	assert_true(has_words(&e, "--lcores", "0@1,1@3"));
	assert_int_equal(settings_eal_args_cpus(&s, (unsigned[]){1}, 1, false, &e, err, ERRCAP),
			 0);
	assert_true(has_words(&e, "--lcores", "(0-1)@(1)"));
	s.threads = 2;
	assert_int_equal(settings_workers(&s, 64), 2);
	/* The widest pinned map fits. */
	s.threads = SETTINGS_WORKERS_MAX;
	assert_int_equal(settings_eal_args(&s, 256, false, &e, err, ERRCAP), 0);
	assert_true(strstr(e.argv[2], ",127@127") != NULL);

	/* Too many raw words for the argv array. */
	settings_defaults(&s);
	for (unsigned i = 0; i < SETTINGS_EAL_ARGV_MAX - 10; i++)
		strcat(s.eal, "-y ");
	assert_int_equal(settings_eal_args(&s, 4, false, &e, err, ERRCAP), -E2BIG);
	assert_non_null(strstr(err, "--eal"));

	/* Only a sanity check: the answer depends on the machine. */
	(void)settings_hugepages_usable(1);
	if (geteuid() != 0)
		assert_false(settings_hugepages_usable(0));
	assert_false(settings_hugepages_usable((size_t)1 << 40));
}

static const char *
stat_of(const struct settings_stat *st, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(st[i].name, name) == 0)
			return st[i].value;
	return NULL;
}

/* -S / -Y / --sasl-pwdb: the file they name, and the combinations memcached refuses. */
static void
test_auth(void **state)
{
	struct nc_settings s;
	enum settings_action act;
	char err[ERRCAP];

	(void)state;
	unsetenv("MEMCACHED_SASL_PWDB");
	assert_int_equal(PARSE(&s, &act, err, "-p", "1"), 0);
	assert_false(settings_auth_on(&s));
	assert_null(settings_auth_file(&s));
	assert_int_equal(PARSE(&s, &act, err, "-Y", "/x/users"), 0);
	assert_true(settings_auth_on(&s));
	assert_string_equal(settings_auth_file(&s), "/x/users");
	assert_int_equal(PARSE(&s, &act, err, "-S", "--sasl-pwdb", "/x/pwdb"), 0);
	assert_string_equal(settings_auth_file(&s), "/x/pwdb");
	assert_int_equal(PARSE(&s, &act, err, "-S", "-Y", "/x/users"), 0);
	assert_string_equal(settings_auth_file(&s), "/x/users");
	/* -S alone: memcached's environment variable, else an error. */
	assert_int_equal(PARSE(&s, &act, err, "-S"), -EINVAL);
	assert_non_null(strstr(err, "no users"));
	setenv("MEMCACHED_SASL_PWDB", "/x/env", 1);
	assert_int_equal(PARSE(&s, &act, err, "-S"), 0);
	assert_string_equal(settings_auth_file(&s), "/x/env");
	unsetenv("MEMCACHED_SASL_PWDB");
	/* In a --config file: enable-sasl = yes|no, auth-file / sasl-pwdb as paths. */
	{
		char path[64];

		temp_file(path, sizeof(path),
			  "[nicached]\nenable-sasl = yes\nsasl-pwdb = /x/ini\n");
		assert_int_equal(PARSE(&s, &act, err, "--config", path), 0);
		assert_int_equal(s.sasl, 1);
		assert_string_equal(settings_auth_file(&s), "/x/ini");
		unlink(path);
		temp_file(path, sizeof(path), "[nicached]\nenable-sasl = maybe\n");
		assert_int_equal(PARSE(&s, &act, err, "--config", path), -EINVAL);
		assert_non_null(strstr(err, "is not yes or no"));
		unlink(path);
	}
	/* No UDP with authentication, as memcached. */
	assert_int_equal(PARSE(&s, &act, err, "-Y", "/x/users", "-U", "11211"), -EINVAL);
	assert_non_null(strstr(err, "UDP cannot be used with authentication"));
	assert_int_equal(PARSE(&s, &act, err, "-S", "-Y", "/x/u", "-U", "1"), -EINVAL);
	assert_int_equal(PARSE(&s, &act, err, "--sasl-pwdb", "/x/pwdb"), -EINVAL);
	assert_int_equal(PARSE(&s, &act, err, "-S", "--sasl-pwdb", "/a", "-Y", "/b"), -EINVAL);
	assert_int_equal(PARSE(&s, &act, err, "-S", "-S", "-Y", "/b"), 0); /* a switch, not a count */
	assert_int_equal(s.sasl, 1);
}

static void
test_stats(void **state)
{
	struct nc_settings s;
	struct settings_stat st[SETTINGS_STATS_MAX];
	enum settings_action act;
	char err[ERRCAP];
	unsigned n;

	(void)state;
	assert_int_equal(PARSE(&s, &act, err, "-m", "128", "-f", "1.07", "-vv", "-l",
			       "127.0.0.1,::1", "-U", "11211"),
			 0);
	n = settings_stats(&s, st, SETTINGS_STATS_MAX);
	assert_true(n == 50);
	assert_string_equal(stat_of(st, n, "domain_socket"), "");
	assert_string_equal(stat_of(st, n, "pdump"), "no");
	assert_string_equal(stat_of(st, n, "umask"), "0700");
	assert_string_equal(stat_of(st, n, "require_hugepages"), "no");
	assert_string_equal(stat_of(st, n, "flush_enabled"), "yes");
	assert_string_equal(stat_of(st, n, "shutdown_command"), "no");
	assert_string_equal(stat_of(st, n, "metrics"), "");
	assert_string_equal(stat_of(st, n, "log"), "auto");
	assert_string_equal(stat_of(st, n, "auth_enabled_sasl"), "no"); /* memcached's yes/no */
	assert_string_equal(stat_of(st, n, "auth_enabled_ascii"), "");
	assert_string_equal(stat_of(st, n, "compression"), "none");
	assert_string_equal(stat_of(st, n, "compression_min"), "1024");
	assert_string_equal(stat_of(st, n, "compression_min_saving"), "10");
	assert_string_equal(stat_of(st, n, "snapshot_file"), "");
	assert_string_equal(stat_of(st, n, "restore"), "");
	assert_string_equal(stat_of(st, n, "snapshot_key"), "");
	assert_string_equal(stat_of(st, n, "restore_strict"), "no");
	assert_string_equal(stat_of(st, n, "snapshot_slice_us"), "100");
	assert_string_equal(stat_of(st, n, "replicas"), "1");
	assert_string_equal(stat_of(st, n, "replication"), "async");
	assert_string_equal(stat_of(st, n, "replication_timeout"), "500");
	assert_string_equal(stat_of(st, n, "replication_queue"), "8388608");
	assert_string_equal(stat_of(st, n, "etcd"), "");
	assert_string_equal(stat_of(st, n, "cluster_name"), "nicached");
	assert_string_equal(stat_of(st, n, "etcd_ttl"), "10");
	assert_string_equal(stat_of(st, n, "peers"), "");
	assert_string_equal(stat_of(st, n, "advertise"), "");
	assert_string_equal(stat_of(st, n, "maxbytes"), "134217728");
	assert_string_equal(stat_of(st, n, "idle_timeout"), "0");
	assert_string_equal(stat_of(st, n, "udp_reply_max"), "65536");
	assert_string_equal(stat_of(st, n, "site"), "");
	assert_string_equal(stat_of(st, n, "maxconns"), "1024");
	assert_string_equal(stat_of(st, n, "tcpport"), "11211");
	assert_string_equal(stat_of(st, n, "udpport"), "11211");
	assert_string_equal(stat_of(st, n, "inter"), "127.0.0.1,::1");
	assert_string_equal(stat_of(st, n, "verbosity"), "2");
	assert_string_equal(stat_of(st, n, "num_threads"), "0");
	assert_string_equal(stat_of(st, n, "growth_factor"), "1.07");
	assert_string_equal(stat_of(st, n, "chunk_size"), "48");
	assert_string_equal(stat_of(st, n, "item_size_max"), "1048576");
	assert_string_equal(stat_of(st, n, "evictions"), "on");
	assert_string_equal(stat_of(st, n, "cas_enabled"), "yes");
	assert_string_equal(stat_of(st, n, "binding_protocol"), "auto-negotiate");
	assert_string_equal(stat_of(st, n, "tcp_backlog"), "1024");
	assert_string_equal(stat_of(st, n, "backend"), "socket");
	assert_string_equal(stat_of(st, n, "udp_payload"), "1400");
	assert_string_equal(stat_of(st, n, "fault"), "");
	assert_null(stat_of(st, n, "eal"));
	assert_int_equal(PARSE(&s, &act, err, "-F", "-A", "-P", "/run/x.pid", "-u", "nobody"), 0);
	n = settings_stats(&s, st, SETTINGS_STATS_MAX);
	assert_string_equal(stat_of(st, n, "flush_enabled"), "no");
	assert_string_equal(stat_of(st, n, "shutdown_command"), "yes");
	assert_string_equal(s.pidfile, "/run/x.pid");
	assert_string_equal(s.user, "nobody");
	assert_int_equal(PARSE(&s, &act, err, "--log", "journal"), 0);
	assert_int_equal(s.log, NC_LOG_TARGET_JOURNAL);
	assert_int_equal(PARSE(&s, &act, err, "--log", "file"), -EINVAL);
	assert_non_null(strstr(err, "auto, stderr, journal or syslog"));
	n = settings_stats(&s, st, SETTINGS_STATS_MAX);
	/* A short array is filled, not overrun. */
	assert_int_equal(settings_stats(&s, st, 3), 3);
	assert_int_equal(settings_stats(&s, st, 0), 0);
}

static void
test_usage(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	settings_usage(f, "nicached");
	fclose(f);
	assert_non_null(strstr(text, "Usage: nicached"));
	assert_non_null(strstr(text, "-p, --port=<num>"));
	assert_non_null(strstr(text, "default 11211"));
	assert_non_null(strstr(text, "--udp-payload=<bytes>"));
	assert_non_null(strstr(text, "-I, --max-item-size=<size>"));
	assert_non_null(strstr(text, "default 1m"));
	assert_non_null(strstr(text, "default 1.25"));
	assert_non_null(strstr(text, "-v, --verbose "));
	assert_non_null(strstr(text, "-V, --version"));
	assert_non_null(strstr(text, "--config=<file>"));
	assert_non_null(strstr(text, "--fault=<spec>"));
	free(text);
}

/* Random argv (fixed seed, bounded): never a crash, only 0 or -EINVAL with a message. */
static void
test_fuzz_argv(void **state)
{
	static const char *const pieces[] = {
		"-p",
		"-U",
		"-l",
		"-m",
		"-c",
		"-t",
		"-I",
		"-f",
		"-n",
		"-b",
		"-v",
		"-vv",
		"-h",
		"-V",
		"--port",
		"--listen=",
		"--eal",
		"--config",
		"--backend",
		"--udp-payload",
		"--",
		"-",
		"1",
		"0",
		"-1",
		"1k",
		"1m",
		"99999999999999999999",
		"::1",
		"[::1]:1",
		"1.5",
		"",
		"--config=/nonexistent",
		"--verbose",
		"--help=",
		"--p",
		"--pp",
	};
	char bufs[8][40];
	char *argv[10];
	char err[ERRCAP];
	struct nc_settings s;
	enum settings_action act;
	unsigned seed = 12345;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		int argc = 1 + (int)(rand_r(&seed) % 9);

		argv[0] = "nicached";
		for (int i = 1; i < argc; i++) {
			if (rand_r(&seed) % 2) {
				argv[i] = (char *)pieces[(unsigned)rand_r(&seed) %
							 (sizeof(pieces) / sizeof(pieces[0]))];
			} else {
				size_t n = (size_t)rand_r(&seed) % (sizeof(bufs[0]) - 1);

				for (size_t k = 0; k < n; k++)
					bufs[i - 1][k] = (char)(1 + rand_r(&seed) % 255);
				if (n > 0 && rand_r(&seed) % 2)
					bufs[i - 1][0] = '-';
				bufs[i - 1][n] = '\0';
				argv[i] = bufs[i - 1];
			}
		}
		argv[argc] = NULL;
		err[0] = '\0';
		int rc = settings_parse(&s, argc, argv, &act, err, ERRCAP);

		assert_true(rc == 0 || rc == -EINVAL);
		if (rc != 0)
			assert_true(err[0] != '\0');
	}
	/* Tiny and NULL message buffers. */
	assert_int_equal(PARSE(&s, &act, err, "-m", "x"), -EINVAL);
	assert_int_equal(settings_parse(&s, 3, (char *[]){"n", "-m", "x", NULL}, &act, NULL, 0),
			 -EINVAL);
	assert_int_equal(settings_parse(&s, 3, (char *[]){"n", "-m", "x", NULL}, &act, err, 1),
			 -EINVAL);
	assert_string_equal(err, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_every_flag),
		cmocka_unit_test(test_verbose_count), cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_suboptions),
		cmocka_unit_test(test_bad_values),    cmocka_unit_test(test_listen),
		cmocka_unit_test(test_config_file),   cmocka_unit_test(test_config_bad_lines),
		cmocka_unit_test(test_eal_args),      cmocka_unit_test(test_stats),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_usage),	      cmocka_unit_test(test_fuzz_argv),
		cmocka_unit_test(test_fault),	      cmocka_unit_test(test_cluster),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
