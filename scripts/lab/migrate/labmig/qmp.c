// SPDX-License-Identifier: GPL-2.0
/*
 * labmig-qmp: the migration lab's QMP client (QMP over TCP on 127.0.0.1).
 *
 *   labmig-qmp [-t SECONDS] PORT|PIPE COMMAND...
 *	runs each COMMAND (a QMP JSON object, e.g. '{"execute":"query-status"}')
 *	and prints its "return" as one JSON line; a QMP error ends it, exit 1.
 *   labmig-qmp [-t SECONDS] -w [-i S] [-T S] [-l LOG.csv] [-x S -X COMMAND] PORT [COMMAND...]
 *	runs the COMMANDs (the migrate), then polls query-migrate until the migration
 *	completes (exit 0), fails or is cancelled (exit 1), the QEMU stops answering
 *	(exit 1) or -T passes (exit 124); -X is run once, -x seconds after the COMMANDs
 *	(one QMP client at a time: the poller is the one). LOG.csv gets a "requested"
 *	row when the COMMANDs are sent, then every poll (unix_time,status,transferred,
 *	remaining,total,dirty_sync_count,dirty_pages_rate), flushed, so a failure keeps it.
 * -t: how long to retry connecting while the QEMU starts, and to wait for a reply.
 * PORT is a TCP port on 127.0.0.1, or a path P of a QEMU "-chardev pipe,path=P" monitor
 * (FIFOs P.in and P.out), for lab kernels built without INET. A pipe monitor greets
 * only its first client, so no greeting is required, and replies are matched to
 * their command by an "id" of ours (a reply a dead client left behind is skipped).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct qmp {
	FILE *in, *out;
	int port;		/* 0: pipe monitor at path */
	const char *path;
	unsigned int seq;
	double timeout;		/* for a reply on a pipe (sockets use SO_RCVTIMEO) */
};

static int err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "labmig-qmp: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double parse_seconds(const char *s, const char *opt)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || !(v > 0 && v <= 86400)) {
		fprintf(stderr, "labmig-qmp: %s %s: seconds, more than 0\n", opt, s);
		exit(2);
	}
	return v;
}

/* Retries while the QEMU is still starting (connection refused). */
static int qmp_connect(struct qmp *q, double timeout)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(q->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = (time_t)timeout };
	double deadline = now() + timeout;
	int fd;

	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return err("socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(fd);
		if (now() > deadline)
			return err("no QMP on 127.0.0.1:%d: %s", q->port, strerror(errno));
		usleep(200000);
	}
	/* A QEMU that hangs must not hang us: replies time out too. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	q->in = fdopen(fd, "r");
	q->out = fdopen(dup(fd), "w");
	return q->in && q->out ? 0 : err("fdopen: %s", strerror(errno));
}

/* A pipe never reports a dead QEMU (we hold both ends): wait with a deadline. */
static int wait_readable(struct qmp *q)
{
	struct pollfd p = { .fd = fileno(q->in), .events = POLLIN };

	if (q->port)
		return 0;
	if (poll(&p, 1, (int)(q->timeout * 1000)) == 1)
		return 0;
	errno = ETIMEDOUT;
	return -1;
}

/* The reply carrying our id (greeting, events, stale replies skipped); NULL when gone. */
static json_object *qmp_read(struct qmp *q, const char *id)
{
	char *line = NULL;
	size_t cap = 0;
	json_object *o, *v;

	while (!wait_readable(q) && getline(&line, &cap, q->in) > 0) {
		o = json_tokener_parse(line);
		if (o && json_object_object_get_ex(o, "id", &v) && !strcmp(json_object_get_string(v), id)) {
			free(line);
			return o;
		}
		json_object_put(o);
	}
	free(line);
	err("QEMU closed QMP or stopped answering (%s)",
	    feof(q->in) ? "connection closed" : strerror(errno));
	return NULL;
}

/*
 * Sends one command (a JSON object) with an id of ours; returns its "return" (a
 * reference the caller puts), NULL on error. An error whose text holds OK_ERROR
 * counts as an empty return.
 */
