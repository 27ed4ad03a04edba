/* SPDX-License-Identifier: BSD-3-Clause */
/* A worker: creation, and its loop (poll, execute, serve the rings, quiescent state, upkeep). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "conn_private.h"
#include "detail.h"
#include "log.h"
#include "net/counters.h"
#include "peer.h"
#include "placement_eal.h"
#include "proto/text.h"
#include "snapshot.h"
#include "worker.h"

/** Stack events handled per poll. */
#define WORKER_EVENTS 64
/**
 * How long (µs) a worker keeps polling without sleeping after its last work, before a blocking
 * wait: long enough that a steady load, even a light one, never waits for a wake-up (the dpdk
 * backend's sleep adds its DPDK_IDLE_SLEEP_US to a request's latency); short enough that an
 * idle server does not hold its CPUs.
 */
#define WORKER_SPIN_US 500
/** Timer slack of worker threads (ns): their short sleeps end on time (Linux's default: 50 µs). */
#define WORKER_TIMER_SLACK_NS 1000
/** Longest blocking wait (ms): bounds the delay of TTL expiry and memory reclamation. */
#define WORKER_SLEEP_MS 50
/** Items the TTL wheel may remove per loop iteration. */
#define WORKER_TTL_BUDGET 64

/** Room for every message a worker can have out: one per connection plus broadcasts. */
static unsigned
ring_size(const struct nc_server *srv)
{
	return rte_align32pow2(srv->set.conn_limit * srv->nworkers + 1024);
}

static int
worker_rings(struct worker *w, char *msg, size_t msgcap)
{
	char name[RTE_RING_NAMESIZE];
	unsigned size = ring_size(w->srv);

	snprintf(name, sizeof(name), "nc_in_%u", w->id);
	/* Both are dequeued by this worker only: on its socket. */
	w->inbox = rte_ring_create(name, size, w->socket, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "nc_done_%u", w->id);
	w->done = rte_ring_create(name, size, w->socket, RING_F_SC_DEQ);
	if (w->inbox == NULL || w->done == NULL) {
		snprintf(msg, msgcap, "worker %u: cannot create rings of %u entries", w->id, size);
		return -ENOMEM;
	}
	return 0;
}

static int
worker_shard(struct worker *w, char *msg, size_t msgcap)
{
	struct nc_server *srv = w->srv;
	struct store_shard_params p = {
		.shard_id = w->id,
		.socket_id = w->socket,
		.mem_limit = (size_t)srv->set.memory_limit * 1024 * 1024 / srv->nworkers,
		.item_size_max = srv->set.max_item_size,
		.chunk_min = srv->set.slab_min_size,
		.growth_factor = srv->set.growth_factor,
		.first_page_shares = srv->nworkers,
		.no_evict = srv->set.disable_evictions != 0,
		.digest_key = &srv->digest_key,
		.clock = &srv->clock,
		.cas_source = &srv->cas,
		.reclaimer = srv->reclaimer,
		.compress = {
			.enabled = srv->set.compression == SETTINGS_COMPRESSION_LZF,
			.min = srv->set.compression_min,
			.min_saving = srv->set.compression_min_saving,
		},
	};
	int err = 0;

	w->shard = store_shard_create(&p, &err);
	if (w->shard == NULL && err == -ENOMEM && p.socket_id != SOCKET_ID_ANY) {
		/* Its socket is short of hugepages: any socket (the banner says which). */
		nc_log(NC_LOG_WARNING,
		       "worker %u: no room for its shard on socket %d: taking memory on any socket",
		       w->id, p.socket_id);
		p.socket_id = SOCKET_ID_ANY;
		w->shard = store_shard_create(&p, &err);
	}
	if (w->shard == NULL) {
		snprintf(msg, msgcap,
			 "worker %u: cannot create a shard of %zu bytes (-m %u over %u workers, "
			 "-I %zu, -n %u, -f %.2f): %s",
			 w->id, p.mem_limit, srv->set.memory_limit, srv->nworkers,
			 srv->set.max_item_size, srv->set.slab_min_size, srv->set.growth_factor,
			 strerror(-err));
		return err ? err : -ENOMEM;
	}
	return 0;
}

