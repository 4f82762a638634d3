// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlockstat exporter: the probes stay attached, the main thread drains
 * them every interval into the fleet totals (fleet.c), and libmicrohttpd's
 * thread pool serves /metrics from those totals.  A scrape only reads,
 * under the mutex; it never drains, resets or detaches.  Signals are taken
 * synchronously by the main thread (sigtimedwait), so SIGTERM mid-scrape
 * lets the scrape finish, stops the server and detaches every probe;
 * SIGHUP goes to the HTTP server's thread (httpd.c), which re-reads
 * --web-config with the probes attached.
 */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "collect.h"
#include "driver.h"
#include "cmd.h"
#include "family.h"
#include "kfacts.h"
#include "fleet.h"
#include "cli.h"
#include "httpd.h"
#include "metrics.h"
#include "vmid.h"

#define DEFAULT_LISTEN ":9477"

struct exporter_opts {
	const char *listen;
	struct sockaddr_storage addr;	/* --listen, parsed */
	socklen_t addr_len;
	bool per_vcpu, lock_functions, fault_types, verbose;
	double grace, interval, timeout;
	unsigned threads, max_conns;
	const char *web_config;
	struct webconfig *wc;		/* --web-config, read and checked */
};

struct exporter {
	pthread_mutex_t lock;	/* guards fleet: drains write, scrapes read */
	struct fleet fleet;
	uint64_t grace_ns;	/* --grace */
	struct metrics_opts mo;
};

enum { OPT_LISTEN = 0x200, OPT_PER_VCPU, OPT_GRACE, OPT_TIMEOUT, OPT_THREADS, OPT_LOCK_FUNCTIONS,
       OPT_FAULT_TYPES, OPT_WEB_CONFIG, OPT_MAX_CONNS };

static const struct argp_option exporter_options[] = {
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Serve /metrics there (default " DEFAULT_LISTEN ")", 0 },
	{ "per-vcpu", OPT_PER_VCPU, NULL, 0, "Split fault series by a vcpu label", 0 },
	{ "grace", OPT_GRACE, "SECONDS", 0, "Keep an exited VM's series this long (default 300)", 0 },
	{ "interval", 'i', "SECONDS", 0, "Drain the probes every SECONDS (default 1)", 0 },
	{ "timeout", OPT_TIMEOUT, "SECONDS", 0, "Close a connection idle this long, or still "
	  "sending its TLS handshake and headers after this long (default 10)", 0 },
	{ "threads", OPT_THREADS, "N", 0, "HTTP threads (default 4)", 0 },
	{ "max-connections", OPT_MAX_CONNS, "N", 0, "At most N connections at once (default 64)", 0 },
	{ "web-config", OPT_WEB_CONFIG, "FILE", 0, "TLS and basic auth, Prometheus web-config "
	  "format; SIGHUP re-reads it", 0 },
	{ "lock-functions", OPT_LOCK_FUNCTIONS, NULL, 0, CLI_DOC_LOCK_FUNCTIONS, 0 },
	{ "fault-types", OPT_FAULT_TYPES, NULL, 0, CLI_DOC_FAULT_TYPES, 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's and libmicrohttpd's messages", 0 },
	{},
};

static const char exporter_doc[] =
	"Keep kvmlockstat's probes attached and serve their totals in the Prometheus "
	"text format: mmu_lock contentions and wait histograms per VM and mode, stage-2 "
	"faults by type, the fast path, hold and dirty-log ioctl time, probe health and "
	"drops.  Counters only grow; VMs that exit are dropped after --grace.\v"
	"EXAMPLES:\n"
	"  kvmlockstat exporter --listen 127.0.0.1:9477\n"
	"  kvmlockstat exporter --listen :9477 --per-vcpu --grace 60\n"
	"  kvmlockstat exporter --web-config /etc/kvmlockstat/web-config.yml\n"
	"  curl -s localhost:9477/metrics";

static int parse_count(const char *arg, const char *name, long max, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > max) {
		fprintf(stderr, "kvmlockstat: invalid %s '%s': expected 1-%ld\n", name, arg, max);
		return EINVAL;
	}
	*out = v;
	return 0;
}

