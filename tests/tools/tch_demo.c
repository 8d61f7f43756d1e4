/*
 * tch_demo.c - a small streaming echo server built on libtch, for the
 * handoff integration test (tests/integration/t_tch_handoff.sh).  One runs
 * on each storage node; a client session moves between them with TCP_REPAIR
 * while the client (tch_client) keeps streaming, unaware.
 *
 *   tch_demo serve --name n1 --listen 10.77.1.100:5201 [--listen ...]
 *                  --peer-listen 10.77.2.11:7700 --peer n2=10.77.2.12:7700 ...
 *                  --ifname eth0 --obj build/flowdrop.bpf.o [--pin DIR]
 *                  --lbd /run/tandem-lab/X/lbd.sock --ctl /tmp/n1.sock
 *                  [--grace-ms 2000] [-v]
 *   tch_demo ctl SOCKET COMMAND...     one control command, its JSON reply
 *
 * The application: every byte a client sends is echoed back.  The session's
 * application state - bytes in/out, an FNV-1a hash of everything received,
 * and the bytes read but not yet echoed (the server stops reading when 32 KiB
 * wait, so a client that stops reading fills every queue) - travels in the
 * libtch state's app blob.
 *
 * The handoff is libtch's recipe as doc/tch.md ("The handoff, step by step")
 * lays it out, step for step and in that order; every kernel step is a
 * libtch call (tch_freeze, tch_restore, tch_resume, tch_thaw,
 * tch_close_silently) and every drop a flowdrop call.  What this tool adds
 * is only the transport between the nodes (a plain TCP connection between
 * their storage addresses, standing in for tandem-nasd's authenticated
 * channel) and the re-point (lbd's control socket: migrate the 5-tuple):
 *   O out_freeze:  flowdrop_hold (guard, expires after 3 s), tch_freeze, app
 *                  state, tch_state_encode
 *   O out_send:    STATE --> N
 *   N in_restore:  tch_state_decode, flowdrop_hold (until it resumes),
 *                  tch_restore, app state
 *   N in_commit:   re-point the switch to N; <-- REPLY_HELD
 *   O:             HELD (what its drop held: flowdrop_take) --> N
 *   N in_commit:   tch_resume with both nodes' held packets (replayed before
 *                  the kick; it ends N's drop)  <-- REPLY ok
 *   O out_done:    tch_close_silently, flowdrop_add (grace period)
 *   (--hold-kb 0 or "hold 0": flowdrop_add instead of flowdrop_hold, nothing
 *   held, N's drop removed before tch_resume: the drop of doc/tch.md.)
 *   Failure (REPLY fail, connection lost, timeout): O rollback: the switch
 *   points to O again (if N may have re-pointed it), flowdrop_del, tch_thaw:
 *   the session continues on O.
 * A STATE carries a hop count: N hands the session back after gap_ms while
 * hops remain (ping-pong; the test's 1000 back-and-forth handoffs).
 *
 * Control commands (`tch_demo ctl SOCK CMD ARGS...` sends {"cmd": CMD,
 * "args": [ARGS]} over lib/ctl's protocol; the reply is one JSON line):
 *   status | sessions
 *   handoff TO HOPS GAP_MS RUN [CLIENT_PORT]   (first session, or that one)
 *   inject die-on-state | die-after-repoint | fail-restore | none
 *                                              (the next incoming handoff)
 *   hold BYTES       what a frozen session's flow may hold (0: only drop)
 * Log lines (stderr) the test reads: "handoff ok run=R hop=H ... total_us=T",
 * "rollback run=R ...", "session end ... in=N out=M hash=H".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include "lib/addr.h"
#include "lib/ctl.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/netio.h"
#include "lib/wire.h"
#include "storage/listen.h"
#include "storage/tch/flowdrop.h"
#include "storage/tch/tch.h"
#include "storage/tch/tch_state.h"

#define APP_BUF (32 * 1024)	/* bytes read, not yet echoed: at most this */
#define APP_HDR 32		/* app blob: version, in, out, hash, pending length */
#define MAX_LISTEN 4
#define MAX_PEERS 8
#define MSG_MAGIC 0x54444d31u	/* "TDM1" */
#define MSG_STATE 1
#define MSG_REPLY 2
#define MSG_HELD 3		/* old -> new node on REPLY_HELD: the packets it held */
#define REPLY_HELD 2		/* REPLY status: "re-pointed; send what you held" */
#define HELD_HDR 16
#define STATE_HDR 44
#define REPLY_LEN 192
#define PEER_TIMEOUT_MS 3000
#define GUARD_NS 3000000000ull	/* a handoff's drop expires by itself after this */

enum inject { INJ_NONE, INJ_DIE_ON_STATE, INJ_FAIL_RESTORE, INJ_DIE_AFTER_REPOINT };

struct demo;

struct session {
	struct loop_io io;
	struct loop_timer hop;		/* ping-pong: hand the session on after gap */
	struct demo *d;
	struct session *next;
	int fd;
	uint32_t events;		/* registered epoll events (0 = not in the loop) */
	struct lb_flow_key key;		/* client -> VIP, as the switch sees it */
	struct taddr client, vip;
	uint16_t cport, vport;
	uint8_t pend[APP_BUF];
	size_t plen;
	uint64_t bytes_in, bytes_out, hash;
	int eof;			/* the client shut down its side */
	/* scheduled hop */
	char hop_to[32];
	uint32_t hops, gap_ms, run;
};

struct peer {
	char name[32];
	struct sockaddr_in addr;
	int fd;				/* our outgoing connection, -1 until needed */
};

struct listener {
	struct loop_io io;
	struct demo *d;
};

