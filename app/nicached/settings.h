/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_SETTINGS_H
#define NC_APP_SETTINGS_H

/*
 * nicached's settings: memcached-compatible command-line flags, the same settings as keys of
 * section [nicached] in an INI file (--config FILE, read with DPDK rte_cfgfile), the EAL
 * arguments derived from them, and `stats settings`.
 *
 * Every setting is written once, in SETTINGS_TABLE below; the struct, the defaults, the
 * getopt_long table, the INI keys, the usage text, the ranges and the stats are expanded from
 * it. To add a setting, add one line there (and a kind if none fits).
 *
 * Errors: negative errno (-EINVAL for anything the user wrote wrong, -E2BIG when a derived
 * argument list does not fit), with a one-line message naming the setting in a caller buffer.
 *
 * Threads: none of these functions keeps state between calls, except that settings_parse()
 * uses getopt_long() (process-global state): call it from one thread at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "stack/stack.h"

/** Longest string setting (-l list, --eal words), NUL included. */
#define SETTINGS_STR_LEN 512
/** Longest --config path, NUL included. */
#define SETTINGS_PATH_LEN 256
/** Most workers: DPDK's lcore limit less the main lcore. */
#define SETTINGS_WORKERS_MAX 127
/** The INI section that holds the settings. */
#define SETTINGS_INI_SECTION "nicached"

/* The I/O backends: X(enum suffix, name). */
#define SETTINGS_BACKENDS(X) \
	X(SOCKET, "socket")  \
	X(DPDK, "dpdk")

enum settings_backend {
#define SETTINGS_BACKEND_ENUM(e, name) SETTINGS_BACKEND_##e,
	SETTINGS_BACKENDS(SETTINGS_BACKEND_ENUM)
#undef SETTINGS_BACKEND_ENUM
};

/* When a write to a replicated key is answered: X(enum suffix, name). */
#define SETTINGS_REPLICATIONS(X) \
	X(ASYNC, "async")        \
	X(QUORUM, "quorum")

enum settings_replication {
#define SETTINGS_REPLICATION_ENUM(e, name) SETTINGS_REPLICATION_##e,
	SETTINGS_REPLICATIONS(SETTINGS_REPLICATION_ENUM)
#undef SETTINGS_REPLICATION_ENUM
};

/* Value compression in the server: X(enum suffix, name). */
#define SETTINGS_COMPRESSIONS(X) \
	X(NONE, "none")         \
	X(LZF, "lzf")

enum settings_compression {
#define SETTINGS_COMPRESSION_ENUM(e, name) SETTINGS_COMPRESSION_##e,
	SETTINGS_COMPRESSIONS(SETTINGS_COMPRESSION_ENUM)
#undef SETTINGS_COMPRESSION_ENUM
};

/*
 * Kinds of setting (the first column of the table). What a kind decides: the C type of the
 * field, whether the flag takes an argument, how its text is parsed and printed.
 *   uint     unsigned decimal, range [min, max]
 *   mb       unsigned megabytes, range [min, max]; `stats` reports bytes
 *   size     bytes with an optional k/K or m/M suffix (memcached -I), range [min, max]
 *   real     decimal fraction, range (min, max]: the minimum is excluded
 *   listen   memcached -l list: numeric addresses, optionally addr:port / [v6]:port
 *   words    free text split on spaces (--eal)
 *   backend  one of SETTINGS_BACKENDS
 *   replication  one of SETTINGS_REPLICATIONS
 *   logto    one of NC_LOG_TARGETS (core/log.h)
 *   compression  one of SETTINGS_COMPRESSIONS
 *   count    flag without argument counted on the command line (-vv); a number in the file
 *   switch   flag without argument that turns something on (0/1); yes/no (or 1/0) in the file;
 *            `stats settings` says yes/no, as memcached
 *   config   --config FILE (command line only)
 *   path     a file or folder name, kept as given
 *   fault    a fault-injection specification (net/fault.h: net_fault_parse), kept as given
 *   subopts  memcached -o list, name[=value],...: each of memcached's suboptions that nicached
 *            has sets its setting (setting_subopts in settings_value.c); the others are
 *            accepted without effect; kept as given
 *   members  cluster members, comma-separated host:port names as clients write them
 *            (app/nicached/cluster.h), checked by building their ring; kept as given
 *   member   one such name
 *   help, version   actions (command line only, no field)
 */
