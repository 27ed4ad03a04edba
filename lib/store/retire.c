/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/retire.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <urcu-qsbr.h>

/* Batches the reclaimer's queue holds (from all owners together). */
#define RECLAIM_QUEUE_SIZE 4096
/* Batches ended by one grace period at most. */
#define RECLAIM_BURST 256
/*
 * Idle poll interval of the reclaimer: 20 us while batches keep coming, doubling on each empty
 * poll up to 1 ms, so an idle server does not spend a tenth of a core polling. A batch posted
 * while it sleeps wakes it at once (a store may be waiting for those chunks).
 */
#define RECLAIM_IDLE_US 20u
#define RECLAIM_IDLE_MAX_US 1000u
/* Poll interval of retire_wait_all(). */
#define WAIT_ALL_POLL_US 50

struct retire_reclaimer {
	struct rte_ring *queue; /* batches from owners: multi-producer, single consumer */
	pthread_t thread;
	uint32_t stop;		/* atomic */
	uint64_t grace_periods; /* atomic, written by the reclaimer */
	uint32_t sleeping;	/* atomic: the reclaimer is (about to be) waiting on wake */
	sem_t wake;		/* posted by retire_flush() when it found the reclaimer sleeping */
};

/*
 * Wait up to @p us for a batch. Announces the sleep before the last look at the queue, and
 * retire_flush() looks at the announcement after its enqueue (both with full fences), so a
 * batch posted meanwhile either is seen here or posts the semaphore.
 */
static void
reclaimer_sleep(struct retire_reclaimer *r, unsigned us)
{
	struct timespec ts;

	__atomic_store_n(&r->sleeping, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (rte_ring_empty(r->queue) && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)us * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (sem_timedwait(&r->wake, &ts) != 0 && errno == EINTR)
			;
	}
	__atomic_store_n(&r->sleeping, 0, __ATOMIC_RELAXED);
}

static void *
reclaimer_main(void *arg)
{
	struct retire_reclaimer *r = arg;
	struct retire_batch *b[RECLAIM_BURST];
	unsigned idle_us = RECLAIM_IDLE_US;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		unsigned n = rte_ring_sc_dequeue_burst(r->queue, (void **)b, RECLAIM_BURST, NULL);

		if (n == 0) {
			reclaimer_sleep(r, idle_us);
			idle_us = RTE_MIN(idle_us * 2, RECLAIM_IDLE_MAX_US);
			continue;
		}
		idle_us = RECLAIM_IDLE_US;
		/* Every reader that could hold these items passes a quiescent state. */
		synchronize_rcu();
		for (unsigned i = 0; i < n; i++)
			__atomic_store_n(&b[i]->done, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&r->grace_periods, r->grace_periods + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct retire_reclaimer *
retire_reclaimer_create(int socket_id, int cpu, int *err)
{
	char name[RTE_RING_NAMESIZE];
	struct retire_reclaimer *r;
	int rc;

	r = rte_zmalloc_socket("nc_reclaimer", sizeof(*r), RTE_CACHE_LINE_SIZE, socket_id);
	if (r == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	snprintf(name, sizeof(name), "ncrcl_%" PRIxPTR, (uintptr_t)r);
	r->queue = rte_ring_create(name, RECLAIM_QUEUE_SIZE, socket_id, RING_F_SC_DEQ);
	if (r->queue == NULL) {
		*err = -ENOMEM;
		rte_free(r);
		return NULL;
	}
	if (sem_init(&r->wake, 0, 0) != 0) {
		*err = -errno;
		rte_ring_free(r->queue);
		rte_free(r);
		return NULL;
	}
	rc = pthread_create(&r->thread, NULL, reclaimer_main, r);
	if (rc != 0) {
		*err = -rc;
		sem_destroy(&r->wake);
		rte_ring_free(r->queue);
		rte_free(r);
		return NULL;
	}
	pthread_setname_np(r->thread, "nc-reclaim");
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_setaffinity_np(r->thread, sizeof(set), &set);
	}
	*err = 0;
	return r;
}

void
retire_reclaimer_destroy(struct retire_reclaimer **rp)
{
	struct retire_reclaimer *r = rp ? *rp : NULL;

	if (r == NULL)
		return;
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	sem_post(&r->wake);
	pthread_join(r->thread, NULL);
	sem_destroy(&r->wake);
	rte_ring_free(r->queue);
	rte_free(r);
	*rp = NULL;
}

uint64_t
retire_reclaimer_grace_periods(const struct retire_reclaimer *r)
{
	return __atomic_load_n(&r->grace_periods, __ATOMIC_RELAXED);
}

void
retire_init(struct retire *r, struct retire_reclaimer *reclaimer, retire_free_fn free_fn, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->reclaimer = reclaimer;
	r->free_fn = free_fn;
	r->free_arg = arg;
}

bool
retire_flush(struct retire *r)
{
	struct retire_batch *b;

	if (r->pending == NULL || retire_in_flight(r) == RETIRE_BATCHES)
		return false;
	b = &r->batch[r->head % RETIRE_BATCHES];
	b->items = r->pending;
	b->count = r->npending;
	__atomic_store_n(&b->done, 0, __ATOMIC_RELAXED);
	/* The ring's enqueue is a release: the reclaimer sees the batch filled in. */
	if (rte_ring_mp_enqueue(r->reclaimer->queue, b) != 0)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->reclaimer->sleeping, __ATOMIC_SEQ_CST))
		sem_post(&r->reclaimer->wake);
	r->pending = NULL;
	r->npending = 0;
	r->head++;
	return true;
}

uint32_t
retire_reap(struct retire *r)
{
	uint32_t n = 0;

	/* One reclaimer ends batches in the order they were posted. */
	while (r->tail != r->head) {
		struct retire_batch *b = &r->batch[r->tail % RETIRE_BATCHES];
		struct item *it;

		if (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
			break;
		it = b->items;
		while (it != NULL) {
			struct item *next = it->next;

			r->free_fn(it, r->free_arg);
			it = next;
		}
		n += b->count;
		r->reclaimed += b->count;
		b->items = NULL;
		r->tail++;
	}
	return n;
}

void
retire_wait_all(struct retire *r)
{
	bool online = rcu_read_ongoing();

	if (online)
		rcu_thread_offline();
	while (retire_outstanding(r) > 0) {
		retire_flush(r);
		usleep(WAIT_ALL_POLL_US);
		retire_reap(r);
	}
	if (online)
		rcu_thread_online();
}
