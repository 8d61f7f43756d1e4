/* libFuzzer target: tandem-nasd's HTTP session state machine as a client
 * drives it, in-process: a session (session_new) on one end of a
 * socketpair, the input written into the other end in chunks whose sizes
 * come from the input, the daemon's loop pumped after each chunk (every
 * ready handler run, as loop_run would), then the client's half-close and
 * a last pump.  Whatever the bytes: no crash, no leak, every session
 * gone at the end (closed by the server or by us), and what the server
 * wrote starts with a status line.
 *
 * The exports (made once, removed at exit): "/" read-only with
 * small files, "/up/" writable without a token ("write_auth": "none",
 * max_upload 4 KiB; what PUTs create is removed after each input),
 * "/acl/" open to 10.0.0.0/8 only (a socketpair's peer is outside), a
 * throttle prefix, and a data-location home on a closed loopback port (its
 * fetch fails: 502).  No handoff agent (nasd.ho NULL): handoff_schedule is
 * the stub below and is never reached. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/handoff/handoff.h"
#include "storage/http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The handoff agent of this harness: there is none. */
int handoff_schedule(struct nasd *n, struct session *s, const char *to)
{
	(void)n;
	(void)s;
	(void)to;
	return -1;
}

/* ... nor a half handoff to finish (half.c needs the agent). */
void http_half_response_done(struct session *s)
{
	(void)s;
}

static char tmp[64];
static struct nasd nasd;
static int ready;

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (tmp[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
}

static void put_file(const char *rel, size_t len)
{
	char p[256], buf[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	memset(buf, 'a', sizeof(buf));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		abort();
	for (size_t o = 0; o < len; o += sizeof(buf))
		if (write(fd, buf, len - o < sizeof(buf) ? len - o : sizeof(buf)) < 0)
			abort();
	close(fd);
}

static void add_export(struct nasd_config *c, const char *url, const char *rel, int writable)
{
	struct nasd_export *ex = &c->exports[c->nexports++];

	snprintf(ex->url, sizeof(ex->url), "%s", url);
	snprintf(ex->path, sizeof(ex->path), "%s/%s", tmp, rel);
	ex->url_len = strlen(url);
	ex->writable = writable;
	ex->write_auth = NASD_WAUTH_NONE;
	ex->dirfd = -1;
}

/* The configuration config.c would make of the header comment's (its
 * parser has its own target). */
static void configure(struct nasd_config *c)
{
	snprintf(c->node_name, sizeof(c->node_name), "n1");
	add_export(c, "/", "www", 0);
	add_export(c, "/up/", "up", 1);
	add_export(c, "/acl/", "www", 0);
	nasd_cidr_parse("10.0.0.0/8", &c->exports[2].clients[0]);
	c->exports[2].nclients = 1;
	snprintf(c->throttle[0].prefix, sizeof(c->throttle[0].prefix), "/slow/");
	c->throttle[0].rate = 1 << 20;
	c->nthrottle = 1;
	c->max_sessions = 64;
	c->max_upload = 4096;
	c->upload_reserve = 1024;
	c->upload_reserve_total = 2048;
	c->idle_timeout_ms = c->head_timeout_ms = c->io_timeout_ms = 60000;
	c->dl.enabled = 1;
	c->dl.threshold = c->dl.piece = 1024;
	c->dl.timeout_ms = 2000;
	snprintf(c->dl.homes[0].prefix, sizeof(c->dl.homes[0].prefix), "/h2/");
	c->dl.homes[0].prefix_len = 4;
	snprintf(c->dl.homes[0].node, sizeof(c->dl.homes[0].node), "n2");
	taddr_parse("127.0.0.1", &c->dl.homes[0].addr);
	c->dl.homes[0].port = 1;	/* nothing listens: the fetch fails */
	c->dl.nhomes = 1;
}

static void setup(void)
{
	char p[128];
	struct nasd *n = &nasd;

	signal(SIGPIPE, SIG_IGN);	/* as the daemon: a closed peer is an error, not a signal */
	snprintf(tmp, sizeof(tmp), "/tmp/fuzz_http_session.XXXXXX");
	if (!mkdtemp(tmp))
		abort();
	atexit(rm_tree);
	snprintf(p, sizeof(p), "%s/www", tmp);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/up", tmp);
	mkdir(p, 0755);
	put_file("www/a.txt", 10);
	put_file("www/big.bin", 70000);
	configure(&n->cfg);
	if (export_open_all(&n->cfg) < 0 || loop_init(&n->loop) < 0)
		abort();
	n->lim = http_default_limits;
	n->lim.max_body = n->cfg.max_upload;
	n->scratch = malloc(NASD_SCRATCH);
	if (!n->scratch || loop_timer_init(&n->loop, &n->pace, NULL, n) < 0)
		abort();
	ready = 1;
}

/* Run every handler that is ready now (no waiting), at most `max`. */
static void pump(int max)
{
	struct epoll_event ev;

	while (max-- > 0 && epoll_wait(nasd.loop.epfd, &ev, 1, 0) == 1) {
		struct loop_io *io = ev.data.ptr;
		if (io == &nasd.pace.io) {	/* the pacer: what on_pace does */
			uint64_t x;
			if (read(io->fd, &x, sizeof(x)) < 0)
				continue;
			session_pace(&nasd);
			continue;
		}
		io->cb(&nasd.loop, io, ev.events);
	}
}

/* Read what the server wrote; its first bytes must be a status line. */
static void drain(int fd, size_t *total, char *first, size_t cap)
{
	char buf[65536];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (*total < cap)
			memcpy(first + *total, buf, (size_t)r < cap - *total ? (size_t)r : cap - *total);
		*total += (size_t)r;
	}
	if (*total >= 9 && memcmp(first, "HTTP/1.1 ", 9) && memcmp(first, "HTTP/1.0 ", 9))
		abort();
}

/* What PUTs created in /up/ goes (the export stays small). */
static void clean_up_dir(void)
{
	char p[300];
	DIR *d;
	struct dirent *e;

	snprintf(p, sizeof(p), "%s/up", tmp);
	if (!(d = opendir(p)))
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	size_t off = 0, k = 0, got = 0;
	char first[16];

	if (!ready)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (!session_new(&nasd, sv[0]))
		abort();
	while (off < size) {
		size_t step = 1 + data[k++ % size] % 200;
		if (step > size - off)
			step = size - off;
		ssize_t w = write(sv[1], data + off, step);
		if (w <= 0)
			break;	/* the server closed, or its buffer is full */
		off += (size_t)w;
		pump(64);
		drain(sv[1], &got, first, sizeof(first));
	}
	shutdown(sv[1], SHUT_WR);
	pump(256);
	drain(sv[1], &got, first, sizeof(first));
	while (nasd.sessions)
		session_close(nasd.sessions, "end of input");
	if (nasd.reserved)
		abort();	/* every reservation was given back */
	close(sv[1]);
	clean_up_dir();
	return 0;
}
