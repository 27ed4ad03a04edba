/* SPDX-License-Identifier: BSD-3-Clause */
/* Replication links of a worker: see peer.h. */
#include "peer_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_server.h"
#include "cluster.h"
#include "cluster_warm.h"
#include "core/base64.h"
#include "log.h"
#include "worker.h"

/* ---- queue ---- */

/* The worker's queued-bytes gauge (stats cluster: repl_queue_bytes); the control core reads it. */
static void
queued_add(struct worker *w, int64_t delta)
{
	__atomic_store_n(&w->repl_queued, w->repl_queued + (uint64_t)delta, __ATOMIC_RELAXED);
}

/* The worker's links-up gauge (stats cluster: repl_links_up). */
static void
links_up_add(struct worker *w, const struct peer_link *l, int delta)
{
	if (l->proxy)
		return; /* (replication links: repl_links counts them) */
	__atomic_store_n(&w->repl_links_up, w->repl_links_up + (uint32_t)delta, __ATOMIC_RELAXED);
}

/* Publish link @p l's per-member gauges (stats cluster: member_<i>_links_up, _queue_bytes). */
static void
link_gauges(struct worker *w, const struct peer_link *l)
{
	if (l->member >= WORKER_PEER_STATS_MAX || l->proxy)
		return;
	__atomic_store_n(&w->peer_up[l->member], (uint8_t)(l->state == PEER_UP), __ATOMIC_RELAXED);
	__atomic_store_n(&w->peer_queued[l->member], (uint64_t)(l->len - l->sent),
			 __ATOMIC_RELAXED);
}

static void
link_drop_queue(struct worker *w, struct peer_link *l)
{
	size_t left = l->len - l->sent;

	queued_add(w, -(int64_t)left);
	l->len = l->sent = 0;
	link_gauges(w, l);
}

static void
link_close(struct worker *w, struct peer_link *l, bool failed)
{
	if (l->conn != NULL)
		stack_close(w->stack, l->conn);
	l->conn = NULL;
	l->writable_wanted = false;
	l->rx_len = 0;
	l->rx_data = 0;
	l->login_due = false;
	if (failed) {
		STAT_INC(&w->stats, repl_link_failures);
		l->retry_tick = nc_clock_ticks(&w->srv->clock) + l->backoff;
		l->backoff = l->backoff * 2 > PEER_BACKOFF_MAX_TICKS ? PEER_BACKOFF_MAX_TICKS
								     : l->backoff * 2;
	}
	if (l->state == PEER_UP)
		links_up_add(w, l, -1);
	l->state = PEER_DOWN;
	link_gauges(w, l);
	/*
	 * What was queued for it is lost, and what was sent may not have been applied: the member
	 * is resynced when the link is up again (a broken link, not one closed on purpose).
	 */
	if (l->len != l->sent)
		STAT_INC(&w->stats, repl_dropped);
	if (failed)
		l->stale = true;
	l->resyncing = false;
	link_drop_queue(w, l);
	/* Quorum: the replies still due will not come; fail their waits (which may ship undos). */
	if (l->expect.len > 0 && w->peers != NULL) {
		struct peer_fifo due = l->expect;
		struct peer_ref ref;

		memset(&l->expect, 0, sizeof(l->expect));
		while (fifo_pop(&due, &ref))
			if (ref.slot != PEER_WAIT_NONE)
				peer_reply_lost(w, w->peers, l, ref, failed);
		fifo_free(&due);
	}
}

void
peer_link_fail(struct worker *w, struct peer_link *l)
{
	link_close(w, l, true);
}

/* Room for @p need more bytes within --replication-queue; false when it would overflow. */
static bool
link_reserve(struct worker *w, struct peer_link *l, size_t need)
{
	size_t max = w->srv->set.replication_queue;
	size_t cap;
	uint8_t *p;

	if (l->sent > 0 && l->sent == l->len)
		l->sent = l->len = 0;
	if (l->len - l->sent + need > max)
		return false;
	if (l->len + need <= l->cap)
		return true;
	if (l->sent > 0) {
		memmove(l->out, l->out + l->sent, l->len - l->sent);
		l->len -= l->sent;
		l->sent = 0;
		if (l->len + need <= l->cap)
			return true;
	}
	cap = l->cap ? l->cap : 16384;
	while (cap < l->len + need)
		cap *= 2;
	p = realloc(l->out, cap);
	if (p == NULL)
		return false;
	l->out = p;
	l->cap = cap;
	return true;
}

