/* SPDX-License-Identifier: BSD-3-Clause */
/* Keys, values, the operation mix and the check of every reply (workload.h). */
#include "workload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rng.h"

/* The alphabet of value bytes: printable, so a text-protocol trace stays readable. */
static const char value_chars[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
mcgen_workload_init(struct mcgen_workload *w, const struct mcgen_options *o, char *err,
		    size_t errlen)
{
	uint64_t cum = 0;

	memset(w, 0, sizeof(*w));
	w->keys = o->keys;
	w->seed = o->seed;
	w->key_size = o->key_size;
	w->value_size = o->value_size;
	w->dist = o->key_dist;
	w->mget_keys = (unsigned)o->mget_keys;
	if (w->dist == MCGEN_DIST_ZIPF && mcgen_zipf_init(&w->zipf, w->keys, o->zipf_s) < 0) {
		snprintf(err, errlen, "--zipf-s %g: must be > 0", o->zipf_s);
		return -EINVAL;
	}
	for (unsigned i = 0; i < MCGEN_OP_COUNT; i++) {
		cum += o->mix.w[i];
		w->mix_cum[i] = cum;
	}
	if (cum == 0) {
		snprintf(err, errlen, "--mix: every weight is 0");
		return -EINVAL;
	}
	return 0;
}

/* A length from @p r picked by hash @p h. */
static uint32_t
range_pick(struct mcgen_range r, uint64_t h)
{
	return r.min == r.max ? r.min : r.min + (uint32_t)(h % ((uint64_t)r.max - r.min + 1));
}

unsigned
mcgen_key(const struct mcgen_workload *w, uint32_t idx, char *buf)
{
	unsigned len = range_pick(w->key_size, mcgen_hash2(w->seed, idx));
	int n = snprintf(buf, MCGEN_KEY_MAX + 1, "%u:", idx);

	/* options.c made sure the digits and ':' fit the shortest key. */
	for (unsigned i = (unsigned)n; i < len; i++)
		buf[i] = (char)('a' + (idx + i) % 26);
	return len > (unsigned)n ? len : (unsigned)n;
}

uint32_t
mcgen_value_len(const struct mcgen_workload *w, uint32_t idx, uint32_t version)
{
	return range_pick(w->value_size, mcgen_hash2(w->seed ^ idx, version));
}

/* The generator of a value's bytes: 8 per step. */
static uint64_t
value_state(const struct mcgen_workload *w, uint32_t idx, uint32_t version)
{
	return mcgen_hash2(w->seed + idx, (uint64_t)version << 1 | 1);
}

void
mcgen_value_fill(const struct mcgen_workload *w, uint32_t idx, uint32_t version, char *buf)
{
	uint32_t len = mcgen_value_len(w, idx, version);
	uint64_t s = value_state(w, idx, version), x = 0;

	for (uint32_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = mcgen_splitmix(&s);
		buf[i] = value_chars[x & 63];
		x >>= 8;
	}
}

long
mcgen_value_check(const struct mcgen_workload *w, uint32_t idx, uint32_t version,
		  const char *data, uint32_t len)
{
	uint32_t want = mcgen_value_len(w, idx, version);
	uint64_t s = value_state(w, idx, version), x = 0;

	if (len != want)
		return want;
	for (uint32_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = mcgen_splitmix(&s);
		if (data[i] != value_chars[x & 63])
			return i;
		x >>= 8;
	}
	return -1;
}

uint32_t
mcgen_key_draw(const struct mcgen_workload *w, uint64_t *rng)
{
	if (w->dist == MCGEN_DIST_ZIPF)
		return (uint32_t)(mcgen_zipf_draw(&w->zipf, rng) - 1);
	return (uint32_t)mcgen_rng_below(rng, w->keys);
}

enum mcgen_op
mcgen_op_draw(const struct mcgen_workload *w, uint64_t *rng)
{
	uint64_t x = mcgen_rng_below(rng, w->mix_cum[MCGEN_OP_COUNT - 1]);
	unsigned op = 0;

	while (x >= w->mix_cum[op])
		op++;
	return (enum mcgen_op)op;
}

void
mcgen_req_draw(const struct mcgen_workload *w, uint64_t *rng, uint32_t version,
	       struct mcgen_req *r)
{
	r->op = (uint8_t)mcgen_op_draw(w, rng);
	r->nkeys = r->op == MCGEN_OP_MGET ? (uint8_t)w->mget_keys : 1;
	r->version = version;
	for (unsigned i = 0; i < r->nkeys; i++)
		r->keys[i] = mcgen_key_draw(w, rng);
}

static int
check_get(const struct mcgen_workload *w, const struct mcgen_req *q, const struct mcgen_reply *r,
	  struct mcgen_outcome *out, char *err, size_t errlen)
{
	char key[MCGEN_KEY_MAX + 1];
	unsigned j = 0;

	for (unsigned i = 0; i < r->nvals; i++) {
		const struct mcgen_val *v = &r->v[i];
		unsigned klen = 0;
		long bad;

		/* Values come in the order of the keys asked, misses left out. */
		for (; j < q->nkeys; j++) {
			klen = mcgen_key(w, q->keys[j], key);
			if (v->key == NULL || (klen == v->klen && memcmp(key, v->key, klen) == 0))
				break;
		}
		if (j == q->nkeys) {
			out->wrong = 1;
			snprintf(err, errlen, "value %u of a %s: key '%.*s' was not asked (or out of "
				 "order)", i, mcgen_op_name(q->op), (int)(v->klen < 64 ? v->klen : 64),
				 v->key);
			return -EBADMSG;
		}
		bad = mcgen_value_check(w, q->keys[j], v->flags, v->data, v->len);
		if (bad >= 0) {
			out->wrong = 1;
			if (v->len != mcgen_value_len(w, q->keys[j], v->flags))
				snprintf(err, errlen, "key '%.*s' version %u: %u bytes, want %ld",
					 (int)klen, key, v->flags, v->len, bad);
			else
				snprintf(err, errlen, "key '%.*s' version %u: wrong byte at offset %ld "
					 "(0x%02x)", (int)klen, key, v->flags, bad,
					 (unsigned char)v->data[bad]);
			return -EBADMSG;
		}
		j++;
	}
	out->hits += r->nvals;
	out->misses += q->nkeys - r->nvals;
	return 0;
}

/* The server's words @p s (@p n bytes) quoted into @p buf: 120 bytes at most, unprintable '?'. */
static const char *
said_quote(const char *s, uint32_t n, char *buf, size_t cap)
{
	size_t j = 0;

	buf[j++] = '\'';
	for (uint32_t i = 0; i < n && i < 120 && j + 5 < cap; i++)
		buf[j++] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (n > 120 && j + 5 < cap) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j++] = '\'';
	buf[j] = '\0';
	return buf;
}

