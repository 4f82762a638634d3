// SPDX-License-Identifier: GPL-2.0
/*
 * libmicrohttpd with the exporter toolkit's web config.  Its idle timeout
 * restarts on every byte, so a client sending its headers a byte at a time
 * would hold a connection for ever: each connection is registered when it
 * opens and shut down by the server's own thread once it has spent
 * --timeout without a request in progress (TLS handshake and headers
 * included).  That thread also takes SIGHUP and re-reads the web config:
 * users swap under a lock; new TLS material starts a new daemon on the same
 * listening socket before the old one stops, so the socket never closes
 * and the probes, owned by the caller, are never touched.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include "httpd.h"

#define SWEEP_NS 100000000ULL	/* how often slow connections are looked for */

struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t since;		/* opened, or its last request ended */
	bool in_request, cut;
};

/* One libmicrohttpd daemon and the TLS policy it was started with. */
struct daemon {
	struct httpd *h;
	struct MHD_Daemon *mhd;
	enum wc_client_auth client_auth;
	bool tls;
};

struct httpd {
	struct httpd_opts o;
	MHD_AccessHandlerCallback handler;
	void *cls;
	pthread_rwlock_t cfg_lock;	/* wc: requests read users, a reload swaps it */
	struct webconfig *wc;
	struct daemon *d;		/* only the server's thread replaces it */
	pthread_mutex_t conn_lock;	/* the connection list */
	struct conn conns;
	pthread_t thread;
	atomic_bool stopping;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct webconfig *httpd_read_config(const char *path)
{
	struct webconfig *wc = calloc(1, sizeof(*wc));
	char err[512];

	if (!wc) {
		fprintf(stderr, "kvmlockstat: invalid --web-config %s: out of memory\n", path);
		return NULL;
	}
	if (webconfig_load(path, wc, err, sizeof(err))) {
		fprintf(stderr, "kvmlockstat: invalid --web-config %s: %s\n", path, err);
		free(wc);
		return NULL;
	}
	return wc;
}

static void config_free(struct webconfig *wc)
{
	if (wc)
		webconfig_free(wc);
	free(wc);
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

/*
 * libmicrohttpd asks for a client certificate only when it has a CA to check
 * it with; RequestClientCert and RequireAnyClientCert have none.
 */
static void ask_client_cert(const struct daemon *d, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i;

	if (!d->tls || d->client_auth == WC_NO_CLIENT_CERT)
		return;
	i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (i && i->tls_session)
		gnutls_certificate_server_set_request(i->tls_session, GNUTLS_CERT_REQUEST);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct daemon *d = cls;
	struct httpd *h = d->h;
	const union MHD_ConnectionInfo *i;
	struct conn *n = *ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ask_client_cert(d, c);
		i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		n = calloc(1, sizeof(*n));
		if (!n || !i) {
			free(n);
			return;
		}
		n->fd = i->connect_fd;
		n->since = now_ns();
		pthread_mutex_lock(&h->conn_lock);
		n->next = h->conns.next;
		n->prev = &h->conns;
		n->next->prev = n;
		h->conns.next = n;
		pthread_mutex_unlock(&h->conn_lock);
		*ctx = n;
	} else if (n) {	/* closed: libmicrohttpd closes the socket after this returns */
		pthread_mutex_lock(&h->conn_lock);
		n->prev->next = n->next;
		n->next->prev = n->prev;
		pthread_mutex_unlock(&h->conn_lock);
		free(n);
		*ctx = NULL;
	}
}

static void set_in_request(struct httpd *h, struct MHD_Connection *c, bool in)
{
	struct conn *n = conn_of(c);

	if (!n)
		return;
	pthread_mutex_lock(&h->conn_lock);
	n->in_request = in;
	n->since = now_ns();
	pthread_mutex_unlock(&h->conn_lock);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode code)
{
	set_in_request(cls, c, false);
}

/* Connections past --timeout without a request in progress: their sockets shut down. */
static void cut_slow(struct httpd *h)
{
	/* one sweep early, so no connection outlives --timeout by a sweep */
	uint64_t limit = h->o.timeout * 1000000000ULL - SWEEP_NS, now = now_ns();

	pthread_mutex_lock(&h->conn_lock);
	for (struct conn *n = h->conns.next; n != &h->conns; n = n->next) {
		if (n->in_request || n->cut || now - n->since < limit)
			continue;
		shutdown(n->fd, SHUT_RDWR);	/* libmicrohttpd sees the end and closes it */
		n->cut = true;
	}
	pthread_mutex_unlock(&h->conn_lock);
}

static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status, const char *msg)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), (void *)msg,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_UNAUTHORIZED)
		ret = MHD_queue_basic_auth_fail_response(c, "kvmlockstat", r);
	else
		ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The client's certificate against client_auth_type; NULL when it passes. */
