// SPDX-License-Identifier: GPL-2.0
/*
 * --web-config: the exporter toolkit's YAML read with libyaml, checked as
 * strictly as the toolkit does (unknown keys, bad values, unreadable or
 * mismatched certificate and key are errors), so a file promtool accepts
 * means the same here and a wrong one names its key.  Certificates are
 * checked with GnuTLS, the library libmicrohttpd serves TLS with.
 */
#include <crypt.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include <yaml.h>
#include "webconfig.h"

struct wc_parse {
	yaml_document_t *doc;
	const char *dir;	/* the file's directory: relative paths start there */
	char *err;
	size_t err_len;
};

static int fail(struct wc_parse *p, const char *key, const char *fmt, ...)
{
	size_t n = snprintf(p->err, p->err_len, "%s: ", key);
	va_list ap;

	va_start(ap, fmt);
	if (n < p->err_len)
		vsnprintf(p->err + n, p->err_len - n, fmt, ap);
	va_end(ap);
	return -1;
}

static yaml_node_t *node(struct wc_parse *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML's null (empty, ~, null) for an absent value, as Go's decoder reads it. */
static bool is_null(yaml_node_t *n)
{
	const char *s = scalar(n);

	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"));
}

static int want_scalar(struct wc_parse *p, const char *key, yaml_node_t *n, const char **out)
{
	if (is_null(n)) {
		*out = "";
		return 0;
	}
	*out = scalar(n);
	return *out ? 0 : fail(p, key, "expected a string");
}

/* A whole file, NUL-terminated; relative paths are taken from the config's directory. */
static int read_file(struct wc_parse *p, const char *key, const char *path, char **out)
{
	char full[4096];
	size_t len = 0, cap = 4096, n;
	char *buf;
	FILE *f;

	if (path[0] == '/' || !p->dir)
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", p->dir, path);
	f = fopen(full, "re");
	if (!f)
		return fail(p, key, "cannot read %s: %s", full, strerror(errno));
	buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *more = cap < (1 << 20) ? realloc(buf, cap *= 2) : NULL;

			if (!more)
				free(buf);
			buf = more;
		}
	}
	fclose(f);
	if (!buf)
		return fail(p, key, "%s: too large or out of memory", full);
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static const char *const client_auth_names[] = {
	[WC_NO_CLIENT_CERT] = "NoClientCert",
	[WC_REQUEST_CLIENT_CERT] = "RequestClientCert",
	[WC_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
	[WC_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
	[WC_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

static int parse_client_auth(struct wc_parse *p, const char *v, struct webconfig *wc)
{
	for (size_t i = 0; i < sizeof(client_auth_names) / sizeof(*client_auth_names); i++) {
		if (!strcmp(v, client_auth_names[i])) {
			wc->client_auth = i;
			return 0;
		}
	}
	return fail(p, "tls_server_config.client_auth_type", "'%s' is none of NoClientCert, "
		    "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
		    "RequireAndVerifyClientCert", v);
}

/* TLS10..TLS13 as an index 0..3; "" keeps DFLT. */
static int parse_version(struct wc_parse *p, const char *key, const char *v, int dflt, int *out)
{
	static const char *const names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };

	if (!*v) {
		*out = dflt;
		return 0;
	}
	for (int i = 0; i < 4; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	}
	return fail(p, key, "'%s' is none of TLS10, TLS11, TLS12, TLS13", v);
}

static int parse_bool(struct wc_parse *p, const char *key, const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
		*out = true;
	else if (!*v || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
		*out = false;
	else
		return fail(p, key, "'%s' is not true or false", v);
	return 0;
}

/* Keys of the toolkit's format this exporter cannot honour: refused, never ignored. */
static int unsupported(struct wc_parse *p, const char *key, yaml_node_t *v)
{
	if (is_null(v) || (v->type == YAML_SEQUENCE_NODE &&
			   v->data.sequence.items.top == v->data.sequence.items.start))
		return 0;
	return fail(p, key, "not supported by kvmlockstat (GnuTLS picks the ciphers and curves; "
		    "remove the key)");
}

struct tls_keys {
	const char *cert_file, *key_file, *ca_file, *auth, *min, *max;
	bool prefer_server;
};

static int tls_key(struct wc_parse *p, const char *k, yaml_node_t *v, struct tls_keys *t)
{
	static const char *const strings[] = { "cert_file", "key_file", "client_ca_file",
					       "client_auth_type", "min_version", "max_version" };
	const char **slots[] = { &t->cert_file, &t->key_file, &t->ca_file, &t->auth, &t->min,
				 &t->max };
	char key[96];
	const char *s;

	snprintf(key, sizeof(key), "tls_server_config.%s", k);
	for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++)
		if (!strcmp(k, strings[i]))
			return want_scalar(p, key, v, slots[i]);
	if (!strcmp(k, "prefer_server_cipher_suites"))
		return want_scalar(p, key, v, &s) ?: parse_bool(p, key, s, &t->prefer_server);
	if (!strcmp(k, "cipher_suites") || !strcmp(k, "curve_preferences") ||
	    !strcmp(k, "client_allowed_sans"))
		return unsupported(p, key, v);
	return fail(p, key, "unknown key");
}

/* Versions into a GnuTLS priority string, checked by GnuTLS itself. */
static int tls_priorities(struct wc_parse *p, const struct tls_keys *t, struct webconfig *wc)
{
	static const char *const vers[] = { "+VERS-TLS1.0", "+VERS-TLS1.1", "+VERS-TLS1.2",
					    "+VERS-TLS1.3" };
	gnutls_priority_t prio;
	const char *at;
	int lo = 2, hi = 3;
	size_t n;

	/* The toolkit's defaults: TLS 1.2 and up, the server's cipher order. */
	if (parse_version(p, "tls_server_config.min_version", t->min, 2, &lo) ||
	    parse_version(p, "tls_server_config.max_version", t->max, 3, &hi))
		return -1;
	if (lo > hi)
		return fail(p, "tls_server_config.min_version", "%s is above max_version %s",
			    t->min, t->max);
	n = snprintf(wc->priorities, sizeof(wc->priorities), "NORMAL:-VERS-ALL");
	for (int i = lo; i <= hi; i++)
		n += snprintf(wc->priorities + n, sizeof(wc->priorities) - n, ":%s", vers[i]);
	if (t->prefer_server)
		snprintf(wc->priorities + n, sizeof(wc->priorities) - n, ":%%SERVER_PRECEDENCE");
	if (gnutls_priority_init(&prio, wc->priorities, &at) < 0)
		return fail(p, "tls_server_config.min_version", "GnuTLS refuses '%s'", wc->priorities);
	gnutls_priority_deinit(prio);
	return 0;
}

/* The certificate and key must load and match; the CA file must hold a certificate. */
static int tls_check(struct wc_parse *p, struct webconfig *wc)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t c = { (unsigned char *)wc->cert, strlen(wc->cert) };
	gnutls_datum_t k = { (unsigned char *)wc->key, strlen(wc->key) };
	int err;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return fail(p, "tls_server_config", "out of memory");
	err = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
	if (err < 0) {
		fail(p, "tls_server_config.key_file", "does not load with cert_file: %s",
		     gnutls_strerror(err));
	} else if (wc->ca) {
		gnutls_datum_t ca = { (unsigned char *)wc->ca, strlen(wc->ca) };

		err = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (err <= 0) {
			fail(p, "tls_server_config.client_ca_file", "%s",
			     err < 0 ? gnutls_strerror(err) : "holds no PEM certificate");
			err = -1;
		}
	}
	gnutls_certificate_free_credentials(cred);
	return err < 0 ? -1 : 0;
}

static int parse_tls(struct wc_parse *p, yaml_node_t *n, struct webconfig *wc)
{
	struct tls_keys t = { "", "", "", "", "", "", true };
	bool verify;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, "tls_server_config", "expected a mapping");
	for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
		const char *k = scalar(node(p, kv->key));

		if (!k || tls_key(p, k, node(p, kv->value), &t))
			return k ? -1 : fail(p, "tls_server_config", "keys must be strings");
	}
	/* As the toolkit: nothing of TLS set means plain HTTP. */
	if (!*t.cert_file && !*t.key_file && !*t.ca_file && !*t.auth)
		return 0;
	if (!*t.cert_file)
		return fail(p, "tls_server_config.cert_file", "missing (key_file needs it)");
	if (!*t.key_file)
		return fail(p, "tls_server_config.key_file", "missing (cert_file needs it)");
	if (*t.auth && parse_client_auth(p, t.auth, wc))
		return -1;
	verify = wc->client_auth == WC_VERIFY_CLIENT_CERT_IF_GIVEN ||
		 wc->client_auth == WC_REQUIRE_AND_VERIFY_CLIENT_CERT;
	if (*t.ca_file && wc->client_auth == WC_NO_CLIENT_CERT)
		return fail(p, "tls_server_config.client_ca_file", "set, but client_auth_type "
			    "NoClientCert asks for no client certificate");
	if (verify && !*t.ca_file)
		return fail(p, "tls_server_config.client_ca_file", "missing (client_auth_type %s "
			    "verifies against it)", client_auth_names[wc->client_auth]);
	wc->tls = true;
	if (read_file(p, "tls_server_config.cert_file", t.cert_file, &wc->cert) ||
	    read_file(p, "tls_server_config.key_file", t.key_file, &wc->key) ||
	    (*t.ca_file && read_file(p, "tls_server_config.client_ca_file", t.ca_file, &wc->ca)))
		return -1;
	return tls_priorities(p, &t, wc) ?: tls_check(p, wc);
}

