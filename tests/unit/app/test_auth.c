/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for app/nicached/auth.c: the auth file's parser and the checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

#define ERRCAP 256

static struct nc_auth *
parse_ok(const char *text)
{
	struct nc_auth *a = NULL;
	char err[ERRCAP];

	assert_int_equal(nc_auth_parse(text, strlen(text), "t", &a, err, sizeof(err)), 0);
	assert_non_null(a);
	return a;
}

static void
parse_bad(const char *text, const char *why)
{
	struct nc_auth *a = NULL;
	char err[ERRCAP] = "";

	assert_int_equal(nc_auth_parse(text, strlen(text), "f.txt", &a, err, sizeof(err)),
			 -EINVAL);
	assert_null(a);
	if (strstr(err, why) == NULL)
		fail_msg("error '%s' does not say '%s'", err, why);
	assert_non_null(strstr(err, "f.txt"));
}

static void
test_parse(void **state)
{
	struct nc_auth *a;
	const char *u, *p;
	size_t ul, pl;

	(void)state;
	a = parse_ok("alice:secret\r\n# a comment\n\nbob:pw:with:colons\ncarol:");
	assert_int_equal(nc_auth_count(a), 3);
	nc_auth_first(a, &u, &ul, &p, &pl);
	assert_int_equal(ul, 5);
	assert_memory_equal(u, "alice", 5);
	assert_int_equal(pl, 6);
	assert_memory_equal(p, "secret", 6);
	assert_true(nc_auth_check(a, "alice", 5, "secret", 6));
	assert_true(nc_auth_check(a, "bob", 3, "pw:with:colons", 14));
	assert_true(nc_auth_check(a, "carol", 5, "", 0)); /* an empty password is a password */
	assert_false(nc_auth_check(a, "carol", 5, "x", 1));
	nc_auth_destroy(&a);
	assert_null(a);
	nc_auth_destroy(&a); /* NULL is fine */
}

static void
test_parse_errors(void **state)
{
	char big[NC_AUTH_FIELD_MAX + 8];

	(void)state;
	parse_bad("", "no users");
	parse_bad("# only a comment\n\n", "no users");
	parse_bad("alice:ok\nnocolon\n", ":2: malformed entry");
	parse_bad(":pw\n", "empty user name");
	parse_bad("al ice:pw\n", "space in the user name");
	parse_bad("alice:p w\n", "space in the password");
	parse_bad("alice:p\tw\n", "control byte in the password");
	memset(big, 'u', sizeof(big));
	memcpy(big + NC_AUTH_FIELD_MAX + 1, ":pw\n", 5);
	parse_bad(big, "user name longer than 255");
}

static void
test_too_many_users(void **state)
{
	size_t cap = (NC_AUTH_USERS_MAX + 1) * 16, len = 0;
	char *t = malloc(cap);

	(void)state;
	assert_non_null(t);
	for (unsigned i = 0; i <= NC_AUTH_USERS_MAX; i++)
		len += (size_t)snprintf(t + len, cap - len, "u%u:p\n", i);
	{
		struct nc_auth *a = NULL;
		char err[ERRCAP];

		assert_int_equal(nc_auth_parse(t, len, "t", &a, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "more than"));
	}
	free(t);
}

static void
test_check(void **state)
{
	struct nc_auth *a = parse_ok("alice:secret\nbob:hunter2\n");
	char longer[NC_AUTH_FIELD_MAX + 10];

	(void)state;
	assert_true(nc_auth_check(a, "bob", 3, "hunter2", 7));
	assert_false(nc_auth_check(a, "bob", 3, "secret", 6));	  /* another user's password */
	assert_false(nc_auth_check(a, "alice", 5, "secre", 5));	  /* a prefix */
	assert_false(nc_auth_check(a, "alice", 5, "secretX", 7)); /* longer */
	assert_false(nc_auth_check(a, "alic", 4, "secret", 6));
	assert_false(nc_auth_check(a, "", 0, "", 0));
	/* Zero padding is no wildcard: "secret\0" is not "secret". */
	assert_false(nc_auth_check(a, "alice", 5, "secret\0", 7));
	memset(longer, 's', sizeof(longer));
	assert_false(nc_auth_check(a, "alice", 5, longer, sizeof(longer)));
	assert_false(nc_auth_check(NULL, "alice", 5, "secret", 6));
	nc_auth_destroy(&a);
}

static void
test_equal(void **state)
{
	(void)state;
	assert_true(nc_auth_equal("abc", "abc", 3));
	assert_false(nc_auth_equal("abc", "abd", 3));
	assert_false(nc_auth_equal("xbc", "abc", 3));
	assert_true(nc_auth_equal("", "", 0));
}

static void
test_plain(void **state)
{
	struct nc_auth *a = parse_ok("alice:secret\n");

	(void)state;
#define PLAIN(lit) nc_auth_plain(a, (const uint8_t *)(lit), sizeof(lit) - 1)
	assert_true(PLAIN("\0alice\0secret"));
	assert_true(PLAIN("alice\0alice\0secret")); /* authzid = authcid */
	assert_false(PLAIN("bob\0alice\0secret"));  /* for another identity */
	assert_false(PLAIN("\0alice\0wrong"));
	assert_false(PLAIN("\0alice\0secret\0"));   /* a third NUL */
	assert_false(PLAIN("alicesecret"));
	assert_false(PLAIN("\0alicesecret"));
	assert_false(PLAIN(""));
#undef PLAIN
	nc_auth_destroy(&a);
}

static void
test_text_token(void **state)
{
	struct nc_auth *a = parse_ok("alice:secret\n");

	(void)state;
#define TOK(lit) nc_auth_text_token(a, (lit), sizeof(lit) - 1)
	assert_int_equal(TOK("alice secret"), NC_AUTH_TOKEN_OK);
	assert_int_equal(TOK("  alice   secret  "), NC_AUTH_TOKEN_OK); /* as memcached */
	assert_int_equal(TOK("alice secret extra"), NC_AUTH_TOKEN_OK);
	assert_int_equal(TOK("alice wrong"), NC_AUTH_TOKEN_FAIL);
	assert_int_equal(TOK("alice"), NC_AUTH_TOKEN_FORMAT);
	assert_int_equal(TOK("alice:secret"), NC_AUTH_TOKEN_FORMAT);
	assert_int_equal(TOK(""), NC_AUTH_TOKEN_FORMAT);
#undef TOK
	nc_auth_destroy(&a);
}

static void
test_load(void **state)
{
	char path[] = "/tmp/nc-auth-test.XXXXXX";
	struct nc_auth *a = NULL;
	char err[ERRCAP];
	int fd;

	(void)state;
	assert_int_equal(nc_auth_load("/nonexistent/nc-auth", &a, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/nc-auth"));
	assert_int_equal(nc_auth_load("/tmp", &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "u1:p1\nu2:p2\n", 12), 12);
	close(fd);
	assert_int_equal(nc_auth_load(path, &a, err, sizeof(err)), 0);
	assert_int_equal(nc_auth_count(a), 2);
	assert_true(nc_auth_check(a, "u2", 2, "p2", 2));
	nc_auth_destroy(&a);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	   cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_too_many_users), cmocka_unit_test(test_check),
		cmocka_unit_test(test_equal),	   cmocka_unit_test(test_plain),
		cmocka_unit_test(test_text_token), cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