#define SETTINGS_FIELD_uint(f)	  unsigned f;
#define SETTINGS_FIELD_mb(f)	  unsigned f;
#define SETTINGS_FIELD_size(f)	  size_t f;
#define SETTINGS_FIELD_real(f)	  double f;
#define SETTINGS_FIELD_listen(f)  char f[SETTINGS_STR_LEN];
#define SETTINGS_FIELD_words(f)	  char f[SETTINGS_STR_LEN];
#define SETTINGS_FIELD_backend(f) enum settings_backend f;
#define SETTINGS_FIELD_replication(f) enum settings_replication f;
#define SETTINGS_FIELD_logto(f)	  enum nc_log_target f;
#define SETTINGS_FIELD_compression(f) enum settings_compression f;
#define SETTINGS_FIELD_count(f)	  unsigned f;
#define SETTINGS_FIELD_switch(f)  unsigned f;
#define SETTINGS_FIELD_config(f)  char f[SETTINGS_PATH_LEN];
#define SETTINGS_FIELD_path(f)	  char f[SETTINGS_PATH_LEN];
#define SETTINGS_FIELD_fault(f)	  char f[SETTINGS_PATH_LEN];
#define SETTINGS_FIELD_subopts(f) char f[SETTINGS_STR_LEN];
#define SETTINGS_FIELD_members(f) char f[SETTINGS_STR_LEN];
#define SETTINGS_FIELD_member(f)  char f[SETTINGS_PATH_LEN];
#define SETTINGS_FIELD_help(f)
#define SETTINGS_FIELD_version(f)

/*
 * X(kind, field, short flag (0: none), long flag = INI key, default, min, max,
 *   memcached `stats settings` name (NULL: not reported), argument name, help)
 */