/* A bcrypt hash crypt(3) takes: $2a$, $2b$ or $2y$, and hashing with it keeps its setting. */
static bool bcrypt_hash_ok(const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	bool ok;

	if (strncmp(hash, "$2a$", 4) && strncmp(hash, "$2b$", 4) && strncmp(hash, "$2y$", 4))
		return false;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	out = crypt_rn("", hash, cd, sizeof(*cd));
	ok = out && strlen(out) == strlen(hash) && !strncmp(out, hash, 29);
	free(cd);
	return ok;
}

static const char *user_hash(const struct webconfig *wc, const char *user)
{
	for (size_t i = 0; i < wc->n_users; i++)
		if (wc->users[i].name && !strcmp(wc->users[i].name, user))
			return wc->users[i].hash;
	return NULL;
}

static int parse_users(struct wc_parse *p, yaml_node_t *n, struct webconfig *wc)
{
	size_t max;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, "basic_auth_users", "expected a mapping of user: bcrypt hash");
	max = n->data.mapping.pairs.top - n->data.mapping.pairs.start;
	wc->users = calloc(max ? max : 1, sizeof(*wc->users));
	if (!wc->users)
		return fail(p, "basic_auth_users", "out of memory");
	for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
		const char *user = scalar(node(p, kv->key)), *hash = scalar(node(p, kv->value));
		char key[320];

		snprintf(key, sizeof(key), "basic_auth_users.%s", user ? user : "?");
		if (!user || !*user || strchr(user, ':'))
			return fail(p, key, "a user name is a non-empty string without ':'");
		if (user_hash(wc, user))
			return fail(p, key, "listed twice");
		if (!hash || !bcrypt_hash_ok(hash))
			return fail(p, key, "not a bcrypt hash ($2y$ or $2b$, as htpasswd -B makes)");
		wc->users[wc->n_users].name = strdup(user);
		wc->users[wc->n_users].hash = strdup(hash);
		if (!wc->users[wc->n_users].name || !wc->users[wc->n_users].hash)
			return fail(p, key, "out of memory");
		wc->n_users++;
	}
	return 0;
}