static int
worker_stack(struct worker *w, char *msg, size_t msgcap)
{
	struct stack_params p = {
		.worker_id = w->id,
		.backlog = (int)w->srv->set.listen_backlog,
		.socket_id = w->socket,
	};
	char why[256];
	int n, err = 0;

	n = settings_listen(&w->srv->set, p.listen, STACK_LISTEN_MAX, why, sizeof(why));
	if (n < 0) {
		snprintf(msg, msgcap, "%s", why);
		return n;
	}
	p.nlisten = (unsigned)n;
	if (w->id == 0 && w->srv->set.unix_socket[0] != '\0') {
		/* One listener for the path: worker 0 accepts; reads run there, writes forward. */
		p.unix_path = w->srv->set.unix_socket;
		p.unix_mode = (unsigned)strtoul(w->srv->set.unix_mask, NULL, 8);
	}
	/*
	 * Every connection may land on one queue: each worker's TCP holds -c of them, plus room
	 * for the ones it refuses with memcached's error (they are open until that is sent).
	 */
	p.tcp.max_conns = w->srv->set.conn_limit + 64;
	p.tcp.syn_backlog = w->srv->set.listen_backlog; /* memcached -b: half-open ones here */
	if (w->srv->set.backend == SETTINGS_BACKEND_DPDK) {
		w->stack = stack_dpdk_create(&p, net_port_iface(w->srv->port), (uint16_t)w->id,
					     &err);
		if (w->stack == NULL) {
			snprintf(msg, msgcap, "worker %u: cannot set up queue %u of the port: %s",
				 w->id, w->id, strerror(-err));
			return err ? err : -EIO;
		}
		return 0;
	}
	w->stack = stack_socket_create(&p, &err);
	if (w->stack == NULL) {
		snprintf(msg, msgcap, "cannot listen on %s (tcp port %u, udp port %u): %s",
			 w->srv->set.listen, w->srv->set.port, w->srv->set.udp_port,
			 strerror(-err));
		return err ? err : -EIO;
	}
	return 0;
}

