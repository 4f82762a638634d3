// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlockstat exporter: the probes stay attached, the main thread drains
 * them every interval into the fleet totals (fleet.c), and libmicrohttpd's
 * thread pool serves /metrics from those totals.  A scrape only reads,
 * under the mutex; it never drains, resets or detaches.  Signals are taken
 * synchronously by the main thread (sigtimedwait), so SIGTERM mid-scrape
 * lets the scrape finish, stops the server and detaches every probe.
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
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "attach.h"
#include "collect.h"
#include "exporter.h"
#include "fault.h"
#include "fleet.h"
#include "live.h"
#include "metrics.h"
#include "vmid.h"

#define DEFAULT_LISTEN ":9477"

struct exporter_opts {
	const char *listen;
	struct sockaddr_storage addr;	/* --listen, parsed */
	socklen_t addr_len;
	bool per_vcpu, lock_functions, fault_types, verbose;
	double grace, interval, timeout;
	unsigned threads;
};

struct exporter {
	pthread_mutex_t lock;	/* guards fleet: drains write, scrapes read */
	struct fleet fleet;
	struct metrics_opts mo;
};

enum { OPT_LISTEN = 0x200, OPT_PER_VCPU, OPT_GRACE, OPT_TIMEOUT, OPT_THREADS, OPT_LOCK_FUNCTIONS,
       OPT_FAULT_TYPES };

static const struct argp_option exporter_options[] = {
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Serve /metrics there (default " DEFAULT_LISTEN ")", 0 },
	{ "per-vcpu", OPT_PER_VCPU, NULL, 0, "Split fault series by a vcpu label", 0 },
	{ "grace", OPT_GRACE, "SECONDS", 0, "Keep an exited VM's series this long (default 300)", 0 },
	{ "interval", 'i', "SECONDS", 0, "Drain the probes every SECONDS (default 1)", 0 },
	{ "timeout", OPT_TIMEOUT, "SECONDS", 0, "Close a connection idle this long (default 10)", 0 },
	{ "threads", OPT_THREADS, "N", 0, "HTTP threads (default 4)", 0 },
	{ "lock-functions", OPT_LOCK_FUNCTIONS, NULL, 0, "Exact mmu_lock hold times (costly: "
	  "probes every rwlock; see kvmlockstat(8))", 0 },
	{ "fault-types", OPT_FAULT_TYPES, NULL, 0, "Faults by type (costly: a probe on every "
	  "fault; see kvmlockstat(8))", 0 },
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
	"  curl -s localhost:9477/metrics";

static int parse_count(const char *arg, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 256) {
		fprintf(stderr, "kvmlockstat: invalid --threads '%s': expected 1-256\n", arg);
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
	case OPT_THREADS: return parse_count(arg, &o->threads);
	case OPT_LOCK_FUNCTIONS: o->lock_functions = true; return 0;
	case OPT_FAULT_TYPES: o->fault_types = true; return 0;
	case 'v': o->verbose = true; return 0;
	case 'i':
		if (parse_seconds(arg, "--interval", &o->interval))
			return EINVAL;
		if (o->interval < 0.1)
			argp_error(state, "--interval: at least 0.1 s");
		return 0;
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const struct fleet_env vmm_env = { vmid_vm_name, vmid_vmm_alive };

/* One interval into the totals: BPF and /proc are read before taking the lock. */
static int drain(struct exporter *e, struct collector *c, uint64_t grace_ns)
{
	struct vmm *running = NULL;
	struct run delta;
	size_t n = 0;
	int err;

	run_init(&delta);
	err = collect_drain(c, &delta);
	if (!err)
		err = vmid_scan(&running, &n);
	if (!err) {
		pthread_mutex_lock(&e->lock);
		err = fleet_update(&e->fleet, &delta, running, n, now_ns(), grace_ns, &vmm_env);
		pthread_mutex_unlock(&e->lock);
	}
	free(running);
	run_free(&delta);
	return err;
}

/* Drains every interval until SIGINT, SIGTERM or SIGHUP; returns the signal. */
static int drain_loop(struct exporter *e, struct collector *c, const struct exporter_opts *o,
		      const sigset_t *stop)
{
	const uint64_t period = o->interval * 1e9, grace = o->grace * 1e9;
	uint64_t next = now_ns() + period;

	for (;;) {
		uint64_t now = now_ns(), wait = next > now ? next - now : 0;
		struct timespec ts = { wait / 1000000000, wait % 1000000000 };
		int sig = sigtimedwait(stop, NULL, &ts), err;

		if (sig > 0)
			return sig;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (now_ns() < next)
			continue;
		err = drain(e, c, grace);
		if (err)
			fprintf(stderr, "kvmlockstat: drain failed: %s\n", strerror(-err));
		next += period;
		if (next < now_ns())	/* a slow drain: do not try to catch up */
			next = now_ns() + period;
	}
}

static void describe(struct run *r)
{
	struct utsname u;

	uname(&u);
	snprintf(r->kernel, sizeof(r->kernel), "%s", u.release);
	snprintf(r->version, sizeof(r->version), "%s", KVMLOCKSTAT_VERSION);
}

static struct MHD_Daemon *start_http(struct exporter *e, int fd, const struct exporter_opts *o,
				     bool ipv6)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 (ipv6 ? MHD_USE_IPv6 : 0) | (o->verbose ? MHD_USE_ERROR_LOG : 0);

	return MHD_start_daemon(flags, 0, NULL, NULL, serve, e,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_THREAD_POOL_SIZE, o->threads,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout + 0.5),
				MHD_OPTION_CONNECTION_LIMIT, 1000,
				MHD_OPTION_END);
}

static int run_exporter(const struct exporter_opts *o)
{
	struct attach_opts ao = { .verbose = o->verbose };
	struct fault_opts fo = { .backend = -1, .lock_functions = o->lock_functions,
				 .fault_types = o->fault_types };
	struct exporter e = { .lock = PTHREAD_MUTEX_INITIALIZER, .mo = { .per_vcpu = o->per_vcpu } };
	struct collector c = { 0 };
	struct MHD_Daemon *d;
	sigset_t stop;
	int fd, sig;

	fleet_init(&e.fleet);
	describe(&e.fleet.total);
	attach_set_verbose(o->verbose);
	if (attach_preflight(&e.fleet.total))
		return 1;
	fd = listen_on(o);
	if (fd < 0)
		return 1;
	/* Every thread started from here on inherits the mask: only sigtimedwait sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (attach_families(&c, &ao, &fo, &e.fleet.total)) {
		close(fd);
		fleet_free(&e.fleet);
		return 1;
	}
	d = start_http(&e, fd, o, o->addr.ss_family == AF_INET6);
	if (!d) {
		fprintf(stderr, "kvmlockstat: cannot start the HTTP server on %s\n", o->listen);
		close(fd);
		detach_families(&c);
		fleet_free(&e.fleet);
		return 1;
	}
	drain(&e, &c, o->grace * 1e9);	/* VMs already running show up at once */
	fprintf(stderr, "kvmlockstat: exporter serving http://%s/metrics (%s)\n", o->listen,
		e.fleet.total.backend);
	sig = drain_loop(&e, &c, o, &stop);
	MHD_stop_daemon(d);	/* finishes scrapes in progress, closes the listen socket */
	detach_families(&c);
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
				   .timeout = 10, .threads = 4 };
	struct argp argp = { exporter_options, exporter_parse, NULL, exporter_doc };

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	return run_exporter(&o);
}