/* ADDR:PORT, [ADDR6]:PORT or :PORT into a socket address; one line and -1 when bad. */
static int parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(arg, ':');
	char host[64], *end;
	size_t hlen;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (!colon)
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
		goto bad;
	hlen = colon - arg;
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1)
			return 0;
		goto bad;
	}
	in4->sin_family = AF_INET;
	in4->sin_port = htons(port);
	*len = sizeof(*in4);
	if (!hlen)
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (!strcmp(host, "localhost"))
		in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "kvmlockstat: invalid --listen '%s': expected ADDR:PORT with a numeric "
		"address and a port 1-65535 (127.0.0.1:9477, [::1]:9477, :9477)\n", arg);
	return -1;
}

static error_t exporter_parse(int key, char *arg, struct argp_state *state)
{
	struct exporter_opts *o = state->input;

	switch (key) {
	case OPT_LISTEN:
		o->listen = arg;
		return parse_listen(arg, &o->addr, &o->addr_len) ? EINVAL : 0;
	case OPT_PER_VCPU: o->per_vcpu = true; return 0;
	case OPT_GRACE: return parse_seconds(arg, "--grace", &o->grace);
	case OPT_TIMEOUT:
		if (parse_seconds(arg, "--timeout", &o->timeout))
			return EINVAL;
		if (o->timeout < 1)	/* libmicrohttpd reads 0 as "never" */
			argp_error(state, "--timeout: at least 1 s");
		return 0;
	case OPT_THREADS: return parse_count(arg, "--threads", 256, &o->threads);
	case OPT_MAX_CONNS: return parse_count(arg, "--max-connections", 10000, &o->max_conns);
	case OPT_WEB_CONFIG:
		o->web_config = arg;
		o->wc = httpd_read_config(arg);
		return o->wc ? 0 : EINVAL;
	case OPT_LOCK_FUNCTIONS: o->lock_functions = true; return 0;
	case OPT_FAULT_TYPES: o->fault_types = true; return 0;
	case 'v': o->verbose = true; return 0;
	case 'i': return parse_interval(arg, "--interval", false, &o->interval);
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	case ARGP_KEY_END:
		if (!o->addr_len && parse_listen(o->listen, &o->addr, &o->addr_len))
			return EINVAL;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* Bound here rather than by libmicrohttpd, so a port in use is one clear line. */
static int listen_on(const struct exporter_opts *o)
{
	int one = 1, fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)&o->addr, o->addr_len) || listen(fd, 256)) {
		fprintf(stderr, "kvmlockstat: cannot listen on %s: %s\n", o->listen, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	return reply(conn, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg),
		     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_size, void **req_cls)
{
	struct exporter *e = cls;
	struct prom_buf b = { 0 };

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
	if (!strcmp(url, "/"))
		return text(conn, MHD_HTTP_OK, "kvmlockstat exporter: metrics at /metrics\n");
	if (strcmp(url, "/metrics"))
		return text(conn, MHD_HTTP_NOT_FOUND, "not found: metrics are at /metrics\n");
	pthread_mutex_lock(&e->lock);
	metrics_render(&b, &e->fleet, &e->mo);
	pthread_mutex_unlock(&e->lock);
	if (b.oom) {
		prom_buf_free(&b);
		return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(conn, MHD_HTTP_OK, PROM_CONTENT_TYPE, b.s, b.len, MHD_RESPMEM_MUST_FREE);
}

static const struct fleet_env vmm_env = { vmid_vm_name, vmid_vmm_alive };

/* One interval into the totals: /proc is read before taking the lock. */
static int fleet_sink(void *ctx, struct run *delta, struct run *total,
		      const struct interval_span *iv)
{
	struct exporter *e = ctx;
	struct vmm *running = NULL;
	size_t n = 0;
	int err = vmid_scan(&running, &n);

	if (!err) {
		pthread_mutex_lock(&e->lock);
		err = fleet_update(&e->fleet, delta, running, n, driver_now_ns(), e->grace_ns,
				   &vmm_env);
		pthread_mutex_unlock(&e->lock);
	}
	free(running);
	return err;
}

/* Until SIGINT or SIGTERM, which it returns (SIGHUP is the HTTP server's: a reload). */
static int wait_signal(void *stop, uint64_t until)
{
	uint64_t now = driver_now_ns(), wait = until > now ? until - now : 0;
	struct timespec ts = { wait / 1000000000, wait % 1000000000 };
	int sig = sigtimedwait(stop, NULL, &ts);

	if (sig > 0)
		return sig;
	if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

static struct httpd *start_http(struct exporter *e, int fd, const struct exporter_opts *o)
{
	struct httpd_opts ho = { .fd = fd, .ipv6 = o->addr.ss_family == AF_INET6,
				 .verbose = o->verbose, .threads = o->threads,
				 .timeout = o->timeout + 0.5, .max_conns = o->max_conns,
				 .web_config = o->web_config, .wc = o->wc };

	return httpd_start(&ho, serve, e);
}

static int run_exporter(const struct exporter_opts *o)
{
	struct probe_opts po = { .fault_backend = -1, .lock_functions = o->lock_functions,
				 .fault_types = o->fault_types, .verbose = o->verbose };
	struct exporter e = { .lock = PTHREAD_MUTEX_INITIALIZER, .mo = { .per_vcpu = o->per_vcpu },
			      .grace_ns = o->grace * 1e9 };
	struct collector c = { 0 };
	struct driver dr = { .c = &c, .interval_s = o->interval, .keep_going = true,
			     .sinks = { { fleet_sink, &e } }, .nr_sinks = 1 };
	struct httpd *d;
	struct kfacts kf;
	sigset_t stop;
	int fd = -1, sig;

	fleet_init(&e.fleet);
	driver_describe_host(&e.fleet.total);
	collect_set_verbose(o->verbose);
	if (kfacts_read(&kf) || collect_open(&c, &kf, &po) || (fd = listen_on(o)) < 0) {
		collect_close(&c);
		kfacts_free(&kf);
		fleet_free(&e.fleet);
		return 1;
	}
	/* Every thread started from here on inherits the mask: only sigtimedwait sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	sigdelset(&stop, SIGHUP);	/* blocked, but the HTTP server's thread takes it */
	signal(SIGPIPE, SIG_IGN);
	if (collect_attach(&c, &e.fleet.total)) {
		close(fd);
		kfacts_free(&kf);
		fleet_free(&e.fleet);
		return 1;
	}
	d = start_http(&e, fd, o);
	if (!d) {
		fprintf(stderr, "kvmlockstat: cannot start the HTTP server on %s\n", o->listen);
		close(fd);
		collect_close(&c);
		kfacts_free(&kf);
		fleet_free(&e.fleet);
		return 1;
	}
	driver_start(&dr);
	driver_tick(&dr, false);	/* VMs already running show up at once */
	fprintf(stderr, "kvmlockstat: exporter serving %s://%s/metrics (%s)\n",
		httpd_tls(d) ? "https" : "http", o->listen, e.fleet.total.backend);
	sig = driver_run(&dr, wait_signal, &stop);
	httpd_stop(d);	/* finishes scrapes in progress, closes the listen socket */
	collect_close(&c);
	kfacts_free(&kf);
	fleet_free(&e.fleet);
	if (sig < 0) {
		fprintf(stderr, "kvmlockstat: %s\n", strerror(-sig));
		return 1;
	}
	fprintf(stderr, "kvmlockstat: exporter stopped (%s), probes detached\n", strsignal(sig));
	return 0;
}

int cmd_exporter(int argc, char **argv)
{
	struct exporter_opts o = { .listen = DEFAULT_LISTEN, .grace = 300, .interval = 1,
				   .timeout = 10, .threads = 4, .max_conns = 64 };
	struct argp argp = { exporter_options, exporter_parse, NULL, exporter_doc };

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	return run_exporter(&o);
}
