/* SPDX-License-Identifier: BSD-3-Clause */
#include "scratch.h"

#include <stdint.h>
#include <stdlib.h>

struct nc_scratch_extra {
	struct nc_scratch_extra *next;
	size_t len;
	_Alignas(16) char data[];
};

/* The main block grows to at most this; an iteration that needs more uses extra blocks. */
#define SCRATCH_KEEP_MAX (64u << 20)

void *
nc_scratch_alloc(struct nc_scratch *s, size_t n)
{
	struct nc_scratch_extra *e;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (s->cap - s->used >= n) {
		void *p = s->buf + s->used;

		s->used += n;
		return p;
	}
	/* Blocks handed out stay where they are: the rest goes to a block of its own. */
	e = malloc(sizeof(*e) + n);
	if (e == NULL)
		return NULL;
	e->len = n;
	e->next = s->extra;
	s->extra = e;
	s->extra_bytes += n;
	return e->data;
}

void
nc_scratch_reset(struct nc_scratch *s)
{
	size_t want;

	if (s->extra == NULL) {
		s->used = 0;
		return;
	}
	want = s->used + s->extra_bytes;
	while (s->extra != NULL) {
		struct nc_scratch_extra *e = s->extra;

		s->extra = e->next;
		free(e);
	}
	s->extra_bytes = 0;
	s->used = 0;
	if (want > SCRATCH_KEEP_MAX)
		want = SCRATCH_KEEP_MAX;
	if (want > s->cap) {
		/* Nothing is handed out now: the block may move. */
		char *p = malloc(want);

		if (p != NULL) {
			free(s->buf);
			s->buf = p;
			s->cap = want;
		}
	}
}

void
nc_scratch_release(struct nc_scratch *s)
{
	nc_scratch_reset(s);
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}
