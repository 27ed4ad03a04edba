/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parsing and executing a connection's requests, strictly in order. Reads run here on any
 * shard; a write for another worker's shard, a flush_all and `stats conns` go out over the
 * rings and the connection waits (parses nothing more) until every answer is back, so its
 * later requests always see its earlier writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_warm.h"
#include "conn_private.h"
#include "control.h"
#include "log.h"
#include "peer.h"
#include "snapshot.h"
#include "worker.h"

/** Append the reply to c->req; flush and retry once when the output is full. */
static int
conn_reply(struct worker *w, struct conn *c, const struct proto_result *res)
{
	int rc;

	latency_note(&w->latency, &w->srv->latency, c->req.op, rte_rdtsc() - c->req_tsc);
	rc = proto_write(&w->out, &c->req, res);

	if (rc == -ENOBUFS) {
		if (conn_flush(w, c) != 0)
			return -EPIPE;
		rc = proto_write(&w->out, &c->req, res);
	}
	return rc == 0 ? 0 : -EPIPE;
}

static int
conn_reply_error(struct worker *w, struct conn *c, enum proto_error err)
{
	int rc = proto_write_error(&w->out, &c->req, err);

	if (rc == -ENOBUFS) {
		if (conn_flush(w, c) != 0)
			return -EPIPE;
		rc = proto_write_error(&w->out, &c->req, err);
	}
	return rc;
}

bool
conn_broadcast(struct worker *w, struct conn *c, enum fwd_kind kind, int64_t delay)
{
	unsigned n = w->srv->nworkers;

	if (c->bcast == NULL) {
		c->bcast = calloc(n, sizeof(*c->bcast));
		if (c->bcast == NULL)
			return false;
	}
	c->acks_due = 0;
	c->state = CONN_WAITING;
	for (unsigned i = 0; i < n; i++) {
		struct fwd_msg *m = &c->bcast[i];

		if (i == w->id)
			continue;
		memset(m, 0, sizeof(*m));
		m->kind = kind;
		m->from = w;
		m->conn = c;
		m->delay = delay;
		/* A full ring is retried at once: broadcasts are rare and rings are sized for them. */
		while (forward_post(w->srv->workers[i], m) != 0)
			forward_serve(w);
		c->acks_due++;
	}
	return true;
}

/** Whether the stats group of @p req begins with the word @p word. */
static bool
args_word_is(const struct proto_request *req, const char *word)
{
	size_t n = strlen(word);

	return req->args != NULL && req->args_len >= n && memcmp(req->args, word, n) == 0 &&
	       (req->args_len == n || req->args[n] == ' ');
}

