/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcached text nc_udpgen's loads send and check, over UDP and over TCP alike: keys of
 * exactly --key-size bytes ("key:" + zero-padded number), each key's value derived from it
 * (the key backwards, repeated to --value-size bytes) so that every hit is checked byte for
 * byte, the requests (`get <key>`, `set <key> 0 0 <n>`), and the check of a whole reply.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "udpgen.h"

int
udpgen_text_init(struct udpgen_text *x, const struct udpgen_config *cfg)
{
	uint32_t digits = 1;

	for (uint32_t k = cfg->keys - 1; k >= 10; k /= 10)
		digits++;
	if (cfg->key_size < 4 + digits) {
		fprintf(stderr,
			"nc_udpgen: --key-size %u cannot hold %u keys (\"key:\" + %u digits)\n",
			cfg->key_size, cfg->keys, digits);
		return -EINVAL;
	}
	*x = (struct udpgen_text){
		.key_size = cfg->key_size,
		.value_size = cfg->value_size,
		.keys = cfg->keys,
		.multiget = cfg->multiget,
		.get_ratio = cfg->get_ratio,
		.warm = cfg->warm,
	};
	x->set_tail_len = (uint32_t)snprintf(x->set_tail, sizeof(x->set_tail), " 0 0 %u\r\n",
					     cfg->value_size);
	x->hit_tail_len =
		(uint32_t)snprintf(x->hit_tail, sizeof(x->hit_tail), " 0 %u\r\n", cfg->value_size);
	x->request_max = 4 + x->key_size + x->set_tail_len + x->value_size + 2;
	if (x->request_max < 4 + x->multiget * (x->key_size + 1) + 2)
		x->request_max = 4 + x->multiget * (x->key_size + 1) + 2;
	x->hit_len = 6 + x->key_size + x->hit_tail_len + x->value_size + 7;
	return 0;
}

/* Writes key @p idx: "key:" and its number zero-padded to key_size bytes. */
static void
key_write(const struct udpgen_text *x, char *k, uint32_t idx)
{
	memcpy(k, "key:", 4);
	for (uint32_t i = x->key_size; i-- > 4; idx /= 10)
		k[i] = (char)('0' + idx % 10);
}

/* The value of a key: the key backwards, repeated to value_size bytes. */
static void
value_write(const struct udpgen_text *x, char *v, const char *k)
{
	for (uint32_t i = 0; i < x->value_size; i++)
		v[i] = k[x->key_size - 1 - i % x->key_size];
}

static bool
value_ok(const struct udpgen_text *x, const char *v, const char *k)
{
	for (uint32_t i = 0; i < x->value_size; i++)
		if (v[i] != k[x->key_size - 1 - i % x->key_size])
			return false;
	return true;
}

uint32_t
udpgen_text_request(const struct udpgen_text *x, char *t, uint32_t key, bool set)
{
	uint32_t len = 4 + x->key_size;

	memcpy(t, set ? "set " : "get ", 4);
	key_write(x, t + 4, key);
	for (uint32_t i = 1; !set && i < x->multiget; i++) {
		t[len] = ' ';
		key_write(x, t + len + 1, (key + i) % x->keys);
		len += 1 + x->key_size;
	}
	if (set) {
		memcpy(t + len, x->set_tail, x->set_tail_len);
		len += x->set_tail_len;
		value_write(x, t + len, t + 4);
		len += x->value_size;
	}
	memcpy(t + len, "\r\n", 2);
	return len + 2;
}

/*
 * Checks the reply to a get of @p key (and the keys after it with --multiget): for each key in
 * turn its hit with the key's value, or nothing (a miss), then "END".
 */
static void
get_check(const struct udpgen_text *x, uint32_t key, const char *t, uint32_t len, uint64_t *c)
{
	uint32_t ks = x->key_size, head = 6 + ks + x->hit_tail_len, block = x->hit_len - 5;
	uint32_t pos = 0, hits = 0;
	char k[256];

	c[UDPGEN_C_gets] += x->multiget;
	for (uint32_t i = 0; i < x->multiget; i++) {
		const char *b = t + pos;

		key_write(x, k, (key + i) % x->keys);
		if (len - pos >= block && memcmp(b, "VALUE ", 6) == 0 &&
		    memcmp(b + 6, k, ks) == 0 &&
		    memcmp(b + 6 + ks, x->hit_tail, x->hit_tail_len) == 0 &&
		    value_ok(x, b + head, k) && memcmp(b + head + x->value_size, "\r\n", 2) == 0) {
			pos += block;
			hits++;
		}
	}
	if (len - pos != 5 || memcmp(t + pos, "END\r\n", 5) != 0) {
		c[UDPGEN_C_verify_failed]++;
		return;
	}
	c[UDPGEN_C_hits] += hits;
	c[UDPGEN_C_misses] += x->multiget - hits;
	if (hits < x->multiget)
		c[UDPGEN_C_verify_failed] += x->warm;
}

void
udpgen_text_check(const struct udpgen_text *x, uint32_t key, bool set, const char *t, uint32_t len,
		  uint64_t *c)
{
	if (!set)
		get_check(x, key, t, len, c);
	else if (len == 8 && memcmp(t, "STORED\r\n", 8) == 0)
		c[UDPGEN_C_sets]++;
	else
		c[UDPGEN_C_verify_failed]++;
}
