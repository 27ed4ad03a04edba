/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_SNAPSHOT_FORMAT_H
#define NC_SNAPSHOT_FORMAT_H

/*
 * The snapshot file, version 1. Every integer is little-endian.
 *
 *   file header     64 bytes: magic, version, flags, creation time, hints, header CRC
 *   [stream header] 24 bytes when SNAP_F_ENCRYPTED: libsodium secretstream's header
 *   record*         blocks of items, then exactly one trailer, then the end of the file
 *
 * A record is a 24-byte record header (type, payload length, items, sequence number, payload
 * CRC, header CRC) and its payload. Unencrypted, the payload is the plaintext; encrypted, it
 * is one secretstream message (plaintext + 17 bytes) whose additional data is the record
 * header's first 16 bytes, so records cannot be reordered, cut or retyped unnoticed; blocks
 * are TAG_MESSAGE, the trailer TAG_FINAL (a stream cut before it does not authenticate as
 * complete).
 *
 * Checksums are CRC32C (Castagnoli): the x86 and arm64 CPUs this runs on compute it in
 * hardware at several GB/s (DPDK's rte_hash_crc), so checking costs far less than reading;
 * it detects every burst error up to 32 bits and any odd number of flipped bits, which is
 * what storage corruption looks like. It is not a defence against someone altering the file
 * on purpose: that is what the encrypted format's authentication is for. The CRC of a
 * payload covers the bytes on disk (ciphertext when encrypted), so a damaged block reads as
 * "corrupt", and only an intact block that fails to decrypt as "wrong key".
 *
 * A block's plaintext is a run of items, each a 32-byte item header, the key, the value. An
 * item never spans blocks: a block holds at least one item and grows to hold a large one
 * (up to SNAP_RECORD_MAX). The trailer's plaintext (struct snap_trailer) holds the totals
 * and the whole-file CRC: the CRC32C of the file header (and stream header) followed by every
 * block's record header. Each record header holds its payload's CRC, so the whole-file CRC
 * covers every byte before the trailer while each byte is checksummed once (a chain of
 * checksums, as a hash tree's root).
 */

#include <stdint.h>

/** First 8 bytes of a snapshot: a name, then CR LF to catch text-mode mangling. */
#define SNAP_MAGIC "NCSNAP\r\n"
#define SNAP_MAGIC_LEN 8
/** The version this code writes and reads. */
#define SNAP_VERSION 1

/** File header flags. */
#define SNAP_F_ENCRYPTED (1u << 0)

/** Record types. */
#define SNAP_REC_BLOCK 1u
#define SNAP_REC_TRAILER 2u

/** Bytes of the file header, of a record header, of an item header, of the trailer. */
#define SNAP_FILE_HDR_LEN 64
#define SNAP_REC_HDR_LEN 24
#define SNAP_ITEM_HDR_LEN 32
#define SNAP_TRAILER_LEN 48
/** Bytes of a record header covered by the additional data of its encrypted payload. */
#define SNAP_REC_AD_LEN 16

/** Longest key, as memcached. */
#define SNAP_KEY_MAX 250
/** Largest record payload a reader accepts: one item of the largest -I (1 GiB) and room. */
#define SNAP_RECORD_MAX ((1u << 30) + (64u << 10))

/** The file header, decoded. */
struct snap_file_hdr {
	uint32_t version;
	uint32_t flags;	    /* SNAP_F_* */
	int64_t created;    /* unix time the snapshot began */
	uint64_t items_hint; /* items in the shards when it began (a hint only) */
	uint64_t bytes_hint; /* their bytes (a hint only) */
};

/** One item as stored: what a restore needs to re-create it. */
struct snap_item {
	const char *key;
	uint8_t nkey;
	uint32_t client_flags;
	uint32_t nbytes;
	uint64_t cas;
	int64_t exptime; /* unix time it expires; 0 = never */
	const char *value;
};

/** The trailer, decoded. */
struct snap_trailer {
	uint64_t items;	      /* items in all blocks */
	uint64_t value_bytes; /* sum of their values' lengths */
	uint64_t blocks;      /* block records */
	uint64_t max_cas;     /* largest cas of an item */
	uint32_t file_crc;    /* CRC32C of the headers and the block record headers */
};

/* ---- little-endian fields (any thread) ---- */

/** Store @p v at @p p, least significant byte first. */
static inline void
snap_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/** Store @p v at @p p, least significant byte first. */
static inline void
snap_put64(uint8_t *p, uint64_t v)
{
	snap_put32(p, (uint32_t)v);
	snap_put32(p + 4, (uint32_t)(v >> 32));
}

/** @return the little-endian value at @p p. */
static inline uint32_t
snap_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/** @return the little-endian value at @p p. */
static inline uint64_t
snap_get64(const uint8_t *p)
{
	return (uint64_t)snap_get32(p) | (uint64_t)snap_get32(p + 4) << 32;
}

/** CRC32C of @p len bytes at @p data, continuing from @p crc (0 to start). Any thread. */
uint32_t snap_crc(const void *data, uint32_t len, uint32_t crc);

#endif /* NC_SNAPSHOT_FORMAT_H */