/** What a request without a key does. @return true to go on; false when the conn waits. */
static bool
conn_exec_admin(struct worker *w, struct conn *c, struct proto_result *res)
{
	struct proto_request *req = &c->req;

	switch (req->op) {
	case PROTO_OP_FLUSH:
		/* memcached counts a refused text flush_all, not a refused binary one */
		if (!w->srv->set.disable_flush || req->kind == PROTO_TEXT)
			STAT_INC(&w->stats, cmd_flush);
		if (w->srv->set.disable_flush) {
			res->status = PROTO_STATUS_COUNT; /* answered */
			if (req->kind == PROTO_TEXT && (req->flags & PROTO_F_NOREPLY) != 0)
				return true; /* memcached's noreply hides even this refusal */
			return conn_reply_error(w, c, PROTO_ERR_FLUSH_DISABLED) == 0;
		}
		store_flush(w->shard, req->exptime);
		if (w->srv->nworkers > 1) {
			conn_broadcast(w, c, FWD_FLUSH, req->exptime);
			return false;
		}
		res->status = PROTO_ST_OK;
		return true;
	case PROTO_OP_SHUTDOWN:
		/* memcached: without -A an error; with it, close this connection and stop. */
		res->status = PROTO_STATUS_COUNT; /* answered */
		if (!w->srv->set.enable_shutdown)
			return conn_reply_error(w, c, PROTO_ERR_SHUTDOWN_DISABLED) == 0;
		if (req->args != NULL && !(req->args_len == 8 && memcmp(req->args, "graceful", 8) == 0))
			return conn_reply_error(w, c, PROTO_ERR_SHUTDOWN_MODE) == 0;
		nc_log(NC_LOG_NOTICE, "shutdown command from %s: stopping", c->peer_name);
		c->close_after_send = true;
		control_stop();
		return true;
	case PROTO_OP_VERSION:
		res->status = PROTO_ST_VERSION;
		res->text = NC_VERSION_REPLY;
		return true;
	case PROTO_OP_VERBOSITY:
		__atomic_store_n(&w->srv->verbosity, req->level, __ATOMIC_RELAXED);
		res->status = PROTO_ST_OK;
		return true;
	case PROTO_OP_LRU_CRAWLER:
		res->status = PROTO_STATUS_COUNT; /* answered */
		return conn_lru_crawler(w, c);
	case PROTO_OP_SNAPSHOT: {
		/* Not memcached's: OK once started, SERVER_ERROR <why> when it cannot start. */
		char why[512], line[600];

		res->status = PROTO_STATUS_COUNT; /* answered */
		if (snapshot_start(w->srv, req->args, req->args ? req->args_len : 0, why,
				   sizeof(why)) == 0)
			return conn_reply_line(w, c, "OK") == 0;
		snprintf(line, sizeof(line), "SERVER_ERROR %s", why);
		return conn_reply_line(w, c, line) == 0;
	}
	case PROTO_OP_CONFIG: {
		/* Auto-discovery: `config get cluster` in a cluster; ERROR otherwise, as memcached. */
		const struct cluster_view *v = cluster_view_get(w->srv);

		res->status = PROTO_STATUS_COUNT; /* answered */
		if (v != NULL && req->args != NULL && req->args_len == 11 &&
		    memcmp(req->args, "get cluster", 11) == 0)
			return conn_reply_raw(w, c, v->config, v->config_len) == 0;
		return conn_reply_line(w, c, "ERROR") == 0;
	}
	case PROTO_OP_STATS:
		if (args_word_is(req, "cachedump")) {
			res->status = PROTO_STATUS_COUNT;
			return conn_stats_cachedump(w, c);
		}
		if (args_word_is(req, "detail") ||
		    (req->kind == PROTO_BINARY && req->args != NULL && req->args_len >= 6 &&
		     memcmp(req->args, "detail", 6) == 0)) { /* memcached: strncmp(.., 6) */
			res->status = PROTO_STATUS_COUNT;
			return conn_stats_detail(w, c);
		}
		if (req->args != NULL && req->args_len == 5 && memcmp(req->args, "reset", 5) == 0) {
			stats_reset(w->srv);
			/* memcached answers RESET; binary: the empty stat that ends a list */
			res->status = req->kind == PROTO_BINARY ? PROTO_ST_STATS : PROTO_ST_OK;
			res->nstats = 0;
			return true;
		}
		if (req->args != NULL && req->args_len == 5 && memcmp(req->args, "conns", 5) == 0 &&
		    w->srv->nworkers > 1) {
			free(c->bcast_text);
			c->bcast_text = stats_conns_text(w, &c->bcast_text_len);
			conn_broadcast(w, c, FWD_CONNS, 0);
			return false;
		}
		if (stats_report(w, req->args, req->args_len, res) != 0) {
			conn_reply_error(w, c, PROTO_ERR_UNKNOWN_COMMAND);
			res->status = PROTO_STATUS_COUNT; /* answered */
		}
		return true;
	case PROTO_OP_SASL_LIST:
	case PROTO_OP_SASL_AUTH:
	case PROTO_OP_SASL_STEP:
		res->status = PROTO_STATUS_COUNT; /* answered */
		return conn_auth_sasl(w, c);
	case PROTO_OP_QUIT:
		c->close_after_send = true;
		res->status = PROTO_ST_OK;
		return true;
	default: /* NOOP */
		if (req->kind == PROTO_META && req->args != NULL)
			cluster_warm_note(w->srv, req->args, req->args_len); /* a member's marker */
		res->status = PROTO_ST_OK;
		return true;
	}
}

