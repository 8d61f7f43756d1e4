/*
 * syncwatch.c - is replication in sync?  For the BGP announcements (bgp.c):
 * a switch with a "sync" section announces its VIPs only while its
 * tandem-syncd says "ready" (it completed a bulk resync from its peer, or no
 * peer answered within peer_dead_ms: it is alone), the same condition that
 * keeps a VRRP switch from becoming master (tandem-failover check).
 *
 * Asked every SYNCWATCH_MS on syncd's control socket, never waited for: a
 * non-blocking connection on lbd's loop, one {"cmd":"status"} and its
 * one-line answer; no answer within SYNCWATCH_TIMEOUT_MS counts as "not
 * ready", as does a syncd that is not there.
 */
#include "lbd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ctl.h"

#define SYNCWATCH_MS 500
#define SYNCWATCH_TIMEOUT_MS 1000

static void watch_end(struct lbd *l, int ready, const char *why)
{
	struct syncwatch *w = &l->syncwatch;

	if (w->io.fd >= 0) {
		loop_del(&l->loop, &w->io);
		close(w->io.fd);
		w->io.fd = -1;
	}
	w->ready = ready;
	snprintf(w->why, sizeof(w->why), "%s", why);
}

/* The answer, once its line is complete: syncd's "ready". */
static void judge(struct lbd *l)
{
	struct syncwatch *w = &l->syncwatch;
	json_t *r = json_loadb(w->buf, w->len, JSON_DISABLE_EOF_CHECK, NULL);
	int ready = r && json_is_true(json_object_get(r, "ready"));
	/* a group member says which member it is behind (sessionsync/group.c) */
	const char *behind = r ? json_string_value(json_object_get(r, "behind")) : NULL;
	char why[sizeof(w->why)];

	/* the group's members as syncd sees them: control "group" shows them */
	json_decref(w->members);
	w->members = r ? json_incref(json_object_get(r, "members")) : NULL;
	if (behind && *behind)
		snprintf(why, sizeof(why), "replication: behind %s", behind);
	else
		snprintf(why, sizeof(why), "%s", r ? "replication: tandem-syncd has not pulled its peer's table yet"
					  : "replication: tandem-syncd's answer is not JSON");
	json_decref(r);
	watch_end(l, ready, ready ? "" : why);
}

static void on_reply(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct lbd *l = io->arg;
	struct syncwatch *w = &l->syncwatch;
	ssize_t n = read(io->fd, w->buf + w->len, sizeof(w->buf) - 1 - w->len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		watch_end(l, 0, "replication: tandem-syncd closed without an answer");
		return;
	}
	w->len += (size_t)n;
	w->buf[w->len] = '\0';
	if (memchr(w->buf, '\n', w->len) || w->len == sizeof(w->buf) - 1)
		judge(l);
}

static void ask(struct lbd *l, uint64_t now)
{
	struct syncwatch *w = &l->syncwatch;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static const char req[] = "{\"cmd\":\"status\"}\n";

	w->asked_ms = now;
	w->len = 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->cfg.sync.control_socket);
	w->io.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->io.fd < 0 || connect(w->io.fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(w->io.fd, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(req) - 1) {
		if (w->io.fd >= 0)
			close(w->io.fd);
		w->io.fd = -1;
		watch_end(l, 0, "replication: tandem-syncd does not answer");
		return;
	}
	w->io.cb = on_reply;
	w->io.arg = l;
	if (loop_add(&l->loop, &w->io, EPOLLIN) < 0) {
		close(w->io.fd);
		w->io.fd = -1;
		watch_end(l, 0, "replication: cannot wait for tandem-syncd");
	}
}

int syncwatch_ready(struct lbd *l, char *why, size_t whylen)
{
	struct syncwatch *w = &l->syncwatch;
	uint64_t now = loop_now_ms();

	if (!l->cfg.sync.enabled)
		return 1;
	if (w->io.fd >= 0 && now - w->asked_ms > SYNCWATCH_TIMEOUT_MS)
		watch_end(l, 0, "replication: tandem-syncd did not answer in time");
	if (w->io.fd < 0 && now - w->asked_ms >= SYNCWATCH_MS)
		ask(l, now);
	if (!w->ready)
		snprintf(why, whylen, "%s", w->why);
	return w->ready;
}

void syncwatch_init(struct lbd *l)
{
	memset(&l->syncwatch, 0, sizeof(l->syncwatch));
	l->syncwatch.io.fd = -1;
	snprintf(l->syncwatch.why, sizeof(l->syncwatch.why), "replication: not asked yet");
}

void syncwatch_close(struct lbd *l)
{
	watch_end(l, 0, "lbd stops");
	json_decref(l->syncwatch.members);
	l->syncwatch.members = NULL;
}

/*
 * Control "group": this switch's view of its scale-out group: its BGP
 * sessions and routes (bgp.c) and, with a "sync" section, replication per
 * member as tandem-syncd last told (syncd's status "members", at most
 * SYNCWATCH_MS old).
 */
json_t *syncwatch_group_cmd(struct lbd *l)
{
	struct syncwatch *w = &l->syncwatch;
	json_t *r = ctl_ok();

	if (l->cfg.bgp.enabled)
		json_object_set_new(r, "bgp", bgp_json(l));
	if (l->cfg.sync.enabled)
		json_object_set_new(r, "sync", json_pack("{s:b, s:s, s:O*}", "ready", w->ready,
			"why", w->why, "members", w->members));
	return r;
}
