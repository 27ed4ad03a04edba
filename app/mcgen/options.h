/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_OPTIONS_H
#define NC_MCGEN_OPTIONS_H

/*
 * mcgen's command line. Every option is written once, in MCGEN_OPTIONS below: the struct, the
 * defaults, the getopt_long table and `--help` are expanded from it. Defaults are written as
 * the text a user would type and go through the same parser.
 *
 * Errors: negative errno (-EINVAL for anything the user wrote wrong) with a one-line message
 * naming the option in a caller buffer.
 *
 * Threads: mcgen_options_parse() uses getopt_long() (process-global state): call it from one
 * thread at a time. The other functions keep no state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Longest string option (server, file names, EAL arguments), NUL included. */
#define MCGEN_STR_LEN 512
/** Most keys of one multi-get. */
#define MCGEN_MGET_MAX 32
/** Most steps of --sweep. */
#define MCGEN_SWEEP_MAX 64

/*
 * Transports: X(enum suffix, identifier (mcgen_<id>_run in transport.h), name, DPDK). The
 * kernel's sockets, and DPDK's port (dpdk.h) with frames built by mcgen.
 */
#define MCGEN_TRANSPORTS(X)                         \
	X(TCP, tcp, "tcp", false)                   \
	X(UDP, udp, "udp", false)                   \
	X(DPDK_UDP, dpdk_udp, "dpdk-udp", true)     \
	X(DPDK_TCP, dpdk_tcp, "dpdk-tcp", true)

enum mcgen_transport {
#define MCGEN_TRANSPORT_ENUM(e, id, name, dpdk) MCGEN_TRANSPORT_##e,
	MCGEN_TRANSPORTS(MCGEN_TRANSPORT_ENUM)
#undef MCGEN_TRANSPORT_ENUM
	MCGEN_TRANSPORT_COUNT
};

/* Protocols: X(enum suffix, identifier (proto_<id>.c), name). */
#define MCGEN_PROTOS(X)                \
	X(TEXT, text, "text")          \
	X(META, meta, "meta")          \
	X(BINARY, binary, "binary")

enum mcgen_proto {
#define MCGEN_PROTO_ENUM(e, id, name) MCGEN_PROTO_##e,
	MCGEN_PROTOS(MCGEN_PROTO_ENUM)
#undef MCGEN_PROTO_ENUM
	MCGEN_PROTO_COUNT
};

/* Key distributions: X(enum suffix, name). */
#define MCGEN_DISTS(X)          \
	X(UNIFORM, "uniform")   \
	X(ZIPF, "zipf")

enum mcgen_dist {
#define MCGEN_DIST_ENUM(e, name) MCGEN_DIST_##e,
	MCGEN_DISTS(MCGEN_DIST_ENUM)
#undef MCGEN_DIST_ENUM
	MCGEN_DIST_COUNT
};

/* Open-loop arrivals: X(enum suffix, name). */
#define MCGEN_ARRIVALS(X)       \
	X(UNIFORM, "uniform")   \
	X(POISSON, "poisson")

enum mcgen_arrivals {
#define MCGEN_ARRIVALS_ENUM(e, name) MCGEN_ARRIVALS_##e,
	MCGEN_ARRIVALS(MCGEN_ARRIVALS_ENUM)
#undef MCGEN_ARRIVALS_ENUM
	MCGEN_ARRIVALS_COUNT
};

/* Operations of the mix: X(enum suffix, name). */
#define MCGEN_OPS(X)             \
	X(GET, "get")            \
	X(SET, "set")            \
	X(DELETE, "delete")      \
	X(MGET, "multiget")

enum mcgen_op {
#define MCGEN_OP_ENUM(e, name) MCGEN_OP_##e,
	MCGEN_OPS(MCGEN_OP_ENUM)
#undef MCGEN_OP_ENUM
	MCGEN_OP_COUNT
};

/** A size, fixed (min == max) or drawn from [min, max]. */
struct mcgen_range {
	uint32_t min, max;
};

/** Weights of the operations (any scale; 0 = never). */
struct mcgen_mix {
	uint32_t w[MCGEN_OP_COUNT];
};

/** The offered rates of --sweep, requests per second. */
struct mcgen_rates {
	unsigned n;
	double r[MCGEN_SWEEP_MAX];
};

/*
 * Kinds of option: the C type of the field and how its text is parsed.
 *   uint       unsigned decimal in [min, max]             uint64_t
 *   real       decimal fraction in [min, max]              double
 *   str        text, kept as given                         char[MCGEN_STR_LEN]
 *   transport, proto, dist, arrivals: one name of their list   unsigned (the enum)
 *   range      N or MIN-MAX, each in [min, max]            struct mcgen_range
 *   mix        op=weight,... (ops of MCGEN_OPS)            struct mcgen_mix
 *   rates      R1,R2,... or START:STOP:STEP (k/m suffixes) struct mcgen_rates
 *   switch     no argument: turns it on                    bool
 *   help       an action, no field
 */