#define SETTINGS_TABLE(X)                                                                     \
	X(uint, port, 'p', "port", 11211, 0, 65535, "tcpport", "num",                         \
	  "TCP port to listen on, 0 = TCP off")                                               \
	X(uint, udp_port, 'U', "udp-port", 0, 0, 65535, "udpport", "num",                     \
	  "UDP port to listen on, 0 = UDP off")                                               \
	X(listen, listen, 'l', "listen", "0.0.0.0", 0, 0, "inter", "addr",                    \
	  "comma-separated addresses or host names to listen on (a name: every address it "  \
	  "resolves to), each optionally addr:port or [v6]:port (at most 8)")                 \
	X(mb, memory_limit, 'm', "memory-limit", 64, 1, 1048576, "maxbytes", "mb",            \
	  "item memory in megabytes")                                                         \
	X(uint, conn_limit, 'c', "conn-limit", 1024, 1, 1048576, "maxconns", "num",           \
	  "most simultaneous connections")                                                    \
	X(uint, threads, 't', "threads", 0, 0, SETTINGS_WORKERS_MAX, "num_threads", "num",    \
	  "worker threads, 0 = all CPUs but one (at least 1)")                                \
	X(size, max_item_size, 'I', "max-item-size", 1048576, 1024, 1073741824,               \
	  "item_size_max", "size",                                                            \
	  "largest item, k/m suffixes allowed (at most 1024m and half of -m)")               \
	X(real, growth_factor, 'f', "slab-growth-factor", 1.25, 1.0, 10.0, "growth_factor",   \
	  "factor", "chunk size growth factor between slab classes (> 1.0)")                  \
	X(uint, slab_min_size, 'n', "slab-min-size", 48, 16, 65536, "chunk_size", "bytes",    \
	  "smallest chunk for key + value + flags")                                           \
	X(uint, idle_timeout, 0, "idle-timeout", 0, 0, 2592000, "idle_timeout", "seconds",    \
	  "close a connection that sent no request for this long, 0 = never (memcached -o "  \
	  "idle_timeout)")                                                                    \
	X(compression, compression, 0, "compression", SETTINGS_COMPRESSION_NONE, 0, 0,       \
	  "compression", "none|lzf",                                                          \
	  "store values of at least --compression-min bytes compressed with LZF when that "  \
	  "saves --compression-min-saving percent; clients see their own bytes (-o "         \
	  "compression=lzf)")                                                                 \
	X(size, compression_min, 0, "compression-min", 1024, 1, 1073741824,                  \
	  "compression_min", "size",                                                          \
	  "smallest value tried with --compression, k/m suffixes allowed (-o "               \
	  "compression_min=N)")                                                               \
	X(uint, compression_min_saving, 0, "compression-min-saving", 10, 0, 99,              \
	  "compression_min_saving", "percent",                                                \
	  "keep a value compressed only when that saves at least this share of it (-o "      \
	  "compression_min_saving=N)")                                                        \
	X(subopts, extended, 'o', "extended", "", 0, 0, NULL, "list",                         \
	  "memcached's comma-separated suboptions: idle_timeout=N sets --idle-timeout, "     \
	  "compression=lzf, compression_min=N and compression_min_saving=N set those; the "  \
	  "others memcached has (hashpower, slab_reassign, modern, ...) are accepted and do " \
	  "nothing here")                                                                     \
	X(uint, listen_backlog, 'b', "listen-backlog", 1024, 1, 65535, "tcp_backlog", "num",  \
	  "TCP listen backlog")                                                               \
	X(count, verbose, 'v', "verbose", 0, 0, 3, "verbosity", "n",                          \
	  "more messages: -v, -vv, -vvv (in the file: verbose = N)")                          \
	X(logto, log, 0, "log", NC_LOG_TARGET_AUTO, 0, 0, "log", "target",                    \
	  "where messages go: stderr (with time and level), journal (level prefixes for "     \
	  "systemd), syslog, or auto (journal under systemd, stderr on a terminal, file or "  \
	  "pipe, else syslog)")                                                               \
	X(uint, udp_payload, 0, "udp-payload", 1400, 512, 65000, "udp_payload", "bytes",      \
	  "largest UDP response payload per datagram")                                        \
	X(size, udp_reply_max, 0, "udp-reply-max", 65536, 1024, 1048576, "udp_reply_max",     \
	  "bytes", "largest reply sent over UDP (longer ones are dropped and counted)")       \
	X(backend, backend, 0, "backend", SETTINGS_BACKEND_SOCKET, 0, 0, "backend", "name",   \
	  "I/O backend: socket or dpdk")                                                      \
	X(path, site, 0, "site", "", 0, 0, "site", "file",                                    \
	  "dpdk: site file naming the NIC profile, interface or PCI address and IPv4 address") \
	X(path, drivers_dir, 0, "drivers-dir", NC_DRIVERS_DIR, 0, 0, "drivers_dir", "dir",    \
	  "dpdk: folder of the NIC profiles (drivers-config)")                                \
	X(fault, fault, 0, "fault", "", 0, 0, "fault", "spec",                                \
	  "dpdk: seeded fault injection for tests, e.g. seed=1,drop=0.05,reorder=0.05 (off "  \
	  "when empty)")                                                                      \
	X(words, eal, 0, "eal", "", 0, 0, NULL, "args",                                       \
	  "extra EAL arguments, split on spaces, after the derived ones (experts)")           \
	X(members, peers, 0, "peers", "", 0, 0, "peers", "list",                              \
	  "cluster: every member, comma-separated host:port as the clients name them (with " \
	  "--advertise; ketama placement as libmemcached's)")                                 \
	X(member, advertise, 0, "advertise", "", 0, 0, "advertise", "host:port",              \
	  "cluster: this node's name among --peers (or in etcd)")                             \
	X(path, etcd, 0, "etcd", "", 0, 0, "etcd", "urls",                                    \
	  "cluster: membership in etcd, endpoints comma-separated (http://host:port); with "  \
	  "--peers, that list serves until etcd answers, else the start needs etcd")          \
	X(path, cluster_name, 0, "cluster-name", "nicached", 0, 0, "cluster_name", "name",    \
	  "cluster: the name members register under in etcd (/nicached/<name>/members/)")     \
	X(uint, etcd_ttl, 0, "etcd-ttl", 10, 2, 3600, "etcd_ttl", "seconds",                  \
	  "cluster: lease TTL in etcd; a node that dies leaves the member list within it")    \
	X(uint, replicas, 0, "replicas", 1, 1, 8, "replicas", "R",                            \
	  "cluster: copies of each key, its primary's and the next R-1 members' clockwise "  \
	  "(see --replication)")                                                              \
	X(replication, replication, 0, "replication", SETTINGS_REPLICATION_ASYNC, 0, 0,      \
	  "replication", "mode",                                                              \
	  "cluster: async answers a write once stored here; quorum once a majority of the "  \
	  "key's R copies stored it (else SERVER_ERROR, and no copy keeps it)")              \
	X(uint, handover_max, 0, "handover-max", 30, 0, 3600, "handover_max", "seconds",      \
	  "cluster, etcd: at a stop, hand this node's keys to the other members first, for "\
	  "at most this long (0 = leave at once)")                                            \
	X(uint, warmup_max, 0, "warmup-max", 60, 0, 3600, "warmup_max", "seconds",            \
	  "cluster, R > 1: after a start, read gets that miss through to another copy until "\
	  "every member sent what this node should hold, at most this long (0 = never)")     \
	X(uint, replication_timeout, 0, "replication-timeout", 500, 10, 60000,               \
	  "replication_timeout", "ms",                                                        \
	  "cluster: --replication quorum: longest wait for the replicas' acknowledgements")  \
	X(size, replication_queue, 0, "replication-queue", 8388608, 65536, 1073741824,        \
	  "replication_queue", "bytes",                                                       \
	  "cluster: most bytes waiting for one replica per worker; beyond, writes for it "   \
	  "are dropped and counted")                                                          \
	X(path, metrics, 0, "metrics", "", 0, 0, "metrics", "[addr:]port",                    \
	  "Prometheus endpoint: GET /metrics on this kernel TCP address (port alone: "       \
	  "127.0.0.1; [v6]:port for IPv6), served by the control lcore; empty = off")         \
	X(switch, disable_flush, 'F', "disable-flush", 0, 0, 1, NULL, "yes|no",               \
	  "refuse flush_all (memcached -F): text 'CLIENT_ERROR flush_all not allowed', "     \
	  "binary an auth error; stats settings: flush_enabled")                             \
	X(switch, enable_shutdown, 'A', "enable-shutdown", 0, 0, 1, NULL, "yes|no",           \
	  "let the shutdown command stop the server cleanly (memcached -A); stats settings: " \
	  "shutdown_command")                                                                 \
	X(path, pidfile, 'P', "pidfile", "", 0, 0, NULL, "file",                             \
	  "write the process id to this file once serving; removed at a clean stop")          \
	X(path, user, 'u', "user", "", 0, 0, NULL, "name",                                    \
	  "started as root: switch to this user once the NIC, memory and ports are set up")  \
	X(switch, disable_evictions, 'M', "disable-evictions", 0, 0, 1, NULL, "yes|no",         \
	  "never evict a live item for room (memcached -M): a store that needs it answers "  \
	  "'SERVER_ERROR out of memory storing object'; stats settings: evictions off")       \
	X(path, unix_socket, 's', "unix-socket", "", 0, 0, "domain_socket", "file",             \
	  "listen on this unix socket instead of TCP and UDP (memcached -s; socket backend; " \
	  "worker 0 accepts its connections)")                                                \
	X(path, unix_mask, 'a', "unix-mask", "0700", 0, 0, "umask", "mask",                    \
	  "permissions of the unix socket, octal (memcached -a)")                             \
	X(switch, require_hugepages, 0, "require-hugepages", 0, 0, 1, "require_hugepages",      \
	  "yes|no", "refuse to start when the hugepages the settings need are not free "       \
	  "(instead of starting on 4 KiB pages)")                                             \
	X(switch, pdump, 0, "pdump", 0, 0, 1, "pdump", "yes|no",                              \
	  "dpdk: let dpdk-dumpcap and dpdk-pdump capture the port's traffic (EAL as a "       \
	  "multi-process primary under its --file-prefix, on hugepages: it refuses to start " \
	  "without them)")                                                                    \
	X(count, hugepages_needed, 0, "hugepages-needed", 0, 0, 1, NULL, NULL,                \
	  "print the EAL memory in MB the other settings need (the hugepages to reserve) "    \
	  "and exit")                                                                         \
	X(switch, sasl, 'S', "enable-sasl", 0, 0, 1, "auth_enabled_sasl", "yes|no",          \
	  "authentication (as memcached -S): binary SASL PLAIN and the text token of -Y, "  \
	  "users from --sasl-pwdb, else the -Y file, else $MEMCACHED_SASL_PWDB; no UDP")     \
	X(path, auth_file, 'Y', "auth-file", "", 0, 0, "auth_enabled_ascii", "file",          \
	  "authentication (as memcached -Y): user:password lines; a text connection's first " \
	  "command is set <any> <flags> <exptime> <n> carrying 'user password' (binary SASL " \
	  "PLAIN too); re-read on SIGHUP; no UDP")                                            \
	X(path, sasl_pwdb, 0, "sasl-pwdb", "", 0, 0, NULL, "file",                            \
	  "-S: the user:password file (memcached reads $MEMCACHED_SASL_PWDB)")               \
	X(path, snapshot_file, 0, "snapshot-file", "", 0, 0, "snapshot_file", "file",         \
	  "snapshots: where `snapshot`, SIGUSR1 and a clean stop write one; restored at "     \
	  "start when it exists (empty: no snapshots)")                                       \
	X(path, restore, 0, "restore", "", 0, 0, "restore", "file",                           \
	  "snapshots: load this snapshot at start, before serving (it must exist)")          \
	X(path, snapshot_key, 0, "snapshot-key", "", 0, 0, "snapshot_key", "file",            \
	  "snapshots: encrypt and authenticate with this key (32 raw bytes or 64 hex "        \
	  "digits); a snapshot read must be encrypted with it")                               \
	X(switch, restore_strict, 0, "restore-strict", 0, 0, 1, "restore_strict", "yes|no",   \
	  "snapshots: refuse to start when the snapshot to restore is bad (default: log "    \
	  "why and start empty)")                            \
	X(uint, snapshot_slice_us, 0, "snapshot-slice-us", 100, 10, 100000,                   \
	  "snapshot_slice_us", "us",                                                          \
	  "snapshots: longest a worker copies its shard per loop iteration while serving")    \
	X(config, config, 0, "config", "", 0, 0, NULL, "file",                                \
	  "read settings from section [" SETTINGS_INI_SECTION "] of an INI file first")       \
	X(help, help, 'h', "help", 0, 0, 0, NULL, NULL, "print this help and exit")           \
	X(version, version, 'V', "version", 0, 0, 0, NULL, NULL, "print the version and exit")