static const char *client_cert_refused(const struct daemon *d, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s = i ? i->tls_session : NULL;
	unsigned n = 0, status = 0;
	bool given;

	if (d->client_auth == WC_NO_CLIENT_CERT || d->client_auth == WC_REQUEST_CLIENT_CERT)
		return NULL;
	if (!s)
		return "no TLS session\n";
	given = gnutls_certificate_get_peers(s, &n) && n;
	if (!given && d->client_auth != WC_VERIFY_CLIENT_CERT_IF_GIVEN)
		return "a client certificate is required\n";
	if (!given || d->client_auth == WC_REQUIRE_ANY_CLIENT_CERT)
		return NULL;
	if (gnutls_certificate_verify_peers2(s, &status) < 0 || status)
		return "the client certificate is not signed by client_ca_file\n";
	return NULL;
}

static bool password_ok(struct httpd *h, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	bool ok = true;

	pthread_rwlock_rdlock(&h->cfg_lock);
	if (h->wc && h->wc->n_users) {
		user = MHD_basic_auth_get_username_password(c, &pass);
		ok = user && pass && webconfig_auth(h->wc, user, pass);
		if (pass)
			memset(pass, 0, strlen(pass));
		MHD_free(user);
		MHD_free(pass);
	}
	pthread_rwlock_unlock(&h->cfg_lock);
	return ok;
}

static enum MHD_Result guarded(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **req_cls)
{
	struct daemon *d = cls;
	struct httpd *h = d->h;
	const char *why;

	set_in_request(h, c, true);
	why = d->tls ? client_cert_refused(d, c) : NULL;
	if (why)
		return refuse(c, MHD_HTTP_FORBIDDEN, why);
	if (!password_ok(h, c))
		return refuse(c, MHD_HTTP_UNAUTHORIZED, "401 Unauthorized\n");
	return h->handler(h->cls, c, url, method, version, upload, upload_size, req_cls);
}

