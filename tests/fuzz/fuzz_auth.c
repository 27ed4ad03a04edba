/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for what authentication reads from outside (app/nicached/auth.h): an auth
 * file's text, a SASL PLAIN message and the text scheme's token.
 *
 * Input: byte 0 picks what the rest is: 0 an auth file (parsed; when it parses, its first
 * user must log in with its password and a changed password must not); 1 a SASL PLAIN message
 * against a fixed set of users; 2 a text token against the same set. Every input is copied
 * into a buffer of exactly its size, so ASan sees any read past it.
 *
 * Build (standalone):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I app/nicached tests/fuzz/fuzz_auth.c \
 *     app/nicached/auth.c -o /tmp/fuzz_auth
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char users[] = "alice:secret\nbob:hunter2\ncarol:\n";

static void
file_case(const uint8_t *text, size_t len)
{
	struct nc_auth *a = NULL;
	char err[256];
	const char *u, *p;
	size_t ul, pl;

	if (nc_auth_parse((const char *)text, len, "fuzz", &a, err, sizeof(err)) != 0) {
		if (a != NULL || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return;
	}
	if (nc_auth_count(a) == 0 || nc_auth_count(a) > NC_AUTH_USERS_MAX)
		abort();
	nc_auth_first(a, &u, &ul, &p, &pl);
	if (ul == 0 || ul > NC_AUTH_FIELD_MAX || pl > NC_AUTH_FIELD_MAX)
		abort();
	if (!nc_auth_check(a, u, ul, p, pl))
		abort();
	{
		char wrong[NC_AUTH_FIELD_MAX + 1];

		memcpy(wrong, p, pl);
		wrong[pl] = '\x01'; /* no password holds a control byte: never a match */
		if (nc_auth_check(a, u, ul, wrong, pl + 1))
			abort();
	}
	nc_auth_destroy(&a);
	if (a != NULL)
		abort();
}

/* A PLAIN message that logged in: authzid NUL user NUL password of one of the set's users. */
static void
plain_logged_in(const uint8_t *m, size_t len)
{
	static const char *const pairs[][2] = {{"alice", "secret"}, {"bob", "hunter2"},
					      {"carol", ""}};
	const uint8_t *n1 = memchr(m, '\0', len), *n2;
	size_t ul, pl;

	if (n1 == NULL)
		abort();
	n2 = memchr(n1 + 1, '\0', len - (size_t)(n1 + 1 - m));
	if (n2 == NULL)
		abort();
	ul = (size_t)(n2 - n1 - 1);
	pl = len - (size_t)(n2 + 1 - m);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (ul == strlen(pairs[i][0]) && memcmp(n1 + 1, pairs[i][0], ul) == 0 &&
		    pl == strlen(pairs[i][1]) && memcmp(n2 + 1, pairs[i][1], pl) == 0)
			return;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nc_auth *set;
	uint8_t *copy;
	char err[256];

	if (size < 1)
		return 0;
	if (set == NULL && nc_auth_parse(users, sizeof(users) - 1, "fixed", &set, err,
					 sizeof(err)) != 0)
		abort();
	copy = malloc(size - 1 ? size - 1 : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		file_case(copy, size - 1);
		break;
	case 1:
		if (nc_auth_plain(set, copy, size - 1))
			plain_logged_in(copy, size - 1);
		break;
	default:
		(void)nc_auth_text_token(set, (const char *)copy, size - 1);
		break;
	}
	free(copy);
	return 0;
}
