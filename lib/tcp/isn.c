/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Initial sequence numbers per RFC 6528: ISN = M + F(local ip, local port, remote ip, remote
 * port, secret), M a 4 µs clock and F a keyed hash (lib/core's digest under the context's
 * secret, expanded once into isn_key). SYN cookies: the ISS of a SYN-ACK sent without keeping
 * state encodes the MSS (one of eight values) in its low 3 bits; the other 29 bits are a keyed
 * hash of the 4-tuple, the SYN's sequence and a 64-second time counter, accepted for that
 * period and the one before (so a cookie lives 64 to 128 s).
 */
#include <string.h>

#include "core/digest.h"
#include "tcp_private.h"

/** MSS values a cookie can carry (the largest not above the peer's is chosen). */
static const uint16_t cookie_mss[8] = {536, 1024, 1200, 1360, 1440, 1460, 4312, 8960};
/** log2 of the cookie period in µs (2^26 µs = 67 s). */
#define COOKIE_PERIOD_SHIFT 26

static uint64_t
keyed(const struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport, uint32_t a,
      uint32_t b)
{
	uint8_t buf[20];
	struct nc_digest d;

	memcpy(buf, &t->p.local_ip, 4);
	memcpy(buf + 4, &lport, 2);
	memcpy(buf + 6, &rip, 4);
	memcpy(buf + 10, &rport, 2);
	memcpy(buf + 12, &a, 4);
	memcpy(buf + 16, &b, 4);
	nc_digest_compute(&t->isn_key, buf, sizeof(buf), &d);
	return d.lo;
}

uint32_t
tcp_isn(const struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport,
	uint64_t now_us)
{
	return (uint32_t)keyed(t, rip, rport, lport, 0, 0) + (uint32_t)(now_us / 4);
}

uint32_t
tcp_cookie_make(const struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport,
		uint32_t seq, uint16_t mss, uint64_t now_us)
{
	uint32_t count = (uint32_t)(now_us >> COOKIE_PERIOD_SHIFT);
	uint32_t idx = 0;

	for (uint32_t i = 0; i < 8; i++)
		if (cookie_mss[i] <= mss)
			idx = i;
	return ((uint32_t)keyed(t, rip, rport, lport, seq, count | 0x80000000u) & ~7u) | idx;
}

uint16_t
tcp_cookie_check(const struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport,
		 uint32_t seq, uint32_t cookie, uint64_t now_us)
{
	uint32_t count = (uint32_t)(now_us >> COOKIE_PERIOD_SHIFT);

	for (uint32_t back = 0; back < 2; back++) {
		uint32_t h = (uint32_t)keyed(t, rip, rport, lport, seq, (count - back) | 0x80000000u);

		if (((h ^ cookie) & ~7u) == 0)
			return cookie_mss[cookie & 7u];
	}
	return 0;
}
