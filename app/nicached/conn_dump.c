/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key dumps and per-prefix counters on a connection (memcached's `stats cachedump`,
 * `lru_crawler ...`, `stats detail ...`).
 *
 * A dump streams: its cursor (struct dump: shard, walk position, counts, one slice's lines)
 * lives in the connection. Shards are walked in turn, each on its owner: the connection's own
 * shard one slice per loop iteration from the deferred list (after the quiescent state, like a
 * retried write), another worker's shard one slice per message (FWD_DUMP on its inbox, answered
 * on our done ring, like a forwarded write). Each slice's lines are sent before the next slice
 * is asked for, and no slice is asked for while more than DUMP_BACKLOG_MAX reply bytes wait
 * for the client (writable resumes it). The connection parses nothing during a dump, so a
 * pipeline after it is answered in order. Only one thread touches the dump at a time: the
 * rings hand it over with release/acquire ordering.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"
#include "detail.h"
#include "dump.h"
#include "log.h"
#include "worker.h"

/** Reply bytes waiting for the client above which a dump waits before its next slice. */
#define DUMP_BACKLOG_MAX (1u << 20)
/** Bytes appended to the output at once by conn_reply_raw(). */
#define RAW_PIECE (64u * 1024)
/** Largest `stats detail dump` text sent as one binary STAT value. */
#define DETAIL_BINARY_MAX (128u * 1024)