/** c->msg made ready for c->req as a message of kind @p kind from worker @p w. */
static struct fwd_msg *
conn_msg(struct worker *w, struct conn *c, enum fwd_kind kind)
{
	struct fwd_msg *m = &c->msg;

	m->kind = kind;
	m->from = w;
	m->conn = c;
	m->req = &c->req;
	return m;
}

/** The connection waits for one answer (c->msg back from a worker or a member). */
static void
conn_wait_one(struct conn *c)
{
	c->retries = 0;
	c->state = CONN_WAITING;
	c->acks_due = 1;
}

/**
 * Send c->req to another member (peer_proxy(); @p read_through: a get that missed here while
 * warming up). @return true when it went: the connection waits for the answer.
 */
static bool
conn_proxy(struct worker *w, struct conn *c, bool read_through)
{
	/* It waits beyond the burst: a UDP get must not keep pointing at the stack's bytes. */
	if (conn_udp_keep(c) != 0)
		return false;
	if (!peer_proxy(w, &c->key, conn_msg(w, c, FWD_PROXY), &c->in, read_through))
		return false;
	conn_wait_one(c);
	return true;
}

/**
 * The hint the burst's prefetch left for c->req's key (its datagram's next read key), or NULL;
 * a request that is not that key ends the hints (the prefetch read the datagram otherwise).
 */
static const struct udp_hint_key *
conn_hint_key(struct conn *c, const struct proto_request *req)
{
	const struct udp_hint_key *hk;

	if (c->hint == NULL)
		return NULL;
	if (c->hint_next < c->hint->n) {
		hk = &c->hint->k[c->hint_next];
		if (req->key == c->hint_base + hk->off && req->key_len == hk->key.len) {
			c->hint_next++;
			return hk;
		}
	}
	c->hint = NULL;
	return NULL;
}

const struct item *
worker_hint_route(struct worker *w, const struct udp_hint_key *hk, const struct udp_key_hint *hint,
		  struct nc_route *route)
{
	const struct item *found = hk->found;

	cluster_route_shard(w->srv, &hk->key, hk->shard, route);
	/* This worker's own writes since the prefetch come before this read: look again. */
	if (found != NULL && route->shard == w->id &&
	    store_shard_changes(w->shard) != hint->own_changes)
		found = NULL;
	return found;
}

const struct item *
worker_key_route(struct worker *w, const struct proto_request *req, const struct udp_hint_key *hk,
		 const struct udp_key_hint *hint, struct store_key *key, struct nc_route *route)
{
	struct nc_server *srv = w->srv;

	if (hk == NULL) {
		store_key_init(key, &srv->digest_key, req->key, req->key_len);
		cluster_route(srv, key, route);
		return NULL;
	}
	/* digested, routed to its shard and looked up already by the burst's prefetch */
	*key = hk->key;
	key->key = req->key;
	return worker_hint_route(w, hk, hint, route);
}

/**
 * Execute c->req. @return true when answered (go on parsing); false when the connection
 * waits (forwarded, broadcast, or retrying for memory).
 */
