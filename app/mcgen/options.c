/* SPDX-License-Identifier: BSD-3-Clause */
/* mcgen's options: the descriptors expanded from MCGEN_OPTIONS, the value parsers, --help. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum kind {
	KIND_uint,
	KIND_real,
	KIND_str,
	KIND_transport,
	KIND_proto,
	KIND_dist,
	KIND_arrivals,
	KIND_range,
	KIND_mix,
	KIND_rates,
	KIND_switch,
	KIND_help,
};

static const char *const transport_names[] = {
#define NAME3(e, id, name, dpdk) name,
	MCGEN_TRANSPORTS(NAME3)
#undef NAME3
		NULL,
};
static const bool transport_dpdk[] = {
#define DPDK3(e, id, name, dpdk) dpdk,
	MCGEN_TRANSPORTS(DPDK3)
#undef DPDK3
};
#define NAME_PROTO(e, id, name) name,
static const char *const proto_names[] = {MCGEN_PROTOS(NAME_PROTO) NULL};
#undef NAME_PROTO
#define NAME2(e, name) name,
static const char *const dist_names[] = {MCGEN_DISTS(NAME2) NULL};
static const char *const arrivals_names[] = {MCGEN_ARRIVALS(NAME2) NULL};
static const char *const op_names[] = {MCGEN_OPS(NAME2) NULL};
#undef NAME2

/* The names of each kind that takes one of a list (NULL for the others). */
static const char *const *const kind_names[] = {
	[KIND_transport] = transport_names,
	[KIND_proto] = proto_names,
	[KIND_dist] = dist_names,
	[KIND_arrivals] = arrivals_names,
	[KIND_help] = NULL,
};

struct desc {
	enum kind kind;
	int short_flag;
	const char *name, *def, *arg, *help;
	double min, max;
	size_t offset; /* of the field; unused by help */
};

#define OFFSET_help(f)	 0
#define OFFSET_field(f)	 offsetof(struct mcgen_options, f)
#define OFFSET_uint	 OFFSET_field
#define OFFSET_real	 OFFSET_field
#define OFFSET_str	 OFFSET_field
#define OFFSET_transport OFFSET_field
#define OFFSET_proto	 OFFSET_field
#define OFFSET_dist	 OFFSET_field
#define OFFSET_arrivals	 OFFSET_field
#define OFFSET_range	 OFFSET_field
#define OFFSET_mix	 OFFSET_field
#define OFFSET_rates	 OFFSET_field
#define OFFSET_switch	 OFFSET_field

static const struct desc descs[] = {
#define DESC(kind, f, sf, lname, def, lo, hi, arg, help) \
	{KIND_##kind, sf, lname, def, arg, help, (double)(lo), (double)(hi), OFFSET_##kind(f)},
	MCGEN_OPTIONS(DESC)
#undef DESC
};
#define NDESCS (sizeof(descs) / sizeof(descs[0]))

/* Each option's index in descs[], by its field's name: OPT_zipf_s, ... */
enum {
#define OPT_INDEX(kind, f, sf, lname, def, lo, hi, arg, help) OPT_##f,
	MCGEN_OPTIONS(OPT_INDEX)
#undef OPT_INDEX
};

/*
 * Bound @p v of a whole-number option in decimal into @p buf: the doubles of the table hold
 * UINT64_MAX as 2^64, which "%.0f" would print one too high.
 */
static const char *
bound_str(double v, char *buf, size_t len)
{
	if (v >= 18446744073709551615.0)
		snprintf(buf, len, "%llu", (unsigned long long)UINT64_MAX);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *
name_of(const char *const *names, unsigned n, unsigned i)
{
	return i < n ? names[i] : "?";
}

const char *
mcgen_proto_name(unsigned p)
{
	return name_of(proto_names, MCGEN_PROTO_COUNT, p);
}

const char *
mcgen_transport_name(unsigned t)
{
	return name_of(transport_names, MCGEN_TRANSPORT_COUNT, t);
}

bool
mcgen_transport_is_dpdk(unsigned t)
{
	return t < MCGEN_TRANSPORT_COUNT && transport_dpdk[t];
}

const char *
mcgen_op_name(unsigned op)
{
	return name_of(op_names, MCGEN_OP_COUNT, op);
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -EINVAL : 0;
}

static int
parse_real(const char *s, double *v, const char **rest)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(*v))
		return -EINVAL;
	*rest = end;
	return 0;
}

