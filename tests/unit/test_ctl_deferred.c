/* Unit tests of lib/ctl_server.c (deferred replies): requests answered in order on one
 * connection, including a deferred reply that the dispatch gives before it
 * returns (syncd's barrier with nothing in flight did that and freed the
 * request line twice), a deferred reply given later from a timer, and a
 * request that arrives while a reply is owed. */
#include <jansson.h>
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

struct ctx {
	struct loop loop;
	struct ctl_server cs;
	struct loop_timer later, quit;
	struct ctl_deferred *owed;
	int seq;
};

static void later_cb(struct loop *l, struct loop_timer *t)
{
	struct ctx *x = (struct ctx *)((char *)t - offsetof(struct ctx, later));

	if (x->owed) {
		ctl_deferred_reply(x->owed, json_pack("{s:b, s:s}", "ok", 1, "said", "later"));
		x->owed = NULL;
	}
}

static void quit_cb(struct loop *l, struct loop_timer *t)
{
	loop_stop(l);
}

static json_t *dispatch(void *arg, const json_t *req)
{
	struct ctx *x = arg;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	x->seq++;
	if (!strcmp(cmd, "now")) {	/* deferred, answered before returning */
		struct ctl_deferred *d = ctl_server_defer(&x->cs);
		ctl_deferred_reply(d, json_pack("{s:b, s:s}", "ok", 1, "said", "now"));
		return NULL;
	}
	if (!strcmp(cmd, "later")) {	/* deferred, answered by a timer */
		x->owed = ctl_server_defer(&x->cs);
		loop_timer_set(&x->later, 50, 0);
		return NULL;
	}
	if (!strcmp(cmd, "stop"))
		loop_stop(&x->loop);
	return json_pack("{s:b, s:s, s:i}", "ok", 1, "said", cmd, "seq", x->seq);
}

/* The client: one write holding four requests, then read four lines. */
static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t len = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), lines = 0;
	const char *req = "{\"cmd\":\"now\"}\n{\"cmd\":\"plain\"}\n{\"cmd\":\"later\"}\n"
			  "{\"cmd\":\"after\"}\n";

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return 2;
	while (lines < 4 && len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[len + i] == '\n';
		len += (size_t)n;
	}
	buf[len] = '\0';
	int good = strstr(buf, "\"said\":\"now\"") && strstr(buf, "\"said\":\"plain\"") &&
		   strstr(buf, "\"said\":\"later\"") && strstr(buf, "\"said\":\"after\"") &&
		   strstr(buf, "\"said\":\"now\"") < strstr(buf, "\"said\":\"plain\"") &&
		   strstr(buf, "\"said\":\"later\"") < strstr(buf, "\"said\":\"after\"");
	json_t *stop = json_pack("{s:s}", "cmd", "stop");
	json_t *r = ctl_request(path, stop, 2000, buf, sizeof(buf));
	json_decref(stop);
	json_decref(r);
	return good && lines == 4 ? 0 : 1;
}

int main(void)
{
	static struct ctx x;
	char path[64] = "/tmp/test_ctl_server.XXXXXX";
	int status;

	if (!mkdtemp(path))
		return 1;
	strcat(path, "/s");
	CHECK(loop_init(&x.loop) == 0, "loop");
	CHECK(loop_timer_init(&x.loop, &x.later, later_cb, &x) == 0, "timer");
	CHECK(ctl_server_open(&x.cs, &x.loop, path, dispatch, &x) == 0, "control socket %s", path);
	pid_t pid = fork();
	if (pid == 0)
		_exit(client(path));
	alarm(10);
	loop_run(&x.loop);
	waitpid(pid, &status, 0);
	/* the client is gone: let the server see both connections close */
	CHECK(loop_timer_init(&x.loop, &x.quit, quit_cb, &x) == 0 &&
	      loop_timer_set(&x.quit, 100, 0) == 0, "quit timer");
	loop_run(&x.loop);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "four requests in one write, two deferred (one answered inside its dispatch): "
	      "four replies, in order (client exit %d)", WEXITSTATUS(status));
	CHECK(x.seq == 5, "five requests dispatched once each (%d)", x.seq);
	ctl_server_close(&x.cs);
	loop_timer_close(&x.loop, &x.later);
	loop_timer_close(&x.loop, &x.quit);
	loop_close(&x.loop);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	return check_done();
}