struct worker *
worker_create(struct nc_server *srv, unsigned id, unsigned lcore, int *err, char *msg,
	      size_t msgcap)
{
	int socket = placement_mem_socket(lcore);
	struct worker *w = rte_zmalloc_socket("nc_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);

	if (w == NULL) {
		*err = -ENOMEM;
		snprintf(msg, msgcap, "worker %u: out of memory", id);
		return NULL;
	}
	w->id = id;
	w->lcore = lcore;
	w->socket = socket;
	w->srv = srv;
	w->exec.stats = &w->stats;
	w->exec.item_size_max = (uint32_t)srv->set.max_item_size;
	w->exec.scratch = &w->scratch;
	/*
	 * Receive chunks start at 32 KB and double while a request spans them, up to -I / 32:
	 * the largest request fits in 33 chunks, behind CONN_LEND_SEGS_MAX lent segments.
	 */
	w->rx_chunk_size = 32u * 1024;
	w->rx_chunk_max = RTE_MAX(32u * 1024, (uint32_t)(srv->set.max_item_size / 32));
	/* A value of -I is chunks of half a page: one iovec each, plus the reply around it. */
	w->out_iovs = RTE_MAX((uint32_t)WORKER_OUT_IOV,
			      (uint32_t)(srv->set.max_item_size / (SLAB_PAGE_SIZE_DEFAULT / 2)) +
				      (uint32_t)WORKER_OUT_IOV / 8);
	w->out_iov = calloc(1 + w->out_iovs, sizeof(*w->out_iov));
	w->out_buf = malloc(WORKER_OUT_BUF);
	bool short_of_memory = w->out_buf == NULL || w->out_iov == NULL;

	text_get_req_init(&w->udp_get_req);
	for (unsigned i = 0; i < WORKER_UDP_BATCH; i++) {
		w->udp_rx[i].data = malloc(WORKER_UDP_MAX);
		w->udp_rx[i].cap = WORKER_UDP_MAX;
		short_of_memory |= w->udp_rx[i].data == NULL;
	}
	if (short_of_memory) {
		*err = -ENOMEM;
		snprintf(msg, msgcap, "worker %u: out of memory", id);
		worker_destroy(&w);
		return NULL;
	}
	proto_out_init(&w->out, w->out_iov + 1, w->out_iovs, w->out_buf, WORKER_OUT_BUF, false);
	proto_out_set_copy_max(&w->out, WORKER_OUT_COPY_MAX);
	*err = worker_shard(w, msg, msgcap);
	if (*err == 0)
		*err = worker_rings(w, msg, msgcap);
	if (*err == 0)
		*err = worker_stack(w, msg, msgcap);
	if (*err != 0)
		worker_destroy(&w);
	return w;
}

void
worker_destroy(struct worker **wp)
{
	struct worker *w = wp ? *wp : NULL;

	if (w == NULL)
		return;
	conn_close_all(w);
	peer_set_destroy(w);
	while (w->nspare_chunks > 0)
		free(w->spare_chunks[--w->nspare_chunks]);
	stack_destroy(&w->stack);
	store_shard_destroy(&w->shard);
	rte_ring_free(w->inbox);
	rte_ring_free(w->done);
	for (unsigned i = 0; i < WORKER_UDP_BATCH; i++)
		free(w->udp_rx[i].data);
	free(w->out_buf);
	free(w->out_iov);
	nc_scratch_release(&w->scratch);
	free(w->stat_items);
	free(w->stat_text);
	detail_destroy(&w->detail);
	rte_free(w);
	*wp = NULL;
}

void
worker_defer(struct worker *w, struct conn *c)
{
	if (c->on_list)
		return;
	c->on_list = true;
	c->next_pending = w->pending;
	w->pending = c;
}

/** Once a second with --idle-timeout: close the connections idle longer. @return closed. */
static unsigned
worker_idle_check(struct worker *w)
{
	nc_reltime_t now = nc_clock_now(&w->srv->clock);

	if (w->srv->set.idle_timeout == 0 || now == w->idle_checked)
		return 0;
	w->idle_checked = now;
	return conn_kick_idle(w, now, w->srv->set.idle_timeout);
}

/** Run the connections deferred by the previous iteration (after its quiescent state). */
static unsigned
worker_run_deferred(struct worker *w)
{
	struct conn *c = w->pending;
	unsigned n = 0;

	w->pending = NULL;
	while (c != NULL) {
		struct conn *next = c->next_pending;

		c->on_list = false;
		c->next_pending = NULL;
		if (c->memory_wait && c->state == CONN_RETRY &&
		    !store_shard_room_ready(w->shard, c->room_mark)) {
			/* Its retry would fail again: no memory has come back since. */
			STAT_INC(&w->stats, write_waits);
			worker_defer(w, c);
		} else {
			conn_resume(w, c);
		}
		c = next;
		n++;
	}
	return n;
}

/** Take and answer the stack's datagrams; @p t0 is the TSC now (the caller's last reading). */
static void
worker_udp(struct worker *w, uint64_t t0)
{
	uint64_t t1;

	for (int batches = 0; batches < 4; batches++) {
		int n = stack_recv_dgrams(w->stack, w->udp_rx, WORKER_UDP_BATCH);

		if (n > 0)
			udp_prefetch(w, w->udp_rx, (unsigned)n);
		t1 = rte_rdtsc();
		w->stage.udp_prefetch += t1 - t0;
		for (int i = 0; i < n; i++)
			conn_udp_datagram(w, &w->udp_rx[i], &w->udp_hint[i]);
		t0 = rte_rdtsc();
		w->stage.udp_requests += t0 - t1;
		/* The fast path's gets, their replies all queued now: one clock read for them. */
		if (w->udp_gets_untimed > 0) {
			latency_note_n(&w->latency, &w->srv->latency, PROTO_OP_GET, t0 - w->loop_tsc,
				       w->udp_gets_untimed);
			w->udp_gets_untimed = 0;
		}
		if (n < WORKER_UDP_BATCH)
			break;
	}
	stack_flush(w->stack); /* the burst's replies go out as one TX burst now */
	w->stage.udp_flush += rte_rdtsc() - t0;
}

/**
 * Handle @p n events of one poll, which ended at TSC @p now. @return n (0 when the poll failed
 * or found nothing).
 */
static unsigned
worker_handle(struct worker *w, const struct stack_event *ev, int n, uint64_t now)
{
	for (int i = 0; i < n; i++) {
		struct conn *c = ev[i].user;

		switch (ev[i].kind) {
		case STACK_EV_ACCEPTED:
			conn_accept(w, ev[i].conn);
			break;
		case STACK_EV_READABLE:
			if (!peer_event(w, &ev[i]) && c != NULL)
				conn_on_readable(w, c);
			break;
		case STACK_EV_WRITABLE:
			if (!peer_event(w, &ev[i]) && c != NULL)
				conn_on_writable(w, c);
			break;
		case STACK_EV_DGRAMS:
			/* (the poll's end is the time unless other events ran first) */
			worker_udp(w, i == 0 ? now : rte_rdtsc());
			break;
		case STACK_EV_WAKE:
			break;
		}
	}
	return n > 0 ? (unsigned)n : 0;
}

/**
 * Poll the stack without waiting and handle what it reports; @p t0 is the TSC the loop read
 * last (where its iteration began).
 */
static unsigned
worker_events(struct worker *w, uint64_t t0)
{
	struct stack_event ev[WORKER_EVENTS];
	int n = stack_poll(w->stack, ev, WORKER_EVENTS, 0);
	uint64_t t1 = rte_rdtsc();

	w->stage.poll += t1 - t0;
	return worker_handle(w, ev, n, t1);
}

/**
 * Whether anything is queued for this worker (rings, retries, deferred connections), or its
 * shard has upkeep to finish (index keys moving to a larger table).
 */
static bool
worker_has_work(struct worker *w)
{
	return w->pending != NULL || w->retry_msgs != NULL || !rte_ring_empty(w->inbox) ||
	       !rte_ring_empty(w->done) || w->own_done != NULL || snapshot_worker_pending(w) ||
	       store_shard_upkeep_pending(w->shard);
}

/** Event counter @p e of the stack's NIC queue so far (0 without a NIC). */
static inline uint64_t
nic_event(const struct net_counters *nic, enum net_event e)
{
	return nic != NULL ? __atomic_load_n(&nic->ev[e], __ATOMIC_RELAXED) : 0;
}

/** Where a loop iteration started: for its busy or idle time and its driver cycles. */
struct loop_mark {
	uint64_t tsc;
	uint64_t driver_cycles; /* NIC queue counters then (0 without a NIC) */
	uint64_t tx_frames;
};

static inline void
loop_mark(struct worker *w, struct loop_mark *m, const struct net_counters *nic, uint64_t tsc)
{
	memset(&w->stage, 0, sizeof(w->stage));
	m->tsc = tsc;
	m->driver_cycles = nic_event(nic, NET_EV_driver_cycles);
	m->tx_frames = nic_event(nic, NET_EV_tx_frames);
}

/**
 * Wait for events (in the kernel, or polling with short sleeps for the dpdk backend), offline
 * for RCU so grace periods go on meanwhile, then handle them. The wait is idle time: the
 * iteration's mark @p m moves to its end.
 */
static unsigned
worker_sleep(struct worker *w, const struct net_counters *nic, struct loop_mark *m)
{
	struct stack_event ev[WORKER_EVENTS];
	uint64_t now;
	int n = 0;

	__atomic_store_n(&w->sleeping, true, __ATOMIC_RELAXED);
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!worker_has_work(w)) {
		nc_scratch_reset(&w->scratch); /* (offline ends the read section too) */
		rcu_thread_offline();
		n = stack_poll(w->stack, ev, WORKER_EVENTS, WORKER_SLEEP_MS);
		rcu_thread_online();
	}
	__atomic_store_n(&w->sleeping, false, __ATOMIC_RELAXED);
	now = rte_rdtsc();
	STAT_ADD(&w->stats, idle_cycles, now - m->tsc);
	loop_mark(w, m, nic, now);
	w->loop_tsc = now;
	return worker_handle(w, ev, n, now);
}