int
mcgen_parse_rate(const char *s, double *v)
{
	const char *rest;

	if (parse_real(s, v, &rest) < 0 || *v < 0)
		return -EINVAL;
	if (*rest == 'k' || *rest == 'K')
		*v *= 1e3, rest++;
	else if (*rest == 'm' || *rest == 'M')
		*v *= 1e6, rest++;
	return *rest == '\0' ? 0 : -EINVAL;
}

static int
parse_range(const struct desc *d, const char *s, struct mcgen_range *r, char *err,
	    size_t errlen)
{
	char buf[64], *dash;
	uint64_t lo, hi;

	if (strlen(s) >= sizeof(buf))
		return fail(err, errlen, "--%s: '%s' is too long", d->name, s);
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash = '\0';
	if (parse_u64(buf, &lo) < 0 || (dash != NULL && parse_u64(dash + 1, &hi) < 0))
		return fail(err, errlen, "--%s: '%s' is not N or MIN-MAX", d->name, s);
	if (dash == NULL)
		hi = lo;
	if (lo > hi || lo < d->min || hi > d->max)
		return fail(err, errlen, "--%s: '%s' must lie in %.0f-%.0f, min first", d->name, s,
			    d->min, d->max);
	r->min = (uint32_t)lo;
	r->max = (uint32_t)hi;
	return 0;
}