static int parse_http(struct wc_parse *p, yaml_node_t *n)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, "http_server_config", "expected a mapping");
	for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
		const char *k = scalar(node(p, kv->key)), *v;
		char key[96];
		bool b;

		snprintf(key, sizeof(key), "http_server_config.%s", k ? k : "?");
		/* HTTP/1.1 is all libmicrohttpd speaks: http2 changes nothing either way. */
		if (k && !strcmp(k, "http2")) {
			if (want_scalar(p, key, node(p, kv->value), &v) || parse_bool(p, key, v, &b))
				return -1;
		} else if (k && !strcmp(k, "headers")) {
			if (unsupported(p, key, node(p, kv->value)))
				return -1;
		} else {
			return fail(p, key, "unknown key");
		}
	}
	return 0;
}

static int parse_root(struct wc_parse *p, yaml_node_t *root, struct webconfig *wc)
{
	if (!root || is_null(root))	/* an empty file: plain HTTP, no users */
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(p, "(top level)", "expected a mapping");
	for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top; kv++) {
		const char *k = scalar(node(p, kv->key));
		yaml_node_t *v = node(p, kv->value);
		int err;

		if (!k)
			return fail(p, "(top level)", "keys must be strings");
		if (!strcmp(k, "tls_server_config"))
			err = parse_tls(p, v, wc);
		else if (!strcmp(k, "basic_auth_users"))
			err = parse_users(p, v, wc);
		else if (!strcmp(k, "http_server_config"))
			err = parse_http(p, v);
		else
			err = fail(p, k, "unknown key (tls_server_config, http_server_config, "
				   "basic_auth_users)");
		if (err)
			return -1;
	}
	return 0;
}