#define MCGEN_FIELD_uint(f)	 uint64_t f;
#define MCGEN_FIELD_real(f)	 double f;
#define MCGEN_FIELD_str(f)	 char f[MCGEN_STR_LEN];
#define MCGEN_FIELD_transport(f) unsigned f;
#define MCGEN_FIELD_proto(f)	 unsigned f;
#define MCGEN_FIELD_dist(f)	 unsigned f;
#define MCGEN_FIELD_arrivals(f)	 unsigned f;
#define MCGEN_FIELD_range(f)	 struct mcgen_range f;
#define MCGEN_FIELD_mix(f)	 struct mcgen_mix f;
#define MCGEN_FIELD_rates(f)	 struct mcgen_rates f;
#define MCGEN_FIELD_switch(f)	 bool f;
#define MCGEN_FIELD_help(f)

/* X(kind, field, short flag (0: none), long flag, default text, min, max, argument, help) */
#define MCGEN_OPTIONS(X)                                                                     \
	X(str, server, 's', "server", "127.0.0.1:11211", 0, 0, "host[:port]",                \
	  "the memcached server: an address or a host name, a port or a service (11211)")    \
	X(transport, transport, 'x', "transport", "tcp", 0, 0, "name",                       \
	  "tcp or udp (kernel sockets), dpdk-udp or dpdk-tcp (a DPDK port: see --eal; "   \
	  "dpdk-tcp is the project's own TCP, lib/tcp, in active open)")                   \
	X(proto, protocol, 'P', "protocol", "text", 0, 0, "name",                            \
	  "text, meta (mg/ms/md/mn) or binary")                                              \
	X(uint, threads, 't', "threads", "1", 1, 256, "num",                                 \
	  "load threads, each with its share of the connections (dpdk: each on its own "    \
	  "lcore of -l and queue pair; fewer lcores than threads is refused)")              \
	X(uint, conns, 'c', "conns", "4", 1, 65536, "num",                                   \
	  "connections in all (udp: sockets), spread over the threads")                     \
	X(uint, depth, 'd', "depth", "8", 1, 4096, "num",                                    \
	  "most requests in flight per connection")                                           \
	X(real, duration, 'T', "duration", "10", 0.1, 86400, "seconds",                      \
	  "length of the measured run (of each --sweep step)")                               \
	X(real, rate, 'r', "rate", "0", 0, 1e9, "req/s",                                     \
	  "open loop: requests per second offered in all (k/m suffixes); 0 = closed loop, " \
	  "every connection keeps --depth requests in flight")                               \
	X(arrivals, arrivals, 0, "arrivals", "uniform", 0, 0, "kind",                        \
	  "open loop: uniform (fixed gaps) or poisson (exponential gaps) arrivals")          \
	X(uint, keys, 'k', "keys", "100000", 1, 4000000000u, "num", "keys in the key space") \
	X(dist, key_dist, 0, "key-dist", "uniform", 0, 0, "kind",                            \
	  "how keys are drawn: uniform or zipf (rank 1 the most popular)")                   \
	X(real, zipf_s, 0, "zipf-s", "0.99", 0.01, 10, "s", "Zipf exponent for --key-dist zipf") \
	X(range, key_size, 0, "key-size", "16", 12, 250, "N|MIN-MAX",                        \
	  "key length in bytes, fixed or a range (each key keeps its length)")              \
	X(range, value_size, 0, "value-size", "32", 1, 1048576, "N|MIN-MAX",                 \
	  "value length in bytes, fixed or a range (drawn per key and version)")            \
	X(mix, mix, 'm', "mix", "get=90,set=10", 0, 0, "op=w,...",                           \
	  "weights of get, set, delete and multiget")                                        \
	X(uint, mget_keys, 0, "mget-keys", "4", 1, MCGEN_MGET_MAX, "num",                    \
	  "keys of one multiget")                                                            \
	X(switch, warm, 'w', "warm", "0", 0, 0, NULL,                                        \
	  "set every key once before measuring (so gets hit)")                               \
	X(uint, timeout_ms, 0, "timeout", "1000", 1, 600000, "ms",                           \
	  "a request unanswered this long is a timeout (tcp: its connection is reopened)")   \
	X(rates, sweep, 0, "sweep", "", 0, 0, "R1,R2,..|A:B:STEP",                            \
	  "open-loop runs at each offered rate; prints a rate vs p99 table")                 \
	X(str, json, 'j', "json", "", 0, 0, "file", "write the result as JSON to this file") \
	X(str, plot, 0, "plot", "", 0, 0, "file.png",                                        \
	  "with --sweep: draw p50/p99/p999 vs throughput (python3-matplotlib)")              \
	X(uint, seed, 0, "seed", "1", 0, UINT64_MAX, "num", "seed of the random streams")    \
	X(switch, quiet, 'q', "quiet", "0", 0, 0, NULL, "no line per second")               \
	X(str, eal, 0, "eal", "", 0, 0, "\"args\"",                                           \
	  "dpdk: EAL arguments (the words after -- are added), e.g. \"-l 0 --no-huge "     \
	  "--no-pci --vdev=net_memif0,role=client,socket=/run/nicached-IF.memif\"; one "  \
	  "queue pair per --threads on the first port (--site: the site's device)")        \
	X(str, site, 0, "site", "", 0, 0, "file",                                            \
	  "dpdk: the port from a site file as nicached reads one (its [port] profile in "   \
	  "--drivers-dir gives the device's EAL arguments, added to --eal, and the rings, "   \
	  "RSS and pool; its [ipv4] address is --src-ip unless given); frames stay "          \
	  "untagged with software checksums")                                               \
	X(str, drivers_dir, 0, "drivers-dir", "", 0, 0, "dir",                               \
	  "dpdk: the folder of the NIC profiles --site names (default: nicached's, "        \
	  NC_DRIVERS_DIR ", or the source tree's when run from a build tree)")             \
	X(str, src_ip, 0, "src-ip", "", 0, 0, "a.b.c.d", "dpdk: our IPv4 address on the port") \
	X(uint, src_port, 0, "src-port", "40000", 1, 65535, "port",                          \
	  "dpdk: first source port; thread i owns the i-th block of ceil(conns/threads) "  \
	  "ports after it (one per connection) and gets every reply to them, handed over "  \
	  "from other threads' queues when the device does not steer them (dpdk-tcp: "      \
	  "ports in 32768-60999)")                                                          \
	X(str, dst_mac, 0, "dst-mac", "", 0, 0, "xx:xx:..",                                  \
	  "dpdk: the server's MAC (default: asked by ARP; the server must be on-link)")    \
	X(real, link_wait, 0, "link-wait", "10", 0.1, 3600, "seconds",                     \
	  "dpdk: how long the port's link may take to come up (a memif server waits for "  \
	  "its client)")                                                                    \
	X(switch, cross_queues, 0, "cross-queues", "0", 0, 0, NULL,                          \
	  "dpdk, a test: thread i sends on queue i+1 (mod threads), so on a device that "    \
	  "pairs its queues (memif) every reply lands on another thread's queue and is "      \
	  "handed over")                                                                    \
	X(help, help, 'h', "help", "", 0, 0, NULL, "this text")

