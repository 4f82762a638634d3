// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/* --web-config: what the toolkit's format accepts, the key each error names, bcrypt checks. */
#include <crypt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "webconfig.h"

static char err[512];

/* YAML into a temporary file, loaded; the load's return value. */
static int load(struct webconfig *wc, const char *yaml)
{
	char *dir = make_temp_dir(), path[4200];
	FILE *f;
	int ret;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	err[0] = '\0';
	ret = webconfig_load(path, wc, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	free(dir);
	return ret;
}

/* A bcrypt hash of PASS at the lowest cost, with PREFIX ($2b$ or $2y$). */
static char *bcrypt(const char *pass, const char *prefix)
{
	static char hash[CRYPT_OUTPUT_SIZE];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd = { 0 };

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, setting, sizeof(setting)));
	assert_non_null(crypt_rn(pass, setting, &cd, sizeof(cd)));
	snprintf(hash, sizeof(hash), "%s%s", prefix, cd.output + 4);
	return hash;
}

static void expect_error(const char *yaml, const char *key_and_reason)
{
	struct webconfig wc;

	assert_int_equal(load(&wc, yaml), -1);
	if (strncmp(err, key_and_reason, strlen(key_and_reason)))
		fail_msg("error '%s', expected it to start with '%s'", err, key_and_reason);
	assert_null(strchr(err, '\n'));
}

static void empty_file_is_plain_http(void **state)
{
	struct webconfig wc;

	assert_int_equal(load(&wc, ""), 0);
	assert_false(wc.tls);
	assert_int_equal(wc.n_users, 0);
	assert_int_equal(load(&wc, "tls_server_config:\nbasic_auth_users: ~\n"), 0);
	assert_false(wc.tls);
	/* every TLS key empty: plain HTTP, as the toolkit */
	assert_int_equal(load(&wc, "tls_server_config:\n  cert_file: ''\n  key_file: ''\n"), 0);
	assert_false(wc.tls);
}

static void users_checked_against_bcrypt(void **state)
{
	struct webconfig wc;
	char yaml[512];

	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n", bcrypt("secret", "$2b$"));
	strcat(yaml, "  bob: '");
	strcat(yaml, bcrypt("hunter2", "$2y$"));
	strcat(yaml, "'\n");
	assert_int_equal(load(&wc, yaml), 0);
	assert_int_equal(wc.n_users, 2);
	assert_true(webconfig_auth(&wc, "alice", "secret"));
	assert_true(webconfig_auth(&wc, "bob", "hunter2"));	/* $2y$, as htpasswd -B */
	assert_false(webconfig_auth(&wc, "alice", "hunter2"));
	assert_false(webconfig_auth(&wc, "alice", "secre"));
	assert_false(webconfig_auth(&wc, "alice", ""));
	assert_false(webconfig_auth(&wc, "carol", "secret"));
	webconfig_free(&wc);
}

static void errors_name_their_key(void **state)
{
	char yaml[512];

	expect_error("tls_server_confg:\n  cert_file: a\n", "tls_server_confg: unknown key");
	expect_error("tls_server_config:\n  certfile: a\n", "tls_server_config.certfile: unknown key");
	expect_error("tls_server_config:\n  key_file: k\n", "tls_server_config.cert_file: missing");
	expect_error("tls_server_config:\n  cert_file: c\n", "tls_server_config.key_file: missing");
	expect_error("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Maybe\n",
		     "tls_server_config.client_auth_type: 'Maybe' is none of");
	expect_error("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n",
		     "tls_server_config.client_ca_file: set, but client_auth_type NoClientCert");
	expect_error("tls_server_config:\n  cert_file: c\n  key_file: k\n"
		     "  client_auth_type: RequireAndVerifyClientCert\n",
		     "tls_server_config.client_ca_file: missing");
	expect_error("tls_server_config:\n  cert_file: /nonexistent/c\n  key_file: k\n",
		     "tls_server_config.cert_file: cannot read /nonexistent/c");
	expect_error("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
		     "tls_server_config.cipher_suites: not supported");
	expect_error("http_server_config:\n  http2: maybe\n", "http_server_config.http2: 'maybe' is not");
	expect_error("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice: not a bcrypt hash");
	expect_error("basic_auth_users:\n  alice: $2b$04$short\n", "basic_auth_users.alice: not a bcrypt hash");
	expect_error("basic_auth_users: [alice]\n", "basic_auth_users: expected a mapping");
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n", bcrypt("a", "$2b$"));
	snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "  alice: %s\n", bcrypt("b", "$2b$"));
	expect_error(yaml, "basic_auth_users.alice: listed twice");
	expect_error("tls_server_config: [\n", "line ");
	expect_error("- a\n- b\n", "(top level): expected a mapping");
}

static void http2_accepted(void **state)
{
	struct webconfig wc;

	assert_int_equal(load(&wc, "http_server_config:\n  http2: false\n"), 0);
	assert_false(wc.tls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_file_is_plain_http),
		cmocka_unit_test(users_checked_against_bcrypt),
		cmocka_unit_test(errors_name_their_key),
		cmocka_unit_test(http2_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
