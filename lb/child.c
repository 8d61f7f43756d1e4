/*
 * child.c - a helper program run by lbd without blocking its loop: the
 * DNS front end's nsupdate (dns.c) and BIRD's birdc (bgp.c).
 *
 * The child's stdin is a pipe holding the whole script (far under the pipe's
 * capacity, so the write never blocks), one of its stdout/stderr is a pipe
 * read once it has exited (its answer: a few lines, under the pipe's
 * capacity too), the other goes to /dev/null.  Its exit is a pidfd on lbd's
 * loop; the owner kills a child that runs too long and reaps it in the
 * callback.
 */
#include "lbd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void child_close(struct loop *lp, struct child *c)
{
	if (c->pidfd.fd >= 0) {
		loop_del(lp, &c->pidfd);
		close(c->pidfd.fd);
	}
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->pidfd.fd = c->out_fd = -1;
	c->pid = 0;
}

/* posix_spawn argv with stdin from in[0], fd `capture` into out[1]. */
static int spawn_with(struct child *c, char *const argv[], int in_fd, int out_fd, int capture)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_addopen(&fa, capture == 1 ? 2 : 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, capture);
	posix_spawnattr_init(&at);
	/* lbd blocks its signals for the signalfd and ignores SIGPIPE: not the child */
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&c->pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

int child_spawn(struct loop *lp, struct child *c, char *const argv[], const char *in, size_t inlen,
		int capture, loop_io_cb cb, void *arg)
{
	int ip[2], op[2], rc;

	c->pid = 0;
	if (pipe2(ip, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(op, O_CLOEXEC | O_NONBLOCK) < 0) {
		close(ip[0]);
		close(ip[1]);
		return -1;
	}
	rc = spawn_with(c, argv, ip[0], op[1], capture);
	close(ip[0]);
	close(op[1]);
	if (rc == 0 && write(ip[1], in, inlen) != (ssize_t)inlen)
		rc = errno ? errno : EIO;	/* the child exits on EOF: its owner counts it failed */
	close(ip[1]);
	c->out_fd = op[0];
	if (rc != 0 && !c->pid) {
		close(op[0]);
		c->out_fd = -1;
		errno = rc;
		return -1;
	}
	c->pidfd.fd = pidfd_open(c->pid, 0);
	c->pidfd.cb = cb;
	c->pidfd.arg = arg;
	if (c->pidfd.fd < 0 || loop_add(lp, &c->pidfd, EPOLLIN) < 0) {
		int st, e = errno;
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &st, 0);
		child_close(lp, c);
		errno = e;
		return -1;
	}
	c->started_ms = loop_now_ms();
	c->killed = 0;
	return 0;
}

size_t child_output(const struct child *c, char *buf, size_t len)
{
	ssize_t n = c->out_fd >= 0 ? read(c->out_fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}
