/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for net/cksum.h: the add-with-carry sums agree with DPDK's rte_raw_cksum(),
 * rte_ipv4_cksum() and rte_ipv4_udptcp_cksum() for every length 0..300 at every alignment
 * 0..7 over random and all-0xff data (the carry-heavy case), also after a start sum up to
 * all ones; the fold agrees with one done a carry at a time; and a datagram with its checksum
 * filled in sums to 0xffff (how the receive side checks it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_udp.h>

#include "net/cksum.h"

#define MAXLEN 300

static void
fill(uint8_t *buf, size_t n, int pattern, unsigned *seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern >= 0 ? (uint8_t)pattern : (uint8_t)rand_r(seed);
}

static void
test_raw_sum_matches_dpdk(void **state)
{
	uint8_t buf[MAXLEN + 8];
	unsigned seed = 7;

	(void)state;
	for (int pattern = -1; pattern <= 0xff; pattern += 0x100) {
		for (int round = 0; round < 4; round++) {
			fill(buf, sizeof(buf), pattern, &seed);
			for (size_t align = 0; align < 8; align++)
				for (size_t len = 0; len <= MAXLEN; len++)
					assert_int_equal(net_cksum(buf + align, len),
							 rte_raw_cksum(buf + align, len));
		}
	}
}

/* The 16-bit one's-complement sum of @p s, folded a carry at a time (0 only when s is 0). */
static uint16_t
ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void
test_fold_edges(void **state)
{
	static const uint64_t sums[] = {
		0,
		1,
		0xffff,
		0x10000,
		0x1fffe,
		0xffff0000,
		0xffffffff,
		0x100000000,
		0xfffeffff0001,
		UINT64_MAX / 2,
		UINT64_MAX,
		0x8000000000000000,
	};
	unsigned seed = 3;

	(void)state;
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++)
		assert_int_equal(net_cksum_fold(sums[i]), ref_fold(sums[i]));
	for (int i = 0; i < 100000; i++) {
		uint64_t v = (uint64_t)rand_r(&seed) << 33 ^ (uint64_t)rand_r(&seed) << 11 ^
			     (uint64_t)rand_r(&seed);

		assert_int_equal(net_cksum_fold(v), ref_fold(v));
	}
}

static void
test_start_sums(void **state)
{
	/* A sum carried in (a pseudo-header, an earlier piece), up to all ones: the end-around
	 * carries out of it are kept. */
	static const uint64_t starts[] = {
		0, 0xffff, 0x100000000, UINT64_MAX, 0x8000000000000000, UINT64_MAX - 0xffff};
	uint8_t buf[MAXLEN + 8];
	unsigned seed = 5;

	(void)state;
	for (int pattern = -1; pattern <= 0xff; pattern += 0x100) {
		fill(buf, sizeof(buf), pattern, &seed);
		for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++)
			for (size_t align = 0; align < 8; align++)
				for (size_t len = 0; len <= MAXLEN; len++)
					assert_int_equal(net_cksum_fold(net_cksum_add(
								 buf + align, len, starts[k])),
							 ref_fold((uint64_t)ref_fold(starts[k]) +
								  rte_raw_cksum(buf + align, len)));
	}
}

/** An IPv4 + UDP datagram of @p payload bytes at @p pkt (header checksums left 0). */
static struct rte_ipv4_hdr *
datagram(uint8_t *pkt, uint16_t payload, unsigned *seed)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)pkt;
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	fill(pkt, sizeof(*ip) + sizeof(*uh) + payload, -1, seed);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*uh) + payload));
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*uh) + payload));
	uh->dgram_cksum = 0;
	return ip;
}

static void
test_headers_match_dpdk(void **state)
{
	uint8_t pkt[sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) + MAXLEN];
	unsigned seed = 11;

	(void)state;
	for (uint16_t payload = 0; payload <= MAXLEN; payload++) {
		struct rte_ipv4_hdr *ip = datagram(pkt, payload, &seed);
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
		uint16_t l4_len = (uint16_t)(sizeof(*uh) + payload);

		assert_int_equal(net_cksum_ipv4(ip), rte_ipv4_cksum(ip));
		assert_int_equal(net_cksum_l4(ip, uh, l4_len), rte_ipv4_udptcp_cksum(ip, uh));
		/* Filled in, the datagram with its pseudo-header sums to all ones. */
		uh->dgram_cksum = net_cksum_l4(ip, uh, l4_len);
		assert_int_not_equal(uh->dgram_cksum, 0);
		assert_int_equal(
			net_cksum_fold(net_cksum_add(uh, l4_len, net_cksum_phdr(ip, l4_len))),
			0xffff);
		ip->hdr_checksum = net_cksum_ipv4(ip);
		assert_int_equal(net_cksum(ip, sizeof(*ip)), 0xffff);
	}
}

static void
test_zero_sum_sent_as_ffff(void **state)
{
	/* A UDP datagram whose data makes the sum come out as 0 must carry 0xffff (RFC 768). */
	uint8_t pkt[sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) + 2] = {0};
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)pkt;
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
	uint16_t l4_len = sizeof(*uh) + 2, partial;

	(void)state;
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)sizeof(pkt));
	ip->next_proto_id = IPPROTO_UDP;
	uh->dgram_len = rte_cpu_to_be_16(l4_len);
	partial = net_cksum_fold(net_cksum_add(uh, l4_len, net_cksum_phdr(ip, l4_len)));
	/* The last two bytes complete the sum to 0xffff: the inverted field would be 0. */
	uint16_t fix = (uint16_t)~partial;
	memcpy(pkt + sizeof(pkt) - 2, &fix, 2);
	assert_int_equal(net_cksum_l4(ip, uh, l4_len), 0xffff);
	assert_int_equal(rte_ipv4_udptcp_cksum(ip, uh), 0xffff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_sum_matches_dpdk),
		cmocka_unit_test(test_fold_edges),
		cmocka_unit_test(test_start_sums),
		cmocka_unit_test(test_headers_match_dpdk),
		cmocka_unit_test(test_zero_sum_sent_as_ffff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
