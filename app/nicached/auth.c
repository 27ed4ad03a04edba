/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential set: the auth file's parser and the constant-time checks (auth.h). */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One user: both fields zero-padded to their full size, so a check reads all of them. */
struct auth_entry {
	uint8_t user[NC_AUTH_FIELD_MAX + 1];
	uint8_t pass[NC_AUTH_FIELD_MAX + 1];
	uint16_t ulen;
	uint16_t plen;
};

struct nc_auth {
	unsigned n;
	struct auth_entry e[];
};

static void
auth_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

bool
nc_auth_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (uint8_t)(x[i] ^ y[i]);
	return d == 0;
}

/* Whether the field [p, p + len) has a byte the file format forbids (see auth.h). */
static const char *
field_problem(const char *p, size_t len, bool user)
{
	if (user && len == 0)
		return "empty user name";
	if (len > NC_AUTH_FIELD_MAX)
		return user ? "user name longer than 255 bytes" : "password longer than 255 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == ' ')
			return user ? "space in the user name (the text scheme splits on spaces)"
				    : "space in the password (the text scheme splits on spaces)";
		if (ch < 0x20 || ch == 0x7f)
			return user ? "control byte in the user name" : "control byte in the password";
	}
	return NULL;
}

/* The number of lines that hold an entry (an upper bound before they are checked). */
static unsigned
count_entries(const char *text, size_t len)
{
	unsigned n = 0;
	size_t at = 0;

	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		if (end > at && text[at] != '#' && !(end - at == 1 && text[at] == '\r'))
			n++;
		at = end + 1;
	}
	return n;
}

int
nc_auth_parse(const char *text, size_t len, const char *name, struct nc_auth **out, char *err,
	      size_t errcap)
{
	unsigned max = count_entries(text, len), line = 0;
	struct nc_auth *a;
	size_t at = 0;

	if (max == 0) {
		auth_err(err, errcap, "auth file %s: no users (lines of user:password)", name);
		return -EINVAL;
	}
	if (max > NC_AUTH_USERS_MAX) {
		auth_err(err, errcap, "auth file %s: more than %u users", name, NC_AUTH_USERS_MAX);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a) + max * sizeof(a->e[0]));
	if (a == NULL) {
		auth_err(err, errcap, "auth file %s: out of memory", name);
		return -ENOMEM;
	}
	while (at < len) {
		const char *l = text + at;
		const char *nl = memchr(l, '\n', len - at);
		size_t n = nl != NULL ? (size_t)(nl - l) : len - at;
		const char *colon, *why;
		struct auth_entry *e;

		at += n + 1;
		line++;
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if (n == 0 || l[0] == '#')
			continue;
		colon = memchr(l, ':', n);
		why = colon == NULL ? "malformed entry, should be 'user:password'"
				    : field_problem(l, (size_t)(colon - l), true);
		if (why == NULL)
			why = field_problem(colon + 1, n - (size_t)(colon - l) - 1, false);
		if (why == NULL && memchr(l, '\0', n) != NULL)
			why = "NUL byte in the entry";
		if (why != NULL) {
			auth_err(err, errcap, "auth file %s:%u: %s", name, line, why);
			free(a);
			return -EINVAL;
		}
		e = &a->e[a->n++];
		e->ulen = (uint16_t)(colon - l);
		e->plen = (uint16_t)(n - e->ulen - 1);
		memcpy(e->user, l, e->ulen);
		memcpy(e->pass, colon + 1, e->plen);
	}
	*out = a;
	return 0;
}