static bool
conn_execute(struct worker *w, struct conn *c)
{
	struct proto_request *req = &c->req;
	struct nc_server *srv = w->srv;
	struct proto_result res;
	const struct udp_hint_key *hk;
	const struct item *found;
	struct nc_route route;
	unsigned shard;

	c->last_cmd = nc_clock_now(&srv->clock);
	STAT_INC(&w->stats, requests);
	if (req->kind == PROTO_META)
		STAT_INC(&w->stats, cmd_meta);
	if (req->key == NULL || req->op == PROTO_OP_FLUSH || req->op == PROTO_OP_STATS ||
	    req->op == PROTO_OP_VERSION || req->op == PROTO_OP_VERBOSITY ||
	    req->op == PROTO_OP_NOOP || req->op == PROTO_OP_QUIT ||
	    req->op == PROTO_OP_LRU_CRAWLER || req->op == PROTO_OP_CONFIG ||
	    req->op == PROTO_OP_SHUTDOWN || req->op == PROTO_OP_SNAPSHOT) {
		memset(&res, 0, sizeof(res)); /* (exec_read / exec_write clear it themselves) */
		if (!conn_exec_admin(w, c, &res))
			return false;
		if (res.status != PROTO_STATUS_COUNT && conn_reply(w, c, &res) != 0)
			return false;
		return true;
	}
	hk = conn_hint_key(c, req);
	found = worker_key_route(w, req, hk, hk != NULL ? c->hint : NULL, &c->key, &route);
	if ((route.role == NC_ROUTE_REMOTE ||
	     (route.role == NC_ROUTE_REPLICA && exec_is_write(req))) && !peer_from_member(req)) {
		/*
		 * Not this node's key, or not its word: its primary answers while it is up. A
		 * read of a key this node holds a replica of is served from that copy (failover
		 * reads never wait for a primary that may be gone).
		 */
		if (conn_proxy(w, c, false))
			return false;
		STAT_INC(&w->stats, cluster_remote_keys);
	}
	shard = route.shard;
	c->key_shard = shard;
	if (!exec_is_write(req)) {
		exec_read(&w->exec, srv->workers[shard]->shard, &c->key, found, req, &res);
		if (res.status == PROTO_ST_MISS && req->op == PROTO_OP_GET &&
		    route.role != NC_ROUTE_ALONE && cluster_warming(srv)) {
			/* Warming up: another copy may have what the resync did not send yet. */
			if (conn_proxy(w, c, true))
				return false;
		}
	} else if (shard == w->id) {
		/* Quorum: the reply may wait for the replicas, so its value must outlive the loop. */
		bool may_wait = peer_quorum(w);

		if (!exec_write(&w->exec, w->shard, &c->key, req, &c->in, &res,
				may_wait ? &c->msg.copy : NULL)) {
			if (++c->retries < CONN_RETRY_MAX && !store_shard_no_room_coming(w->shard)) {
				STAT_INC(&w->stats, write_retries);
				c->state = CONN_RETRY;
				c->memory_wait = true;
				c->room_mark = store_shard_room_mark(w->shard);
				worker_defer(w, c);
				return false;
			}
			STAT_INC(&w->stats, store_no_memory);
			exec_write_give_up(w->shard, &c->key, req, &res);
		}
		if (may_wait) {
			struct fwd_msg *m = conn_msg(w, c, FWD_WRITE);

			m->res = res;
			if (peer_replicate(w, &c->key, req, m)) {
				conn_wait_one(c);
				return false;
			}
			res = m->res;
		} else {
			peer_replicate(w, &c->key, req, NULL);
		}
	} else {
		struct fwd_msg *m = conn_msg(w, c, FWD_WRITE);

		m->in = &c->in;
		m->key = c->key;
		m->retries = 0;
		if (forward_post(srv->workers[shard], m) != 0) {
			c->state = CONN_RETRY; /* ring full: post again next loop */
			worker_defer(w, c);
			return false;
		}
		STAT_INC(&w->stats, forwarded_writes);
		c->state = CONN_WAITING;
		c->acks_due = 1;
		return false;
	}
	c->retries = 0;
	conn_detail_note(w, req, &res);
	return conn_reply(w, c, &res) == 0;
}

