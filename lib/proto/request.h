/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_REQUEST_H
#define NC_PROTO_REQUEST_H

/*
 * One request, whichever protocol it came in (text, meta, binary), so the worker executes all
 * of them through one path; and one result, which the protocol's writer turns into the reply.
 * lib/proto does no I/O and never calls lib/store: the worker maps requests to store calls
 * and store outcomes to results.
 *
 * A multi-key text get ("get a b c") arrives as one request per key; the first carries
 * PROTO_F_MULTI_FIRST, the last PROTO_F_MULTI_LAST (the text writer ends the reply with
 * "END" after it).
 */

#include <stdbool.h>
#include <stdint.h>

#include "proto/input.h"

/** Which protocol a request came in; its writer answers it. */
#define PROTO_KIND_LIST(X) \
	X(TEXT, "text")    \
	X(META, "meta")    \
	X(BINARY, "binary")

enum proto_kind {
#define PROTO_KIND_ENUM(name, str) PROTO_##name,
	PROTO_KIND_LIST(PROTO_KIND_ENUM)
#undef PROTO_KIND_ENUM
	PROTO_KIND_COUNT
};

/** What the worker does. X(name, description) */
#define PROTO_OP_LIST(X)                                                    \
	X(GET, "read a key (get, gets, mg, binary get*)")                   \
	X(GAT, "read a key and set its exptime (gat, gats, mg T, binary gat)") \
	X(TOUCH, "set a key's exptime (touch, binary touch)")              \
	X(STORE, "store a value; .mode says how (set ... cas, ms)")        \
	X(DELETE, "remove a key (delete, md, binary delete)")               \
	X(ARITH, "incr/decr (incr, decr, ma, binary incr/decr)")            \
	X(FLUSH, "flush_all [delay]")                                       \
	X(VERSION, "version")                                               \
	X(VERBOSITY, "verbosity <level>")                                   \
	X(STATS, "stats [group]")                                           \
	X(NOOP, "mn / binary noop: answer, ending a quiet pipeline")        \
	X(QUIT, "quit: close after earlier replies")                        \
	X(DEBUG, "me <key>: item details")                                  \
	X(LRU_CRAWLER, "lru_crawler <subcommand> [args] (.args): answered by the worker") \
	X(CONFIG, "config <subcommand> [key] (.args): auto-discovery, answered by the worker") \
	X(SHUTDOWN, "shutdown [graceful] (.args): stop the server, when enabled (-A)") \
	X(SASL_LIST, "binary SASL list mechanisms")                         \
	X(SASL_AUTH, "binary SASL auth: .args the mechanism, .value the client's message") \
	X(SASL_STEP, "binary SASL step: as SASL_AUTH, the next message") \
	X(SNAPSHOT, "snapshot [name] (.args): write a snapshot, answered by the worker")

enum proto_op {
#define PROTO_OP_ENUM(name, desc) PROTO_OP_##name,
	PROTO_OP_LIST(PROTO_OP_ENUM)
#undef PROTO_OP_ENUM
	PROTO_OP_COUNT
};

/** How a STORE stores (the worker maps these to the store's modes). */
#define PROTO_MODE_LIST(X) \
	X(SET, "set")      \
	X(ADD, "add")      \
	X(REPLACE, "replace") \
	X(APPEND, "append") \
	X(PREPEND, "prepend") \
	X(CAS, "cas")

enum proto_mode {
#define PROTO_MODE_ENUM(name, str) PROTO_MODE_##name,
	PROTO_MODE_LIST(PROTO_MODE_ENUM)
#undef PROTO_MODE_ENUM
	PROTO_MODE_COUNT
};

/* Request flags (proto_request.flags). */
#define PROTO_F_NOREPLY     (1u << 0)  /* no success reply: noreply, binary quiet ops, ms/md/ma q */
#define PROTO_F_QUIET_MISS  (1u << 1)  /* mg q / binary GETQ: no reply on a miss */
#define PROTO_F_RETURN_CAS  (1u << 2)  /* gets, gats */
#define PROTO_F_RETURN_KEY  (1u << 3)  /* binary GETK/GETKQ */
#define PROTO_F_MULTI_FIRST (1u << 4)  /* first key of a text multi-get */
#define PROTO_F_MULTI_LAST  (1u << 5)  /* last key of a text multi-get */
#define PROTO_F_INCR        (1u << 6)  /* ARITH: incr (else decr) */
#define PROTO_F_HAS_INITIAL (1u << 7)  /* ARITH: create with .initial on a miss (binary, ma N) */
#define PROTO_F_KEY_BINARY  (1u << 8)  /* meta b: the key was base64 and is decoded in .key */
/* A STORE the parser refused (value above -I, dropped): reported with PROTO_PARSE_ERROR and
 * PROTO_ERR_TOO_LARGE (or NOREPLY_ONLY); no value; see proto_store_failure_unlinks(). */
#define PROTO_F_REFUSED     (1u << 9)

/** Meta flag letters as bits: A..Z are bits 0..25, a..z bits 26..51. */
#define PROTO_META_BIT(c) \
	((c) >= 'A' && (c) <= 'Z' ? (1ULL << ((c) - 'A')) : \
	 (c) >= 'a' && (c) <= 'z' ? (1ULL << ((c) - 'a' + 26)) : 0ULL)

/** Most return flags one meta request can ask for (mg: s t c f l h O k; duplicates are errors). */
#define PROTO_META_RET_MAX 8

/** Longest decoded meta b key: a key token holds at most 250 characters of base64. */
#define PROTO_META_BINKEY_MAX 186