static json_object *qmp_exec_quiet(struct qmp *q, const char *cmd, const char *ok_error)
{
	json_object *obj, *reply, *ret, *e, *cls, *desc;
	char id[64];
	int rc;

	obj = json_tokener_parse(cmd);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		err("%s: not a JSON object", cmd);
		return NULL;
	}
	snprintf(id, sizeof(id), "labmig-%d-%u", (int)getpid(), ++q->seq);
	json_object_object_add(obj, "id", json_object_new_string(id));
	rc = fprintf(q->out, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	if (rc < 0 || fflush(q->out)) {
		err("%s: QMP write: %s", cmd, strerror(errno));
		return NULL;
	}
	reply = qmp_read(q, id);
	if (!reply)
		return NULL;
	if (json_object_object_get_ex(reply, "error", &e)) {
		json_object_object_get_ex(e, "class", &cls);
		json_object_object_get_ex(e, "desc", &desc);
		if (ok_error && strstr(json_object_get_string(desc), ok_error)) {
			json_object_put(reply);
			return json_object_new_object();
		}
		fprintf(stderr, "labmig-qmp: %s: %s: %s\n", cmd, json_object_get_string(cls),
			json_object_get_string(desc));
		json_object_put(reply);
		return NULL;
	}
	if (!json_object_object_get_ex(reply, "return", &ret)) {
		err("%s: reply without return: %s", cmd, json_object_to_json_string(reply));
		json_object_put(reply);
		return NULL;
	}
	json_object_get(ret);
	json_object_put(reply);
	return ret;
}

static json_object *qmp_exec(struct qmp *q, const char *cmd)
{
	return qmp_exec_quiet(q, cmd, NULL);
}

/* O_RDWR: opening a FIFO so never blocks, whether QEMU has it open yet or not. */
static int pipe_connect(struct qmp *q, double timeout)
{
	char in[PATH_MAX], out[PATH_MAX];
	double deadline = now() + timeout;
	int ifd, ofd;

	snprintf(in, sizeof(in), "%s.in", q->path);
	snprintf(out, sizeof(out), "%s.out", q->path);
	while (access(in, W_OK) || access(out, R_OK)) {
		if (now() > deadline)
			return err("no QMP pipe %s.in/.out: %s", q->path, strerror(errno));
		usleep(200000);
	}
	ifd = open(in, O_RDWR);
	ofd = open(out, O_RDWR);
	if (ifd < 0 || ofd < 0)
		return err("QMP pipe %s: %s", q->path, strerror(errno));
	q->out = fdopen(ifd, "w");
	q->in = fdopen(ofd, "r");
	q->timeout = timeout;
	if (!q->in || !q->out)
		return err("fdopen: %s", strerror(errno));
	/* Unbuffered, so poll() sees every byte not yet read. */
	setvbuf(q->in, NULL, _IONBF, 0);
	return 0;
}

static int qmp_open(struct qmp *q, double timeout)
{
	json_object *ret;

	if (q->port ? qmp_connect(q, timeout) : pipe_connect(q, timeout))
		return -1;
	/* Negotiated already: a pipe monitor's earlier client did it. */
	ret = qmp_exec_quiet(q, "{\"execute\":\"qmp_capabilities\"}", "negotiation is already complete");
	if (!ret)
		return -1;
	json_object_put(ret);
	return 0;
}