static int
parse_mix(const struct desc *d, const char *s, struct mcgen_mix *m, char *err, size_t errlen)
{
	char buf[256], *save = NULL;
	bool seen[MCGEN_OP_COUNT] = {false};
	uint64_t total = 0;

	if (strlen(s) >= sizeof(buf))
		return fail(err, errlen, "--%s: '%s' is too long", d->name, s);
	strcpy(buf, s);
	memset(m, 0, sizeof(*m));
	for (char *item = strtok_r(buf, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		unsigned op;
		uint64_t w;

		if (eq == NULL)
			return fail(err, errlen, "--%s: '%s' is not op=weight", d->name, item);
		*eq = '\0';
		for (op = 0; op < MCGEN_OP_COUNT && strcmp(op_names[op], item) != 0; op++)
			;
		if (op == MCGEN_OP_COUNT)
			return fail(err, errlen, "--%s: unknown operation '%s' (get, set, delete, "
				    "multiget)", d->name, item);
		if (parse_u64(eq + 1, &w) < 0 || w > 1000000)
			return fail(err, errlen, "--%s: weight '%s' of %s is not 0..1000000",
				    d->name, eq + 1, item);
		if (seen[op])
			return fail(err, errlen, "--%s: %s given twice", d->name, item);
		seen[op] = true;
		m->w[op] = (uint32_t)w;
		total += w;
	}
	if (total == 0)
		return fail(err, errlen, "--%s: every weight is 0", d->name);
	return 0;
}

static int
parse_rates(const struct desc *d, const char *s, struct mcgen_rates *r, char *err,
	    size_t errlen)
{
	char buf[1024], *save = NULL;

	r->n = 0;
	if (*s == '\0')
		return 0;
	if (strlen(s) >= sizeof(buf))
		return fail(err, errlen, "--%s: '%s' is too long", d->name, s);
	strcpy(buf, s);
	if (strchr(buf, ':') != NULL) {
		char *a = buf, *b = strchr(a, ':'), *c;
		double start, stop, step;

		*b++ = '\0';
		c = strchr(b, ':');
		if (c == NULL)
			return fail(err, errlen, "--%s: '%s' is not START:STOP:STEP", d->name, s);
		*c++ = '\0';
		if (mcgen_parse_rate(a, &start) < 0 || mcgen_parse_rate(b, &stop) < 0 ||
		    mcgen_parse_rate(c, &step) < 0 || step <= 0 || start <= 0 || stop < start)
			return fail(err, errlen, "--%s: '%s' is not START:STOP:STEP, 0 < START <= STOP, "
				    "STEP > 0", d->name, s);
		for (double v = start; v <= stop * (1 + 1e-9); v += step) {
			if (r->n == MCGEN_SWEEP_MAX)
				return fail(err, errlen, "--%s: more than %d steps", d->name,
					    MCGEN_SWEEP_MAX);
			r->r[r->n++] = v;
		}
		return 0;
	}
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,") != NULL)
		return fail(err, errlen, "--%s: '%s' has an empty rate", d->name, s);
	for (char *item = strtok_r(buf, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if (r->n == MCGEN_SWEEP_MAX)
			return fail(err, errlen, "--%s: more than %d rates", d->name, MCGEN_SWEEP_MAX);
		if (mcgen_parse_rate(item, &r->r[r->n]) < 0 || r->r[r->n] <= 0)
			return fail(err, errlen, "--%s: '%s' is not a rate > 0", d->name, item);
		r->n++;
	}
	return 0;
}

/* Parse @p s for option @p d into its field of @p o. */
static int
parse_value(const struct desc *d, const char *s, struct mcgen_options *o, char *err,
	    size_t errlen)
{
	void *field = (char *)o + d->offset;
	char lo[24], hi[24];
	double v;
	uint64_t u;

	switch (d->kind) {
	case KIND_uint:
		if (parse_u64(s, &u) < 0 || (double)u < d->min || (double)u > d->max)
			return fail(err, errlen, "--%s: '%s' is not a whole number in %s..%s",
				    d->name, s, bound_str(d->min, lo, sizeof(lo)),
				    bound_str(d->max, hi, sizeof(hi)));
		*(uint64_t *)field = u;
		return 0;
	case KIND_real:
		if (mcgen_parse_rate(s, &v) < 0 || v < d->min || v > d->max)
			return fail(err, errlen, "--%s: '%s' is not a number in %g..%g", d->name, s,
				    d->min, d->max);
		*(double *)field = v;
		return 0;
	case KIND_str:
		if (strlen(s) >= MCGEN_STR_LEN)
			return fail(err, errlen, "--%s: longer than %d bytes", d->name,
				    MCGEN_STR_LEN - 1);
		strcpy(field, s);
		return 0;
	case KIND_transport:
	case KIND_proto:
	case KIND_dist:
	case KIND_arrivals: {
		const char *const *names = kind_names[d->kind];

		for (unsigned i = 0; names[i] != NULL; i++)
			if (strcmp(names[i], s) == 0) {
				*(unsigned *)field = i;
				return 0;
			}
		return fail(err, errlen, "--%s: unknown name '%s'", d->name, s);
	}
	case KIND_range:
		return parse_range(d, s, field, err, errlen);
	case KIND_mix:
		return parse_mix(d, s, field, err, errlen);
	case KIND_rates:
		return parse_rates(d, s, field, err, errlen);
	case KIND_switch:
		*(bool *)field = strcmp(s, "1") == 0;
		return 0;
	case KIND_help:
		return 0;
	}
	return fail(err, errlen, "--%s: unknown kind", d->name);
}

int
mcgen_options_defaults(struct mcgen_options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < NDESCS; i++) {
		int rc = parse_value(&descs[i], descs[i].def, o, err, errlen);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The checks that involve several options; @p given: which ones the command line set. */
static int
check_together(const struct mcgen_options *o, const bool *given, char *err, size_t errlen)
{
	char digits[24];

	/* An option that would do nothing is a slip: said, not ignored. */
	if (given[OPT_zipf_s] && o->key_dist != MCGEN_DIST_ZIPF)
		return fail(err, errlen, "--zipf-s needs --key-dist zipf");
	if (given[OPT_arrivals] && o->rate <= 0 && o->sweep.n == 0)
		return fail(err, errlen, "--arrivals is for the open loop: give --rate or --sweep");

	/* A key is its index in decimal, a ':' and filler: the shortest must hold the largest. */
	if ((size_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(o->keys - 1)) + 1 >
	    o->key_size.min)
		return fail(err, errlen, "--key-size %u is too short for %llu keys", o->key_size.min,
			    (unsigned long long)o->keys);
	if (o->plot[0] != '\0' && o->sweep.n == 0)
		return fail(err, errlen, "--plot needs --sweep");
	if (o->sweep.n > 0 && o->rate > 0)
		return fail(err, errlen, "--sweep and --rate exclude each other");
	if (o->conns < o->threads)
		return fail(err, errlen, "--conns %llu is fewer than --threads %llu",
			    (unsigned long long)o->conns, (unsigned long long)o->threads);
	if (!mcgen_transport_is_dpdk(o->transport)) {
		if (o->eal[0] != '\0' || o->src_ip[0] != '\0' || o->dst_mac[0] != '\0' ||
		    o->cross_queues || o->site[0] != '\0' || o->drivers_dir[0] != '\0')
			return fail(err, errlen, "--eal, --site, --drivers-dir, --src-ip, --dst-mac "
				    "and --cross-queues are for dpdk transports");
		return 0;
	}
	if (o->site[0] == '\0' && (o->eal[0] == '\0' || o->src_ip[0] == '\0'))
		return fail(err, errlen, "-x %s needs --site, or --eal (or EAL arguments after --) "
			    "and --src-ip", mcgen_transport_name(o->transport));
	if (o->drivers_dir[0] != '\0' && o->site[0] == '\0')
		return fail(err, errlen, "--drivers-dir is for --site's profile");
	/* Thread i's connections: a block of ceil(conns / threads) ports from --src-port. */
	if (o->src_port + (o->conns + o->threads - 1) / o->threads * o->threads > 65536)
		return fail(err, errlen, "--src-port %llu leaves too few ports for --conns %llu",
			    (unsigned long long)o->src_port, (unsigned long long)o->conns);
	return 0;
}

int
mcgen_options_parse(struct mcgen_options *o, int argc, char **argv, char *err, size_t errlen)
{
	bool given[NDESCS];
	struct option longs[NDESCS + 1];
	char shorts[3 * NDESCS + 1], *sp = shorts;
	int rc, c, idx;

	rc = mcgen_options_defaults(o, err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < NDESCS; i++) {
		bool arg = descs[i].kind != KIND_switch && descs[i].kind != KIND_help;

		longs[i] = (struct option){descs[i].name, arg ? required_argument : no_argument,
					   NULL, 256 + (int)i};
		if (descs[i].short_flag != 0) {
			*sp++ = (char)descs[i].short_flag;
			if (arg)
				*sp++ = ':';
		}
	}
	longs[NDESCS] = (struct option){0};
	*sp = '\0';
	optind = 1;
	opterr = 0;
	memset(given, 0, sizeof(given));
	while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
		const struct desc *d = NULL;

		if (c >= 256 && c < 256 + (int)NDESCS)
			d = &descs[c - 256];
		for (size_t i = 0; d == NULL && i < NDESCS; i++)
			if (descs[i].short_flag != 0 && descs[i].short_flag == c)
				d = &descs[i];
		if (d == NULL)
			return fail(err, errlen, "unknown option or missing argument: %s (see --help)",
				    argv[optind - 1]);
		if (d->kind == KIND_help)
			return 1;
		/* (An empty value is only ever a default: given, it is a slip, e.g. -j "$UNSET".) */
		if (optarg != NULL && optarg[0] == '\0' && d->kind != KIND_switch)
			return fail(err, errlen, "--%s: empty value", d->name);
		rc = parse_value(d, d->kind == KIND_switch ? "1" : optarg, o, err, errlen);
		if (rc < 0)
			return rc;
		given[d - descs] = true;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
	/* `-- EAL words`: added to --eal, as nicached takes them. */
	for (int i = optind; i < argc; i++) {
		size_t used = strlen(o->eal);
		size_t len = strlen(argv[i]);
		char *w = o->eal + used;

		if (used + 1 + len + 1 > sizeof(o->eal))
			return fail(err, errlen, "EAL arguments longer than %zu bytes", sizeof(o->eal) - 1);
		if (used > 0)
			*w++ = ' ';
		memcpy(w, argv[i], len + 1);
	}
	return check_together(o, given, err, errlen);
}

void
mcgen_options_usage(FILE *f)
{
	fputs("usage: mcgen [options]\n"
	      "memcached load generator: closed loop (connections x depth) or open loop at a\n"
	      "fixed offered rate; every reply is checked against what was written.\n\n",
	      f);
	for (size_t i = 0; i < NDESCS; i++) {
		const struct desc *d = &descs[i];
		char flag[64], lo[24], hi[24];

		if (d->short_flag != 0)
			snprintf(flag, sizeof(flag), "-%c, --%s%s%s", d->short_flag, d->name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(flag, sizeof(flag), "    --%s%s%s", d->name, d->arg ? " " : "",
				 d->arg ? d->arg : "");
		fprintf(f, "  %-30s %s", flag, d->help);
		if (d->kind == KIND_uint || d->kind == KIND_range)
			fprintf(f, " (%s..%s)", bound_str(d->min, lo, sizeof(lo)),
				bound_str(d->max, hi, sizeof(hi)));
		else if (d->kind == KIND_real)
			fprintf(f, " (%g..%g)", d->min, d->max);
		if (d->def[0] != '\0' && d->kind != KIND_switch)
			fprintf(f, " [%s]", d->def);
		fputc('\n', f);
	}
	fputs("\nExit status: 0 when every reply was right (timeouts alone are not errors: over\n"
	      "udp a server that went away only times out); 1 on errors (a wrong byte, a bad\n"
	      "reply, a server error, a connection refused, a warm-up that could not set every\n"
	      "key) or when nothing was answered; 2 on bad usage (a -j or --plot file that\n"
	      "cannot be written, or --plot without matplotlib, included); 130 (143) when\n"
	      "stopped by Ctrl-C (SIGTERM), after the results so far; a second one quits at once.\n",
	      f);
}
