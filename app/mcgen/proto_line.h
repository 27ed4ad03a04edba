/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_PROTO_LINE_H
#define NC_MCGEN_PROTO_LINE_H

/* Line helpers shared by the text and meta parsers (private to app/mcgen/proto_*.c). */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "workload.h"

/*
 * Finish a storage request whose command line (@p head bytes, or snprintf's negative result)
 * is at @p buf: the value of q's key at q's version (@p vlen bytes) and "\r\n" after it.
 * @return the request's length; -ENOSPC when it does not fit @p cap.
 */
static inline long
line_set_value(const struct mcgen_workload *w, const struct mcgen_req *q, char *buf, size_t cap,
	       int head, uint32_t vlen)
{
	if (head < 0 || (size_t)head + vlen + 2 > cap)
		return -ENOSPC;
	mcgen_value_fill(w, q->keys[0], q->version, buf + head);
	memcpy(buf + head + vlen, "\r\n", 2);
	return (long)head + vlen + 2;
}

/*
 * Find the line at @p off: its end (the '\r' of "\r\n") in *@p eol.
 * @return 1 found; 0 more bytes needed (*@p need set); -EPROTO when too long or a lone '\n'.
 */
static inline int
line_find(const char *buf, size_t len, size_t off, size_t *eol, size_t *need, char *err,
	  size_t errlen)
{
	const char *nl = memchr(buf + off, '\n', len - off);

	if (nl == NULL) {
		if (len - off > MCGEN_LINE_MAX) {
			snprintf(err, errlen, "a reply line longer than %d bytes", MCGEN_LINE_MAX);
			return -EPROTO;
		}
		*need = len + 1;
		return 0;
	}
	if (nl == buf + off || nl[-1] != '\r') {
		snprintf(err, errlen, "a reply line not ended by \\r\\n");
		return -EPROTO;
	}
	*eol = (size_t)(nl - buf) - 1;
	return 1;
}

/* Is the line [p, p + n) exactly @p word? */
static inline bool
line_is(const char *p, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(p, word, n) == 0;
}

/* Does the line [p, p + n) start with @p word? */
static inline bool
line_starts(const char *p, size_t n, const char *word)
{
	size_t k = strlen(word);

	return n >= k && memcmp(p, word, k) == 0;
}

/* An error line of any protocol: ERROR, CLIENT_ERROR ..., SERVER_ERROR ... */
static inline bool
line_is_error(const char *p, size_t n)
{
	return line_is(p, n, "ERROR") || line_starts(p, n, "CLIENT_ERROR") ||
	       line_starts(p, n, "SERVER_ERROR");
}

/* Reply @p r is error line [p, p + n) (line_is_error()): MCGEN_ST_ERROR, the line its words. */
static inline void
line_error(struct mcgen_reply *r, const char *p, size_t n)
{
	r->status = MCGEN_ST_ERROR;
	r->said = p;
	r->said_len = (uint32_t)n;
}

/* Parse decimal digits at *@p p (before @p end) into *@p v; advance past them. */
static inline bool
line_uint(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	while (s < end && *s >= '0' && *s <= '9') {
		if (*v > (UINT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*s++ - '0');
	}
	if (s == *p)
		return false;
	*p = s;
	return true;
}

/* Quote the line [p, p + n) into a message. */
static inline int
line_bad(const char *what, const char *p, size_t n, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: '%.*s'", what, (int)(n < 80 ? n : 80), p);
	return -EPROTO;
}

#endif /* NC_MCGEN_PROTO_LINE_H */