int
conn_reply_raw(struct worker *w, struct conn *c, const void *data, uint32_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		uint32_t n = len < RAW_PIECE ? len : RAW_PIECE;
		int rc = proto_out_copy(&w->out, p, n);

		if (rc == -ENOBUFS) {
			if (conn_flush(w, c) != 0)
				return -EPIPE;
			rc = proto_out_copy(&w->out, p, n);
		}
		if (rc != 0)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

int
conn_reply_line(struct worker *w, struct conn *c, const char *line)
{
	if (conn_reply_raw(w, c, line, (uint32_t)strlen(line)) != 0)
		return -EPIPE;
	return conn_reply_raw(w, c, "\r\n", 2);
}

/** Whether [s, s + len) starts with the word @p word (followed by a space or its end). */
static bool
first_word_is(const char *s, uint32_t len, const char *word, uint32_t *after)
{
	uint32_t n = (uint32_t)strlen(word);

	if (len < n || memcmp(s, word, n) != 0 || (len > n && s[n] != ' '))
		return false;
	*after = n;
	return true;
}

/** The next space-separated token of [s, s + len) from *at; false at the end. */
static bool
next_token(const char *s, uint32_t len, uint32_t *at, const char **tok, uint32_t *tlen)
{
	uint32_t i = *at, b;

	while (i < len && s[i] == ' ')
		i++;
	if (i == len)
		return false;
	b = i;
	while (i < len && s[i] != ' ')
		i++;
	*tok = s + b;
	*tlen = i - b;
	*at = i;
	return true;
}

static bool
tok_is(const char *tok, uint32_t tlen, const char *word)
{
	return tlen == strlen(word) && memcmp(tok, word, tlen) == 0;
}

/* ---- dumps ---- */

/** The dump ended (or failed): free it; the connection goes on parsing. */
static void
dump_finish(struct worker *w, struct conn *c, bool failed)
{
	free(c->dump);
	c->dump = NULL;
	c->state = CONN_ACTIVE;
	if (failed || conn_reply_raw(w, c, "END\r\n", 5) != 0) {
		c->close_after_send = true;
		c->read_closed = true;
		if (c->tx.len > c->tx.head)
			c->tx.head = c->tx.len; /* the peer is gone */
	}
	conn_run(w, c);
}

/** Ask for the next slice: here next loop, or at the shard's owner; or end the dump. */
static void
dump_next(struct worker *w, struct conn *c)
{
	struct dump *d = c->dump;
	struct fwd_msg *m = &c->msg;

	if (d->finished || d->shard >= w->srv->nworkers) {
		dump_finish(w, c, false);
		return;
	}
	if (conn_backlog(c) > DUMP_BACKLOG_MAX)
		return; /* conn_on_writable() resumes it once the client has read */
	if (d->shard == w->id) {
		worker_defer(w, c);
		return;
	}
	{
		/* c->msg's value buffer (a forwarded gat's copy) is the connection's to keep. */
		struct exec_value keep = m->copy;

		memset(m, 0, sizeof(*m));
		m->copy = keep;
	}
	m->kind = FWD_DUMP;
	m->from = w;
	m->conn = c;
	m->dump = d;
	if (forward_post(w->srv->workers[d->shard], m) != 0) {
		worker_defer(w, c); /* ring full: post again next loop */
		return;
	}
	c->acks_due = 1;
}

/** A slice is done (here or at its owner): send its lines, then go on. */
static void
dump_emit(struct worker *w, struct conn *c)
{
	struct dump *d = c->dump;

	if ((d->len > 0 && conn_reply_raw(w, c, d->buf, d->len) != 0) || conn_flush(w, c) != 0) {
		dump_finish(w, c, true);
		return;
	}
	d->len = 0;
	if (d->walk.done) {
		d->shard++;
		memset(&d->walk, 0, sizeof(d->walk));
	}
	dump_next(w, c);
}

void
conn_dump_answered(struct worker *w, struct conn *c)
{
	if (c->state == CONN_DUMP && c->dump != NULL)
		dump_emit(w, c);
}

void
dump_serve(struct worker *w, struct fwd_msg *m)
{
	dump_slice(m->dump, w->shard);
}

void
conn_dump_resume(struct worker *w, struct conn *c)
{
	struct dump *d = c->dump;

	if (c->state != CONN_DUMP || d == NULL || c->acks_due > 0)
		return; /* a slice is out at the owner: its answer resumes the dump */
	if (!d->finished && d->shard == w->id && conn_backlog(c) <= DUMP_BACKLOG_MAX) {
		dump_slice(d, w->shard);
		dump_emit(w, c);
		return;
	}
	dump_next(w, c);
}

/** Start streaming a dump of @p spec on c. @return false (the connection streams). */
static bool
dump_start(struct worker *w, struct conn *c, const struct dump_spec *spec)
{
	struct dump *d;

	if (c->is_udp) {
		conn_reply_line(w, c, "SERVER_ERROR key dumps are not served over UDP");
		return true;
	}
	d = malloc(sizeof(*d));
	if (d == NULL) {
		conn_reply_line(w, c, "SERVER_ERROR out of memory");
		return true;
	}
	memset(d, 0, offsetof(struct dump, buf));
	d->spec = *spec;
	c->dump = d;
	c->state = CONN_DUMP;
	c->msg.kind = FWD_DUMP;
	NC_LOG(w->srv, 2, "<%d %s dump of classes %#llx", c->id,
	       spec->kind == DUMP_CACHEDUMP ? "cachedump" : "metadump",
	       (unsigned long long)spec->classes);
	dump_next(w, c);
	return false;
}

bool
conn_stats_cachedump(struct worker *w, struct conn *c)
{
	struct proto_result res;
	struct dump_spec spec;
	const char *err;

	if (c->req.kind == PROTO_BINARY) {
		/* memcached serves cachedump in text only: binary answers "Not found". */
		memset(&res, 0, sizeof(res));
		res.status = PROTO_ST_NOT_FOUND;
		proto_write(&w->out, &c->req, &res);
		return true;
	}
	err = dump_parse_cachedump(c->req.args, c->req.args_len, &spec);
	if (err != NULL) {
		conn_reply_line(w, c, err);
		return true;
	}
	return dump_start(w, c, &spec);
}

bool
conn_lru_crawler(struct worker *w, struct conn *c)
{
	struct nc_server *srv = w->srv;
	const char *a = c->req.args, *sub = NULL, *arg = NULL, *extra;
	uint32_t len = a != NULL ? c->req.args_len : 0, at = 0, sublen = 0, arglen = 0, elen;
	bool off = __atomic_load_n(&srv->lru_crawler_off, __ATOMIC_RELAXED);
	struct dump_spec spec;
	const char *err;

	/* memcached 1.6.18's process_lru_crawler_command(), by its token counts. */
	if (a == NULL || !next_token(a, len, &at, &sub, &sublen)) {
		conn_reply_line(w, c, "ERROR");
		return true;
	}
	next_token(a, len, &at, &arg, &arglen);
	if (next_token(a, len, &at, &extra, &elen)) {
		conn_reply_line(w, c, "ERROR");
		return true;
	}
	if (arg != NULL) {
		uint64_t v = 0;
		bool num = arglen > 0 && arglen <= 10;

		for (uint32_t i = 0; num && i < arglen; i++) {
			num = arg[i] >= '0' && arg[i] <= '9';
			v = v * 10 + (uint64_t)(arg[i] - '0');
		}
		num = num && v <= UINT32_MAX;
		if (tok_is(sub, sublen, "metadump") || tok_is(sub, sublen, "crawl")) {
			if (off) {
				conn_reply_line(w, c, "CLIENT_ERROR lru crawler disabled");
				return true;
			}
			err = dump_parse_metadump(arg, arglen, &spec);
			if (err != NULL) {
				conn_reply_line(w, c, err);
				return true;
			}
			if (tok_is(sub, sublen, "metadump"))
				return dump_start(w, c, &spec);
			/* No crawler to start: the TTL wheel removes expired items as they fall due. */
			conn_reply_line(w, c, "OK");
			return true;
		}
		if (tok_is(sub, sublen, "tocrawl") || tok_is(sub, sublen, "sleep")) {
			if (!num)
				conn_reply_line(w, c, "CLIENT_ERROR bad command line format");
			else if (tok_is(sub, sublen, "sleep") && v > 1000000)
				conn_reply_line(w, c, "CLIENT_ERROR sleep must be one second or less");
			else
				conn_reply_line(w, c, "OK");
			return true;
		}
		conn_reply_line(w, c, "ERROR");
		return true;
	}
	if (tok_is(sub, sublen, "enable")) {
		/* memcached's crawler runs from the start: enabling it again fails. */
		conn_reply_line(w, c, off ? "OK" : "ERROR failed to start lru crawler thread");
		__atomic_store_n(&srv->lru_crawler_off, false, __ATOMIC_RELAXED);
		return true;
	}
	if (tok_is(sub, sublen, "disable")) {
		__atomic_store_n(&srv->lru_crawler_off, true, __ATOMIC_RELAXED);
		conn_reply_line(w, c, "OK");
		return true;
	}
	conn_reply_line(w, c, "ERROR");
	return true;
}

/* ---- stats detail ---- */

/** This worker's table, emptied if a `stats reset` came since it last counted; or NULL. */
static struct detail_table *
detail_own(struct worker *w, bool create)
{
	uint32_t gen = __atomic_load_n(&w->srv->detail_gen, __ATOMIC_RELAXED);

	if (w->detail == NULL) {
		if (!create)
			return NULL;
		w->detail = detail_create();
		w->detail_gen = gen;
		return w->detail;
	}
	if (w->detail_gen != gen) {
		detail_clear(w->detail);
		w->detail_gen = gen;
	}
	return w->detail;
}

void
conn_detail_record(struct worker *w, const struct proto_request *req,
		   const struct proto_result *res)
{
	enum detail_op op;
	bool hit = false;
	struct detail_table *t;

	if (req->key == NULL || req->kind == PROTO_META)
		return;
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		op = DETAIL_GET;
		hit = res->status == PROTO_ST_HIT;
		break;
	case PROTO_OP_TOUCH: /* binary touch counts as a get, text touch not at all */
		if (req->kind != PROTO_BINARY)
			return;
		op = DETAIL_GET;
		hit = res->status == PROTO_ST_TOUCHED;
		break;
	case PROTO_OP_STORE:
		if (req->kind == PROTO_BINARY && req->mode != PROTO_MODE_SET &&
		    req->mode != PROTO_MODE_ADD && req->mode != PROTO_MODE_REPLACE &&
		    req->mode != PROTO_MODE_CAS)
			return;
		op = DETAIL_SET;
		break;
	case PROTO_OP_DELETE:
		op = DETAIL_DEL;
		break;
	default:
		return;
	}
	t = detail_own(w, true);
	if (t != NULL)
		(void)detail_record(t, req->key, req->key_len, op, hit);
}

