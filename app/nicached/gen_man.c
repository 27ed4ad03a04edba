/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writes nicached(8) to stdout at build time, from the tables the server itself uses: the
 * settings (settings.h), the `stats` groups and counters (stats.h, store/shard.h). A flag or
 * counter added to a table is in the man page without anyone editing it.
 */
#include <stdio.h>

#include "settings.h"
#include "stats.h"
#include "store/shard.h"

static void
section(const char *name)
{
	printf(".SH %s\n", name);
}

static void
para(const char *text)
{
	printf(".PP\n");
	settings_man_text(stdout, text);
	printf("\n");
}

/* One .TP entry: a bold term and its description. */
static void
entry(const char *term, const char *desc)
{
	printf(".TP\n\\fB");
	settings_man_text(stdout, term);
	printf("\\fR\n");
	settings_man_text(stdout, desc);
	printf("\n");
}

static void
stats_section(void)
{
	section("STATS");
	para("The text command stats (and the binary protocol's stat) answers memcached's "
	     "general statistics, summed over the workers. Besides memcached's own (pid, uptime, "
	     "time, version, curr_connections, curr_items, bytes, limit_maxbytes, threads, ...), "
	     "these counters:");
#define WORKER_STAT_ENTRY(name, desc) entry(#name, desc);
	WORKER_STATS(WORKER_STAT_ENTRY)
#undef WORKER_STAT_ENTRY
#define SHARD_STAT_ENTRY(name, desc) entry(#name, desc);
	STORE_SHARD_GAUGES(SHARD_STAT_ENTRY)
	STORE_SHARD_STATS(SHARD_STAT_ENTRY)
#undef SHARD_STAT_ENTRY
	para("stats followed by a group name answers that group:");
#define STATS_GROUP_MAN(name, dpdk, desc) \
	entry("stats " #name, dpdk ? desc " (backend dpdk only)" : desc);
	STATS_GROUPS(STATS_GROUP_MAN)
#undef STATS_GROUP_MAN
	para("stats slabs shows, for each size class N in use (memcached's numbers, from 1), "
	     "besides its memory figures, N:name for these counters; the classes add up to the "
	     "general counter of the same name:");
#define CLASS_STAT_ENTRY(name, desc) entry(#name, desc);
	WORKER_CLASS_STATS(CLASS_STAT_ENTRY)
#undef CLASS_STAT_ENTRY
	para("stats items shows items:N:age: seconds since the last access of the coldest item "
	     "within 64 chunks past the class's CLOCK hand (the oldest over the shards), that is "
	     "of what eviction would take first, memcached's age of its LRU's oldest item; each "
	     "shard looks once a second; 0 when no item is linked near the hand.");
	entry("stats detail on|off|dump", "memcached's per-prefix statistics");
	entry("stats cachedump CLASS LIMIT", "keys of one size class, as memcached");
	entry("stats reset", "sets the counters back to zero");
	para("The same figures are served as JSON over DPDK telemetry (dpdk-telemetry.py, "
	     "commands /nicached/stats, /nicached/settings, /nicached/slabs (the classes in use; "
	     ",N for class N), /nicached/nic, "
	     "/nicached/tcp) and to Prometheus (--metrics: nicached_slab_get_hits_total and "
	     "the like, by class).");
}

int
main(void)
{
	printf(".TH NICACHED 8 \"\" \"nicached %s\" \"System Administration\"\n", NC_VERSION);
	section("NAME");
	printf("nicached \\- memcached\\-compatible cache appliance on DPDK\n");
	section("SYNOPSIS");
	printf("\\fBnicached\\fR [\\fIoptions\\fR]\n.br\n"
	       "\\fBnicached\\fR \\fB\\-\\-config\\fR \\fI/etc/nicached/nicached.ini\\fR\n");
	section("DESCRIPTION");
	para("nicached serves memcached's text, meta and binary protocols over TCP and UDP. "
	     "Poll-mode worker cores each own one shard of the cache (an RCU-protected index "
	     "with slab memory, CLOCK eviction and a TTL timing wheel); a control core keeps "
	     "statistics and cluster membership. It runs on two backends: dpdk takes packets "
	     "straight from NIC queues with its own Ethernet, ARP, IPv4, ICMP, UDP and TCP; "
	     "socket uses the kernel's TCP and UDP, like memcached.");
	para("It takes memcached's flags, so memcached's command lines and clients work "
	     "unchanged.");
	section("OPTIONS");
	settings_man_options(stdout);
	section("CONFIGURATION FILE");
	para("--config FILE reads an INI file first; flags on the command line override it. "
	     "Every option above is a key of section [nicached], named as its long flag "
	     "(memory-limit = 1024). The service reads /etc/nicached/nicached.ini. The dpdk "
	     "backend also needs a site file (--site): the interface or PCI address, the IPv4 "
	     "address and the NIC profile, a file of the drivers-config folder.");
	stats_section();
	section("SIGNALS");
	entry("SIGINT, SIGTERM", "a clean stop: a member of an etcd cluster hands its keys over "
				 "first (at most --handover-max seconds), then the workers stop, a "
				 "stop snapshot is written when --snapshot-file is set, and the final "
				 "figures are printed");
	entry("SIGHUP", "read the authentication file (-Y, --sasl-pwdb) again; a file that "
			"cannot be read leaves the users loaded before");
	entry("SIGUSR1", "write a snapshot to --snapshot-file while serving");
	section("LOGS");
	para("Each message is one line with its time and level, on stderr, in the journal or in "
	     "syslog (--log); -v, -vv and -vvv add messages as memcached's do.");
	section("FILES");
	entry("/etc/nicached/nicached.ini", "the service's configuration");
	entry("/etc/nicached/site.ini", "an example site file for the dpdk backend");
	entry("--snapshot-file", "the snapshot: written by the snapshot command, SIGUSR1 and a "
				 "clean stop; restored at start");
	entry(NC_DRIVERS_DIR, "the NIC profiles (--drivers-dir)");
	section("EXIT STATUS");
	para("0 after a clean stop; 64 (EX_USAGE) for a bad flag or file; 71 (EX_OSERR) when "
	     "the server cannot start (EAL, memory, ports).");
	section("SEE ALSO");
	printf("memcached(1), memccapable(1), dpdk-hugepages.py(8), dpdk-devbind.py(8)\n");
	return 0;
}