/* A libmicrohttpd daemon on a copy of the listening socket, with WC's TLS. */
static struct daemon *daemon_start(struct httpd *h, const struct webconfig *wc)
{
	const struct httpd_opts *o = &h->o;
	/* ITC: a quiesced daemon's threads must be woken to let go of the socket. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 (o->ipv6 ? MHD_USE_IPv6 : 0) | (o->verbose ? MHD_USE_ERROR_LOG : 0);
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, wc ? wc->cert : NULL },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, wc ? wc->key : NULL },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, wc ? (void *)wc->priorities : NULL },
		{ wc && wc->ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, wc ? wc->ca : NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct daemon *d = calloc(1, sizeof(*d));
	int fd = dup(o->fd);

	if (!d || fd < 0)
		goto fail;
	d->h = h;
	d->tls = wc && wc->tls;
	d->client_auth = wc ? wc->client_auth : WC_NO_CLIENT_CERT;
	d->mhd = MHD_start_daemon(flags | (d->tls ? MHD_USE_TLS : 0), 0, NULL, NULL, guarded, d,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_THREAD_POOL_SIZE, o->threads,
				  MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
				  MHD_OPTION_CONNECTION_LIMIT, o->max_conns,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_MEMORY_LIMIT,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, d,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				  d->tls ? MHD_OPTION_ARRAY : MHD_OPTION_END, tls,
				  MHD_OPTION_END);
	if (d->mhd)
		return d;
fail:
	if (fd >= 0)
		close(fd);
	free(d);
	return NULL;
}

/*
 * Stopping a daemon shuts its listening socket down, for every copy: one
 * replaced by a reload is quiesced first (it lets go of its copy untouched).
 */
static void daemon_stop(struct daemon *d, bool quiesce)
{
	int fd = quiesce ? MHD_quiesce_daemon(d->mhd) : -1;

	MHD_stop_daemon(d->mhd);
	if (fd >= 0)
		close(fd);
	free(d);
}

/* SIGHUP: the new file in, or the old one kept and said so. */
static void reload(struct httpd *h)
{
	struct webconfig *wc = calloc(1, sizeof(*wc)), *old;
	struct daemon *d = NULL, *old_d = NULL;
	char err[512];

	if (!h->o.web_config) {
		fprintf(stderr, "kvmlockstat: SIGHUP: no --web-config to re-read\n");
		free(wc);
		return;
	}
	if (!wc || webconfig_load(h->o.web_config, wc, err, sizeof(err))) {
		fprintf(stderr, "kvmlockstat: --web-config %s: %s; keeping the previous one\n",
			h->o.web_config, wc ? err : "out of memory");
		free(wc);
		return;
	}
	if (webconfig_tls_differs(wc, h->wc)) {
		d = daemon_start(h, wc);
		if (!d) {
			fprintf(stderr, "kvmlockstat: --web-config %s: libmicrohttpd refuses its TLS "
				"(-v says why); keeping the previous one\n", h->o.web_config);
			config_free(wc);
			return;
		}
		old_d = h->d;
		h->d = d;
	}
	pthread_rwlock_wrlock(&h->cfg_lock);
	old = h->wc;
	h->wc = wc;
	pthread_rwlock_unlock(&h->cfg_lock);
	if (old_d)
		daemon_stop(old_d, true);	/* after the swap: its material is freed below */
	config_free(old);
	fprintf(stderr, "kvmlockstat: --web-config %s re-read: %zu user(s), %s%s\n",
		h->o.web_config, wc->n_users, wc->tls ? "https" : "http",
		d ? " (server restarted with the new TLS settings)" : "");
}

static void *server_thread(void *arg)
{
	struct httpd *h = arg;
	struct timespec ts = { 0, SWEEP_NS };
	sigset_t hup;

	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	while (!atomic_load(&h->stopping)) {
		if (sigtimedwait(&hup, NULL, &ts) == SIGHUP)
			reload(h);
		cut_slow(h);
	}
	return NULL;
}

/* Every daemon gets its own copy of o->fd, so a reload's new daemon takes over the socket. */
struct httpd *httpd_start(const struct httpd_opts *o, MHD_AccessHandlerCallback handler, void *cls)
{
	struct httpd *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->o = *o;
	h->handler = handler;
	h->cls = cls;
	h->wc = o->wc;
	h->conns.next = h->conns.prev = &h->conns;
	pthread_rwlock_init(&h->cfg_lock, NULL);
	pthread_mutex_init(&h->conn_lock, NULL);
	h->d = daemon_start(h, h->wc);
	if (!h->d || pthread_create(&h->thread, NULL, server_thread, h)) {
		if (h->d)
			daemon_stop(h->d, true);
		config_free(h->wc);
		free(h);
		return NULL;
	}
	return h;
}

bool httpd_tls(struct httpd *h)
{
	return h->d->tls;
}

void httpd_stop(struct httpd *h)
{
	atomic_store(&h->stopping, true);
	pthread_join(h->thread, NULL);
	daemon_stop(h->d, false);
	close(h->o.fd);
	config_free(h->wc);
	free(h);
}