/** Whether the connection has no more work and should be closed now. */
static bool
conn_done(const struct conn *c)
{
	if (c->is_udp || c->state != CONN_ACTIVE)
		return false;
	if (c->close_after_send && conn_backlog(c) == 0)
		return true;
	return c->read_closed && conn_backlog(c) == 0;
}

/** Log the request about to run (-vv, as memcached logs each command). */
static inline void
conn_log_request(struct worker *w, const struct conn *c)
{
	NC_LOG(w->srv, 2, "<%d %s %s %.*s", c->id, proto_kind_name(c->req.kind),
	       proto_op_name(c->req.op), c->req.key ? (int)c->req.key_len : 0,
	       c->req.key ? c->req.key : "");
}

void
conn_run(struct worker *w, struct conn *c)
{
	enum proto_error err;
	enum proto_parse r;

	c->parse_held = false; /* set again below only when the backlog stops the parser */
	while (c->state == CONN_ACTIVE && !c->close_after_send) {
		if (conn_backlog(c) > CONN_BACKLOG_MAX) {
			/* The client does not read its replies: wait for WRITABLE. */
			c->parse_held = true;
			STAT_INC(&w->stats, conn_yields);
			break;
		}
		err = PROTO_ERR_NONE;
		if (c->authed) {
			r = proto_parse(&c->parser, &c->in, &c->req, &err);
		} else {
			/* Authentication on and not logged in yet (conn_auth.c). */
			enum conn_auth_gate g = conn_auth_parse(w, c, &r, &err);

			if (g == CONN_AUTH_MORE) {
				conn_compact(c);
				break;
			}
			if (g == CONN_AUTH_AGAIN)
				continue;
		}
		if (r == PROTO_PARSE_MORE) {
			conn_compact(c);
			if (!c->is_udp && proto_parser_line_stalled(&c->parser, &c->in)) {
				/* memcached gives up on a line past 2 KB whose "\n" did not come. */
				STAT_INC(&w->stats, conn_closed_errors);
				c->close_after_send = true;
			}
			break;
		}
		if (r == PROTO_PARSE_ERROR && (c->req.flags & PROTO_F_REFUSED) != 0 &&
		    c->req.op == PROTO_OP_STORE) {
			/*
			 * A store whose value was too large runs on the key's owner all the
			 * same: memcached unlinks the old value of some (exec_write answers it).
			 */
			c->req_tsc = w->loop_tsc;
			conn_log_request(w, c);
			if (!conn_execute(w, c))
				break;
			continue;
		}
		if (r == PROTO_PARSE_ERROR) {
			if (conn_reply_error(w, c, err) != 0)
				break;
			continue;
		}
		if (r == PROTO_PARSE_CLOSE) {
			conn_reply_error(w, c, err);
			STAT_INC(&w->stats, conn_closed_errors);
			c->close_after_send = true;
			break;
		}
		c->req_tsc = w->loop_tsc;
		conn_log_request(w, c);
		if (!conn_execute(w, c))
			break;
	}
	if (c->is_udp && c->state == CONN_ACTIVE) {
		udp_finish(w, c); /* the datagrams are cut from the output itself */
		return;
	}
	c->hint = NULL; /* it waits: the burst's hints are not for later */
	if (conn_flush(w, c) != 0) {
		c->close_after_send = true;
		c->read_closed = true;
		if (c->tx.len > c->tx.head)
			c->tx.head = c->tx.len; /* the peer is gone: drop what it cannot get */
	}
	if (c->is_udp)
		return;
	if (conn_done(c))
		conn_close(w, c);
	else if (c->parse_held && c->state == CONN_ACTIVE && !c->close_after_send &&
		 conn_backlog(c) <= CONN_BACKLOG_MAX)
		worker_defer(w, c); /* the flush drained the backlog: no WRITABLE will come */
}