/* Send what the stack takes; on a failure close the link. */
static void
link_flush(struct worker *w, struct peer_link *l)
{
	while (l->state == PEER_UP && l->sent < l->len) {
		struct iovec iov = {l->out + l->sent, l->len - l->sent};
		ssize_t n = stack_sendv(w->stack, l->conn, &iov, PEER_SEND_IOVS);

		if (n == -EAGAIN || n == 0)
			break;
		if (n < 0) {
			NC_LOG(w->srv, 1, "worker %u: replication link to %s failed: %s", w->id,
			       l->name, strerror((int)-n));
			link_close(w, l, true);
			return;
		}
		l->sent += (size_t)n;
		l->sent_tick = nc_clock_ticks(&w->srv->clock);
		queued_add(w, -(int64_t)n);
		link_gauges(w, l);
		STAT_ADD(&w->stats, repl_bytes, (uint64_t)n);
	}
	if (l->state != PEER_UP)
		return;
	if (l->sent == l->len)
		l->sent = l->len = 0;
	if ((l->len != 0) != l->writable_wanted) {
		l->writable_wanted = l->len != 0;
		stack_want_writable(w->stack, l->conn, l->writable_wanted);
	}
}

/* Open the link to member @p l->member of view @p v. */
static void
link_open(struct worker *w, struct peer_link *l, const struct cluster_view *v)
{
	const struct cluster_member *m = &v->members[l->member];
	struct stack_addr to;
	int rc;

	rc = stack_addr_parse(m->ip[0] != '\0' ? m->ip : m->host, m->port, &to);
	if (rc == 0)
		rc = stack_connect(w->stack, &to, l, &l->conn);
	if (rc != 0) {
		NC_LOG(w->srv, 1, "worker %u: cannot open a replication link to %s: %s", w->id,
		       l->name, strerror(-rc));
		l->conn = NULL;
		link_close(w, l, true);
		return;
	}
	l->state = PEER_CONNECTING;
	l->writable_wanted = true; /* an active open starts with it on */
}

/* ---- membership ---- */

static struct peer_set *
set_get(struct worker *w)
{
	if (w->peers == NULL)
		w->peers = calloc(1, sizeof(*w->peers));
	return w->peers;
}

/*
 * Rebuild the links for view @p v, keeping (and re-indexing) those whose member stays. Only
 * from peer_service(), between event batches: events already polled name the links by address.
 */