/** Add @p n entries to c->detail_sum (made on first use). */
static void
detail_merge(struct conn *c, const struct detail_entry *e, uint32_t n)
{
	if (c->detail_sum == NULL)
		c->detail_sum = detail_create();
	if (c->detail_sum == NULL)
		return;
	for (uint32_t i = 0; i < n; i++)
		(void)detail_add(c->detail_sum, e[i].prefix, e[i].len, &e[i].n);
}

void
detail_serve(struct worker *w, struct fwd_msg *m)
{
	struct detail_table *t = detail_own(w, false);
	const struct detail_entry *e;
	uint32_t n = 0;

	m->text = NULL;
	m->text_len = 0;
	if (t == NULL)
		return;
	e = detail_entries(t, &n);
	if (n == 0)
		return;
	m->text = malloc((size_t)n * sizeof(*e));
	if (m->text == NULL)
		return;
	memcpy(m->text, e, (size_t)n * sizeof(*e));
	m->text_len = n;
}

void
detail_gathered(struct conn *c, struct fwd_msg *m)
{
	if (m->text != NULL)
		detail_merge(c, (const struct detail_entry *)(const void *)m->text, m->text_len);
	free(m->text);
	m->text = NULL;
}

void
conn_detail_reply(struct worker *w, struct conn *c)
{
	struct detail_table *empty = NULL;
	struct proto_result res;
	struct proto_stat st;
	uint32_t len = 0;
	char *text;

	if (c->detail_sum == NULL)
		empty = detail_create();
	text = c->detail_sum != NULL ? detail_format(c->detail_sum, &len) :
	       empty != NULL	     ? detail_format(empty, &len) :
				       NULL;
	detail_destroy(&empty);
	detail_destroy(&c->detail_sum);
	memset(&res, 0, sizeof(res));
	if (c->req.kind == PROTO_BINARY) {
		/* memcached: one stat "detailed" holding the whole text, then the end. */
		if (text == NULL || len > DETAIL_BINARY_MAX) {
			res.status = PROTO_ST_NO_MEMORY;
		} else {
			st.name = "detailed";
			st.value = text;
			res.status = PROTO_ST_STATS;
			res.stats = &st;
			res.nstats = 1;
		}
		if (proto_write(&w->out, &c->req, &res) == -ENOBUFS && conn_flush(w, c) == 0)
			proto_write(&w->out, &c->req, &res);
	} else if (text == NULL) {
		conn_reply_line(w, c, "SERVER_ERROR out of memory");
	} else {
		conn_reply_raw(w, c, text, len);
	}
	free(text);
}

