/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_mcload: pipelined memcached load client (text protocol, or binary GETK/SET).
 *
 * Each of --threads threads drives its share of --conns TCP connections with epoll, and every
 * connection keeps --depth requests in flight. Keys are exactly 16 bytes ("key:" + 12 digits),
 * drawn uniformly (or Zipf-distributed with --zipf THETA, 0 < THETA < 1) from --keys keys. A
 * value is --value-size bytes derived from its key, so every hit is checked for key, length and
 * content. --warm sets every key once before the timed phase, so gets hit. The timed phase ends
 * after --duration seconds (at most 600) or after --ops operations, whichever comes first;
 * the requests still in flight are then drained and counted.
 *
 *   nc_mcload [--server HOST:PORT] [--conns N] [--threads T] [--depth D] [--keys K]
 *             [--value-size B] [--get-ratio R] [--duration S | --ops N] [--warm]
 *             [--seed X] [--zipf THETA] [--binary]
 *
 * Defaults: 127.0.0.1:11211, 4 conns, 1 thread, depth 32, 100000 keys, 32-byte values,
 * get ratio 0.9, 10 s, seed 1, uniform keys, text protocol. Prints one line on stdout:
 *
 *   ops=N secs=S ops_per_sec=R gets=N hits=N misses=N sets=N errors=N
 *
 * Exit status: 0 on success; 1 on a malformed or unexpected reply (reported at once), a closed
 * connection, a timeout, or any error reply from the server (counted in errors=); 2 on bad usage.
 * It sends as fast as the server answers: point it only at servers you run yourself.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_opts.h"

#define KEY_LEN	      16
#define LINE_MAX_LEN  1024  /* longest reply line accepted */
#define RECV_CHUNK    65536 /* receive buffer room beyond one whole reply */
#define DRAIN_SECS    5.0   /* replies must arrive within this after the timed phase */
#define WARM_MAX_SECS 120.0
#define EVENTS_MAX    64

#define BIN_REQ	   0x80
#define BIN_RES	   0x81
#define BIN_SET	   0x01
#define BIN_GETK   0x0c
#define BIN_HDR	   24
#define BIN_ENOENT 0x0001

enum op_kind {
	OP_GET,
	OP_SET,
};

/* Zipf ranks by the method of Gray et al. (SIGMOD 1994): constant time per draw. */
struct zipf {
	double theta, alpha, zetan, eta, half_pow;
};

/* Options taking a number: field, option name, type, lowest, highest, default. */
#define NUM_OPTS(X)                                       \
	X(conns, "conns", unsigned, 1, 4096, 4)           \
	X(threads, "threads", unsigned, 1, 64, 1)         \
	X(depth, "depth", unsigned, 1, 4096, 32)          \
	X(keys, "keys", uint32_t, 1, 1e9, 100000)         \
	X(value_size, "value-size", uint32_t, 1, 1e6, 32) \
	X(get_ratio, "get-ratio", double, 0, 1, 0.9)      \
	X(duration, "duration", double, 0.1, 600, 10)     \
	X(ops, "ops", uint64_t, 0, 1e12, 0)               \
	X(seed, "seed", uint64_t, 0, 1e15, 1)             \
	X(zipf_theta, "zipf", double, 0, 0.999, 0)

/* Counters kept per thread and printed in the summary, in this order. */
#define COUNTERS(X) X(gets) X(hits) X(misses) X(sets) X(errors)

enum {
	OPT_SERVER = 256,
	OPT_WARM,
	OPT_BINARY,
#define X_ENUM(f, ...) OPT_##f,
	NUM_OPTS(X_ENUM)
#undef X_ENUM
};

enum counter {
#define X_ENUM(c) C_##c,
	COUNTERS(X_ENUM)
#undef X_ENUM
	C_COUNT
};

struct config {
	const char *server;
	struct sockaddr_storage addr;
	socklen_t addrlen;
#define X_FIELD(f, name, type, ...) type f;
	NUM_OPTS(X_FIELD)
#undef X_FIELD
	bool warm, binary;
	struct zipf zipf;
	char set_tail[32]; /* " 0 0 <bytes>\r\n" of a text set */
	size_t set_tail_len;
};