static void
set_follow(struct worker *w, struct peer_set *ps, const struct cluster_view *v)
{
	struct peer_link *link = calloc(2 * (size_t)v->nmembers, sizeof(*link));

	if (link == NULL)
		return; /* try again next loop */
	/* Waits name members by their index in the old view: they fail (and undo) now. */
	waits_fail_all(w, ps);
	for (uint32_t i = 0; i < 2 * v->nmembers; i++) {
		const char *name = nc_ring_member_name(v->ring, i % v->nmembers);
		bool proxy = i >= v->nmembers;

		for (uint32_t j = 0; j < 2 * ps->n; j++) {
			if (ps->link[j].name[0] != '\0' && ps->link[j].proxy == proxy &&
			    strcmp(ps->link[j].name, name) == 0) {
				link[i] = ps->link[j];
				ps->link[j].name[0] = '\0';
				ps->link[j].conn = NULL;
				ps->link[j].out = NULL;
				memset(&ps->link[j].expect, 0, sizeof(ps->link[j].expect));
				ps->link[j].undo = NULL;
				break;
			}
		}
		if (link[i].name[0] == '\0') {
			snprintf(link[i].name, sizeof(link[i].name), "%s", name);
			link[i].state = PEER_DOWN;
			link[i].backoff = PEER_BACKOFF_MIN_TICKS;
			link[i].proxy = proxy;
		}
		link[i].member = i % v->nmembers;
		/* The ring changed: what each member should hold changed too. */
		link[i].stale = true;
		link[i].resyncing = false;
		if (link[i].conn != NULL)
			stack_conn_set_user(w->stack, link[i].conn, &link[i]);
	}
	/* Members that left: their links go. */
	for (uint32_t j = 0; j < 2 * ps->n; j++) {
		if (ps->link[j].name[0] != '\0') {
			link_close(w, &ps->link[j], false);
			undo_drop(ps, &ps->link[j]);
		}
		free(ps->link[j].out);
		fifo_free(&ps->link[j].expect);
		free(ps->link[j].undo);
	}
	free(ps->link);
	ps->link = link;
	ps->n = v->nmembers;
	ps->version = v->version;
	/* Members are indexed anew: every gauge again. */
	for (uint32_t i = ps->n; i < WORKER_PEER_STATS_MAX; i++) {
		__atomic_store_n(&w->peer_up[i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&w->peer_queued[i], 0, __ATOMIC_RELAXED);
	}
	for (uint32_t i = 0; i < ps->n; i++)
		link_gauges(w, &ps->link[i]);
}

/* ---- shipping ---- */

int
key_token(const struct store_key *k, char *buf, size_t cap, bool *b64)
{
	*b64 = false;
	for (uint32_t i = 0; i < k->len; i++) {
		unsigned char ch = (unsigned char)k->key[i];

		if (ch <= ' ' || ch >= 0x7f) {
			*b64 = true;
			break;
		}
	}
	if (!*b64) {
		if (k->len >= cap)
			return -1;
		memcpy(buf, k->key, k->len);
		return (int)k->len;
	}
	int64_t n = nc_base64_encode(k->key, k->len, buf, cap);

	return n < 0 || n > 250 ? -1 : (int)n;
}

int
link_ship(struct worker *w, struct peer_link *l, const char *line, size_t n,
	  const struct store_hit *hit, const struct proto_input *in,
	  const struct proto_span *value, bool write, uint32_t wait)
{
	struct peer_set *ps = w->peers;
	size_t vlen = hit != NULL ? (size_t)hit->nbytes + 2 : value != NULL ? value->len + 2 : 0;
	size_t need = n + vlen;
	struct peer_ref due = {PEER_WAIT_NONE, 0};

	/*
	 * Only a link that is up takes commands: one that is down is resynced once up, which
	 * makes what it missed moot (an undo waits for it: it deletes what resync would not).
	 */
	if (l->state != PEER_UP || !link_reserve(w, l, need)) {
		if (wait != PEER_WAIT_NONE && ps->wait[wait].kind == WAIT_UNDO) {
			undo_pend(w, ps, l, wait);
			return -ENOBUFS;
		}
		STAT_INC(&w->stats, repl_dropped);
		l->stale = true;
		return -ENOBUFS;
	}
	/* Every command answers one reply (no q): its entry says what the reply answers. */
	if (wait != PEER_WAIT_NONE)
		due = (struct peer_ref){wait, ps->wait[wait].gen};
	if (fifo_push(&l->expect, due) != 0) {
		link_close(w, l, true); /* a reply it could not match: the link starts over */
		return -EPIPE;
	}
	if (due.slot != PEER_WAIT_NONE && ps->wait[wait].kind == WAIT_QUORUM)
		quorum_asked(ps, wait, l);
	memcpy(l->out + l->len, line, n);
	l->len += n;
	if (hit != NULL) {
		const struct item *seg = hit->seg_next;
		const void *data = hit->value;
		uint32_t len = hit->seg_len;

		for (;;) {
			memcpy(l->out + l->len, data, len);
			l->len += len;
			if (seg == NULL)
				break;
			seg = store_hit_next_seg(seg, &data, &len);
		}
	} else if (value != NULL) {
		proto_gather(in, value, l->out + l->len);
		l->len += value->len;
	}
	if (vlen != 0) {
		memcpy(l->out + l->len, "\r\n", 2);
		l->len += 2;
	}
	queued_add(w, (int64_t)need);
	link_gauges(w, l);
	if (write)
		STAT_INC(&w->stats, repl_writes);
	link_flush(w, l);
	return l->state == PEER_UP ? 0 : -EPIPE;
}

/* Whether request @p req only changed the key's expiry (touch, gat, gats). */
static bool
is_touch(const struct proto_request *req)
{
	return req->kind != PROTO_META && (req->op == PROTO_OP_TOUCH || req->op == PROTO_OP_GAT);
}

uint64_t
ship_state(struct worker *w, struct peer_set *ps, const struct store_key *k, enum ship_mode mode,
	   const uint32_t *members, uint32_t n, uint64_t undo_cas, uint32_t wait)
{
	const char *q = ""; /* (no q: every command answers, its reply matched in order) */
	struct store_hit hit;
	char line[PEER_LINE_MAX], tok[PEER_LINE_MAX / 2];
	int64_t ttl = 0;
	bool b64, found;
	int len, kn;

	found = store_meta_get(w->shard, k, false, &hit) == STORE_HIT;
	/*
	 * Replicas get the value as the client wrote it (decompressed into this worker's
	 * scratch, copied into the link's buffer below before the quiescent state); each
	 * member compresses by its own settings.
	 */
	if (found) {
		struct store_hit stored = hit;

		if (exec_hit_plain(&w->exec, &stored, &hit) < 0) {
			/* Not shipped: those members resync, as after any command they lost. */
			STAT_ADD(&w->stats, repl_dropped, n);
			for (uint32_t i = 0; i < n; i++)
				ps->link[members[i]].stale = true;
			return stored.cas;
		}
	}
	kn = key_token(k, tok, sizeof(tok), &b64);
	if (kn < 0) {
		STAT_ADD(&w->stats, repl_dropped, n);
		return found ? hit.cas : 0;
	}
	if (found && hit.exptime != 0) {
		ttl = (int64_t)hit.exptime - (int64_t)nc_clock_now(&w->srv->clock);
		if (ttl <= 0)
			found = false; /* expired meanwhile: gone */
		else if (ttl > NC_REALTIME_MAXDELTA) /* memcached reads it as a unix time then */
			ttl = (int64_t)nc_clock_to_unix(&w->srv->clock, hit.exptime);
	}
	if (!found && mode == SHIP_ADD)
		return 0;
	if (mode == SHIP_UNDO) {
		found = false;
		if (undo_cas != 0)
			len = snprintf(line, sizeof(line),
				       "md %.*s%s C%" PRIu64 " O" PEER_OPAQUE "%s\r\n", kn, tok,
				       b64 ? " b" : "", undo_cas, q);
		else
			len = snprintf(line, sizeof(line), "md %.*s%s O" PEER_OPAQUE "%s\r\n", kn,
				       tok, b64 ? " b" : "", q);
	} else if (!found) {
		len = snprintf(line, sizeof(line), "md %.*s%s O" PEER_OPAQUE "%s\r\n", kn, tok,
			       b64 ? " b" : "", q);
	} else if (mode == SHIP_TOUCH) {
		len = snprintf(line, sizeof(line), "mg %.*s%s T%" PRId64 " O" PEER_OPAQUE "%s\r\n",
			       kn, tok, b64 ? " b" : "", ttl, q);
	} else {
		len = snprintf(line, sizeof(line),
			       "ms %.*s %u%s F%u T%" PRId64 " E%" PRIu64 "%s O" PEER_OPAQUE "%s\r\n",
			       kn, tok, hit.nbytes, b64 ? " b" : "", hit.client_flags, ttl, hit.cas,
			       mode == SHIP_ADD ? " ME" : "", q);
	}
	if (len < 0 || (size_t)len >= sizeof(line))
		return found ? hit.cas : 0;
	for (uint32_t i = 0; i < n; i++)
		link_ship(w, &ps->link[members[i]], line, (size_t)len,
			  found && mode != SHIP_TOUCH ? &hit : NULL, NULL, NULL, true, wait);
	return found ? hit.cas : 0;
}

/* Whether @p ps was built for view @p v. */
static bool
set_follows(const struct peer_set *ps, const struct cluster_view *v)
{
	return ps != NULL && ps->version == v->version && ps->n == v->nmembers;
}

struct peer_set *
peer_links(struct worker *w, const struct cluster_view *v)
{
	return v != NULL && set_follows(w->peers, v) ? w->peers : NULL;
}

/*
 * Whether write @p req changed the key, as its result @p res says (one that did not ships,
 * never waits): a store, delete, touch or incr that succeeded, a hit of a touch and get (gat,
 * mg T), a miss that mg N vivified (it won the new item). A plain hit of mg N changed nothing.
 */
static bool
write_changed(const struct proto_request *req, const struct proto_result *res)
{
	switch (res->status) {
	case PROTO_ST_STORED:
	case PROTO_ST_DELETED:
	case PROTO_ST_TOUCHED:
	case PROTO_ST_NUMBER:
		return true;
	case PROTO_ST_HIT:
		return req->op == PROTO_OP_GAT ||
		       (req->kind == PROTO_META && (req->meta.flags & PROTO_META_BIT('T')) != 0);
	case PROTO_ST_MISS:
		return res->win;
	default:
		return false;
	}
}

bool
peer_quorum(const struct worker *w)
{
	return peer_quorum_mode(w) && cluster_view_get(w->srv) != NULL;
}

bool
peer_replicate(struct worker *w, const struct store_key *k, const struct proto_request *req,
	       struct fwd_msg *m)
{
	struct nc_server *srv = w->srv;
	const struct cluster_view *v;
	struct peer_set *ps;
	struct nc_route r;
	uint32_t wait = PEER_WAIT_NONE;
	uint64_t cas;

	if (srv->set.replicas < 2 || (v = cluster_view_get(srv)) == NULL)
		return false;
	if (req->kind == PROTO_META && req->meta.opaque_len == sizeof(PEER_OPAQUE) - 1 &&
	    memcmp(req->meta.opaque, PEER_OPAQUE, sizeof(PEER_OPAQUE) - 1) == 0)
		return false; /* a member's shipped command (a proxied one is replicated) */
	cluster_route_view(srv, v, k, &r);
	if (r.role != NC_ROUTE_PRIMARY || r.ncopies < 2)
		return false;
	ps = w->peers;
	if (m != NULL && peer_quorum_mode(w) && write_changed(req, &m->res)) {
		if (set_follows(ps, v))
			wait = quorum_begin(w, ps, k, m, r.copy, r.ncopies);
		if (wait == PEER_WAIT_NONE) {
			/* No links for this view yet, or no memory: nothing shipped, undone here. */
			quorum_refuse(w, k, m);
			return false;
		}
	}
	if (!set_follows(ps, v)) {
		/*
		 * The links follow the new view at the next peer_service(); the resync that follows
		 * ships this key's state then.
		 */
		STAT_INC(&w->stats, repl_dropped);
		return false;
	}
	/* Quorum: a touch ships the whole item, so every reply is HD (mg would answer EN). */
	cas = ship_state(w, ps, k, is_touch(req) && !peer_quorum_mode(w) ? SHIP_TOUCH : SHIP_SET,
			 &r.copy[1], r.ncopies - 1, 0, wait);
	if (wait == PEER_WAIT_NONE)
		return false;
	quorum_shipped(w, ps, wait, cas);
	return true;
}

/* ---- resync ---- */

struct resync_ctx {
	struct worker *w;
	const struct cluster_view *v; /* the view the links follow */
	struct peer_set *ps;
	struct peer_link *l;
};

/*
 * store_walk callback: ship an item the member should hold a copy of, when this node is the
 * first of the key's other copies (the primary for the member's replicas, the first replica for
 * the member's own keys), so one holder ships each key.
 */
static bool
resync_item(const struct store_walk_item *item, void *arg)
{
	struct resync_ctx *x = arg;
	uint32_t member = x->l->member, self = x->v->self;
	struct store_key k;
	struct nc_route r;
	bool held = false;
	uint32_t first = NC_ROUTE_NO_MEMBER;

	/* Leave room for the writes going on meanwhile: resume at this item later. */
	if (x->l->len - x->l->sent > x->w->srv->set.replication_queue / 2)
		return false;
	store_key_init(&k, &x->w->srv->digest_key, item->key, item->nkey);
	cluster_route_view(x->w->srv, x->v, &k, &r);
	for (uint32_t i = 0; i < r.ncopies; i++) {
		if (r.copy[i] == member)
			held = true;
		else if (first == NC_ROUTE_NO_MEMBER)
			first = r.copy[i];
	}
	if (held && self == CLUSTER_NOT_MEMBER) {
		/* Leaving (handing over): every holder gets it; an add, never over a newer write. */
		ship_state(x->w, x->ps, &k, SHIP_ADD, &member, 1, 0, PEER_WAIT_NONE);
		STAT_INC(&x->w->stats, repl_resync_writes);
	} else if (held && first == self) {
		/* The primary's copy is the word; a replica's only fills what the member lacks. */
		ship_state(x->w, x->ps, &k, r.role == NC_ROUTE_PRIMARY ? SHIP_SET : SHIP_ADD, &member,
			   1, 0, PEER_WAIT_NONE);
		STAT_INC(&x->w->stats, repl_resync_writes);
	}
	return true;
}

/*
 * A link that lost commands and is up again: walk the shard (PEER_RESYNC_CHUNKS a loop) and
 * ship every item the member should hold a copy of. @return 1 when it did something.
 */
static unsigned
link_resync(struct worker *w, const struct cluster_view *v, struct peer_set *ps,
	    struct peer_link *l)
{
	struct resync_ctx x = {w, v, ps, l};

	if (l->state != PEER_UP)
		return 0;
	if (l->proxy || (w->srv->set.replicas < 2 && v->self != CLUSTER_NOT_MEMBER))
		l->stale = false; /* one copy per key: nothing to give a member */
	if (l->stale && !l->resyncing) {
		l->stale = false;
		l->resyncing = true;
		memset(&l->walk, 0, sizeof(l->walk));
		STAT_INC(&w->stats, repl_resyncs);
		NC_LOG(w->srv, 2, "worker %u: resyncing %s", w->id, l->name);
	}
	if (!l->resyncing)
		return 0;
	store_walk(w->shard, &l->walk, UINT64_MAX, PEER_RESYNC_CHUNKS, resync_item, &x);
	if (l->walk.done) {
		l->resyncing = false;
		if (v->self != CLUSTER_NOT_MEMBER && w->srv->set.replicas > 1) {
			/* The member warming up counts these: all of ours came (cluster_warm.h). */
			char line[64];
			int n = snprintf(line, sizeof(line),
					 "mn " CLUSTER_WARM_MARKER "%08x.%u.%u\r\n",
					 cluster_warm_member_id(nc_ring_member_name(v->ring, v->self)),
					 w->id, w->srv->nworkers);

			link_ship(w, l, line, (size_t)n, NULL, NULL, NULL, false, PEER_WAIT_NONE);
		}
	}
	return 1;
}

/* ---- events and service ---- */

/* What a member that requires authentication answers a command sent without a login. */
static const char peer_unauthenticated[] = "CLIENT_ERROR unauthenticated";

/*
 * Authentication on (-S/-Y): log in first, with the file's first user, as memcached's text
 * token ("set <any> 0 0 <n>" carrying "user password"); the members share the file. The
 * reply is read by link_line() before any other.
 */
static void
link_login(struct worker *w, struct peer_link *l)
{
	const struct nc_auth *a = auth_current(w->srv);
	char line[2 * NC_AUTH_FIELD_MAX + 64];
	const char *user, *pass;
	size_t ulen, plen;
	int n;

	if (a == NULL)
		return;
	nc_auth_first(a, &user, &ulen, &pass, &plen);
	n = snprintf(line, sizeof(line), "set nicached-peer 0 0 %zu\r\n%.*s %.*s\r\n",
		     ulen + 1 + plen, (int)ulen, user, (int)plen, pass);
	l->login_due = true;
	link_ship(w, l, line, (size_t)n, NULL, NULL, NULL, false, PEER_WAIT_NONE);
	explicit_bzero(line, sizeof(line));
}

/*
 * The reply to the login: STORED, or the member refused it (another auth file): said at
 * every attempt and the link starts over (with its backoff), since every command after it
 * would be refused. @return whether the link is still up.
 */
static bool
link_login_reply(struct worker *w, struct peer_link *l, const char *line, uint32_t len)
{
	struct peer_ref ref;

	l->login_due = false;
	(void)fifo_pop(&l->expect, &ref);
	if (len == 6 && memcmp(line, "STORED", 6) == 0)
		return true;
	STAT_INC(&w->stats, repl_errors);
	nc_log(NC_LOG_WARNING,
		"worker %u: link to member %s: its login was refused (%.*s): the "
		"members need the same auth file (its first user logs in)",
		w->id, l->name, (int)(len > 80 ? 80 : len), line);
	link_close(w, l, true);
	return false;
}

static struct peer_link *
link_of(struct worker *w, const void *user)
{
	struct peer_set *ps = w->peers;

	if (ps == NULL || ps->n == 0 || (const struct peer_link *)user < ps->link ||
	    (const struct peer_link *)user >= ps->link + 2 * ps->n)
		return NULL;
	return (struct peer_link *)user;
}

/*
 * Whether reply line @p line[0..len) is no failure for a replicated command: HD (applied; mg
 * answers it on a hit), EN (mg T of a key the replica lacks), NS (a resync's add found the
 * member holding the key already), NF (md of a key the replica did not hold either), EX (an
 * undo's md C found a later write there) or MN (the keepalive's no-op).
 */
static bool
reply_is_fine(const char *line, uint32_t len)
{
	static const char fine[][2] = {{'H', 'D'}, {'E', 'N'}, {'N', 'S'},
				       {'N', 'F'}, {'E', 'X'}, {'M', 'N'}};

	/* The code, then the end of the line or its flags (the echoed O token). */
	if (len < 2 || (len > 2 && line[2] != ' '))
		return false;
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		if (line[0] == fine[i][0] && line[1] == fine[i][1])
			return true;
	return false;
}

/* The value length of a "VA <n> ..." reply line; -1 for another line (or a bad length). */
static int64_t
va_length(const char *line, uint32_t len)
{
	uint64_t n = 0;
	uint32_t i = 3;

	if (len < 4 || memcmp(line, "VA ", 3) != 0 || line[3] < '0' || line[3] > '9')
		return -1;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(line[i] - '0');
		if (n > PEER_VALUE_MAX)
			return -1;
	}
	return i == len || line[i] == ' ' ? (int64_t)n : -1;
}