/** All settings, one field per table line (help and version have none). */
struct nc_settings {
#define SETTINGS_STRUCT_FIELD(kind, field, sc, name, def, min, max, stat, arg, help) \
	SETTINGS_FIELD_##kind(field)
	SETTINGS_TABLE(SETTINGS_STRUCT_FIELD)
#undef SETTINGS_STRUCT_FIELD
};

/** What the caller should do after settings_parse(). */
enum settings_action {
	SETTINGS_RUN,	  /* start the server with the settings */
	SETTINGS_HELP,	  /* print settings_usage() and exit 0 */
	SETTINGS_VERSION, /* print "nicached " NC_VERSION and exit 0 */
};

/**
 * The file of users and passwords authentication reads (auth.h): --sasl-pwdb, else -Y's
 * file, else with -S the environment's MEMCACHED_SASL_PWDB (as memcached). NULL when
 * authentication is off (neither -S nor -Y) or -S names no file.
 */
const char *settings_auth_file(const struct nc_settings *s);

/** Whether authentication is on (-S or -Y). */
static inline bool
settings_auth_on(const struct nc_settings *s)
{
	return s->sasl != 0 || s->auth_file[0] != '\0';
}

/**
 * Fill @p s with the defaults of the table. The NIC profiles folder is the installed one, or
 * the source tree's when a build-tree binary runs on a machine where none is installed.
 */