bool
conn_stats_detail(struct worker *w, struct conn *c)
{
	const char *a = c->req.args, *sub = NULL;
	uint32_t len = c->req.args_len, at = 0, sublen = 0;
	struct detail_table *own;
	struct proto_result res;
	bool binary = c->req.kind == PROTO_BINARY;
	bool on = false, off = false, dump = false;

	first_word_is(a, len, "detail", &at);
	if (binary) {
		/* memcached compares what follows "detail" with " dump", " on", " off". */
		const char *rest = a + at;
		uint32_t rlen = len - at;

		dump = rlen >= 5 && memcmp(rest, " dump", 5) == 0;
		on = rlen >= 3 && memcmp(rest, " on", 3) == 0;
		off = rlen >= 4 && memcmp(rest, " off", 4) == 0;
	} else if (next_token(a, len, &at, &sub, &sublen)) {
		dump = tok_is(sub, sublen, "dump");
		on = tok_is(sub, sublen, "on");
		off = tok_is(sub, sublen, "off");
	}
	memset(&res, 0, sizeof(res));
	if (!dump && !on && !off) {
		if (binary) {
			res.status = PROTO_ST_NOT_FOUND;
			proto_write(&w->out, &c->req, &res);
		} else {
			conn_reply_line(w, c, "CLIENT_ERROR usage: stats detail on|off|dump");
		}
		return true;
	}
	if (on || off) {
		__atomic_store_n(&w->srv->detail_on, on, __ATOMIC_RELAXED);
		if (binary) {
			res.status = PROTO_ST_STATS; /* the empty stat that ends a list */
			proto_write(&w->out, &c->req, &res);
		} else {
			conn_reply_line(w, c, "OK");
		}
		return true;
	}
	detail_destroy(&c->detail_sum);
	own = detail_own(w, false);
	if (own != NULL) {
		uint32_t n;
		const struct detail_entry *e = detail_entries(own, &n);

		detail_merge(c, e, n);
	}
	if (w->srv->nworkers > 1) {
		conn_broadcast(w, c, FWD_DETAIL, 0);
		return false;
	}
	conn_detail_reply(w, c);
	return true;
}
