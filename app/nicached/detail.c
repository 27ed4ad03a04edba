/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-prefix counters of `stats detail` (see detail.h): open addressing over an entry array. */
#include "detail.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slots of the open-addressing index: a power of two, twice the entries. */
#define DETAIL_SLOTS (2 * DETAIL_PREFIXES_MAX)
#define DETAIL_SLOT_EMPTY UINT16_MAX

_Static_assert(DETAIL_PREFIXES_MAX < UINT16_MAX, "entry index fits a slot");

struct detail_table {
	uint32_t n;
	uint16_t slot[DETAIL_SLOTS];
	struct detail_entry e[DETAIL_PREFIXES_MAX];
};

struct detail_table *
detail_create(void)
{
	struct detail_table *t = malloc(sizeof(*t));

	if (t != NULL)
		detail_clear(t);
	return t;
}

void
detail_destroy(struct detail_table **t)
{
	if (t == NULL)
		return;
	free(*t);
	*t = NULL;
}

void
detail_clear(struct detail_table *t)
{
	t->n = 0;
	memset(t->slot, 0xff, sizeof(t->slot));
}

/* FNV-1a: prefixes are short and come from clients' own key schemes. */
static uint32_t
detail_hash(const char *s, uint32_t len)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/** The entry of a prefix, created when absent; NULL when the table is full. */
static struct detail_entry *
detail_find(struct detail_table *t, const char *prefix, uint32_t len)
{
	uint32_t i = detail_hash(prefix, len) & (DETAIL_SLOTS - 1);
	struct detail_entry *e;

	for (;; i = (i + 1) & (DETAIL_SLOTS - 1)) {
		uint16_t s = t->slot[i];

		if (s == DETAIL_SLOT_EMPTY)
			break;
		e = &t->e[s];
		if (e->len == len && memcmp(e->prefix, prefix, len) == 0)
			return e;
	}
	if (t->n == DETAIL_PREFIXES_MAX || len >= sizeof(e->prefix))
		return NULL;
	t->slot[i] = (uint16_t)t->n;
	e = &t->e[t->n++];
	memset(&e->n, 0, sizeof(e->n));
	e->len = len;
	memcpy(e->prefix, prefix, len);
	return e;
}

int
detail_record(struct detail_table *t, const char *key, uint32_t len, enum detail_op op, bool hit)
{
	const char *d = memchr(key, DETAIL_DELIMITER, len);
	struct detail_entry *e;

	if (d == NULL)
		return -ENOENT;
	e = detail_find(t, key, (uint32_t)(d - key));
	if (e == NULL)
		return -ENOSPC;
	switch (op) {
	case DETAIL_GET:
		e->n.get++;
		e->n.hit += hit;
		break;
	case DETAIL_SET:
		e->n.set++;
		break;
	case DETAIL_DEL:
		e->n.del++;
		break;
	}
	return 0;
}

int
detail_add(struct detail_table *t, const char *prefix, uint32_t len, const struct detail_counts *n)
{
	struct detail_entry *e = detail_find(t, prefix, len);

	if (e == NULL)
		return -ENOSPC;
	e->n.get += n->get;
	e->n.hit += n->hit;
	e->n.set += n->set;
	e->n.del += n->del;
	return 0;
}

const struct detail_entry *
detail_entries(const struct detail_table *t, uint32_t *n)
{
	*n = t->n;
	return t->e;
}

char *
detail_format(const struct detail_table *t, uint32_t *len)
{
	/* "PREFIX " + prefix + 4 labelled 20-digit numbers + "\r\n" */
	size_t cap = (size_t)t->n * (sizeof(t->e[0].prefix) + 7 + 4 * 26 + 2) + 6;
	char *buf = malloc(cap);
	size_t o = 0;

	if (buf == NULL)
		return NULL;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct detail_entry *e = &t->e[i];

		o += (size_t)snprintf(buf + o, cap - o,
				      "PREFIX %.*s get %" PRIu64 " hit %" PRIu64 " set %" PRIu64
				      " del %" PRIu64 "\r\n",
				      (int)e->len, e->prefix, e->n.get, e->n.hit, e->n.set, e->n.del);
	}
	memcpy(buf + o, "END\r\n", 6);
	*len = (uint32_t)(o + 5);
	return buf;
}
