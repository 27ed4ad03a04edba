/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests for keys this node is not the primary of (it holds a replica or no copy), reads
 * and writes, proxied to the member that is, over the worker's proxy links (one per member,
 * apart from the replication links: a proxied write may wait at the primary for its quorum,
 * whose acknowledgements travel on replication links, which never wait). So the primary
 * applies (and replicates) every write, and a read sees what the primary just answered a
 * write with (a replica's copy may lag it).
 * The request goes as the meta command with the same meaning (mg, ms, md, ma; a meta request
 * as itself, its own flags and tokens again), with the opaque `Oncprx` so the member serves it
 * where it lands; the reply (matched in order on the link) becomes the request's result, its
 * return flags included, and the client's own protocol writes it (the client's O, k, b and q
 * applied here).
 *
 * Where the request goes: the first of the key's members (primary first) whose link is up.
 * When that is this node, or no link is up, the request is served here (counted in
 * cluster_remote_keys): a ketama client that ejected a dead primary sends its keys to the
 * replica, which then acts for the primary (its reads from its copy, its writes applied
 * there only: the primary, back, gets them by the replica's resync, as adds). A node that holds
 * no copy and reaches no holder stores a write itself, where only it can read it back. An answer that does not come within
 * --replication-timeout, or a link that breaks, fails the request: a read answers a miss, a
 * write "SERVER_ERROR no answer from the key's primary" (the write may or may not have been
 * applied there).
 *
 * Not proxied: me (the item's details here), stores the parser refused as too large, and
 * commands members send each other (opaque ncrepl or ncprx).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_private.h"

/* Whether meta request @p req carries opaque @p tok. */
static bool
has_opaque(const struct proto_request *req, const char *tok)
{
	size_t n = strlen(tok);

	return req->kind == PROTO_META && req->meta.opaque_len == n &&
	       memcmp(req->meta.opaque, tok, n) == 0;
}

bool
peer_from_member(const struct proto_request *req)
{
	return has_opaque(req, PEER_OPAQUE) || has_opaque(req, PEER_PROXY_OPAQUE);
}

/*
 * A binary or text exptime as a meta T/N token, which is 32 bits: an absolute time past
 * 2038 (binary's 32-bit unsigned exptime) becomes the latest one a token can say.
 */
static int64_t
meta_ttl(int64_t exptime)
{
	return exptime > INT32_MAX ? INT32_MAX : exptime < INT32_MIN ? INT32_MIN : exptime;
}

/* The meta mode letter of a store. */
static char
store_mode_letter(enum proto_mode mode)
{
	switch (mode) {
	case PROTO_MODE_ADD:
		return 'E';
	case PROTO_MODE_REPLACE:
		return 'R';
	case PROTO_MODE_APPEND:
		return 'A';
	case PROTO_MODE_PREPEND:
		return 'P';
	default: /* set, and cas (with C) */
		return 'S';
	}
}

/*
 * A meta request's own flags again, for the member: every letter it gave with its token,
 * except O (the proxy's own opaque goes instead; the writer echoes the client's), q (the
 * member must answer; the writer applies q here), b and k (the key goes as this node encodes
 * it; the writer returns it as the client asked). @return the bytes written; -1 when full.
 */
static int
meta_flags(const struct proto_request *req, char *buf, size_t cap)
{
	const struct proto_meta *m = &req->meta;
	size_t used = 0;

	buf[0] = '\0'; /* (no flag at all: the empty string) */
	for (int i = 0; i < 52; i++) {
		char c = (char)(i < 26 ? 'A' + i : 'a' + i - 26);
		bool is_signed = false, token = true;
		int64_t sv = 0;
		uint64_t uv = 0;
		int n;

		if ((m->flags & PROTO_META_BIT(c)) == 0 || c == 'O' || c == 'q' || c == 'b' ||
		    c == 'k' || (c == 'M' && m->mode == 0))
			continue;
		/* The letters that carry a token, and where the parser put it. */
		switch (c) {
		case 'N':
		case 'T':
		case 'R':
			is_signed = true;
			sv = c == 'N' ? m->vivify_ttl : c == 'T' ? m->new_ttl : m->recache_ttl;
			break;
		case 'F':
			uv = req->client_flags;
			break;
		case 'C':
			uv = req->cas;
			break;
		case 'E':
			uv = m->explicit_cas;
			break;
		case 'J':
			uv = req->initial;
			break;
		case 'D':
			uv = req->delta;
			break;
		default:
			token = false;
			break;
		}
		if (c == 'M')
			n = snprintf(buf + used, cap - used, " M%c", m->mode);
		else if (!token)
			n = snprintf(buf + used, cap - used, " %c", c);
		else if (is_signed)
			n = snprintf(buf + used, cap - used, " %c%" PRId64, c, sv);
		else
			n = snprintf(buf + used, cap - used, " %c%" PRIu64, c, uv);
		if (n < 0 || (size_t)n >= cap - used)
			return -1;
		used += (size_t)n;
	}
	return (int)used;
}

/* A meta request's command again (mg, ms, md, ma), the key token @p tok (@p b64: b). */
static int
meta_line(const struct proto_request *req, const char *tok, int kn, bool b64, char *line,
	  size_t cap)
{
	char flags[PEER_LINE_MAX / 2];
	const char *cmd;
	char len[16] = "";
	int n;

	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		cmd = "mg";
		break;
	case PROTO_OP_STORE:
		cmd = "ms";
		snprintf(len, sizeof(len), " %u", req->value.len);
		break;
	case PROTO_OP_DELETE:
		cmd = "md";
		break;
	case PROTO_OP_ARITH:
		cmd = "ma";
		break;
	default:
		return -1; /* me: served here */
	}
	if (meta_flags(req, flags, sizeof(flags)) < 0)
		return -1;
	n = snprintf(line, cap, "%s %.*s%s%s%s O" PEER_PROXY_OPAQUE "\r\n", cmd, kn, tok, len,
		     b64 ? " b" : "", flags);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/*
 * The meta command asking the same as @p req for key token @p tok (@p kn bytes, @p b64: " b").
 * @return its length; -1 when it does not fit or @p req is not proxied.
 */
static int
proxy_line(const struct proto_request *req, const char *tok, int kn, bool b64, char *line,
	   size_t cap)
{
	const char *b = b64 ? " b" : "";
	const char *o = " O" PEER_PROXY_OPAQUE "\r\n";
	int n;

	if (req->kind == PROTO_META)
		return meta_line(req, tok, kn, b64, line, cap);
	switch (req->op) {
	case PROTO_OP_GET:
		n = snprintf(line, cap, "mg %.*s%s v f c%s", kn, tok, b, o);
		break;
	case PROTO_OP_GAT:
		n = snprintf(line, cap, "mg %.*s%s v f c T%" PRId64 "%s", kn, tok, b,
			     meta_ttl(req->exptime), o);
		break;
	case PROTO_OP_TOUCH:
		n = snprintf(line, cap, "mg %.*s%s f T%" PRId64 "%s", kn, tok, b,
			     meta_ttl(req->exptime), o);
		break;
	case PROTO_OP_STORE: {
		char cas[32] = "";

		if (req->mode == PROTO_MODE_CAS || req->cas != 0)
			snprintf(cas, sizeof(cas), " C%" PRIu64, req->cas);
		n = snprintf(line, cap, "ms %.*s %u%s F%u T%" PRId64 " M%c%s c%s", kn, tok,
			     req->value.len, b, req->client_flags, meta_ttl(req->exptime),
			     store_mode_letter(req->mode), cas, o);
		break;
	}
	case PROTO_OP_DELETE:
		if (req->cas != 0)
			n = snprintf(line, cap, "md %.*s%s C%" PRIu64 "%s", kn, tok, b, req->cas, o);
		else
			n = snprintf(line, cap, "md %.*s%s%s", kn, tok, b, o);
		break;
	case PROTO_OP_ARITH: {
		char init[64] = "";

		if (req->flags & PROTO_F_HAS_INITIAL)
			snprintf(init, sizeof(init), " N%" PRId64 " J%" PRIu64,
				 meta_ttl(req->exptime), req->initial);
		n = snprintf(line, cap, "ma %.*s%s M%c D%" PRIu64 " v c%s%s", kn, tok, b,
			     (req->flags & PROTO_F_INCR) ? '+' : '-', req->delta, init, o);
		break;
	}
	default:
		return -1;
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

bool
peer_proxy(struct worker *w, const struct store_key *k, struct fwd_msg *m,
	   const struct proto_input *in, bool read_through)
{
	const struct proto_request *req = m->req;
	const struct cluster_view *v = cluster_view_get(w->srv);
	struct peer_set *ps = peer_links(w, v);
	char line[PEER_LINE_MAX], tok[PEER_LINE_MAX / 2];
	struct peer_link *l = NULL;
	struct peer_wait *wt;
	struct nc_route r;
	uint32_t slot;
	int kn, n;
	bool b64;

	if (ps == NULL || (req->flags & PROTO_F_REFUSED) != 0)
		return false;
	cluster_route_view(w->srv, v, k, &r);
	for (uint32_t i = 0; i < r.ncopies && l == NULL; i++) {
		if (r.copy[i] == v->self) {
			if (read_through)
				continue; /* (it missed here) */
			return false; /* the first live holder is this node: served here */
		}
		if (ps->link[ps->n + r.copy[i]].state == PEER_UP)
			l = &ps->link[ps->n + r.copy[i]];
	}
	if (l == NULL)
		return false;
	kn = key_token(k, tok, sizeof(tok), &b64);
	n = kn < 0 ? -1 : proxy_line(req, tok, kn, b64, line, sizeof(line));
	if (n < 0)
		return false;
	slot = wait_take(w, ps, WAIT_PROXY);
	if (slot == PEER_WAIT_NONE)
		return false;
	wt = &ps->wait[slot];
	wt->msg = m;
	wt->link = (uint32_t)(l - ps->link);
	wt->reply_len = 0;
	wt->value_len = wt->value_got = 0;
	if (link_ship(w, l, line, (size_t)n, NULL, in,
		      req->op == PROTO_OP_STORE ? &req->value : NULL, false, slot) == -ENOBUFS) {
		wait_free(ps, slot);
		return false;
	}
	/* From here the wait is answered exactly once: a reply, a broken link or its deadline. */
	if (read_through)
		STAT_INC(&w->stats, cluster_read_through);
	else
		STAT_INC(&w->stats, cluster_proxied);
	return true;
}

/* ---- replies ---- */

void
peer_reply_line(struct worker *w, struct peer_set *ps, struct peer_ref ref, const char *line,
		uint32_t len, uint32_t value_len, bool fine)
{
	struct peer_wait *wt = wait_of(ps, ref);
	struct exec_value *copy;

	if (wt == NULL)
		return; /* ended already (its deadline, a view change) */
	if (wt->kind == WAIT_QUORUM || wt->kind == WAIT_UNDO) {
		if (!fine)
			STAT_INC(&w->stats, repl_errors);
		if (wt->kind == WAIT_UNDO)
			wait_free(ps, ref.slot); /* answered: applied, or nothing to undo */
		else
			quorum_reply(w, ps, ref, quorum_acknowledges(line, len));
		return;
	}
	memcpy(wt->reply, line, len);
	wt->reply_len = len;
	wt->value_len = value_len;
	wt->value_got = 0;
	copy = &wt->msg->copy;
	if (value_len > copy->cap) {
		void *buf = realloc(copy->buf, value_len);

		if (buf == NULL) {
			wt->reply_len = 0; /* answered as a failure */
			wt->value_len = 0;
			return;
		}
		copy->buf = buf;
		copy->cap = value_len;
	}
}

void
peer_reply_value(struct worker *w, struct peer_set *ps, struct peer_ref ref, const char *data,
		 uint32_t n)
{
	struct peer_wait *wt = wait_of(ps, ref);
	uint32_t take;

	(void)w;
	if (wt == NULL || wt->kind != WAIT_PROXY || wt->value_got >= wt->value_len)
		return; /* (the value's CRLF) */
	take = wt->value_len - wt->value_got < n ? wt->value_len - wt->value_got : n;
	memcpy((char *)wt->msg->copy.buf + wt->value_got, data, take);
	wt->value_got += take;
}

void
peer_reply_done(struct worker *w, struct peer_set *ps, struct peer_ref ref)
{
	struct peer_wait *wt = wait_of(ps, ref);

	if (wt != NULL && wt->kind == WAIT_PROXY)
		proxy_done(w, ps, ref.slot);
}

void
peer_reply_lost(struct worker *w, struct peer_set *ps, struct peer_link *l,
		struct peer_ref ref, bool failed)
{
	struct peer_wait *wt = wait_of(ps, ref);

	if (wt == NULL)
		return;
	switch (wt->kind) {
	case WAIT_PROXY:
		proxy_fail(w, ps, ref.slot);
		break;
	case WAIT_QUORUM:
		quorum_reply(w, ps, ref, false);
		break;
	case WAIT_UNDO:
		if (failed)
			undo_pend(w, ps, l, ref.slot); /* again once the link is up */
		else
			wait_free(ps, ref.slot); /* the member left, or the node stops */
		break;
	}
}

/* Whether @p line[0..len) starts with @p s. */
static bool
starts(const char *line, uint32_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(line, s, n) == 0;
}

/*
 * Whether flag letter @p f is among the reply's flags (after its code), with the number after
 * it (negative allowed: t-1) in *v (0 when it has none).
 */
static bool
reply_has(const char *line, uint32_t len, char f, int64_t *v)
{
	for (uint32_t i = 2; i + 1 < len; i++) {
		if (line[i] == ' ' && line[i + 1] == f) {
			bool neg = i + 2 < len && line[i + 2] == '-';
			uint64_t n = 0;

			for (i += neg ? 3 : 2; i < len && line[i] >= '0' && line[i] <= '9'; i++)
				n = n * 10 + (uint64_t)(line[i] - '0');
			*v = neg ? -(int64_t)n : (int64_t)n;
			return true;
		}
	}
	*v = 0;
	return false;
}

/* The number after flag letter @p f among the reply's flags; 0 if absent. */
static uint64_t
reply_flag(const char *line, uint32_t len, char f)
{
	int64_t v;

	reply_has(line, len, f, &v);
	return (uint64_t)v;
}

/* The meta return flags of the reply (mg's t, l, h, s, W, X, Z) into @p res. */
static void
meta_result_flags(const char *line, uint32_t len, struct proto_result *res)
{
	int64_t v;

	if (reply_has(line, len, 't', &v))
		res->ttl_left = v;
	if (reply_has(line, len, 'l', &v))
		res->last_access = v;
	res->hit_before = reply_has(line, len, 'h', &v) && v == 1;
	if (res->value == NULL && reply_has(line, len, 's', &v))
		res->value_len = (uint32_t)v; /* mg s without v: the size alone */
	res->win = reply_has(line, len, 'W', &v);
	res->stale = reply_has(line, len, 'X', &v);
	res->won_already = reply_has(line, len, 'Z', &v);
}

/* The result of a failed request: a read misses, a write did not reach the primary. */
static void
result_failed(const struct proto_request *req, struct proto_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = req->op == PROTO_OP_GET || req->op == PROTO_OP_GAT ? PROTO_ST_MISS
									 : PROTO_ST_NO_PRIMARY;
}

/* A reply code shared by the writes: an error line's status, or PROTO_STATUS_COUNT. */
static enum proto_status
error_status(const char *line, uint32_t len)
{
	if (starts(line, len, "SERVER_ERROR object too large"))
		return PROTO_ST_TOO_LARGE;
	if (starts(line, len, "SERVER_ERROR out of memory"))
		return PROTO_ST_NO_MEMORY;
	if (starts(line, len, "SERVER_ERROR replication quorum"))
		return PROTO_ST_NOT_REPLICATED;
	if (starts(line, len, "CLIENT_ERROR cannot increment or decrement"))
		return PROTO_ST_NON_NUMERIC;
	return PROTO_STATUS_COUNT;
}

/*
 * The result of the primary's reply @p wt->reply for request @p req. @return false when the
 * reply does not answer the request (garbage, an unexpected code): then it failed.
 */
static bool
proxy_result(const struct peer_wait *wt, const struct fwd_msg *m, struct proto_result *res)
{
	const struct proto_request *req = m->req;
	const char *line = wt->reply;
	uint32_t len = wt->reply_len;
	bool va = starts(line, len, "VA "), hd = starts(line, len, "HD");
	bool en = starts(line, len, "EN"), nf = starts(line, len, "NF");
	bool ns = starts(line, len, "NS"), ex = starts(line, len, "EX");
	enum proto_status err = error_status(line, len);

	memset(res, 0, sizeof(*res));
	if (va && wt->value_got != wt->value_len)
		return false;
	res->cas = reply_flag(line, len, 'c');
	res->client_flags = (uint32_t)reply_flag(line, len, 'f');
	if (req->kind == PROTO_META)
		meta_result_flags(line, len, res);
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		if (req->kind == PROTO_META && (hd || en || va)) {
			/* mg: a hit without v answers HD; a miss EN (with W when it vivified). */
			res->status = en ? PROTO_ST_MISS : PROTO_ST_HIT;
			if (va) {
				res->value = m->copy.buf;
				res->value_len = wt->value_len;
			}
			meta_result_flags(line, len, res);
			return true;
		}
		if (!va)
			return en ? (res->status = PROTO_ST_MISS, true) : false;
		res->status = PROTO_ST_HIT;
		res->value = m->copy.buf;
		res->value_len = wt->value_len;
		return true;
	case PROTO_OP_TOUCH:
		res->status = hd ? PROTO_ST_TOUCHED : PROTO_ST_NOT_FOUND;
		return hd || en;
	case PROTO_OP_STORE:
		res->status = hd ? PROTO_ST_STORED : ns ? PROTO_ST_NOT_STORED :
			      ex ? PROTO_ST_EXISTS : nf ? PROTO_ST_NOT_FOUND : err;
		return res->status != PROTO_STATUS_COUNT && res->status != PROTO_ST_NON_NUMERIC;
	case PROTO_OP_DELETE:
		res->status = hd ? PROTO_ST_DELETED : nf ? PROTO_ST_NOT_FOUND :
			      ex ? PROTO_ST_EXISTS : err;
		return res->status == PROTO_ST_DELETED || res->status == PROTO_ST_NOT_FOUND ||
		       res->status == PROTO_ST_EXISTS || res->status == PROTO_ST_NOT_REPLICATED;
	case PROTO_OP_ARITH:
		if (hd && req->kind == PROTO_META) { /* ma without v */
			res->status = PROTO_ST_NUMBER;
			return true;
		}
		if (va) {
			const char *d = m->copy.buf;

			if (wt->value_len == 0 || wt->value_len > 20)
				return false;
			for (uint32_t i = 0; i < wt->value_len; i++) {
				if (d[i] < '0' || d[i] > '9')
					return false;
				res->number = res->number * 10 + (uint64_t)(d[i] - '0');
			}
			res->status = PROTO_ST_NUMBER;
			return true;
		}
		res->status = nf || en ? PROTO_ST_NOT_FOUND : ns ? PROTO_ST_NOT_STORED :
			      ex ? PROTO_ST_EXISTS : err;
		return res->status != PROTO_STATUS_COUNT && res->status != PROTO_ST_TOO_LARGE;
	default:
		return false;
	}
}

void
proxy_done(struct worker *w, struct peer_set *ps, uint32_t slot)
{
	struct peer_wait *wt = &ps->wait[slot];
	struct fwd_msg *m = wt->msg;
	struct proto_result res;

	if (!proxy_result(wt, m, &res)) {
		NC_LOG(w->srv, 1, "worker %u: a proxied %s got the reply '%.*s'", w->id,
		       proto_op_name(m->req->op), (int)wt->reply_len, wt->reply);
		STAT_INC(&w->stats, cluster_proxy_failures);
		result_failed(m->req, &res);
	}
	wait_free(ps, slot);
	m->res = res;
	forward_answer(w, m);
}

void
proxy_timeout(struct worker *w, struct peer_set *ps, uint32_t slot)
{
	struct peer_link *l = &ps->link[ps->wait[slot].link];

	proxy_fail(w, ps, slot);
	if (l->state == PEER_UP) {
		NC_LOG(w->srv, 1, "worker %u: no answer from %s in time: its proxy link is closed",
		       w->id, l->name);
		peer_link_fail(w, l); /* (fails the requests still out on it too) */
	}
}

void
proxy_fail(struct worker *w, struct peer_set *ps, uint32_t slot)
{
	struct fwd_msg *m = ps->wait[slot].msg;

	STAT_INC(&w->stats, cluster_proxy_failures);
	wait_free(ps, slot);
	result_failed(m->req, &m->res);
	forward_answer(w, m);
}
