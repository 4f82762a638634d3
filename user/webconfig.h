/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exporter's --web-config file, in the format of Prometheus's exporter
 * toolkit (node_exporter's --web.config.file): TLS material and client
 * certificate policy, and basic-auth users with bcrypt hashes.
 */
#ifndef WEBCONFIG_H
#define WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* tls_server_config.client_auth_type, Go's tls.ClientAuthType names. */
enum wc_client_auth {
	WC_NO_CLIENT_CERT,		/* NoClientCert (the default) */
	WC_REQUEST_CLIENT_CERT,		/* RequestClientCert */
	WC_REQUIRE_ANY_CLIENT_CERT,	/* RequireAnyClientCert */
	WC_VERIFY_CLIENT_CERT_IF_GIVEN,	/* VerifyClientCertIfGiven */
	WC_REQUIRE_AND_VERIFY_CLIENT_CERT,	/* RequireAndVerifyClientCert */
};

struct wc_user {
	char *name, *hash;	/* hash: bcrypt, $2a$ / $2b$ / $2y$ */
};

struct webconfig {
	bool tls;		/* a tls_server_config with a certificate */
	char *cert, *key, *ca;	/* PEM text read from the files; ca may be NULL */
	enum wc_client_auth client_auth;
	char priorities[128];	/* GnuTLS priority string: min_version..max_version */
	struct wc_user *users;
	size_t n_users;
};

/*
 * Reads and checks PATH into WC (zeroed first).  On error returns -1 with
 * ERR holding one line "KEY: REASON" (KEY dotted, as in the file).
 */
int webconfig_load(const char *path, struct webconfig *wc, char *err, size_t err_len);
void webconfig_free(struct webconfig *wc);
/* Whether the TLS side (certificate, key, CA, client policy, versions) differs. */
bool webconfig_tls_differs(const struct webconfig *a, const struct webconfig *b);
/*
 * Whether USER and PASS match basic_auth_users.  An unknown user costs one
 * bcrypt too, so a miss takes as long as a wrong password.
 */
bool webconfig_auth(const struct webconfig *wc, const char *user, const char *pass);

#endif