/*
 * A whole reply line was read: it answers the oldest command still due. A VA line's value
 * follows (l->rx_data bytes, its CRLF included).
 */
static void
link_line(struct worker *w, struct peer_link *l)
{
	bool whole = l->rx_len <= PEER_REPLY_LINE_MAX;
	uint32_t len = whole ? l->rx_len : PEER_REPLY_LINE_MAX;
	struct peer_ref ref = {PEER_WAIT_NONE, 0};
	int64_t va;
	bool fine;

	if (whole && len > 0 && l->rx_line[len - 1] == '\r')
		len--;
	if (l->login_due) {
		l->rx_len = 0;
		(void)link_login_reply(w, l, l->rx_line, whole ? len : 0);
		return;
	}
	if (whole && len == sizeof(peer_unauthenticated) - 1 &&
	    memcmp(l->rx_line, peer_unauthenticated, len) == 0) {
		/* The member wants a login this node has no file for: every command would fail. */
		l->rx_len = 0;
		STAT_INC(&w->stats, repl_errors);
		nc_log(NC_LOG_WARNING,
			"worker %u: link to member %s: it requires authentication and "
			"this node has none: give every member the same -Y/--sasl-pwdb file",
			w->id, l->name);
		link_close(w, l, true);
		return;
	}
	va = whole ? va_length(l->rx_line, len) : -1;
	fine = whole && reply_is_fine(l->rx_line, len);
	l->rx_len = 0;
	l->rx_data = va >= 0 ? (uint32_t)va + 2 : 0;
	if (!fifo_pop(&l->expect, &ref))
		STAT_INC(&w->stats, repl_errors); /* a reply to no command */
	l->rx_ref = ref;
	if (ref.slot == PEER_WAIT_NONE) {
		if (!fine && va < 0)
			STAT_INC(&w->stats, repl_errors);
		return;
	}
	peer_reply_line(w, w->peers, ref, l->rx_line, len, va >= 0 ? (uint32_t)va : 0, fine);
	if (l->rx_data == 0)
		peer_reply_done(w, w->peers, ref);
}