int
mcgen_reply_check(const struct mcgen_workload *w, const struct mcgen_req *q,
		  const struct mcgen_reply *r, struct mcgen_outcome *out, char *err, size_t errlen)
{
	char quoted[136];

	if (r->status == MCGEN_ST_ERROR || r->status == MCGEN_ST_NOT_STORED) {
		out->server_errors = 1;
		if (r->status == MCGEN_ST_ERROR && r->said != NULL)
			snprintf(err, errlen, "%s: the server answered an error: %s",
				 mcgen_op_name(q->op),
				 said_quote(r->said, r->said_len, quoted, sizeof(quoted)));
		else
			snprintf(err, errlen, "%s: the server answered %s", mcgen_op_name(q->op),
				 r->status == MCGEN_ST_ERROR ? "an error" : "not stored");
		return -EREMOTEIO;
	}
	switch (q->op) {
	case MCGEN_OP_GET:
	case MCGEN_OP_MGET:
		if (r->status == MCGEN_ST_MISS && r->nvals == 0) {
			out->misses += q->nkeys;
			return 0;
		}
		return check_get(w, q, r, out, err, errlen);
	case MCGEN_OP_SET:
	case MCGEN_OP_DELETE:
		if (r->nvals == 0 && (r->status == MCGEN_ST_OK || q->op == MCGEN_OP_DELETE))
			return 0;
		break;
	}
	out->wrong = 1;
	snprintf(err, errlen, "%s: unexpected reply", mcgen_op_name(q->op));
	return -EBADMSG;
}