void settings_defaults(struct nc_settings *s);

/**
 * Set @p s from the command line: defaults, then the --config file if one is named (anywhere
 * in argv), then every other flag in order, so flags override the file. Checks each value and
 * the combination (e.g. -n below -I, something to listen on).
 * @p argv is not modified (no GNU permutation: an operand that is not an option is an error).
 * @return 0 with *act set (for SETTINGS_HELP / SETTINGS_VERSION nothing else was read);
 *         -EINVAL with a message in @p err (e.g. "-m/--memory-limit: 'abc' is not a number",
 *         "my.ini:3: unknown setting 'prot'"); @p s is unchanged on error.
 * Not thread-safe (getopt_long state); may be called any number of times.
 */
int settings_parse(struct nc_settings *s, int argc, char **argv, enum settings_action *act,
		   char *err, size_t errcap);

/** Print the usage text, generated from the table with defaults, to @p f. */
void settings_usage(FILE *f, const char *prog);

/**
 * Print the options as a man page's OPTIONS section body (troff: one .TP entry per setting:
 * flags, INI key, range, default and `stats settings` name) to @p f. For the man page
 * generator; any thread.
 */
void settings_man_options(FILE *f);

/** Print @p text to @p f escaped for troff (backslashes, leading dots and quotes). */
void settings_man_text(FILE *f, const char *text);

