/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for app/mcgen/udp_book.h, the UDP requests in flight: a reply that comes after its
 * request timed out is counted late, not taken for another request's, even at --depth 4096,
 * where a request id keeps 4 bits of generation and a slot reused at once would wear that
 * generation round in 16 uses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine.h"
#include "options.h"
#include "udp_book.h"
#include "workload.h"

#define DEPTH	   4096u
#define TIMEOUT_NS 1000000ull

/* The transport's side: the ids of the requests sent, in order. */
struct sent {
	uint16_t id[DEPTH];
	unsigned n;
	char buf[4096];
};

static char *
io_begin(void *arg, unsigned conn, uint16_t id, size_t *cap)
{
	struct sent *s = arg;

	(void)conn;
	assert_true(s->n < DEPTH);
	s->id[s->n++] = id;
	*cap = sizeof(s->buf);
	return s->buf;
}

static void
io_finish(void *arg, unsigned conn, size_t len)
{
	(void)arg;
	(void)conn;
	assert_true(len > 0);
}

static uint64_t
count(const struct mcgen_thread *t, enum mcgen_counter c)
{
	return t->st.total.c[c];
}

static void
test_late_reply_not_taken_for_the_next(void **state)
{
	static struct mcgen_thread t;
	static struct sent sent;
	const struct mcgen_udp_io io = {.arg = &sent, .begin = io_begin, .finish = io_finish};
	struct mcgen_options o;
	struct mcgen_workload w;
	struct mcgen_gate gate = {.open = true};
	struct mcgen_run run = {.o = &o, .w = &w, .nthreads = 1, .gate = &gate,
				.start_ns = 0, .end_ns = UINT64_MAX, .drain_ns = UINT64_MAX,
				.timeout_ns = TIMEOUT_NS};
	struct mcgen_udp_book *b;
	uint64_t now = 1000;
	uint16_t lost;
	char err[160];

	(void)state;
	assert_int_equal(mcgen_options_defaults(&o, err, sizeof(err)), 0);
	o.conns = 1;
	o.depth = DEPTH;
	o.keys = 100;
	o.mix.w[MCGEN_OP_GET] = 1; /* gets only: "END" answers each (a miss) */
	o.mix.w[MCGEN_OP_SET] = 0;
	assert_int_equal(mcgen_workload_init(&w, &o, err, sizeof(err)), 0);
	mcgen_engine_init(&t, &run, 0);
	assert_int_equal(mcgen_udp_book_create(&t, 1, &b), 0);

	/* Every slot sent; all answered but the first, which times out. */
	mcgen_udp_book_issue(b, now, &io);
	assert_int_equal(sent.n, DEPTH);
	lost = sent.id[0];
	for (unsigned i = 1; i < DEPTH; i++)
		mcgen_udp_book_input(b, 0, sent.id[i], 0, 1, "END\r\n", 5, now);
	assert_int_equal(count(&t, MCGEN_C_replies), DEPTH - 1);
	now += TIMEOUT_NS;
	mcgen_udp_book_scan(b, now, false);
	assert_int_equal(count(&t, MCGEN_C_timeouts), 1);

	/* 32 rounds of every free slot sent and answered, within the next timeout. */
	for (unsigned round = 0; round < 32; round++) {
		sent.n = 0;
		now += TIMEOUT_NS / 64;
		mcgen_udp_book_issue(b, now, &io);
		for (unsigned i = 0; i < sent.n; i++)
			assert_int_not_equal(sent.id[i], lost);
		for (unsigned i = 0; i < sent.n; i++)
			mcgen_udp_book_input(b, 0, sent.id[i], 0, 1, "END\r\n", 5, now);
		mcgen_udp_book_scan(b, now, false);
	}
	/* The lost request's reply comes now: late, and no request of the rounds is answered by it. */
	uint64_t replies = count(&t, MCGEN_C_replies);

	sent.n = 0;
	mcgen_udp_book_issue(b, now, &io);
	mcgen_udp_book_input(b, 0, lost, 0, 1, "END\r\n", 5, now);
	assert_int_equal(count(&t, MCGEN_C_late), 1);
	assert_int_equal(count(&t, MCGEN_C_replies), replies);
	assert_int_equal(count(&t, MCGEN_C_wrong), 0);

	/* After its rest the slot is used again. */
	for (unsigned i = 0; i < sent.n; i++)
		mcgen_udp_book_input(b, 0, sent.id[i], 0, 1, "END\r\n", 5, now);
	now += TIMEOUT_NS;
	mcgen_udp_book_scan(b, now, false);
	sent.n = 0;
	mcgen_udp_book_issue(b, now, &io);
	assert_int_equal(sent.n, DEPTH);
	mcgen_udp_book_destroy(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_reply_not_taken_for_the_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
