/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_AUTH_H
#define NC_APP_AUTH_H

/*
 * Credentials for memcached's two authentication schemes: binary SASL PLAIN (-S) and the
 * text protocol's token (-Y, memcached 1.5.15+: "set <any> <flags> <exptime> <n>" carrying
 * "user password"). One set of users and passwords serves both.
 *
 * The file, as memcached's -Y and its MEMCACHED_SASL_PWDB: one "user:password" per line
 * (split at the first ':'; a CR before the LF is dropped); blank lines and lines that begin
 * with '#' are skipped. A user name is 1..NC_AUTH_FIELD_MAX bytes without ':' or a space; a
 * password 0..NC_AUTH_FIELD_MAX bytes without a space (the text scheme separates the two
 * with spaces); neither holds a NUL (SASL PLAIN separates with NULs) or another control byte.
 * At most NC_AUTH_USERS_MAX users, at least one.
 *
 * Checks run in time independent of the secrets: every entry is compared, each over its
 * whole fixed-size field, and the answer is folded without an early exit; only the number of
 * users and the length of what the client sent show in the time.
 *
 * Errors: negative errno with a one-line message naming the file (and line) in a caller
 * buffer.
 *
 * Threads: a set is immutable once made: any thread may check against it. The server
 * publishes its current set in srv->auth (auth_current(): workers read it inside their RCU
 * read section); the control lcore replaces it on SIGHUP and frees the old one after a grace
 * period.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest user name or password. */
#define NC_AUTH_FIELD_MAX 255
/** Most users in a file. */
#define NC_AUTH_USERS_MAX 1024
/** Largest auth file read. */
#define NC_AUTH_FILE_MAX (1u << 20)

/** A set of users and passwords (opaque). */
struct nc_auth;

/** What a text-protocol token ("user password") amounted to. */
enum nc_auth_token {
	NC_AUTH_TOKEN_OK,     /* a user and its password */
	NC_AUTH_TOKEN_FAIL,   /* two words that are no user and password of the set */
	NC_AUTH_TOKEN_FORMAT, /* fewer than two words */
};

/**
 * [any] Make a set from the text of an auth file (@p name is used in messages only).
 * @return 0 with *out set; -EINVAL (a malformed line, no users, too many) or -ENOMEM, with a
 *         message in @p err; *out is untouched on error.
 */
int nc_auth_parse(const char *text, size_t len, const char *name, struct nc_auth **out,
		  char *err, size_t errcap);

/**
 * [any, blocking I/O] Read and parse file @p path.
 * @return as nc_auth_parse(); also -errno of open/read (-ENOENT, -EACCES, ...), -EFBIG past
 *         NC_AUTH_FILE_MAX, -EINVAL for what is not a regular file.
 */
int nc_auth_load(const char *path, struct nc_auth **out, char *err, size_t errcap);

/** [any] Free a set; accepts NULL and *a == NULL; sets *a to NULL. */
void nc_auth_destroy(struct nc_auth **a);

/** [any] The number of users in @p a. */
unsigned nc_auth_count(const struct nc_auth *a);

/**
 * [any] The first user of the file and its password (what this node's own links to other
 * members log in with). Pointers into @p a, not NUL-terminated.
 */
void nc_auth_first(const struct nc_auth *a, const char **user, size_t *ulen, const char **pass,
		   size_t *plen);

/**
 * [any] Whether @p user / @p pass is a user of @p a and its password, in time independent of
 * the set's contents (see above).
 */
bool nc_auth_check(const struct nc_auth *a, const char *user, size_t ulen, const char *pass,
		   size_t plen);

/**
 * [any] Whether SASL PLAIN message @p msg (RFC 4616: authzid NUL authcid NUL passwd) logs in:
 * exactly two NULs, an authzid that is empty or the authcid itself (as Cyrus SASL allows
 * without a proxy policy), and authcid / passwd a user and its password.
 */
bool nc_auth_plain(const struct nc_auth *a, const uint8_t *msg, size_t len);

/**
 * [any] The text scheme's token: words separated by spaces (empty ones skipped, as memcached
 * tokenizes), the first two are user and password, any more are ignored.
 */
enum nc_auth_token nc_auth_text_token(const struct nc_auth *a, const char *data, size_t len);

/** [any] Whether @p a and @p b, each @p n bytes, are equal, in time independent of them. */
bool nc_auth_equal(const void *a, const void *b, size_t n);

#endif /* NC_APP_AUTH_H */