static long long field(json_object *o, const char *obj, const char *key)
{
	json_object *v;

	if (obj && !json_object_object_get_ex(o, obj, &o))
		return 0;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* One poll: its CSV line, and the status (a static copy). */
static const char *poll_once(struct qmp *q, FILE *log, json_object **info)
{
	json_object *st;

	*info = qmp_exec(q, "{\"execute\":\"query-migrate\"}");
	if (!*info)
		return NULL;
	if (!json_object_object_get_ex(*info, "status", &st))
		return "none";
	if (log) {
		fprintf(log, "%.6f,%s,%lld,%lld,%lld,%lld,%lld\n", now(), json_object_get_string(st),
			field(*info, "ram", "transferred"), field(*info, "ram", "remaining"),
			field(*info, "ram", "total"), field(*info, "ram", "dirty-sync-count"),
			field(*info, "ram", "dirty-pages-rate"));
		fflush(log);
	}
	return json_object_get_string(st);
}

struct wait_opts {
	double interval, timeout, later_s;
	const char *logpath, *later;
	char **cmds;
	int ncmds;
};

/* Runs COMMANDs in order, printing each "return"; non-zero on the first error. */
static int run_cmds(struct qmp *q, char **cmds, int n)
{
	json_object *ret;
	int i;

	for (i = 0; i < n; i++) {
		ret = qmp_exec(q, cmds[i]);
		if (!ret)
			return 1;
		printf("%s\n", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		json_object_put(ret);
	}
	return 0;
}

static int wait_migrate(struct qmp *q, const struct wait_opts *w)
{
	double start = now(), deadline = start + w->timeout;
	FILE *log = NULL;
	json_object *info = NULL, *e;
	const char *st;
	int rc = 124, later_done = !w->later;

	if (w->logpath) {
		log = fopen(w->logpath, "w");
		if (!log)
			return err("%s: %s", w->logpath, strerror(errno)), 1;
		fprintf(log, "unix_time,status,transferred,remaining,total,dirty_sync_count,dirty_pages_rate\n");
		fprintf(log, "%.6f,requested,0,0,0,0,0\n", start);
		fflush(log);
	}
	rc = run_cmds(q, w->cmds, w->ncmds);
	if (rc) {
		if (log)
			fclose(log);
		return rc;
	}
	rc = 124;
	while (now() < deadline) {
		if (!later_done && now() >= start + w->later_s) {
			later_done = 1;
			if (run_cmds(q, (char **)&w->later, 1)) {
				rc = 1;
				break;
			}
		}
		st = poll_once(q, log, &info);
		if (!st) {
			err("migration status unknown: the source QEMU died or stopped answering");
			rc = 1;
			break;
		}
		if (!strcmp(st, "completed")) {
			printf("migration completed: %lld ms, downtime %lld ms, %lld bytes, %lld dirty syncs\n",
			       field(info, NULL, "total-time"), field(info, NULL, "downtime"),
			       field(info, "ram", "transferred"), field(info, "ram", "dirty-sync-count"));
			rc = 0;
			break;
		}
		if (!strcmp(st, "failed") || !strcmp(st, "cancelled") || !strcmp(st, "none")) {
			err("migration %s: %s", st, json_object_object_get_ex(info, "error-desc", &e) ?
			    json_object_get_string(e) : "(no error-desc)");
			rc = 1;
			break;
		}
		json_object_put(info);
		info = NULL;
		usleep((useconds_t)(w->interval * 1e6));
	}
	if (rc == 124)
		err("migration not finished after %.0f s", w->timeout);
	json_object_put(info);
	if (log && fclose(log))
		rc = rc ? rc : 1;
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: labmig-qmp [-t S] PORT|PIPE COMMAND...\n"
			"       labmig-qmp [-t S] -w [-i S] [-T S] [-l LOG.csv] [-x S -X COMMAND] PORT|PIPE [COMMAND...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct wait_opts w = { .interval = 0.5, .timeout = 600 };
	double connect_timeout = 60;
	struct qmp q = { 0 };
	int opt, wait = 0;
	char *end;

	while ((opt = getopt(argc, argv, "t:wi:T:l:x:X:")) != -1) {
		switch (opt) {
		case 't': connect_timeout = parse_seconds(optarg, "-t"); break;
		case 'w': wait = 1; break;
		case 'i': w.interval = parse_seconds(optarg, "-i"); break;
		case 'T': w.timeout = parse_seconds(optarg, "-T"); break;
		case 'l': w.logpath = optarg; break;
		case 'x': w.later_s = parse_seconds(optarg, "-x"); break;
		case 'X': w.later = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc || (!wait && argc - optind < 2) || (!wait && w.later) || (!w.later != !w.later_s))
		return usage();
	q.port = (int)strtol(argv[optind], &end, 10);
	if (*end || !*argv[optind]) {
		q.port = 0;
		q.path = argv[optind];
	} else if (q.port <= 0 || q.port > 65535) {
		fprintf(stderr, "labmig-qmp: %s: not a TCP port\n", argv[optind]);
		return 2;
	}
	/* A QEMU gone mid-command is a write error to report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (qmp_open(&q, connect_timeout))
		return 1;
	w.cmds = argv + optind + 1;
	w.ncmds = argc - optind - 1;
	return wait ? wait_migrate(&q, &w) : run_cmds(&q, w.cmds, w.ncmds);
}