/** Execute c->req, then parse on; or keep the output while the connection waits. */
static void
execute_and_run(struct worker *w, struct conn *c)
{
	if (conn_execute(w, c)) {
		conn_run(w, c);
		return;
	}
	c->hint = NULL; /* it waits: the burst's hints are not for later */
	conn_flush(w, c);
}

void
conn_run_request(struct worker *w, struct conn *c)
{
	c->req_tsc = w->loop_tsc;
	conn_log_request(w, c);
	/* A UDP datagram that was only this request: nothing more to parse, answer now. */
	if (c->is_udp && proto_input_avail(&c->in) == 0) {
		if (conn_execute(w, c) && c->state == CONN_ACTIVE) {
			udp_finish(w, c);
			return;
		}
		if (c->state == CONN_ACTIVE && !c->on_list && c->acks_due == 0) {
			/* Not waiting: its reply could not be written (larger than the output). */
			c->udp_too_large = true;
			udp_finish(w, c);
			return;
		}
		c->hint = NULL;	  /* it waits: the burst's hints are not for later */
		conn_flush(w, c); /* its reply so far is kept */
		return;
	}
	execute_and_run(w, c);
}

void
conn_resume(struct worker *w, struct conn *c)
{
	if (c->state == CONN_CLOSING) {
		if (c->acks_due == 0)
			conn_close(w, c); /* closed while on the deferred list */
		return;
	}
	if (c->state == CONN_DUMP) {
		conn_dump_resume(w, c);
		return;
	}
	if (c->state == CONN_ACTIVE && c->parse_held) {
		conn_run(w, c); /* requests left when the backlog stopped it */
		return;
	}
	if (c->state != CONN_RETRY)
		return;
	c->state = CONN_ACTIVE;
	c->memory_wait = false;
	execute_and_run(w, c);
}

/** The last answer of a broadcast is back: reply for the whole request. */
static void
conn_broadcast_done(struct worker *w, struct conn *c)
{
	struct proto_result res;

	memset(&res, 0, sizeof(res));
	if (c->req.op == PROTO_OP_FLUSH) {
		res.status = PROTO_ST_OK;
	} else if (c->req.op == PROTO_OP_STATS && args_word_is(&c->req, "detail")) {
		conn_detail_reply(w, c);
		return;
	} else if (stats_report_conns(w, c, &res) != 0) {
		conn_reply_error(w, c, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	conn_reply(w, c, &res);
}

void
conn_answered(struct worker *w, struct fwd_msg *m)
{
	struct conn *c = m->conn;

	if (c->state == CONN_CLOSING) {
		if (m->kind == FWD_DETAIL || m->kind == FWD_CONNS) {
			free(m->text);
			m->text = NULL;
		}
		if (--c->acks_due == 0)
			conn_close(w, c);
		return;
	}
	if (m->kind == FWD_CONNS && m->text != NULL) {
		char *t = realloc(c->bcast_text, c->bcast_text_len + m->text_len + 1);

		if (t != NULL) {
			memcpy(t + c->bcast_text_len, m->text, m->text_len);
			c->bcast_text = t;
			c->bcast_text_len += m->text_len;
			t[c->bcast_text_len] = '\0';
		}
		free(m->text);
		m->text = NULL;
	}
	if (m->kind == FWD_DETAIL)
		detail_gathered(c, m);
	if (m->kind == FWD_DUMP) {
		c->acks_due--;
		conn_dump_answered(w, c);
		return;
	}
	if (--c->acks_due > 0)
		return;
	c->state = CONN_ACTIVE;
	if (m->kind == FWD_WRITE || m->kind == FWD_PROXY) {
		if (m->res.status == PROTO_ST_NO_MEMORY)
			STAT_INC(&w->stats, store_no_memory);
		conn_detail_note(w, &c->req, &m->res);
		conn_reply(w, c, &m->res);
	} else {
		conn_broadcast_done(w, c);
	}
	conn_run(w, c);
}