/**
 * The memcached -o suboptions of @p s that are accepted without effect here (hashpower,
 * modern, ...), comma-separated into @p buf (cut to fit). For a notice at start.
 * @return the length written (0: none).
 */
size_t settings_subopts_ignored(const struct nc_settings *s, char *buf, size_t cap);

/**
 * The number of workers: the -t setting, or when it is 0 all of @p ncpus but one (at least 1,
 * at most SETTINGS_WORKERS_MAX).
 */
unsigned settings_workers(const struct nc_settings *s, unsigned ncpus);

/**
 * Turn the -l list into listen entries: each address with the tcp port of its entry (addr:port)
 * or of -p, and the udp port of -U.
 * @return the number of entries (1..@p max); -EINVAL with a message in @p err when an entry
 *         is not a numeric address or port, or -E2BIG when there are more than @p max.
 */
int settings_listen(const struct nc_settings *s, struct stack_listen *out, unsigned max, char *err,
		    size_t errcap);

/** Groups of derived EAL options the user's EAL words may replace (settings_eal.c). */
enum settings_eal_group {
	SETTINGS_EAL_lcores,  /* --lcores: lcore 0 control, 1..N workers */
	SETTINGS_EAL_memory,  /* -m: the computed EAL memory */
	SETTINGS_EAL_pages,   /* --in-memory (hugepages) or --no-huge --no-shconf */
	SETTINGS_EAL_prefix,  /* --file-prefix nicached-<port> */
	SETTINGS_EAL_devices, /* --no-pci on the socket backend */
	SETTINGS_EAL_log,     /* --log-level lib.eal:error below -vv */
};

/**
 * Whether the user's EAL words (--eal, or what follows `--` on the command line) give an
 * option of group @p g, so the derived one is left out (lcores: -l, --lcores, -c,
 * --main-lcore; memory: -m, --socket-mem, --socket-limit; pages: --no-huge, --in-memory,
 * --huge-dir, --no-shconf, --huge-unlink; prefix: --file-prefix; devices: --no-pci, -a, -b,
 * --allow, --block, --vdev; log: --log-level).
 */
bool settings_eal_user_replaces(const struct nc_settings *s, enum settings_eal_group g);

/** Most EAL arguments settings_eal_args() produces (user words included). */
#define SETTINGS_EAL_ARGV_MAX 64
/** Bytes of text behind them. */
#define SETTINGS_EAL_TEXT_LEN 2048

/**
 * EAL arguments. argv points into text: the struct must not be copied while argv is in use.
 * argv[argc] is NULL.
 */
struct settings_eal {
	int argc;
	char *argv[SETTINGS_EAL_ARGV_MAX + 1];
	char text[SETTINGS_EAL_TEXT_LEN];
};

/**
 * EAL memory (MB) for the index tables of @p workers shards: with @p hugepages the first table
 * of each (larger ones are allocated as the index grows); without, 0 (tables are mapped
 * outside EAL, see lib/store/index_table.h).
 */
unsigned settings_eal_index_mb(const struct nc_settings *s, unsigned workers, bool hugepages);

/**
 * EAL memory (MB) for the pages @p workers shards may hold beyond -m: memcached's first page
 * of each size class, split between the shards (store_shard_first_page_bytes()).
 */