struct demo {
	struct loop loop;
	struct loop_signals sig;
	struct loop_timer gc;
	char name[32];
	struct listener lis[MAX_LISTEN];
	int nlis;
	struct listener peer_lis, ctl_lis;
	struct peer peers[MAX_PEERS];
	int npeers;
	struct flowdrop drop;
	struct tch_raw raw;		/* the kick's and the replays' raw sockets */
	uint32_t hold_max;		/* bytes held per session while frozen; 0: only drop */
	uint64_t held_sent, held_late;	/* replays: raw's counters */
	const char *lbd_sock;
	uint64_t grace_ns;
	struct session *sessions;
	uint64_t out_ok, out_fail, in_ok, in_fail, rollbacks, ended;
	uint32_t last_done, last_failed;
	enum inject inject;		/* for the next incoming handoff */
};

/* One handoff on the old node: what out_freeze made, for the later steps. */
struct hop_out {
	struct session *s;
	uint8_t *buf;			/* the encoded state */
	size_t len, unacked, unsent, recvq, app;
	uint64_t t0, t_frozen, t_sent, t_reply;
};

/* One handoff on the new node. */
struct hop_in {
	struct tch_state st;
	struct lb_flow_key key;
	struct session *s;
	int nfd, dropping, repointed;
	uint32_t run, hops, gap;
	char from[17];
	char err[256];
	uint32_t us[4];			/* decode, restore, re-point, resume */
};

static uint64_t now_ns(void)
{
	return flowdrop_now_ns();
}

/* ------------------------------------------------------------ helpers -- */

/* Read exactly n bytes within timeout_ms.  0, or -1 (errno ETIMEDOUT on
 * timeout, EPIPE at EOF). */