int webconfig_load(const char *path, struct webconfig *wc, char *err, size_t err_len)
{
	char *copy = strdup(path);
	struct wc_parse p = { .dir = copy ? dirname(copy) : NULL, .err = err, .err_len = err_len };
	yaml_document_t doc;
	yaml_parser_t parser;
	FILE *f;
	int ret = -1;

	memset(wc, 0, sizeof(*wc));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, err_len, "cannot read it: %s", strerror(errno));
		free(copy);
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, err_len, "line %zu: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not YAML");
	} else {
		p.doc = &doc;
		ret = parse_root(&p, yaml_document_get_root_node(&doc), wc);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	free(copy);
	if (ret)
		webconfig_free(wc);
	return ret;
}

void webconfig_free(struct webconfig *wc)
{
	for (size_t i = 0; i < wc->n_users; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	free(wc->cert);
	free(wc->key);
	free(wc->ca);
	memset(wc, 0, sizeof(*wc));
}

static bool str_differs(const char *a, const char *b)
{
	return (!a != !b) || (a && strcmp(a, b));
}

bool webconfig_tls_differs(const struct webconfig *a, const struct webconfig *b)
{
	return a->tls != b->tls || a->client_auth != b->client_auth ||
	       strcmp(a->priorities, b->priorities) || str_differs(a->cert, b->cert) ||
	       str_differs(a->key, b->key) || str_differs(a->ca, b->ca);
}

/* Every byte compared whatever the first difference, so timing tells nothing. */
static bool equal_in_constant_time(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

bool webconfig_auth(const struct webconfig *wc, const char *user, const char *pass)
{
	const char *hash = user_hash(wc, user), *out;
	struct crypt_data *cd;
	bool ok;

	if (!wc->n_users)
		return false;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	/* An unknown user is hashed against the first user's setting, then refused. */
	out = crypt_rn(pass, hash ? hash : wc->users[0].hash, cd, sizeof(*cd));
	ok = hash && out && equal_in_constant_time(out, hash);
	free(cd);
	return ok;
}