unsigned settings_eal_first_pages_mb(const struct nc_settings *s, unsigned workers);

/** EAL memory for EAL itself, the shards' structures, rings and per-worker buffers. */
#define SETTINGS_EAL_FIXED_MB 24

/** EAL memory for the DPDK port's mbuf pool: a fixed part and a part per queue pair (its rings
 * and batches, and NET_TCP_MBUFS_PER_QUEUE for its TCP). */
#define SETTINGS_EAL_NIC_MB 32
#define SETTINGS_EAL_NIC_MB_PER_WORKER 48

/**
 * EAL memory (-m, MB) for @p s with @p workers workers: the item memory (-m) and the first
 * pages beyond it (settings_eal_first_pages_mb()), the index (settings_eal_index_mb()),
 * SETTINGS_EAL_FIXED_MB and, for the dpdk backend, the mbuf pool.
 */
unsigned settings_eal_memory_total_mb(const struct nc_settings *s, unsigned workers,
				      bool hugepages);

/** The words of @p e after the program name, space-separated, into @p buf (cut to fit). */
void settings_eal_format(const struct settings_eal *e, char *buf, size_t cap);

/**
 * Append one word to @p e (e.g. the DPDK device arguments from the site file).
 * @return 0; -E2BIG when it does not fit.
 */
int settings_eal_append(struct settings_eal *e, const char *word);

/**
 * Derive EAL arguments from @p s for a machine with @p ncpus CPUs: program name; --lcores
 * (lcore 0 control, 1..N workers; pinned i@i when N + 1 <= ncpus, else all floating over every
 * CPU); -m settings_eal_memory_total_mb(); --no-huge --no-shconf (or --in-memory with hugepages);
 * --file-prefix nicached-<port>; --no-pci for the socket backend; --log-level lib.eal:error
 * below -vv; then the --eal words.
 * @return 0; -E2BIG with a message in @p err when they do not fit in @p out.
 */
int settings_eal_args(const struct nc_settings *s, unsigned ncpus, bool use_hugepages,
		      struct settings_eal *out, char *err, size_t errcap);

/**
 * As settings_eal_args() for a process allowed to run on the @p ncpus CPUs whose ids are
 * @p cpus (its affinity set, e.g. under taskset): lcores are pinned to, or float over, exactly
 * those CPUs, so EAL never moves the server onto a CPU it was kept off.
 */
int settings_eal_args_cpus(const struct nc_settings *s, const unsigned *cpus, unsigned ncpus,
			   bool use_hugepages, struct settings_eal *out, char *err,
			   size_t errcap);

/**
 * Megabytes of free hugepages of every size (/sys/kernel/mm/hugepages); 0 when there are
 * none, they cannot be read, or the process is not root (EAL needs root for hugepages).
 */
size_t settings_hugepages_free_mb(void);

/** Whether EAL can use hugepages for @p need_mb megabytes: settings_hugepages_free_mb() >= it. */
bool settings_hugepages_usable(size_t need_mb);

/** Longest `stats settings` value, NUL included. */
#define SETTINGS_STAT_VALUE_LEN SETTINGS_STR_LEN

/** One `stats settings` line: name and formatted value. */
struct settings_stat {
	const char *name;
	char value[SETTINGS_STAT_VALUE_LEN];
};

/*
 * Lines of `stats settings` memcached reports that are not one setting's value: X(name, value
 * from the settings s).
 */
#define SETTINGS_STATS_DERIVED(X)                                \
	X("evictions", s->disable_evictions ? "off" : "on")      \
	X("cas_enabled", "yes")                                  \
	X("binding_protocol", "auto-negotiate")                  \
	X("flush_enabled", s->disable_flush ? "no" : "yes")      \
	X("shutdown_command", s->enable_shutdown ? "yes" : "no")

/** Enough room for every `stats settings` line. */
#define SETTINGS_STATS_MAX 64

/**
 * Fill up to @p max lines of `stats settings` (memcached's names and formats where memcached
 * has the setting).
 * @return the number of lines written.
 */
unsigned settings_stats(const struct nc_settings *s, struct settings_stat *out, unsigned max);

#endif /* NC_APP_SETTINGS_H */