/** mcgen's options, one field per line of MCGEN_OPTIONS. */
struct mcgen_options {
#define MCGEN_OPTIONS_FIELD(kind, f, ...) MCGEN_FIELD_##kind(f)
	MCGEN_OPTIONS(MCGEN_OPTIONS_FIELD)
#undef MCGEN_OPTIONS_FIELD
};

/**
 * Set every option to its default.
 * @return 0; -EINVAL when a default does not parse (a bug in the table), said in @p err.
 */
int mcgen_options_defaults(struct mcgen_options *o, char *err, size_t errlen);

/**
 * Parse the command line over the defaults, then check the options together (e.g. --plot
 * needs --sweep; a key must fit --key-size). Words after `--` are EAL arguments, added to
 * --eal (for dpdk transports only).
 * @return 0; 1 when --help was asked (nothing else done); -EINVAL with a message in @p err.
 */
int mcgen_options_parse(struct mcgen_options *o, int argc, char **argv, char *err,
			size_t errlen);

/** Print the usage text, generated from MCGEN_OPTIONS, to @p f. */
void mcgen_options_usage(FILE *f);

/** The name of protocol @p p ("text", ...), or "?" when out of range. */
const char *mcgen_proto_name(unsigned p);

/** The name of transport @p t ("tcp", ...), or "?" when out of range. */
const char *mcgen_transport_name(unsigned t);

/** Whether transport @p t runs over a DPDK port (dpdk.h). */
bool mcgen_transport_is_dpdk(unsigned t);

/** The name of operation @p op ("get", ...), or "?" when out of range. */
const char *mcgen_op_name(unsigned op);

/**
 * Parse a rate: a decimal number with an optional k (x1000) or m (x1000000) suffix.
 * @return 0 with *@p v set; -EINVAL when @p s is not one.
 */
int mcgen_parse_rate(const char *s, double *v);

#endif /* NC_MCGEN_OPTIONS_H */