/* One request in flight, oldest first. */
struct slot {
	uint32_t key;
	uint32_t seq; /* binary opaque */
	uint8_t kind;
};

struct conn {
	int fd;
	struct slot *fifo; /* ring of depth slots */
	unsigned head, count;
	uint32_t seq;
	char *out; /* requests not yet sent: [out_off, out_len) */
	size_t out_off, out_len;
	char *in; /* bytes received, not yet parsed: [0, in_len) */
	size_t in_len, in_cap;
	bool want_out;
};

struct worker {
	const struct config *cfg;
	unsigned id;
	pthread_t tid;
	pthread_barrier_t *barrier;
	int epfd;
	struct conn *conns;
	unsigned nconns;
	uint64_t rng;
	uint64_t inflight;
	uint64_t budget; /* requests this thread may still issue in the timed phase */
	uint32_t warm_next, warm_end;
	bool timed, stopping;
	uint64_t warm[C_COUNT], c[C_COUNT];
	double t_start, t_end, warm_secs;
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("nc_mcload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* xorshift64*: returns 64 random bits; state never zero. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static void
zipf_setup(struct zipf *z, uint32_t n, double theta)
{
	double zeta2 = 1.0 + pow(0.5, theta);

	z->theta = theta;
	z->zetan = 0;
	for (uint32_t i = 1; i <= n; i++)
		z->zetan += pow((double)i, -theta);
	z->alpha = 1.0 / (1.0 - theta);
	z->eta = (1.0 - pow(2.0 / n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
	z->half_pow = zeta2;
}

static uint32_t
zipf_draw(const struct zipf *z, uint32_t n, uint64_t *rng)
{
	double u = rng_unit(rng), uz = u * z->zetan;
	uint64_t r;

	if (uz < 1.0)
		return 0;
	if (uz < z->half_pow)
		return n > 1 ? 1 : 0;
	r = (uint64_t)(n * pow(z->eta * u - z->eta + 1.0, z->alpha));
	return r < n ? (uint32_t)r : n - 1;
}

/* Writes the 16-byte key of index idx: "key:" and 12 decimal digits. */
static void
key_format(char *k, uint32_t idx)
{
	memcpy(k, "key:", 4);
	for (int i = KEY_LEN - 1; i >= 4; i--) {
		k[i] = (char)('0' + idx % 10);
		idx /= 10;
	}
}

/* Returns true when v holds the value stored under key k (byte i is k[i % KEY_LEN]). */
static bool
value_ok(const char *k, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] != k[i % KEY_LEN])
			return false;
	return true;
}

static void
value_format(char *v, const char *k, size_t len)
{
	for (size_t i = 0; i < len; i++)
		v[i] = k[i % KEY_LEN];
}

static void
put_be(uint8_t *p, uint32_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t
get_be(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Appends the request for s to c's output; the buffer was sized for depth requests. */
static void
request_write(const struct config *cfg, struct conn *c, const struct slot *s)
{
	char *p = c->out + c->out_len;
	uint32_t vs = cfg->value_size;

	if (cfg->binary) {
		uint8_t *h = (uint8_t *)p;
		uint8_t ext = s->kind == OP_SET ? 8 : 0;
		uint32_t body = ext + KEY_LEN + (s->kind == OP_SET ? vs : 0);

		memset(h, 0, BIN_HDR + ext);
		h[0] = BIN_REQ;
		h[1] = s->kind == OP_SET ? BIN_SET : BIN_GETK;
		put_be(h + 2, KEY_LEN, 2);
		h[4] = ext;
		put_be(h + 8, body, 4);
		put_be(h + 12, s->seq, 4);
		p += BIN_HDR + ext;
		key_format(p, s->key);
		if (s->kind == OP_SET)
			value_format(p + KEY_LEN, p, vs);
		c->out_len += BIN_HDR + body;
		return;
	}
	memcpy(p, s->kind == OP_SET ? "set " : "get ", 4);
	key_format(p + 4, s->key);
	p += 4 + KEY_LEN;
	if (s->kind == OP_GET) {
		memcpy(p, "\r\n", 2);
		c->out_len += 4 + KEY_LEN + 2;
		return;
	}
	memcpy(p, cfg->set_tail, cfg->set_tail_len);
	value_format(p + cfg->set_tail_len, c->out + c->out_len + 4, vs);
	memcpy(p + cfg->set_tail_len + vs, "\r\n", 2);
	c->out_len += 4 + KEY_LEN + cfg->set_tail_len + vs + 2;
}

static bool
starts_with(const char *buf, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(buf, word, n) == 0;
}

/* Returns true for the reply lines that report a failure rather than break the protocol. */
static bool
is_error_line(const char *line, size_t len, enum op_kind kind)
{
	return starts_with(line, len, "ERROR") || starts_with(line, len, "CLIENT_ERROR ") ||
	       starts_with(line, len, "SERVER_ERROR ") ||
	       (kind == OP_SET && starts_with(line, len, "NOT_STORED\r\n"));
}

/* Parses a decimal field ending at a space or '\r'; returns its end or NULL. */
static const char *
parse_dec(const char *p, const char *end, uint64_t *v)
{
	const char *start = p;

	*v = 0;
	while (p < end && *p >= '0' && *p <= '9' && p - start < 20)
		*v = *v * 10 + (uint64_t)(*p++ - '0');
	return p > start && p < end && (*p == ' ' || *p == '\r') ? p : NULL;
}

/*
 * Parses the text reply to s at buf. Returns the bytes it took, or 0 when the reply is not
 * complete yet; ends the program on anything that is not a well-formed reply to s.
 */
static size_t
text_reply(struct worker *w, const struct slot *s, const char *buf, size_t len)
{
	const char *eol = memchr(buf, '\n', len < LINE_MAX_LEN ? len : LINE_MAX_LEN);
	uint32_t vs = w->cfg->value_size;
	char key[KEY_LEN];
	uint64_t flags, bytes;
	const char *p;
	size_t line, need;

	if (eol == NULL) {
		if (len >= LINE_MAX_LEN)
			die("reply line longer than %d bytes", LINE_MAX_LEN);
		return 0;
	}
	line = (size_t)(eol - buf) + 1;
	if (line < 2 || buf[line - 2] != '\r')
		die("reply line not ended by CRLF: %.*s", (int)line, buf);
	if (is_error_line(buf, line, (enum op_kind)s->kind)) {
		w->c[C_errors]++;
		return line;
	}
	if (s->kind == OP_SET) {
		if (line != 8 || memcmp(buf, "STORED\r\n", 8) != 0)
			die("unexpected reply to set: %.*s", (int)line - 2, buf);
		w->c[C_sets]++;
		return line;
	}
	if (line == 5 && memcmp(buf, "END\r\n", 5) == 0) {
		w->c[C_gets]++;
		w->c[C_misses]++;
		return line;
	}
	key_format(key, s->key);
	p = buf + 6;
	if (!starts_with(buf, line, "VALUE ") || line < 6 + KEY_LEN + 1 ||
	    memcmp(p, key, KEY_LEN) != 0 || p[KEY_LEN] != ' ')
		die("unexpected reply to get %.16s: %.*s", key, (int)line - 2, buf);
	p = parse_dec(p + KEY_LEN + 1, eol, &flags);
	p = p != NULL && *p == ' ' ? parse_dec(p + 1, eol, &bytes) : NULL;
	if (p == NULL)
		die("malformed VALUE line: %.*s", (int)line - 2, buf);
	if (bytes != vs)
		die("wrong value length for %.16s: %llu, expected %u", key,
		    (unsigned long long)bytes, vs);
	need = line + vs + 7;
	if (len < need)
		return 0;
	if (!value_ok(key, buf + line, vs))
		die("wrong value content for %.16s", key);
	if (memcmp(buf + line + vs, "\r\nEND\r\n", 7) != 0)
		die("get %.16s: value not followed by CRLF END CRLF", key);
	w->c[C_gets]++;
	w->c[C_hits]++;
	return need;
}

/* Binary counterpart of text_reply(). */
static size_t
binary_reply(struct worker *w, const struct slot *s, const char *buf, size_t len)
{
	const uint8_t *h = (const uint8_t *)buf;
	uint32_t vs = w->cfg->value_size, body, keylen, ext, status, vlen;
	char key[KEY_LEN];

	if (len < BIN_HDR)
		return 0;
	body = get_be(h + 8, 4);
	keylen = get_be(h + 2, 2);
	ext = h[4];
	status = get_be(h + 6, 2);
	if (h[0] != BIN_RES || h[1] != (s->kind == OP_SET ? BIN_SET : BIN_GETK))
		die("binary reply: magic 0x%02x opcode 0x%02x, expected 0x81 and the request's",
		    h[0], h[1]);
	if (get_be(h + 12, 4) != s->seq)
		die("binary reply: opaque %u, expected %u", get_be(h + 12, 4), s->seq);
	if (body < keylen + ext || body > vs + LINE_MAX_LEN)
		die("binary reply: body length %u", body);
	if (len < BIN_HDR + body)
		return 0;
	if (status != 0) {
		if (s->kind == OP_GET && status == BIN_ENOENT) {
			w->c[C_gets]++;
			w->c[C_misses]++;
		} else {
			w->c[C_errors]++;
		}
		return BIN_HDR + body;
	}
	if (s->kind == OP_SET) {
		w->c[C_sets]++;
		return BIN_HDR + body;
	}
	key_format(key, s->key);
	vlen = body - keylen - ext;
	if (ext != 4 || keylen != KEY_LEN || memcmp(buf + BIN_HDR + ext, key, KEY_LEN) != 0)
		die("binary GETK reply: wrong extras/key for %.16s", key);
	if (vlen != vs)
		die("wrong value length for %.16s: %u, expected %u", key, vlen, vs);
	if (!value_ok(key, buf + BIN_HDR + ext + KEY_LEN, vs))
		die("wrong value content for %.16s", key);
	w->c[C_gets]++;
	w->c[C_hits]++;
	return BIN_HDR + body;
}

/* Returns true and fills s with the next request of the current phase, false when none. */
static bool
next_op(struct worker *w, struct slot *s)
{
	const struct config *cfg = w->cfg;

	if (!w->timed) {
		if (w->warm_next >= w->warm_end)
			return false;
		s->key = w->warm_next++;
		s->kind = OP_SET;
		return true;
	}
	if (w->stopping || w->budget == 0)
		return false;
	w->budget--;
	if (cfg->zipf_theta > 0)
		s->key = zipf_draw(&cfg->zipf, cfg->keys, &w->rng);
	else
		s->key = (uint32_t)(((rng_next(&w->rng) >> 32) * cfg->keys) >> 32);
	s->kind = rng_unit(&w->rng) < cfg->get_ratio ? OP_GET : OP_SET;
	return true;
}

/* Queues requests until depth are in flight, then sends what the socket takes. */
static void
conn_pump(struct worker *w, struct conn *c)
{
	unsigned depth = w->cfg->depth;
	struct slot *s;

	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	while (c->count < depth) {
		s = &c->fifo[(c->head + c->count) % depth];
		if (!next_op(w, s))
			break;
		s->seq = c->seq++;
		request_write(w->cfg, c, s);
		c->count++;
		w->inflight++;
	}
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			die("send: %s", strerror(errno));
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if ((c->out_len > 0) != c->want_out) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		c->want_out = c->out_len > 0;
		ev.events |= c->want_out ? EPOLLOUT : 0;
		if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
			die("epoll_ctl: %s", strerror(errno));
	}
}

/* Reads what arrived, retires every complete reply, then refills the pipeline. */
static void
conn_read(struct worker *w, struct conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	size_t off = 0, used;

	if (n == 0)
		die("server closed the connection");
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		die("recv: %s", strerror(errno));
	}
	c->in_len += (size_t)n;
	while (c->count > 0) {
		const struct slot *s = &c->fifo[c->head];

		used = w->cfg->binary ? binary_reply(w, s, c->in + off, c->in_len - off) :
					text_reply(w, s, c->in + off, c->in_len - off);
		if (used == 0)
			break;
		off += used;
		c->head = (c->head + 1) % w->cfg->depth;
		c->count--;
		w->inflight--;
	}
	if (c->count == 0 && off < c->in_len)
		die("%zu bytes from the server with no request outstanding", c->in_len - off);
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	conn_pump(w, c);
}

/* Runs one phase until no request is in flight; deadline stops issuing, hard ends in failure. */
static void
run_phase(struct worker *w, double deadline, double hard)
{
	struct epoll_event ev[EVENTS_MAX];

	for (unsigned i = 0; i < w->nconns; i++)
		conn_pump(w, &w->conns[i]);
	while (w->inflight > 0) {
		int n = epoll_wait(w->epfd, ev, EVENTS_MAX, 50);
		double now = now_s();

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		if (now >= deadline)
			w->stopping = true;
		if (now >= hard)
			die("timed out with %llu requests unanswered",
			    (unsigned long long)w->inflight);
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if (ev[i].events & EPOLLIN)
				conn_read(w, c);
			else if (ev[i].events & (EPOLLERR | EPOLLHUP))
				die("connection error or hang-up");
			if (ev[i].events & EPOLLOUT)
				conn_pump(w, c);
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const struct config *cfg = w->cfg;
	double t0 = now_s();

	if (cfg->warm) {
		run_phase(w, INFINITY, t0 + WARM_MAX_SECS);
		w->warm_secs = now_s() - t0;
	}
	memcpy(w->warm, w->c, sizeof(w->c));
	memset(w->c, 0, sizeof(w->c));
	pthread_barrier_wait(w->barrier);
	w->timed = true;
	w->t_start = now_s();
	run_phase(w, w->t_start + cfg->duration, w->t_start + cfg->duration + DRAIN_SECS);
	w->t_end = now_s();
	return NULL;
}

static void
conn_open(const struct config *cfg, struct worker *w, struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int one = 1;

	c->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) != 0)
		die("connect to %s: %s", cfg->server, strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
		die("fcntl: %s", strerror(errno));
	c->fifo = calloc(cfg->depth, sizeof(*c->fifo));
	c->out = malloc((size_t)cfg->depth * (cfg->value_size + 64));
	c->in_cap = cfg->value_size + LINE_MAX_LEN + RECV_CHUNK;
	c->in = malloc(c->in_cap);
	if (c->fifo == NULL || c->out == NULL || c->in == NULL)
		die("out of memory");
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void
usage(void)
{
	fputs("usage: nc_mcload [--server HOST:PORT] [--conns N] [--threads T] [--depth D]\n"
	      "                 [--keys K] [--value-size B] [--get-ratio R] [--duration S]\n"
	      "                 [--ops N] [--warm] [--seed X] [--zipf THETA] [--binary]\n",
	      stderr);
	exit(2);
}

static double
opt_num(const char *name, const char *s, double lo, double hi)
{
	double v;

	if (!bench_number(s, lo, hi, &v)) {
		fprintf(stderr, "nc_mcload: --%s wants a number in [%g, %g]\n", name, lo, hi);
		usage();
	}
	return v;
}

static void
resolve(struct config *cfg)
{
	char host[256];
	const char *colon = strrchr(cfg->server, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
	size_t hl = colon != NULL ? (size_t)(colon - cfg->server) : 0;
	int rc;

	if (colon == NULL || hl == 0 || hl >= sizeof(host))
		usage();
	memcpy(host, cfg->server, hl);
	host[hl] = '\0';
	if (host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0)
		die("%s: %s", cfg->server, gai_strerror(rc));
	memcpy(&cfg->addr, ai->ai_addr, ai->ai_addrlen);
	cfg->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void
parse_args(struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, OPT_SERVER},
		{"warm", no_argument, NULL, OPT_WARM},
		{"binary", no_argument, NULL, OPT_BINARY},
#define X_OPT(f, name, ...) {name, required_argument, NULL, OPT_##f},
		NUM_OPTS(X_OPT)
#undef X_OPT
			{NULL, 0, NULL, 0},
	};
	bool have_duration = false;
	int o;

	*cfg = (struct config){.server = "127.0.0.1:11211"};
#define X_DEFAULT(f, name, type, lo, hi, def) cfg->f = (type)(def);
	NUM_OPTS(X_DEFAULT)
#undef X_DEFAULT
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case OPT_SERVER:
			cfg->server = optarg;
			break;
		case OPT_WARM:
			cfg->warm = true;
			break;
		case OPT_BINARY:
			cfg->binary = true;
			break;
#define X_CASE(f, name, type, lo, hi, def)                    \
	case OPT_##f:                                         \
		cfg->f = (type)opt_num(name, optarg, lo, hi); \
		have_duration |= o == OPT_duration;           \
		break;
			NUM_OPTS(X_CASE)
#undef X_CASE
		default:
			usage();
		}
	}
	if (optind != argc || cfg->threads > cfg->conns) {
		fputs("nc_mcload: stray arguments, or more threads than conns\n", stderr);
		usage();
	}
	if (cfg->ops > 0 && !have_duration)
		cfg->duration = 600;
	cfg->set_tail_len = (size_t)snprintf(cfg->set_tail, sizeof(cfg->set_tail), " 0 0 %u\r\n",
					     cfg->value_size);
	if (cfg->zipf_theta > 0)
		zipf_setup(&cfg->zipf, cfg->keys, cfg->zipf_theta);
	resolve(cfg);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct worker *ws;
	struct conn *conns;
	static const char *const names[] = {
#define X_NAME(c) #c,
		COUNTERS(X_NAME)
#undef X_NAME
	};
	uint64_t sum[C_COUNT] = {0}, warm_sets = 0, errors = 0;
	pthread_barrier_t barrier;
	double t_start = INFINITY, t_end = 0, warm_secs = 0, secs;
	uint64_t ops, seed;

	parse_args(&cfg, argc, argv);
	ws = calloc(cfg.threads, sizeof(*ws));
	conns = calloc(cfg.conns, sizeof(*conns));
	if (ws == NULL || conns == NULL)
		die("out of memory");
	pthread_barrier_init(&barrier, NULL, cfg.threads);
	seed = cfg.seed;
	for (unsigned t = 0; t < cfg.threads; t++) {
		struct worker *w = &ws[t];

		*w = (struct worker){
			.cfg = &cfg,
			.id = t,
			.barrier = &barrier,
			.conns = conns + (size_t)cfg.conns * t / cfg.threads,
			.nconns = (unsigned)((size_t)cfg.conns * (t + 1) / cfg.threads -
					     (size_t)cfg.conns * t / cfg.threads),
			.rng = splitmix64(&seed) | 1,
			.budget = cfg.ops == 0 ?
					  UINT64_MAX :
					  cfg.ops / cfg.threads + (t < cfg.ops % cfg.threads),
			.warm_next = (uint32_t)((uint64_t)cfg.keys * t / cfg.threads),
			.warm_end = (uint32_t)((uint64_t)cfg.keys * (t + 1) / cfg.threads),
		};
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0)
			die("epoll_create1: %s", strerror(errno));
		for (unsigned i = 0; i < w->nconns; i++)
			conn_open(&cfg, w, &w->conns[i]);
	}
	for (unsigned t = 0; t < cfg.threads; t++)
		if (pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]) != 0)
			die("pthread_create failed");
	for (unsigned t = 0; t < cfg.threads; t++) {
		struct worker *w = &ws[t];

		pthread_join(w->tid, NULL);
		for (unsigned i = 0; i < C_COUNT; i++)
			sum[i] += w->c[i];
		warm_sets += w->warm[C_sets];
		errors += w->warm[C_errors];
		t_start = fmin(t_start, w->t_start);
		t_end = fmax(t_end, w->t_end);
		warm_secs = fmax(warm_secs, w->warm_secs);
	}
	if (cfg.warm)
		fprintf(stderr, "nc_mcload: warm: %llu sets in %.2f s, %llu errors\n",
			(unsigned long long)warm_sets, warm_secs, (unsigned long long)errors);
	errors += sum[C_errors];
	ops = sum[C_gets] + sum[C_sets] + sum[C_errors];
	secs = t_end - t_start;
	printf("ops=%llu secs=%.2f ops_per_sec=%.0f", (unsigned long long)ops, secs,
	       secs > 0 ? (double)ops / secs : 0.0);
	for (unsigned i = 0; i < C_COUNT; i++)
		printf(" %s=%llu", names[i], (unsigned long long)(i == C_errors ? errors : sum[i]));
	putchar('\n');
	return errors > 0 ? 1 : 0;
}