/**
 * Account the iteration that began at @p m and ends at @p now as busy (it did @p work, or the
 * DPDK stack sent frames, the previous iteration's replies, at the start of its poll) or idle.
 */
static inline void
worker_account(struct worker *w, const struct net_counters *nic, const struct loop_mark *m,
	       uint64_t now, unsigned work)
{
	if (work || nic_event(nic, NET_EV_tx_frames) != m->tx_frames) {
		STAT_ADD(&w->stats, busy_cycles, now - m->tsc);
		STAT_ADD(&w->stats, busy_driver_cycles,
			 nic_event(nic, NET_EV_driver_cycles) - m->driver_cycles);
		STAT_ADD(&w->stats, busy_poll_cycles, w->stage.poll);
		STAT_ADD(&w->stats, busy_udp_prefetch_cycles, w->stage.udp_prefetch);
		STAT_ADD(&w->stats, busy_udp_request_cycles, w->stage.udp_requests);
		STAT_ADD(&w->stats, busy_udp_flush_cycles, w->stage.udp_flush);
	} else
		STAT_ADD(&w->stats, idle_cycles, now - m->tsc);
}

int
worker_main(void *arg)
{
	struct worker *w = arg;
	const struct net_counters *nic = stack_dpdk_counters(w->stack);
	struct loop_mark mark;
	/* The socket backend sleeps in epoll, which wakes on arrival: no spinning there. */
	uint64_t spin_us = w->srv->set.backend == SETTINGS_BACKEND_SOCKET ? 0 : WORKER_SPIN_US;
	uint64_t spin_cycles = rte_get_tsc_hz() / 1000000 * spin_us;
	uint64_t last_work;

	rcu_register_thread();
	NC_LOG(w->srv, 2, "worker %u running on lcore %u", w->id, w->lcore);
	if (prctl(PR_SET_TIMERSLACK, WORKER_TIMER_SLACK_NS, 0, 0, 0) != 0)
		NC_LOG(w->srv, 1, "worker %u: cannot set its timer slack: %s", w->id, strerror(errno));
	/* Replication links before the first write (another worker may have forwarded one). */
	peer_service(w);
	loop_mark(w, &mark, nic, rte_rdtsc());
	last_work = mark.tsc;
	w->loop_tsc = mark.tsc;
	while (!server_stopping(w->srv)) {
		unsigned work = 0;
		uint64_t now;

		if (mark.tsc - last_work >= spin_cycles && !worker_has_work(w))
			work += worker_sleep(w, nic, &mark);
		else
			work += worker_events(w, mark.tsc);
		work += forward_serve(w);
		work += forward_collect(w);
		/* Decompressed values live as long as item memory: until this quiescent state. */
		nc_scratch_reset(&w->scratch);
		rcu_quiescent_state();
		store_shard_maintain(w->shard, WORKER_TTL_BUDGET);
		work += worker_run_deferred(w);
		work += worker_idle_check(w);
		work += peer_service(w);
		/* A snapshot: the next slice of this shard, within --snapshot-slice-us. */
		work += snapshot_worker_step(w);
		if (work)
			last_work = mark.tsc;
		/* Busy vs idle time, for the cost per request (`stats`: cycles_per_request). */
		now = rte_rdtsc();
		worker_account(w, nic, &mark, now, work);
		loop_mark(w, &mark, nic, now);
		w->loop_tsc = now;
	}
	/* Answer what other workers still wait for, then leave. */
	while (forward_serve(w) || !rte_ring_empty(w->inbox)) {
		nc_scratch_reset(&w->scratch);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return 0;
}
