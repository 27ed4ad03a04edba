/* SPDX-License-Identifier: BSD-3-Clause */
/* Settings: the worker count, the EAL arguments derived from the settings, hugepages. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "settings_private.h"
#include "store/index.h"
#include "store/shard.h"

unsigned
settings_workers(const struct nc_settings *s, unsigned ncpus)
{
	unsigned n = s->threads;

	if (n == 0)
		n = ncpus > 1 ? ncpus - 1 : 1;
	return n > SETTINGS_WORKERS_MAX ? SETTINGS_WORKERS_MAX : n;
}

/* Whole MB holding @p bytes. */
static unsigned
mb_ceil(size_t bytes)
{
	return (unsigned)((bytes + (1u << 20) - 1) >> 20);
}

unsigned
settings_eal_index_mb(const struct nc_settings *s, unsigned workers, bool hugepages)
{
	size_t shard = (size_t)s->memory_limit * 1024 * 1024 / (workers ? workers : 1);
	uint32_t max = store_shard_index_max_entries(shard, s->slab_min_size);
	size_t first = index_table_bytes(max < INDEX_ENTRIES_MIN ? max : INDEX_ENTRIES_MIN);

	/*
	 * On hugepages EAL preallocates only the first table of each shard's index; larger ones
	 * take hugepages when the index grows (and give back the ones they replace). On 4 KiB
	 * pages the tables are mapped outside EAL (index_table.h) and take none of its memory.
	 */
	return hugepages ? (unsigned)workers * mb_ceil(first) : 0;
}

unsigned
settings_eal_first_pages_mb(const struct nc_settings *s, unsigned workers)
{
	struct store_shard_params p = {
		.item_size_max = s->max_item_size,
		.chunk_min = s->slab_min_size,
		.growth_factor = s->growth_factor,
		.first_page_shares = workers ? workers : 1,
	};

	return (workers ? workers : 1) * mb_ceil(store_shard_first_page_bytes(&p));
}

unsigned
settings_eal_memory_total_mb(const struct nc_settings *s, unsigned workers, bool hugepages)
{
	unsigned mb = s->memory_limit + settings_eal_first_pages_mb(s, workers) +
		      settings_eal_index_mb(s, workers, hugepages) + SETTINGS_EAL_FIXED_MB;

	if (s->backend == SETTINGS_BACKEND_DPDK)
		mb += SETTINGS_EAL_NIC_MB + SETTINGS_EAL_NIC_MB_PER_WORKER * workers;
	return mb;
}

int
settings_eal_append(struct settings_eal *e, const char *word)
{
	size_t used = 0, len = strlen(word);

	if (e->argc > 0)
		used = (size_t)(e->argv[e->argc - 1] - e->text) + strlen(e->argv[e->argc - 1]) + 1;
	if (e->argc >= SETTINGS_EAL_ARGV_MAX || len + 1 > sizeof(e->text) - used)
		return -E2BIG;
	memcpy(e->text + used, word, len + 1);
	e->argv[e->argc++] = e->text + used;
	e->argv[e->argc] = NULL;
	return 0;
}

void
settings_eal_format(const struct settings_eal *e, char *buf, size_t cap)
{
	size_t k = 0;

	if (cap == 0)
		return;
	buf[0] = '\0';
	for (int i = 1; i < e->argc && k < cap; i++) {
		int n = snprintf(buf + k, cap - k, "%s%s", i > 1 ? " " : "", e->argv[i]);

		if (n < 0)
			break;
		k += (size_t)n;
	}
}

/* Appends words to a struct settings_eal. */
struct eal_builder {
	struct settings_eal *e;
	size_t used;
	bool full;
};

