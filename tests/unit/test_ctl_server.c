/*
 * The control-socket server (lib/ctl_server.c) never blocks its loop on a
 * client: a client that asks for a large reply and stops reading must not
 * delay another client's answer, and gets its whole reply, in order, once
 * it reads.  Too many clients at once: the one over the limit is refused.
 *
 * The server runs in a child process on its own loop; the parent is the
 * clients.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lib/ctl.h"
#include "lib/ctl_server.h"
#include "lib/loop.h"

#define BIG (8u << 20)	/* far more than a socket buffer holds */

static json_t *dispatch(void *arg, const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *r = ctl_ok();

	if (!strcmp(cmd, "big")) {
		char *s = malloc(BIG + 1);
		memset(s, 'x', BIG);
		s[BIG] = '\0';
		json_object_set_new(r, "data", json_string(s));
		free(s);
	}
	json_object_set_new(r, "cmd", json_string(cmd));
	return r;
}

static void serve(const char *path)
{
	struct loop lp;
	struct ctl_server cs;

	memset(&cs, 0, sizeof(cs));
	if (loop_init(&lp) < 0 || ctl_server_open(&cs, &lp, path, dispatch, NULL) < 0)
		_exit(1);
	loop_run(&lp);
	_exit(0);
}

static int dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (int i = 0; i < 200; i++) {	/* the child may not listen yet */
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		usleep(10000);
	}
	close(fd);
	return -1;
}

/* Read one line (up to cap bytes) within ms; its length, or -1. */
static long read_line(int fd, char *buf, size_t cap, int ms)
{
	size_t len = 0;
	uint64_t end = loop_now_ms() + (uint64_t)ms;

	while (len < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - loop_now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		ssize_t n = read(fd, buf + len, 1);	/* one byte: stop at the newline */
		if (n <= 0)
			return -1;
		if (buf[len++] == '\n')
			return (long)len;
	}
	return -1;
}

/* Read a reply of at least BIG bytes in large chunks, up to the newline. */
static long read_big(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0)
			return -1;
		ssize_t n = read(fd, buf + len, len < BIG ? BIG - len : 1);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		if (buf[len - 1] == '\n')
			return (long)len;
	}
	return -1;
}

int main(void)
{
	char path[64], line[256];
	pid_t pid;
	int a, b;

	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "/tmp/test_ctl_server.%d.sock", (int)getpid());
	pid = fork();
	if (pid == 0)
		serve(path);
	a = dial(path);
	b = dial(path);
	CHECK(a >= 0 && b >= 0, "two clients connect");
	if (a < 0 || b < 0)
		goto out;

	/* a: two big replies and a ping, pipelined, and nothing read yet */
	const char *req = "{\"cmd\":\"big\"}\n{\"cmd\":\"big\"}\n{\"cmd\":\"ping\"}\n";
	CHECK(write(a, req, strlen(req)) == (ssize_t)strlen(req), "client a asks for 2 x %u MiB",
	      BIG >> 20);
	usleep(200000);		/* the server has run into a's full socket by now */
	uint64_t t0 = loop_now_ms();
	CHECK(write(b, "{\"cmd\":\"ping\"}\n", 15) == 15, "client b asks for a ping");
	long n = read_line(b, line, sizeof(line), 1000);
	uint64_t ms = loop_now_ms() - t0;
	CHECK(n > 0 && strstr(line, "\"ping\""), "b is answered while a does not read");
	CHECK(ms < 500, "... at once (%llu ms; a blocking send makes it wait seconds)",
	      (unsigned long long)ms);

	/* a reads now: both big replies whole, then its ping, in order */
	size_t cap = BIG + 4096;
	char *big = malloc(cap);
	int whole = 1;
	for (int i = 0; i < 2; i++) {
		long m = read_big(a, big, cap);
		json_t *r = m > 0 ? json_loadb(big, (size_t)m - 1, 0, NULL) : NULL;
		whole &= r && strlen(json_string_value(json_object_get(r, "data"))) == BIG;
		json_decref(r);
	}
	free(big);
	CHECK(whole, "a gets both big replies, whole");
	n = read_line(a, line, sizeof(line), 2000);
	CHECK(n > 0 && strstr(line, "\"ping\""), "... then its ping: replies stay in order");

	/* the client limit */
	int fds[CTL_MAX_CLIENTS], nfds = 0, refused = 0;
	for (int i = 0; i < CTL_MAX_CLIENTS - 2; i++)
		if ((fds[nfds] = dial(path)) >= 0)
			nfds++;
	int extra = dial(path);
	if (extra >= 0) {
		write(extra, "{\"cmd\":\"ping\"}\n", 15);
		refused = read_line(extra, line, sizeof(line), 2000) < 0;
		close(extra);
	}
	CHECK(nfds == CTL_MAX_CLIENTS - 2 && refused,
	      "client %d (over CTL_MAX_CLIENTS) is refused", CTL_MAX_CLIENTS + 1);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	close(a);
	usleep(100000);
	write(b, "{\"cmd\":\"ping\"}\n", 15);
	CHECK(read_line(b, line, sizeof(line), 2000) > 0, "clients that left make room");
	close(b);
out:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(path);
	return check_done();
}