static int read_full(int fd, void *buf, size_t n, int timeout_ms)
{
	uint8_t *p = buf;
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000;

	while (n) {
		int64_t left = (int64_t)(end - now_ns()) / 1000000;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == 0)
			errno = EPIPE;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_full(int fd, const void *buf, size_t n)
{
	return send_all(fd, buf, n, 0, PEER_TIMEOUT_MS, NULL);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int ioc(int fd, unsigned long req)
{
	int v = -1;

	ioctl(fd, req, &v);
	return v;
}

static struct peer *find_peer(struct demo *d, const char *name)
{
	for (int i = 0; i < d->npeers; i++)
		if (!strcmp(d->peers[i].name, name))
			return &d->peers[i];
	return NULL;
}

/* Re-point the flow of s at node `to` through lbd's control socket. */
static int repoint(struct demo *d, const struct session *s, const char *to, char *err,
		   size_t errlen)
{
	char c[TADDR_STRLEN], v[TADDR_STRLEN];
	json_t *req, *rep;
	int rc = -1;

	req = json_pack("{s:s, s:{s:s, s:i, s:s, s:i, s:s}, s:s}", "cmd", "migrate", "flow",
			"client", taddr_fmt(&s->client, c, sizeof(c)), "client_port", s->cport,
			"vip", taddr_fmt(&s->vip, v, sizeof(v)), "port", s->vport, "proto", "tcp", "to", to);
	rep = ctl_request(d->lbd_sock, req, 2000, err, errlen);
	json_decref(req);
	if (!rep)
		return -1;
	if (json_is_true(json_object_get(rep, "ok")) &&
	    json_integer_value(json_object_get(rep, "moved")) == 1)
		rc = 0;
	else
		snprintf(err, errlen, "lbd migrate: %s", json_string_value(json_object_get(rep, "error")) ?:
			 "flow not moved");
	json_decref(rep);
	return rc;
}

/* ----------------------------------------------------------- sessions -- */

static void session_cb(struct loop *l, struct loop_io *io, uint32_t events);
static void hop_cb(struct loop *l, struct loop_timer *t);

/* Register the events the session needs now: read while the app buffer has
 * room, write while it holds bytes. */
static void session_arm(struct session *s)
{
	uint32_t ev = 0;

	if (!s->eof && s->plen < APP_BUF)
		ev |= EPOLLIN;
	if (s->plen)
		ev |= EPOLLOUT;
	if (ev == s->events)
		return;
	if (!s->events)
		loop_add(&s->d->loop, &s->io, ev);
	else if (!ev)
		loop_del(&s->d->loop, &s->io);
	else
		loop_mod(&s->d->loop, &s->io, ev);
	s->events = ev;
}

static void session_unarm(struct session *s)
{
	if (s->events)
		loop_del(&s->d->loop, &s->io);
	s->events = 0;
}

/* Forget s (not its socket: the caller closes or hands it on) and free it. */
static void session_free(struct session *s)
{
	struct session **pp;

	for (pp = &s->d->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	session_unarm(s);
	loop_timer_close(&s->d->loop, &s->hop);
	free(s);
}

static struct session *session_new(struct demo *d, int fd)
{
	struct session *s = calloc(1, sizeof(*s));
	struct sockaddr_storage la, ra;
	socklen_t ll = sizeof(la), rl = sizeof(ra);

	if (!s)
		return NULL;
	s->d = d;
	s->fd = fd;
	s->hash = 14695981039346656037ull;
	s->io.fd = fd;
	s->io.cb = session_cb;
	s->io.arg = s;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (getsockname(fd, (struct sockaddr *)&la, &ll) < 0 ||
	    getpeername(fd, (struct sockaddr *)&ra, &rl) < 0 ||
	    taddr_from_sockaddr(&la, &s->vip, &s->vport) < 0 ||
	    taddr_from_sockaddr(&ra, &s->client, &s->cport) < 0 ||
	    loop_timer_init(&d->loop, &s->hop, hop_cb, s) < 0) {
		free(s);
		return NULL;
	}
	flowkey_make(&s->key, &s->client, s->cport, &s->vip, s->vport, IPPROTO_TCP);
	s->next = d->sessions;
	d->sessions = s;
	return s;
}

static void session_end(struct session *s, const char *why)
{
	char c[TADDR_STRLEN];

	if (!s->bytes_in && !s->bytes_out)	/* health checks: connect, close */
		log_debug("session end client=%s:%u (%s)", taddr_fmt(&s->client, c, sizeof(c)), s->cport, why);
	else
		log_info("session end client=%s:%u in=%" PRIu64 " out=%" PRIu64 " hash=%016" PRIx64 " (%s)",
		 taddr_fmt(&s->client, c, sizeof(c)), s->cport, s->bytes_in, s->bytes_out, s->hash, why);
	s->d->ended++;
	close(s->fd);
	session_free(s);
}

static void session_cb(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct session *s = io->arg;

	if ((events & EPOLLIN) && s->plen < APP_BUF) {
		ssize_t r = recv(s->fd, s->pend + s->plen, APP_BUF - s->plen, MSG_DONTWAIT);
		if (r > 0) {
			s->hash = fnv(s->hash, s->pend + s->plen, (size_t)r);
			s->plen += (size_t)r;
			s->bytes_in += (uint64_t)r;
		} else if (r == 0) {
			s->eof = 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			log_warn("session client port %u: recv", s->cport);
			session_end(s, "recv error");
			return;
		}
	}
	if (s->plen) {
		ssize_t w = send(s->fd, s->pend, s->plen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			memmove(s->pend, s->pend + w, s->plen - (size_t)w);
			s->plen -= (size_t)w;
			s->bytes_out += (uint64_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			log_warn("session client port %u: send", s->cport);
			session_end(s, "send error");
			return;
		}
	}
	if (s->eof && !s->plen) {
		session_end(s, "client closed");
		return;
	}
	session_arm(s);
}

/* App blob: u8 version 1, u8[7] zero, u64 in, u64 out, u64 hash, then the
 * pending bytes (their count is the blob's length minus the header). */
static int app_blob(const struct session *s, struct tch_state *st)
{
	uint8_t b[APP_HDR + APP_BUF];

	memset(b, 0, APP_HDR);
	b[0] = 1;
	wire_put64(b + 8, s->bytes_in);
	wire_put64(b + 16, s->bytes_out);
	wire_put64(b + 24, s->hash);
	memcpy(b + APP_HDR, s->pend, s->plen);
	return tch_state_set_app(st, b, APP_HDR + s->plen);
}

static int app_take(struct session *s, const struct tch_state *st)
{
	if (st->app_len < APP_HDR || st->app_len > APP_HDR + APP_BUF || st->app[0] != 1)
		return -1;
	s->bytes_in = wire_get64(st->app + 8);
	s->bytes_out = wire_get64(st->app + 16);
	s->hash = wire_get64(st->app + 24);
	s->plen = st->app_len - APP_HDR;
	memcpy(s->pend, st->app + APP_HDR, s->plen);
	return 0;
}

/* ------------------------------------------------------ handoff, out -- */

static int peer_conn(struct peer *p)
{
	int one = 1;

	if (p->fd >= 0)
		return p->fd;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(p->fd, (struct sockaddr *)&p->addr, sizeof(p->addr)) < 0) {
		close(p->fd);
		p->fd = -1;
		return -1;
	}
	return p->fd;
}

static void peer_drop(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Silence s's flow until until_ns: hold what the client sends (replayed
 * to the session's socket once it is live again) or, with --hold-kb 0,
 * only drop it (the client retransmits). */
static int arm_drop(struct demo *d, const struct lb_flow_key *k, uint64_t until_ns)
{
	return d->hold_max ? flowdrop_hold(&d->drop, k, until_ns, d->hold_max)
			   : flowdrop_add(&d->drop, k, until_ns);
}

/* What this node held of k, replayed here (the session is live here
 * again: rollback). */
static void replay_held(struct demo *d, const struct lb_flow_key *k)
{
	struct flowdrop_pkt *list;

	if (flowdrop_take(&d->drop, k, &list) > 0)
		tch_replay_list(&d->raw, list);
	flowdrop_pkts_free(list);
}

/* HELD (header: magic, type, count, bytes; then per packet u32 length and
 * the packet) with what this node held of k, to the new node on fd. */
static void held_send(struct demo *d, int fd, const struct lb_flow_key *k)
{
	struct flowdrop_pkt *list, *p;
	uint8_t hdr[HELD_HDR] = { 0 }, l[4];
	uint32_t n = 0, bytes = 0;

	flowdrop_take(&d->drop, k, &list);
	for (p = list; p; p = p->next, n++)
		bytes += p->len;
	wire_put32(hdr, MSG_MAGIC);
	hdr[4] = MSG_HELD;
	wire_put32(hdr + 8, n);
	wire_put32(hdr + 12, bytes);
	int rc = send_full(fd, hdr, sizeof(hdr));
	for (p = list; p && rc == 0; p = p->next) {
		wire_put32(l, p->len);
		rc = send_full(fd, l, 4) < 0 ? -1 : send_full(fd, p->data, p->len);
	}
	if (rc == 0)
		d->held_sent += n;
	flowdrop_pkts_free(list);
}

/* The old node's HELD on fd into *out (oldest first; NULL if none).  0 or
 * -1 (the connection is to be closed). */
static int held_read(int fd, struct flowdrop_pkt **out)
{
	uint8_t hdr[HELD_HDR], l[4];
	struct flowdrop_pkt *list = NULL, **tail = &list, *p;
	uint32_t n;

	*out = NULL;
	if (read_full(fd, hdr, sizeof(hdr), PEER_TIMEOUT_MS) < 0 || wire_get32(hdr) != MSG_MAGIC ||
	    hdr[4] != MSG_HELD || (n = wire_get32(hdr + 8)) > 1000000)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (read_full(fd, l, 4, PEER_TIMEOUT_MS) < 0 || wire_get32(l) > FLOWDROP_HOLD_PKT_MAX ||
		    !(p = calloc(1, sizeof(*p) + wire_get32(l)))) {
			flowdrop_pkts_free(list);
			return -1;
		}
		p->len = wire_get32(l);
		*tail = p;
		tail = &p->next;
		if (read_full(fd, p->data, p->len, PEER_TIMEOUT_MS) < 0) {
			flowdrop_pkts_free(list);
			return -1;
		}
	}
	*out = list;
	return 0;
}

/* Give up a handoff: make sure the switch sends the flow here (the new node
 * may have re-pointed it before failing, or died meanwhile), stop dropping,
 * leave repair mode, serve the session again. */
static void rollback(struct demo *d, struct session *s, int maybe_repointed, uint32_t run,
		     const char *why)
{
	char err[256] = "";

	if (maybe_repointed && repoint(d, s, d->name, err, sizeof(err)) < 0)
		log_warnx("rollback: re-point to %s: %s", d->name, err);
	flowdrop_del(&d->drop, &s->key);
	if (tch_thaw(s->fd, err, sizeof(err)) < 0)
		log_warnx("rollback: %s", err);
	else
		replay_held(d, &s->key);	/* what the client sent meanwhile, to the session here */
	d->rollbacks++;
	d->out_fail++;
	d->last_failed = run;
	log_info("rollback run=%u client port %u stays on %s: %s", run, s->cport, d->name, why);
	session_arm(s);
}

/* Steps 1-4 on the old node: drop the flow (a socket in repair mode still
 * ACKs what arrives; the guard expiry frees the flow should we never get to
 * remove it), freeze, add the app state, encode.  On failure the session
 * goes on here (0 is returned only with h->buf set). */
static int out_freeze(struct demo *d, struct session *s, uint32_t run, struct hop_out *h)
{
	struct tch_state st;
	char err[256], why[400];

	h->t0 = now_ns();
	if (arm_drop(d, &s->key, h->t0 + GUARD_NS) < 0) {
		log_warn("handoff: flow drop");
		return -1;
	}
	session_unarm(s);
	if (tch_freeze(s->fd, &st, err, sizeof(err)) < 0) {
		flowdrop_del(&d->drop, &s->key);
		d->out_fail++;
		d->last_failed = run;
		log_warnx("handoff run=%u: %s", run, err);
		session_arm(s);
		return -1;
	}
	h->t_frozen = now_ns();
	if (app_blob(s, &st) < 0) {
		tch_state_free(&st);
		rollback(d, s, 0, run, "app state too large");
		return -1;
	}
	size_t cap = tch_state_encoded_len(&st);
	h->buf = malloc(cap);
	if (!h->buf || tch_state_encode(&st, h->buf, cap, &h->len, why, sizeof(why)) != TCH_OK) {
		free(h->buf);
		h->buf = NULL;
		tch_state_free(&st);
		rollback(d, s, 0, run, "encode failed");
		return -1;
	}
	h->unacked = st.unacked_len;
	h->unsent = st.unsent_len;
	h->recvq = st.recv_len;
	h->app = st.app_len;
	tch_state_free(&st);
	return 0;
}

static int out_send_reply(struct demo *d, struct peer *p, int fd, struct hop_out *h,
			  uint8_t rep[REPLY_LEN], int *maybe_repointed, char *why, size_t whylen);

/* Send STATE (header: magic, type, run, hops, gap, our name, length) and
 * the encoded state to p; the reply into rep.  -1 with the reason in why
 * and *maybe_repointed set when the peer got the state (it may have
 * re-pointed the flow, then died). */
static int out_send(struct demo *d, struct peer *p, const struct session *s, struct hop_out *h,
		    uint8_t rep[REPLY_LEN], int *maybe_repointed, char *why, size_t whylen)
{
	uint8_t hdr[STATE_HDR] = { 0 };
	int fd;

	wire_put32(hdr, MSG_MAGIC);
	hdr[4] = MSG_STATE;
	wire_put32(hdr + 8, s->run);
	wire_put32(hdr + 12, s->hops);
	wire_put32(hdr + 16, s->gap_ms);
	memcpy(hdr + 24, d->name, strnlen(d->name, 15));
	wire_put32(hdr + 40, (uint32_t)h->len);
	*maybe_repointed = 0;
	fd = peer_conn(p);
	if (fd < 0 || send_full(fd, hdr, sizeof(hdr)) < 0 || send_full(fd, h->buf, h->len) < 0) {
		snprintf(why, whylen, "send to %s: %s", p->name, strerror(errno));
		peer_drop(p);
		return -1;
	}
	h->t_sent = now_ns();
	return out_send_reply(d, p, fd, h, rep, maybe_repointed, why, whylen);
}

/* N's reply to STATE: REPLY_HELD (then another reply), ok or a refusal. */
static int out_send_reply(struct demo *d, struct peer *p, int fd, struct hop_out *h,
			  uint8_t rep[REPLY_LEN], int *maybe_repointed, char *why, size_t whylen)
{
	const struct session *s = h->s;

	if (read_full(fd, rep, REPLY_LEN, PEER_TIMEOUT_MS) < 0 || wire_get32(rep) != MSG_MAGIC ||
	    rep[4] != MSG_REPLY) {
		snprintf(why, whylen, "no reply from %s: %s", p->name,
			 errno == EPIPE ? "connection closed" : strerror(errno));
		peer_drop(p);
		*maybe_repointed = 1;
		return -1;
	}
	if (rep[5] == REPLY_HELD) {	/* N re-pointed the flow: what we held, then its reply */
		held_send(d, fd, &s->key);
		return out_send_reply(d, p, fd, h, rep, maybe_repointed, why, whylen);
	}
	h->t_reply = now_ns();
	if (rep[5] != 0) {
		rep[REPLY_LEN - 1] = 0;
		snprintf(why, whylen, "%s refused: %s", p->name, (char *)rep + 32);
		*maybe_repointed = rep[6];
		return -1;
	}
	return 0;
}

/* The new node resumed: the old socket goes without a word, and the flow's
 * stragglers keep being dropped for the grace period.  (What was held while
 * frozen went to the new node on its REPLY_HELD, out_send_reply.) */
static void out_done(struct demo *d, struct session *s, const struct peer *p, const struct hop_out *h,
		     const uint8_t rep[REPLY_LEN])
{
	const char *to = p->name;
	char err[256];

	if (tch_close_silently(s->fd, err, sizeof(err)) < 0)
		log_warnx("handoff run=%u: %s (socket kept)", s->run, err);
	flowdrop_add(&d->drop, &s->key, now_ns() + d->grace_ns);
	/* held after our HELD went (packets already on their way when the
	 * switch was re-pointed): lost, counted */
	struct flowdrop_pkt *late;
	d->held_late += (uint64_t)flowdrop_take(&d->drop, &s->key, &late);
	flowdrop_pkts_free(late);
	uint32_t total_us = (uint32_t)((wire_get64(rep + 8) - h->t0) / 1000);
	d->out_ok++;
	log_info("handoff ok run=%u hop=%u %s->%s port=%u total_us=%u freeze_us=%" PRIu64
		 " send_us=%" PRIu64 " decode_us=%u restore_us=%u repoint_us=%u resume_us=%u "
		 "reply_us=%" PRIu64 " bytes=%zu unacked=%zu unsent=%zu recvq=%zu app=%zu",
		 s->run, s->hops, d->name, to, s->cport, total_us, (h->t_frozen - h->t0) / 1000,
		 (h->t_sent - h->t_frozen) / 1000, wire_get32(rep + 16), wire_get32(rep + 20),
		 wire_get32(rep + 24), wire_get32(rep + 28), (h->t_reply - h->t0) / 1000, h->len,
		 h->unacked, h->unsent, h->recvq, h->app);
	s->fd = -1;
	session_free(s);
}

/* Hand session s to its hop_to (s->hops, gap_ms, run say the rest). */
static void handoff_out(struct demo *d, struct session *s)
{
	struct peer *p = find_peer(d, s->hop_to);
	struct hop_out h = { 0 };
	uint8_t rep[REPLY_LEN];
	char why[400];
	int maybe;

	if (!p) {
		log_warnx("handoff: no peer %s", s->hop_to);
		return;
	}
	h.s = s;
	if (out_freeze(d, s, s->run, &h) < 0)
		return;
	int rc = out_send(d, p, s, &h, rep, &maybe, why, sizeof(why));
	free(h.buf);
	if (rc < 0)
		rollback(d, s, maybe, s->run, why);
	else
		out_done(d, s, p, &h, rep);
}

static void hop_cb(struct loop *l, struct loop_timer *t)
{
	struct session *s = t->arg;

	loop_timer_set(t, 0, 0);
	handoff_out(s->d, s);
}

/* ------------------------------------------------------- handoff, in -- */

static void send_reply(int fd, int status, int repointed, uint64_t resumed, const uint32_t us[4],
		       const char *msg)
{
	uint8_t r[REPLY_LEN];

	memset(r, 0, sizeof(r));
	wire_put32(r, MSG_MAGIC);
	r[4] = MSG_REPLY;
	r[5] = (uint8_t)status;
	r[6] = (uint8_t)repointed;
	wire_put64(r + 8, resumed);
	for (int i = 0; i < 4; i++)
		wire_put32(r + 16 + 4 * i, us[i]);
	snprintf((char *)r + 32, REPLY_LEN - 32, "%.159s", msg);
	send_full(fd, r, sizeof(r));
}

/* Read one STATE message: its header into h, the encoded state into *buf
 * (caller frees).  -1 when the connection should be closed. */
static int in_read(int cfd, struct hop_in *h, uint8_t **buf, uint32_t *len)
{
	uint8_t hdr[STATE_HDR];

	if (read_full(cfd, hdr, sizeof(hdr), PEER_TIMEOUT_MS) < 0)
		return -1;
	if (wire_get32(hdr) != MSG_MAGIC || hdr[4] != MSG_STATE) {
		log_warnx("peer: not a STATE message");
		return -1;
	}
	h->run = wire_get32(hdr + 8);
	h->hops = wire_get32(hdr + 12);
	h->gap = wire_get32(hdr + 16);
	memcpy(h->from, hdr + 24, 16);
	h->from[16] = 0;
	*len = wire_get32(hdr + 40);
	if (*len > TCH_STATE_MAX) {
		log_warnx("peer %s: state of %u bytes", h->from, *len);
		return -1;
	}
	*buf = malloc(*len ? *len : 1);
	if (!*buf || read_full(cfd, *buf, *len, PEER_TIMEOUT_MS) < 0) {
		free(*buf);
		return -1;
	}
	return 0;
}

/* Steps 5-7 on the new node: decode; drop the flow here too until we
 * resume (once the switch sends it here, the restored socket, still in
 * repair mode, would ACK the client's data, and if we die or fail before
 * resuming, those bytes would exist nowhere while the old node rolls back;
 * this also re-arms an entry left from a grace period, when this node
 * handed the session away); restore; take the app state.  -1 with h->err;
 * h->st, the drop, the restored socket and the session are the caller's to
 * undo (handoff_in). */
static int in_restore(struct demo *d, struct hop_in *h, const uint8_t *buf, uint32_t len)
{
	char why[160];
	uint64_t t0 = now_ns(), t1;

	if (tch_state_decode(buf, len, &h->st, why, sizeof(why)) != TCH_OK) {
		memset(&h->st, 0, sizeof(h->st));	/* it holds no allocation */
		snprintf(h->err, sizeof(h->err), "decode: %s", why);
		return -1;
	}
	tch_state_flow_key(&h->st, &h->key);
	if (arm_drop(d, &h->key, now_ns() + GUARD_NS) < 0) {
		snprintf(h->err, sizeof(h->err), "flow drop: %s", strerror(errno));
		return -1;
	}
	h->dropping = 1;
	if (d->inject == INJ_FAIL_RESTORE) {
		d->inject = INJ_NONE;
		inet_pton(AF_INET, "192.0.2.1", h->st.local_addr);	/* not configured here */
	}
	t1 = now_ns();
	if (tch_restore(&h->st, &h->nfd, h->err, sizeof(h->err)) < 0)
		return -1;
	h->us[0] = (uint32_t)((t1 - t0) / 1000);
	h->us[1] = (uint32_t)((now_ns() - t1) / 1000);
	h->s = session_new(d, h->nfd);
	if (!h->s || app_take(h->s, &h->st) < 0) {
		snprintf(h->err, sizeof(h->err), "bad app state");
		return -1;
	}
	return 0;
}

/* Steps 8-10: re-point the switch here, stop dropping, leave repair mode
 * (its window probe's answer must get through).  -1 with h->err. */
static int in_commit(struct demo *d, struct hop_in *h, int cfd, uint64_t *resumed)
{
	struct flowdrop_pkt *from_old = NULL;
	uint64_t t0 = now_ns(), t1;

	if (repoint(d, h->s, d->name, h->err, sizeof(h->err)) < 0)
		return -1;
	h->repointed = 1;
	if (d->inject == INJ_DIE_AFTER_REPOINT) {
		/* The switch now sends the flow here, the socket is restored but not
		 * resumed: dying now closes it in repair mode, silently. */
		log_info("inject: dying after the re-point (run %u)", h->run);
		_exit(9);
	}
	/* The old node gets no more of the flow: what it held, to replay here
	 * right after the resume, before the client's answers to the kick. */
	send_reply(cfd, REPLY_HELD, 1, 0, h->us, "re-pointed, send what you held");
	if (held_read(cfd, &from_old) < 0) {
		snprintf(h->err, sizeof(h->err), "no HELD from %s", h->from);
		return -1;
	}
	t1 = now_ns();
	/* tch_resume replays the old node's packets, then this node's, and
	 * ends this node's drop (d->hold_max 0: nothing held, only the drop) */
	struct tch_held held = { .drop = &d->drop, .key = h->key, .from_old = from_old };
	if (!d->hold_max)
		flowdrop_del(&d->drop, &h->key);
	int rc = tch_resume(h->nfd, &h->st, &d->raw, d->hold_max ? &held : NULL, h->err, sizeof(h->err));
	flowdrop_pkts_free(from_old);
	if (rc < 0)
		return -1;	/* the switch sends the flow here; the old node points it back */
	*resumed = now_ns();
	h->us[2] = (uint32_t)((t1 - t0) / 1000);
	h->us[3] = (uint32_t)((*resumed - t1) / 1000);
	return 0;
}

/* The session runs here now: serve it, and hand it on if hops remain. */
static void in_serve(struct demo *d, struct hop_in *h)
{
	struct session *s = h->s;

	d->in_ok++;
	session_arm(s);
	if (s->plen)	/* echo what the old node had not sent yet */
		session_cb(&d->loop, &s->io, EPOLLOUT);
	if (h->hops > 1) {
		snprintf(s->hop_to, sizeof(s->hop_to), "%s", h->from);
		s->hops = h->hops - 1;
		s->gap_ms = h->gap;
		s->run = h->run;
		loop_timer_set(&s->hop, h->gap ? h->gap : 1, 0);
	} else {
		d->last_done = h->run;
		log_info("run %u done: session on %s", h->run, d->name);
	}
}

/* One STATE message on an incoming peer connection.  Returns -1 when the
 * connection should be closed. */
static int handoff_in(struct demo *d, int cfd)
{
	struct hop_in h = { .nfd = -1 };
	uint8_t *buf;
	uint32_t len;
	uint64_t resumed = 0;

	if (in_read(cfd, &h, &buf, &len) < 0)
		return -1;
	if (d->inject == INJ_DIE_ON_STATE) {
		log_info("inject: dying on a handoff from %s (run %u)", h.from, h.run);
		_exit(9);
	}
	int rc = in_restore(d, &h, buf, len);
	free(buf);
	if (rc == 0)
		rc = in_commit(d, &h, cfd, &resumed);
	if (rc == 0) {
		tch_state_free(&h.st);
		send_reply(cfd, 0, 1, resumed, h.us, "ok");
		in_serve(d, &h);
		return 0;
	}
	if (h.s) {
		h.s->fd = -1;
		session_free(h.s);
	}
	if (h.nfd >= 0)
		tch_close_silently(h.nfd, NULL, 0);
	if (h.dropping && !h.repointed)	/* else the old node points the switch back first */
		flowdrop_del(&d->drop, &h.key);
	tch_state_free(&h.st);
	d->in_fail++;
	log_warnx("handoff from %s refused (run %u): %s", h.from, h.run, h.err);
	send_reply(cfd, 1, h.repointed, 0, h.us, h.err);
	return 0;
}

/* An incoming peer connection is a listener too: an io and its demo. */
static void peer_in_cb(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct listener *pi = io->arg;

	if (handoff_in(pi->d, io->fd) < 0) {
		loop_del(l, io);
		close(io->fd);
		free(pi);
	}
}

static void peer_accept_cb(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct listener *li = io->arg;
	int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC), one = 1;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct listener *pi = calloc(1, sizeof(*pi));
	if (!pi) {
		close(fd);
		return;
	}
	pi->d = li->d;
	pi->io.fd = fd;
	pi->io.cb = peer_in_cb;
	pi->io.arg = pi;
	loop_add(l, &pi->io, EPOLLIN);
}

static void client_accept_cb(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct listener *li = io->arg;
	int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	struct session *s = session_new(li->d, fd);
	if (!s) {
		close(fd);
		return;
	}
	char c[TADDR_STRLEN];
	log_debug("session start client=%s:%u", taddr_fmt(&s->client, c, sizeof(c)), s->cport);
	session_arm(s);
}

/* ------------------------------------------------------------ control -- */

static json_t *cmd_status(struct demo *d)
{
	uint64_t dropped = 0, dropped_out = 0, expired = 0;
	int n = 0;

	for (const struct session *s = d->sessions; s; s = s->next)
		n++;
	uint64_t held = 0, overflow = 0, evicted = 0;
	flowdrop_counters(&d->drop, &dropped, &dropped_out, &expired);
	flowdrop_hold_counters(&d->drop, &held, &overflow, &evicted);
	return json_pack("{s:b, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:I,"
			 " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", 1,
			 "name", d->name, "sessions", n,
			 "out_ok", (json_int_t)d->out_ok, "out_fail", (json_int_t)d->out_fail,
			 "in_ok", (json_int_t)d->in_ok, "in_fail", (json_int_t)d->in_fail,
			 "rollbacks", (json_int_t)d->rollbacks, "ended", (json_int_t)d->ended,
			 "last_done", (int)d->last_done, "last_failed", (int)d->last_failed,
			 "dropped_in", (json_int_t)dropped, "dropped_out", (json_int_t)dropped_out,
			 "drop_expired", (json_int_t)expired, "held", (json_int_t)held,
			 "hold_overflow", (json_int_t)overflow, "hold_evicted", (json_int_t)evicted,
			 "held_sent", (json_int_t)d->held_sent, "held_late", (json_int_t)d->held_late,
			 "replayed", (json_int_t)d->raw.replayed,
			 "replay_failed", (json_int_t)d->raw.replay_failed,
			 "replay_unconfirmed", (json_int_t)d->raw.replay_unconfirmed);
}

static json_t *cmd_sessions(struct demo *d)
{
	json_t *a = json_array();

	for (struct session *s = d->sessions; s; s = s->next)
		json_array_append_new(a, json_pack(
			"{s:i, s:I, s:I, s:i, s:i, s:i, s:i, s:b}", "client_port", s->cport,
			"in", (json_int_t)s->bytes_in, "out", (json_int_t)s->bytes_out,
			"pending", (int)s->plen, "inq", ioc(s->fd, SIOCINQ),
			"outq", ioc(s->fd, SIOCOUTQ), "unsent", ioc(s->fd, SIOCOUTQNSD),
			"reading", (s->events & EPOLLIN) != 0));
	return json_pack("{s:b, s:o}", "ok", 1, "sessions", a);
}

/* handoff TO HOPS GAP_MS RUN [CLIENT_PORT]: scheduled on the session's
 * timer (from the loop, not from inside this reply). */
static json_t *cmd_handoff(struct demo *d, const char **av, int ac)
{
	struct session *s = d->sessions;

	if (ac == 5)
		while (s && s->cport != atoi(av[4]))
			s = s->next;
	if (!s)
		return ctl_error("no such session");
	if (!find_peer(d, av[0]))
		return ctl_error("no peer %s", av[0]);
	if (atoi(av[1]) < 1)
		return ctl_error("HOPS must be >= 1");
	snprintf(s->hop_to, sizeof(s->hop_to), "%s", av[0]);
	s->hops = (uint32_t)atoi(av[1]);
	s->gap_ms = (uint32_t)atoi(av[2]);
	s->run = (uint32_t)atoi(av[3]);
	loop_timer_set(&s->hop, 1, 0);
	return json_pack("{s:b, s:i}", "ok", 1, "client_port", s->cport);
}

static json_t *cmd_inject(struct demo *d, const char *what)
{
	static const char *const names[] = { "none", "die-on-state", "fail-restore",
					     "die-after-repoint" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(what, names[i])) {
			d->inject = (enum inject)i;
			return json_pack("{s:b}", "ok", 1);
		}
	return ctl_error("inject die-on-state|die-after-repoint|fail-restore|none");
}

/* One request {"cmd": C, "args": [...]} (lib/ctl's protocol). */
static json_t *cmd(struct demo *d, const json_t *req)
{
	const char *c = json_string_value(json_object_get(req, "cmd")), *av[8];
	json_t *args = json_object_get(req, "args");
	int ac = 0;

	if (!c)
		return ctl_error("no cmd");
	for (size_t i = 0; i < json_array_size(args) && ac < 8; i++)
		if ((av[ac] = json_string_value(json_array_get(args, i))))
			ac++;
	if (!strcmp(c, "status"))
		return cmd_status(d);
	if (!strcmp(c, "sessions"))
		return cmd_sessions(d);
	if (!strcmp(c, "handoff") && (ac == 4 || ac == 5))
		return cmd_handoff(d, av, ac);
	if (!strcmp(c, "inject") && ac == 1)
		return cmd_inject(d, av[0]);
	if (!strcmp(c, "hold") && ac == 1) {	/* bytes held per session from now on */
		d->hold_max = (uint32_t)strtoul(av[0], NULL, 10);
		return json_pack("{s:b, s:I}", "ok", 1, "hold_max", (json_int_t)d->hold_max);
	}
	return ctl_error("unknown command %s", c);
}

static void ctl_cb(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct listener *li = io->arg;
	char line[1024];
	int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
	size_t n = 0;
	json_t *req, *r;

	if (fd < 0)
		return;
	while (n < sizeof(line) - 1 && read_full(fd, line + n, 1, 1000) == 0 && line[n++] != '\n')
		;
	line[n] = 0;
	req = json_loads(line, 0, NULL);
	r = req ? cmd(li->d, req) : ctl_error("request is not JSON");
	char *s = json_dumps(r, JSON_COMPACT);
	if (s) {
		send_full(fd, s, strlen(s));
		send_full(fd, "\n", 1);
		free(s);
	}
	json_decref(r);
	json_decref(req);
	close(fd);
}

/* tch_demo ctl SOCK CMD ARGS...: print the reply; 0 if it says ok. */
static int ctl_client(const char *path, int argc, char **argv)
{
	json_t *args = json_array(), *req, *rep;
	char err[256];

	for (int i = 1; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	req = json_pack("{s:s, s:o}", "cmd", argc ? argv[0] : "", "args", args);
	rep = ctl_request(path, req, 10000, err, sizeof(err));
	json_decref(req);
	if (!rep)
		fatalx("%s", err);
	char *s = json_dumps(rep, JSON_COMPACT);
	int rc = json_is_true(json_object_get(rep, "ok")) ? 0 : 1;
	printf("%s\n", s ? s : "");
	free(s);
	json_decref(rep);
	return rc;
}

/* --------------------------------------------------------------- main -- */

static void listen_on(struct demo *d, struct listener *li, const char *ep, loop_io_cb cb)
{
	struct taddr a;
	uint16_t port;

	if (taddr_parse_endpoint(ep, &a, &port) < 0)
		fatalx("bad endpoint %s", ep);
	li->d = d;
	li->io.fd = tcp_listen(&a, port, 64);
	li->io.cb = cb;
	li->io.arg = li;
	if (li->io.fd < 0 || loop_add(&d->loop, &li->io, EPOLLIN) < 0)
		fatal("listen %s", ep);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	loop_stop(l);
}

static void gc_cb(struct loop *l, struct loop_timer *t)
{
	struct demo *d = t->arg;

	flowdrop_gc(&d->drop, now_ns());
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "Exclusivity flag on"))	/* clsact already there: handled */
		return 0;
	return fputs(msg, stderr);
}

static void usage(void)
{
	fprintf(stderr, "usage: tch_demo serve --name N --listen A:P [--listen ...] --peer-listen A:P\n"
		"         --peer NAME=A:P ... --ifname IF --obj FLOWDROP.o [--pin DIR] --lbd SOCK\n"
		"         --ctl SOCK [--grace-ms MS] [--hold-kb KB] [-v]\n"
		"       tch_demo ctl SOCK COMMAND...\n");
	exit(2);
}

static void add_peer(struct demo *d, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct taddr a;
	uint16_t port;

	if (!eq || d->npeers == MAX_PEERS || taddr_parse_endpoint(eq + 1, &a, &port) < 0 ||
	    a.family != 4)
		fatalx("bad --peer %s (want NAME=IPv4:PORT)", arg);
	struct peer *p = &d->peers[d->npeers++];
	snprintf(p->name, sizeof(p->name), "%.*s", (int)(eq - arg), arg);
	p->addr.sin_family = AF_INET;
	memcpy(&p->addr.sin_addr, a.a, 4);
	p->addr.sin_port = htons(port);
	p->fd = -1;
}

struct opts {
	const char *ifname, *obj, *pin, *ctl, *peer_listen, *listens[MAX_LISTEN];
	int verbose;
};

static void parse_serve(struct demo *d, struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", 1, 0, 'n' }, { "listen", 1, 0, 'l' }, { "peer-listen", 1, 0, 'P' },
		{ "peer", 1, 0, 'p' }, { "ifname", 1, 0, 'i' }, { "obj", 1, 0, 'o' },
		{ "pin", 1, 0, 'b' }, { "lbd", 1, 0, 's' }, { "ctl", 1, 0, 'c' },
		{ "grace-ms", 1, 0, 'g' }, { "hold-kb", 1, 0, 'H' }, { 0, 0, 0, 0 }
	};
	int opt;

	d->grace_ns = 2000000000ull;
	d->hold_max = 256 * 1024;
	while ((opt = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': snprintf(d->name, sizeof(d->name), "%s", optarg); break;
		case 'l':
			if (d->nlis == MAX_LISTEN)
				fatalx("too many --listen");
			o->listens[d->nlis++] = optarg;
			break;
		case 'P': o->peer_listen = optarg; break;
		case 'p': add_peer(d, optarg); break;
		case 'i': o->ifname = optarg; break;
		case 'o': o->obj = optarg; break;
		case 'b': o->pin = optarg; break;
		case 's': d->lbd_sock = optarg; break;
		case 'c': o->ctl = optarg; break;
		case 'g': d->grace_ns = (uint64_t)atol(optarg) * 1000000ull; break;
		case 'H': d->hold_max = (uint32_t)atol(optarg) * 1024; break;
		case 'v': o->verbose++; break;
		default: usage();
		}
	}
	if (!d->name[0] || !d->nlis || !o->peer_listen || !o->ifname || !d->lbd_sock || !o->ctl)
		usage();
}