int
nc_auth_load(const char *path, struct nc_auth **out, char *err, size_t errcap)
{
	struct stat st;
	char *text;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		auth_err(err, errcap, "auth file %s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		auth_err(err, errcap, "auth file %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > NC_AUTH_FILE_MAX) {
		auth_err(err, errcap, "auth file %s: larger than %u bytes", path, NC_AUTH_FILE_MAX);
		close(fd);
		return -EFBIG;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		close(fd);
		auth_err(err, errcap, "auth file %s: out of memory", path);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			auth_err(err, errcap, "auth file %s: cannot read: %s", path, strerror(-rc));
			free(text);
			close(fd);
			return rc;
		}
		if (n == 0)
			break; /* shrank meanwhile: parse what is there */
		got += (size_t)n;
	}
	close(fd);
	rc = nc_auth_parse(text, got, path, out, err, errcap);
	explicit_bzero(text, got);
	free(text);
	return rc;
}

void
nc_auth_destroy(struct nc_auth **a)
{
	if (a == NULL || *a == NULL)
		return;
	explicit_bzero((*a)->e, (*a)->n * sizeof((*a)->e[0]));
	free(*a);
	*a = NULL;
}

unsigned
nc_auth_count(const struct nc_auth *a)
{
	return a != NULL ? a->n : 0;
}

void
nc_auth_first(const struct nc_auth *a, const char **user, size_t *ulen, const char **pass,
	      size_t *plen)
{
	*user = (const char *)a->e[0].user;
	*ulen = a->e[0].ulen;
	*pass = (const char *)a->e[0].pass;
	*plen = a->e[0].plen;
}

bool
nc_auth_check(const struct nc_auth *a, const char *user, size_t ulen, const char *pass,
	      size_t plen)
{
	uint8_t u[NC_AUTH_FIELD_MAX + 1] = {0}, p[NC_AUTH_FIELD_MAX + 1] = {0};
	/* Too long for any entry: compared all the same (cut), and never a match. */
	unsigned too_long = ulen > NC_AUTH_FIELD_MAX || plen > NC_AUTH_FIELD_MAX;
	volatile unsigned match = 0;

	if (a == NULL)
		return false;
	memcpy(u, user, too_long ? 0 : ulen);
	memcpy(p, pass, too_long ? 0 : plen);
	for (unsigned i = 0; i < a->n; i++) {
		const struct auth_entry *e = &a->e[i];
		unsigned same = (unsigned)nc_auth_equal(e->user, u, sizeof(u)) &
				(unsigned)nc_auth_equal(e->pass, p, sizeof(p)) &
				(unsigned)(e->ulen == ulen) & (unsigned)(e->plen == plen);

		match |= same;
	}
	explicit_bzero(p, sizeof(p));
	return (match & (too_long ^ 1u)) != 0;
}

bool
nc_auth_plain(const struct nc_auth *a, const uint8_t *msg, size_t len)
{
	const uint8_t *nul1 = memchr(msg, '\0', len), *nul2, *user, *pass;
	size_t zlen, ulen, plen;

	if (nul1 == NULL)
		return false;
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - msg));
	if (nul2 == NULL || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - msg)) != NULL)
		return false;
	zlen = (size_t)(nul1 - msg);
	user = nul1 + 1;
	ulen = (size_t)(nul2 - user);
	pass = nul2 + 1;
	plen = len - (size_t)(pass - msg);
	/* Acting for another identity needs a policy this server has not: only for oneself. */
	if (zlen != 0 && (zlen != ulen || memcmp(msg, user, ulen) != 0))
		return false;
	return nc_auth_check(a, (const char *)user, ulen, (const char *)pass, plen);
}

enum nc_auth_token
nc_auth_text_token(const struct nc_auth *a, const char *data, size_t len)
{
	const char *w[2];
	size_t wl[2], at = 0;
	unsigned n = 0;

	while (n < 2 && at < len) {
		size_t end;

		while (at < len && data[at] == ' ')
			at++;
		if (at == len)
			break;
		end = at;
		while (end < len && data[end] != ' ')
			end++;
		w[n] = data + at;
		wl[n++] = end - at;
		at = end;
	}
	if (n < 2)
		return NC_AUTH_TOKEN_FORMAT;
	return nc_auth_check(a, w[0], wl[0], w[1], wl[1]) ? NC_AUTH_TOKEN_OK : NC_AUTH_TOKEN_FAIL;
}