/** Meta-protocol details of a request (kind == PROTO_META). */
struct proto_meta {
	uint64_t flags;          /* PROTO_META_BIT of every flag letter given */
	const char *opaque;      /* O token, echoed (not copied) */
	uint8_t opaque_len;
	char mode;               /* M token's letter, or 0 */
	int64_t new_ttl;         /* T token */
	int64_t vivify_ttl;      /* N token */
	int64_t recache_ttl;     /* R token */
	uint64_t explicit_cas;   /* E token */
	char ret[PROTO_META_RET_MAX]; /* return-flag letters in request order, 0-padded */
	uint8_t key_bin[PROTO_META_BINKEY_MAX]; /* b: the decoded key (.key points here) */
};

/** Binary-protocol details of a request (kind == PROTO_BINARY). */
struct proto_binary {
	uint8_t opcode;          /* as received (quiet variants included) */
	uint32_t opaque;         /* echoed */
};

struct proto_request {
	enum proto_op op;
	enum proto_kind kind;
	enum proto_mode mode;    /* STORE */
	uint32_t flags;          /* PROTO_F_* */
	const char *key;         /* into the input, or the parser's line buffer */
	uint32_t key_len;
	uint32_t client_flags;   /* STORE */
	int64_t exptime;         /* STORE, GAT, TOUCH, ARITH with initial; FLUSH delay */
	uint64_t cas;            /* compare value (cas, meta C, binary cas), 0 = none */
	uint64_t delta;          /* ARITH */
	uint64_t initial;        /* ARITH with PROTO_F_HAS_INITIAL */
	struct proto_span value; /* STORE: the data block, excluding any terminator */
	uint32_t level;          /* VERBOSITY */
	const char *args;        /* STATS: the group ("items", "slabs", ...) or NULL;
				    SASL_AUTH, SASL_STEP: the mechanism;
				    LRU_CRAWLER: what follows the command, or NULL;
				    NOOP (mn): its first argument, or NULL */
	uint32_t args_len;
	struct proto_meta meta;
	struct proto_binary bin;
};

/** Outcome of executing a request, as the worker reports it to the writer. */
#define PROTO_STATUS_LIST(X)                                                        \
	X(HIT, "found: value (GET/GAT), or the item (DEBUG)")                       \
	X(MISS, "not found (GET/GAT/DEBUG)")                                        \
	X(STORED, "STORE succeeded")                                                \
	X(NOT_STORED, "STORE condition failed (add/replace/append/prepend)")        \
	X(EXISTS, "cas mismatch")                                                   \
	X(NOT_FOUND, "needed an item and there is none")                            \
	X(DELETED, "DELETE succeeded")                                              \
	X(TOUCHED, "TOUCH succeeded")                                               \
	X(NUMBER, "ARITH result in .number")                                        \
	X(NON_NUMERIC, "ARITH on a non-numeric value")                              \
	X(TOO_LARGE, "object too large for cache")                                  \
	X(NO_MEMORY, "out of memory storing object")                                \
	X(NOT_REPLICATED, "a write the replication quorum did not acknowledge")      \
	X(NO_PRIMARY, "a write proxied to the key's primary got no answer")        \
	X(OK, "FLUSH / VERBOSITY / QUIT / NOOP done")                               \
	X(VERSION, "VERSION: .text holds the version string")                       \
	X(STATS, "STATS: .stats holds name/value pairs")

enum proto_status {
#define PROTO_STATUS_ENUM(name, desc) PROTO_ST_##name,
	PROTO_STATUS_LIST(PROTO_STATUS_ENUM)
#undef PROTO_STATUS_ENUM
	PROTO_STATUS_COUNT
};

/** One statistic: name and value, already formatted. */
struct proto_stat {
	const char *name;
	const char *value;
};

/**
 * The piece of a value after @p cursor: its bytes in *data and *len.
 * @return the cursor of the piece after it, or NULL after the last.
 */
typedef const void *(*proto_value_next_fn)(const void *cursor, const void **data, uint32_t *len);

struct proto_result {
	enum proto_status status;
	const void *value;       /* HIT: value bytes (copied into the output by the writer) */
	uint32_t value_len;      /* ... the whole value's length */
	uint32_t value_seg_len;  /* bytes at value when the value is in pieces; 0 = all of it */
	const void *value_more;  /* cursor of the next piece, for value_next; NULL = none */
	proto_value_next_fn value_next;
	uint32_t client_flags;
	uint64_t cas;
	uint64_t number;         /* NUMBER */
	int64_t ttl_left;        /* meta t: seconds left, -1 = never expires */
	int64_t last_access;     /* meta l: seconds since last access */
	bool hit_before;         /* meta h */
	bool win;                /* meta W: this client should recache */
	bool stale;              /* meta X: the item is stale */
	bool won_already;        /* meta Z: another client already won */
	const char *text;        /* VERSION */
	const struct proto_stat *stats; /* STATS */
	uint32_t nstats;
	uint32_t item_class;     /* meta me: the item's slab class (cls=) */
	uint32_t item_size;      /* meta me: the item's bytes in memory (size=) */
};

/** Name of an op, kind, mode or status, e.g. for logs and tests ("?" when out of range). */
const char *proto_op_name(enum proto_op op);
const char *proto_kind_name(enum proto_kind kind);
const char *proto_mode_name(enum proto_mode mode);
const char *proto_status_name(enum proto_status st);

#endif /* NC_PROTO_REQUEST_H */
