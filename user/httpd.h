/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exporter's HTTP(S) server: libmicrohttpd behind --web-config's TLS,
 * client certificates and basic auth, with limits on connections, header
 * size and slow clients, and the config re-read on SIGHUP.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stdbool.h>
#include <microhttpd.h>
#include "webconfig.h"

/* Request line and headers above this get 431 (libmicrohttpd's per-connection pool). */
#define HTTPD_MEMORY_LIMIT (16 * 1024)

struct httpd_opts {
	int fd;			/* bound and listening; the server owns it once started */
	bool ipv6, verbose;
	unsigned threads, timeout, max_conns;
	const char *web_config;	/* re-read on SIGHUP; NULL: plain HTTP, no users */
	struct webconfig *wc;	/* its content (httpd_read_config); the server owns it */
};

struct httpd;

/* PATH read and checked; NULL after one line "invalid --web-config PATH: KEY: REASON". */
struct webconfig *httpd_read_config(const char *path);
/*
 * Serves HANDLER (called with CLS) once TLS, client certificate and basic
 * auth let a request through.  SIGHUP must be blocked in every thread: the
 * server's own thread takes it.  NULL when libmicrohttpd refuses: o->wc is
 * freed, o->fd is still the caller's.
 */
struct httpd *httpd_start(const struct httpd_opts *o, MHD_AccessHandlerCallback handler, void *cls);
bool httpd_tls(struct httpd *h);
/* Finishes requests in progress, closes every connection and the listening socket. */
void httpd_stop(struct httpd *h);

#endif