/* Read the replies: lines, and the values of VA lines. */
static void
link_read(struct worker *w, struct peer_link *l)
{
	struct stack_conn *conn = l->conn;
	char buf[PEER_RX_CHUNK];
	ssize_t n;

	while ((n = stack_recv(w->stack, l->conn, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n;) {
			if (l->rx_data > 0) {
				uint32_t take = (uint64_t)(n - i) < l->rx_data ? (uint32_t)(n - i)
									       : l->rx_data;
				struct peer_ref ref = l->rx_ref;

				l->rx_data -= take;
				if (ref.slot != PEER_WAIT_NONE) {
					peer_reply_value(w, w->peers, ref, buf + i, take);
					if (l->rx_data == 0)
						peer_reply_done(w, w->peers, ref);
				}
				i += take;
				if (l->conn != conn)
					return;
				continue;
			}
			if (buf[i] == '\n') {
				i++;
				link_line(w, l);
				/* A wait it ended may have shipped an undo that broke this link. */
				if (l->conn != conn)
					return;
				continue;
			}
			if (l->rx_len < PEER_REPLY_LINE_MAX)
				l->rx_line[l->rx_len] = buf[i];
			if (l->rx_len <= PEER_REPLY_LINE_MAX)
				l->rx_len++;
			i++;
		}
	}
	if (n == -EAGAIN)
		return;
	NC_LOG(w->srv, 1, "worker %u: replication link to %s %s", w->id, l->name,
	       n == 0 ? "closed by the member" : strerror((int)-n));
	link_close(w, l, true);
}

bool
peer_event(struct worker *w, const struct stack_event *ev)
{
	struct peer_link *l = link_of(w, ev->user);

	if (l == NULL)
		return false;
	/* Closed earlier in this batch (its events after that name a connection gone). */
	if (l->conn == NULL || ev->conn != l->conn)
		return true;
	switch (ev->kind) {
	case STACK_EV_WRITABLE:
		if (l->state == PEER_CONNECTING) {
			/*
			 * Up: the member may be new, or back empty after a restart, or have missed
			 * commands while the link was down: give it what it should hold.
			 */
			l->state = PEER_UP;
			links_up_add(w, l, 1);
			link_gauges(w, l);
			link_login(w, l); /* first of all, when authentication is on */
			undo_resume(w, w->peers, l);
			l->backoff = PEER_BACKOFF_MIN_TICKS;
			l->stale = true;
			NC_LOG(w->srv, 2, "worker %u: replication link to %s up", w->id, l->name);
		}
		link_flush(w, l);
		break;
	case STACK_EV_READABLE:
		link_read(w, l);
		break;
	default:
		break;
	}
	return true;
}

/*
 * Handing over (this node left out of the view): done once every link that is up has
 * resynced its member and the member answered everything sent (a member that is down gets
 * nothing; one reconnecting is waited for).
 */
static void
handover_check(struct worker *w, const struct peer_set *ps, const struct cluster_view *v)
{
	bool done = true;

	for (uint32_t i = 0; i < ps->n && done; i++) {
		const struct peer_link *l = &ps->link[i];

		if (i == v->self || l->state == PEER_DOWN)
			continue;
		done = l->state == PEER_UP && !l->stale && !l->resyncing && l->len == l->sent &&
		       l->expect.len == 0;
	}
	__atomic_store_n(&w->handover_done, done, __ATOMIC_RELAXED);
}

unsigned
peer_service(struct worker *w)
{
	const struct cluster_view *v;
	struct peer_set *ps;
	uint32_t tick;
	unsigned work = 0;

	/* (a node handing over is not in its view: one other member is enough) */
	if ((v = cluster_view_get(w->srv)) == NULL ||
	    (v->nmembers < 2 && v->self != CLUSTER_NOT_MEMBER))
		return 0;
	ps = set_get(w);
	if (ps == NULL)
		return 0;
	if (!set_follows(ps, v)) {
		set_follow(w, ps, v);
		if (!set_follows(ps, v))
			return 0; /* no memory: again next loop */
		work = 1;
	}
	work |= quorum_expire(w, ps);
	tick = nc_clock_ticks(&w->srv->clock);
	for (uint32_t i = 0; i < 2 * ps->n; i++) {
		struct peer_link *l = &ps->link[i];

		if (l->member == v->self)
			continue;
		if (l->state == PEER_DOWN && (l->retry_tick == 0 ||
					       (int32_t)(tick - l->retry_tick) >= 0)) {
			link_open(w, l, v);
			work = 1;
		}
		work |= link_resync(w, v, ps, l);
		if (l->state != PEER_UP)
			continue;
		if (l->len == l->sent && (int32_t)(tick - l->sent_tick) >= PEER_KEEPALIVE_TICKS) {
			link_ship(w, l, "mn\r\n", 4, NULL, NULL, NULL, false, PEER_WAIT_NONE);
		}
	}
	if (v->self == CLUSTER_NOT_MEMBER && w->srv->cluster_ctl != NULL)
		handover_check(w, ps, v);
	return work;
}

void
peer_set_destroy(struct worker *w)
{
	struct peer_set *ps = w->peers;

	if (ps == NULL)
		return;
	quorum_free(ps); /* first: at stop no wait is answered (nor undone) */
	for (uint32_t i = 0; i < 2 * ps->n; i++) {
		link_close(w, &ps->link[i], false);
		free(ps->link[i].out);
		fifo_free(&ps->link[i].expect);
		free(ps->link[i].undo);
	}
	free(ps->link);
	free(ps);
	w->peers = NULL;
}