int main(int argc, char **argv)
{
	static struct demo d;
	static const int sigs[] = { SIGTERM, SIGINT };
	struct opts o = { 0 };
	char err[256];

	log_init("tch_demo", 0, 0);
	if (argc >= 3 && !strcmp(argv[1], "ctl"))
		return ctl_client(argv[2], argc - 3, argv + 3);
	if (argc < 2 || strcmp(argv[1], "serve"))
		usage();
	parse_serve(&d, &o, argc - 1, argv + 1);
	log_init("tch_demo", 0, o.verbose);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(quiet_libbpf);
	tch_raw_init(&d.raw);
	if (loop_init(&d.loop) < 0)
		fatal("init");
	if (flowdrop_open(&d.drop, o.ifname, NULL, o.obj, o.pin, 0, err, sizeof(err)) < 0)
		fatalx("%s", err);
	for (int i = 0; i < d.nlis; i++)
		listen_on(&d, &d.lis[i], o.listens[i], client_accept_cb);
	listen_on(&d, &d.peer_lis, o.peer_listen, peer_accept_cb);
	d.ctl_lis.d = &d;
	d.ctl_lis.io.fd = ctl_listen(o.ctl);
	d.ctl_lis.io.cb = ctl_cb;
	d.ctl_lis.io.arg = &d.ctl_lis;
	if (d.ctl_lis.io.fd < 0 || loop_add(&d.loop, &d.ctl_lis.io, EPOLLIN) < 0)
		fatal("control socket %s", o.ctl);
	if (loop_signals_init(&d.loop, &d.sig, sigs, 2, on_signal, &d) < 0 ||
	    loop_timer_init(&d.loop, &d.gc, gc_cb, &d) < 0 || loop_timer_set(&d.gc, 500, 500) < 0)
		fatal("loop");
	log_info("%s serving (flow drop on %s)", d.name, o.ifname);
	loop_run(&d.loop);
	flowdrop_close(&d.drop);
	tch_raw_close(&d.raw);
	unlink(o.ctl);
	log_info("%s stops", d.name);
	return 0;
}