static void
eal_add(struct eal_builder *b, const char *fmt, ...)
{
	struct settings_eal *e = b->e;
	size_t room = sizeof(e->text) - b->used;
	va_list ap;
	int n;

	if (b->full || e->argc >= SETTINGS_EAL_ARGV_MAX) {
		b->full = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(e->text + b->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		b->full = true;
		return;
	}
	e->argv[e->argc++] = e->text + b->used;
	e->argv[e->argc] = NULL;
	b->used += (size_t)n + 1;
}

/*
 * Derived EAL options and the user's EAL options that replace them (given with --eal or after
 * `--`): X(group, NULL-terminated list of options). A short option matches "-l" and "-l0-3";
 * a long one "--lcores" and "--lcores=...".
 */
#define EAL_OVERRIDES(X)                                                                      \
	X(lcores, "-l", "--lcores", "-c", "--main-lcore")                                     \
	X(memory, "-m", "--socket-mem", "--socket-limit")                                     \
	X(pages, "--no-huge", "--in-memory", "--huge-dir", "--no-shconf", "--huge-unlink")     \
	X(prefix, "--file-prefix")                                                            \
	X(devices, "--no-pci", "-a", "--allow", "-b", "--block", "--vdev")                    \
	X(log, "--log-level")

/* Whether word @p w is option @p opt, alone or with its value attached. */
static bool
eal_word_is(const char *w, size_t len, const char *opt)
{
	size_t n = strlen(opt);

	if (len < n || memcmp(w, opt, n) != 0)
		return false;
	if (len == n)
		return true;
	return opt[1] == '-' ? w[n] == '=' : true; /* --opt=value, or -lVALUE */
}

/* Whether the user's EAL words @p words give any of the NULL-terminated @p opts. */
static bool
eal_user_gives(const char *words, const char *const *opts)
{
	const char *w = words, *word;
	size_t len;

	while ((word = setting_word_next(&w, &len)) != NULL)
		for (const char *const *o = opts; *o != NULL; o++)
			if (eal_word_is(word, len, *o))
				return true;
	return false;
}

#define EAL_OVERRIDE_LIST(group, ...) static const char *const eal_user_##group[] = {__VA_ARGS__, NULL};
EAL_OVERRIDES(EAL_OVERRIDE_LIST)
#undef EAL_OVERRIDE_LIST

bool
settings_eal_user_replaces(const struct nc_settings *s, enum settings_eal_group g)
{
	switch (g) {
#define EAL_OVERRIDE_CASE(group, ...) \
	case SETTINGS_EAL_##group:    \
		return eal_user_gives(s->eal, eal_user_##group);
		EAL_OVERRIDES(EAL_OVERRIDE_CASE)
#undef EAL_OVERRIDE_CASE
	}
	return false;
}

/* "a,b,c" of the CPU ids, for an lcore group's CPU set. */
static size_t
eal_cpu_list(char *buf, size_t cap, const unsigned *cpus, unsigned ncpus)
{
	size_t k = 0;

	for (unsigned i = 0; i < ncpus && k < cap; i++) {
		int n = snprintf(buf + k, cap - k, "%s%u", i != 0 ? "," : "", cpus[i]);

		if (n < 0)
			break;
		k += (size_t)n;
	}
	return k;
}

/*
 * lcore 0 = control, 1..workers = workers: pinned to the allowed CPUs in order when they fit
 * (i@cpus[i]), else all floating over every allowed CPU.
 */
static void
eal_lcores(char *buf, size_t cap, unsigned workers, const unsigned *cpus, unsigned ncpus)
{
	size_t k = 0;

	if (workers + 1 <= ncpus) {
		for (unsigned i = 0; i <= workers && k < cap; i++) {
			int n = snprintf(buf + k, cap - k, "%s%u@%u", i != 0 ? "," : "", i, cpus[i]);

			if (n < 0)
				break;
			k += (size_t)n;
		}
		return;
	}
	k = (size_t)snprintf(buf, cap, "(0-%u)@(", workers);
	if (k < cap)
		k += eal_cpu_list(buf + k, cap - k, cpus, ncpus);
	if (k < cap)
		snprintf(buf + k, cap - k, ")");
}

int
settings_eal_args(const struct nc_settings *s, unsigned ncpus, bool use_hugepages,
		  struct settings_eal *out, char *err, size_t errcap)
{
	unsigned cpus[CPU_SETSIZE];

	if (ncpus == 0)
		ncpus = 1;
	if (ncpus > CPU_SETSIZE)
		ncpus = CPU_SETSIZE;
	for (unsigned i = 0; i < ncpus; i++)
		cpus[i] = i;
	return settings_eal_args_cpus(s, cpus, ncpus, use_hugepages, out, err, errcap);
}

int
settings_eal_args_cpus(const struct nc_settings *s, const unsigned *cpus, unsigned ncpus,
		       bool use_hugepages, struct settings_eal *out, char *err, size_t errcap)
{
	struct eal_builder b = {.e = out};
	char lcores[SETTINGS_WORKERS_MAX * 10 + CPU_SETSIZE * 5 + 32];
	const char *w = s->eal, *word;
	size_t len;

	out->argc = 0;
	out->argv[0] = NULL;
	eal_add(&b, "nicached");
	/* What the user's EAL words give replaces what would be derived for it. */
	if (!settings_eal_user_replaces(s, SETTINGS_EAL_lcores)) {
		eal_lcores(lcores, sizeof(lcores), settings_workers(s, ncpus), cpus, ncpus);
		eal_add(&b, "--lcores");
		eal_add(&b, "%s", lcores);
	}
	if (!settings_eal_user_replaces(s, SETTINGS_EAL_memory)) {
		eal_add(&b, "-m");
		eal_add(&b, "%u",
			settings_eal_memory_total_mb(s, settings_workers(s, ncpus), use_hugepages));
	}
	if (!settings_eal_user_replaces(s, SETTINGS_EAL_pages)) {
		/*
		 * Hugepages without shared files unless --pdump (then EAL's files stay under
		 * --file-prefix for dpdk-dumpcap to attach; main refuses --pdump on 4 KiB pages,
		 * which a second process cannot map).
		 */
		if (!use_hugepages) {
			eal_add(&b, "--no-huge");
			eal_add(&b, "--no-shconf");
		} else if (!s->pdump) {
			eal_add(&b, "--in-memory");
		}
	}
	if (!settings_eal_user_replaces(s, SETTINGS_EAL_prefix)) {
		eal_add(&b, "--file-prefix");
		eal_add(&b, "nicached-%u", s->port != 0 ? s->port : s->udp_port);
	}
	if (s->backend == SETTINGS_BACKEND_SOCKET &&
	    !settings_eal_user_replaces(s, SETTINGS_EAL_devices))
		eal_add(&b, "--no-pci");
	if (s->verbose < 2 && !settings_eal_user_replaces(s, SETTINGS_EAL_log)) {
		eal_add(&b, "--log-level");
		eal_add(&b, "lib.eal:error");
	}
	while ((word = setting_word_next(&w, &len)) != NULL)
		eal_add(&b, "%.*s", (int)len, word);
	if (b.full) {
		setting_err(err, errcap,
			    "--eal: the EAL arguments do not fit (at most %d words, %zu "
			    "bytes)",
			    SETTINGS_EAL_ARGV_MAX, sizeof(out->text));
		return -E2BIG;
	}
	return 0;
}

size_t
settings_hugepages_free_mb(void)
{
	const char *root = "/sys/kernel/mm/hugepages";
	unsigned long long total_kb = 0;
	struct dirent *e;
	DIR *d;

	if (geteuid() != 0)
		return 0;
	d = opendir(root);
	if (d == NULL)
		return 0;
	/* Every page size: EAL takes memory from each one that has free pages. */
	while ((e = readdir(d)) != NULL) {
		unsigned long long size_kb, free_pages;
		char path[512];
		FILE *f;

		if (sscanf(e->d_name, "hugepages-%llukB", &size_kb) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/free_hugepages", root, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fscanf(f, "%llu", &free_pages) == 1)
			total_kb += free_pages * size_kb;
		fclose(f);
	}
	closedir(d);
	return (size_t)(total_kb / 1024);
}

bool
settings_hugepages_usable(size_t need_mb)
{
	size_t free_mb = settings_hugepages_free_mb();

	return free_mb > 0 && free_mb >= need_mb;
}
