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
 *   tch_demo ctl SOCKET COMMAND...     send one control line, print the reply
 *
 * The application: every byte a client sends is echoed back.  The session's
 * application state - bytes in/out, an FNV-1a hash of everything received,
 * and the bytes read but not yet echoed (the server stops reading when 32 KiB
 * wait, so a client that stops reading fills every queue) - travels in the
 * libtch state's app blob.
 *
 * Handoff (old node O, new node N), over a plain TCP connection between the
 * nodes' storage addresses (a stand-in for the authenticated channel):
 *   O: flow drop on (guard: expires after 3 s), tch_freeze, app state,
 *      encode, send STATE --> N: decode, flow drop on (until it resumes),
 *      tch_restore, re-point the switch (lbd control socket: migrate the
 *      5-tuple to N), flow drop off, tch_resume, the session lives on N
 *      <-- REPLY ok
 *   O: tch_close_silently, flow drop for the grace period.
 * (The order and its reasons: doc/tch.md.)
 *   Failure (REPLY fail, connection lost, timeout): O makes sure the switch
 *   points to O again, removes the drop, tch_thaw: the session continues on O.
 * A STATE carries a hop count: N hands the session back after gap_ms while
 * hops remain (ping-pong; the test's 1000 back-and-forth handoffs).
 *
 * Control commands (one line each, one line of JSON back):
 *   status | sessions | latency
 *   handoff TO HOPS GAP_MS RUN [CLIENT_PORT]   (first session, or that one)
 *   inject die-on-state | die-after-repoint | fail-restore | none
 *                                              (the next incoming handoff)
 *   quit
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include "lib/addr.h"
#include "lib/ctl.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "storage/tch/flowdrop.h"
#include "storage/tch/tch.h"
#include "storage/tch/tch_state.h"
#include "lib/wire.h"

#define APP_BUF (32 * 1024)	/* bytes read, not yet echoed: at most this */
#define APP_HDR 32		/* app blob: version, in, out, hash, pending length */
#define MAX_LISTEN 4
#define MAX_PEERS 8
#define MSG_MAGIC 0x54444d31u	/* "TDM1" */
#define MSG_STATE 1
#define MSG_REPLY 2
#define STATE_HDR 44
#define REPLY_LEN 192
#define PEER_TIMEOUT_MS 3000
#define MAX_LAT 100000

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
	const char *lbd_sock;
	uint64_t grace_ns;
	struct session *sessions;
	uint64_t out_ok, out_fail, in_ok, in_fail, rollbacks, ended;
	uint32_t last_done, last_failed;
	uint32_t *lat_us;		/* freeze -> resumed, per successful handoff out */
	size_t nlat;
	int inject;			/* 0, 1 die-on-state, 2 fail-restore, 3 die-after-repoint */
};

static uint64_t now_ns(void)
{
	return flowdrop_now_ns();
}

/* ------------------------------------------------------------ helpers -- */

static int write_full(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			if (poll(&pf, 1, PEER_TIMEOUT_MS) <= 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

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
static int repoint(struct demo *d, const struct taddr *client, uint16_t cport, const struct taddr *vip,
		   uint16_t vport, const char *to, char *err, size_t errlen)
{
	char c[TADDR_STRLEN], v[TADDR_STRLEN];
	json_t *req, *rep;
	int rc = -1;

	req = json_pack("{s:s, s:{s:s, s:i, s:s, s:i, s:s}, s:s}", "cmd", "migrate", "flow",
			"client", taddr_fmt(client, c, sizeof(c)), "client_port", cport,
			"vip", taddr_fmt(vip, v, sizeof(v)), "port", vport, "proto", "tcp", "to", to);
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
static int handoff_out(struct demo *d, struct session *s, const char *to, uint32_t hops,
		       uint32_t gap_ms, uint32_t run);

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

static void session_unlink(struct session *s)
{
	struct session **pp;

	for (pp = &s->d->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	session_unarm(s);
	loop_timer_close(&s->d->loop, &s->hop);
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
	getsockname(fd, (struct sockaddr *)&la, &ll);
	getpeername(fd, (struct sockaddr *)&ra, &rl);
	if (la.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&la, *b = (struct sockaddr_in *)&ra;
		s->vip.family = s->client.family = 4;
		memcpy(s->vip.a, &a->sin_addr, 4);
		memcpy(s->client.a, &b->sin_addr, 4);
		s->vport = ntohs(a->sin_port);
		s->cport = ntohs(b->sin_port);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&la, *b = (struct sockaddr_in6 *)&ra;
		s->vip.family = s->client.family = 6;
		memcpy(s->vip.a, &a->sin6_addr, 16);
		memcpy(s->client.a, &b->sin6_addr, 16);
		s->vport = ntohs(a->sin6_port);
		s->cport = ntohs(b->sin6_port);
	}
	flowkey_make(&s->key, &s->client, s->cport, &s->vip, s->vport, IPPROTO_TCP);
	if (loop_timer_init(&d->loop, &s->hop, hop_cb, s) < 0) {
		free(s);
		return NULL;
	}
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
	session_unlink(s);
	close(s->fd);
	free(s);
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

static void hop_cb(struct loop *l, struct loop_timer *t)
{
	struct session *s = t->arg;

	loop_timer_set(t, 0, 0);
	handoff_out(s->d, s, s->hop_to, s->hops, s->gap_ms, s->run);
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

/* Give up a handoff: make sure the switch sends the flow here (the new node
 * may have re-pointed it before failing, or died meanwhile), stop dropping,
 * leave repair mode, serve the session again. */
static void rollback(struct demo *d, struct session *s, int maybe_repointed, uint32_t run,
		     const char *why)
{
	char err[256] = "";

	if (maybe_repointed &&
	    repoint(d, &s->client, s->cport, &s->vip, s->vport, d->name, err, sizeof(err)) < 0)
		log_warnx("rollback: re-point to %s: %s", d->name, err);
	flowdrop_del(&d->drop, &s->key);
	if (tch_thaw(s->fd, err, sizeof(err)) < 0)
		log_warnx("rollback: %s", err);
	d->rollbacks++;
	d->out_fail++;
	d->last_failed = run;
	log_info("rollback run=%u client port %u stays on %s: %s", run, s->cport, d->name, why);
	session_arm(s);
}

static int handoff_out(struct demo *d, struct session *s, const char *to, uint32_t hops,
		       uint32_t gap_ms, uint32_t run)
{
	struct peer *p = find_peer(d, to);
	struct tch_state st;
	uint8_t hdr[STATE_HDR], rep[REPLY_LEN];
	char err[256], why[400];
	size_t len;
	uint64_t t0, t_frozen, t_sent, t_reply;
	int fd;

	if (!p) {
		log_warnx("handoff: no peer %s", to);
		return -1;
	}
	t0 = now_ns();
	/* Drop first: a socket in repair mode still ACKs what arrives.  The guard
	 * expiry frees the flow by itself should we never get to remove it. */
	if (flowdrop_add(&d->drop, &s->key, t0 + 3000000000ull) < 0) {
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
	t_frozen = now_ns();
	if (app_blob(s, &st) < 0) {
		tch_state_free(&st);
		rollback(d, s, 0, run, "app state too large");
		return -1;
	}
	size_t cap = tch_state_encoded_len(&st);
	uint8_t *buf = malloc(cap);
	if (!buf || tch_state_encode(&st, buf, cap, &len, why, sizeof(why)) != TCH_OK) {
		free(buf);
		tch_state_free(&st);
		rollback(d, s, 0, run, "encode failed");
		return -1;
	}
	size_t unacked = st.unacked_len, unsent = st.unsent_len, recvq = st.recv_len, app = st.app_len;
	tch_state_free(&st);

	wire_put32(hdr, MSG_MAGIC);
	hdr[4] = MSG_STATE;
	hdr[5] = hdr[6] = hdr[7] = 0;
	wire_put32(hdr + 8, run);
	wire_put32(hdr + 12, hops);
	wire_put32(hdr + 16, gap_ms);
	wire_put32(hdr + 20, 0);
	memset(hdr + 24, 0, 16);
	memcpy(hdr + 24, d->name, strnlen(d->name, 15));
	wire_put32(hdr + 40, (uint32_t)len);
	fd = peer_conn(p);
	if (fd < 0 || write_full(fd, hdr, sizeof(hdr)) < 0 || write_full(fd, buf, len) < 0) {
		snprintf(why, sizeof(why), "send to %s: %s", to, strerror(errno));
		free(buf);
		peer_drop(p);
		rollback(d, s, 0, run, why);
		return -1;
	}
	free(buf);
	t_sent = now_ns();
	if (read_full(fd, rep, sizeof(rep), PEER_TIMEOUT_MS) < 0 || wire_get32(rep) != MSG_MAGIC ||
	    rep[4] != MSG_REPLY) {
		snprintf(why, sizeof(why), "no reply from %s: %s", to,
			 errno == EPIPE ? "connection closed" : strerror(errno));
		peer_drop(p);
		rollback(d, s, 1, run, why);	/* it may have re-pointed the flow, then died */
		return -1;
	}
	t_reply = now_ns();
	if (rep[5] != 0) {
		rep[REPLY_LEN - 1] = 0;
		snprintf(why, sizeof(why), "%s refused: %s", to, (char *)rep + 32);
		rollback(d, s, rep[6], run, why);
		return -1;
	}
	/* The new node resumed: the old socket goes without a word, and the
	 * flow's stragglers keep being dropped for the grace period. */
	if (tch_close_silently(s->fd, err, sizeof(err)) < 0)
		log_warnx("handoff run=%u: %s (socket kept)", run, err);
	flowdrop_add(&d->drop, &s->key, now_ns() + d->grace_ns);
	uint64_t resumed = wire_get64(rep + 8);
	uint32_t total_us = (uint32_t)((resumed - t0) / 1000);
	if (d->nlat < MAX_LAT)
		d->lat_us[d->nlat++] = total_us;
	d->out_ok++;
	log_info("handoff ok run=%u hop=%u %s->%s port=%u total_us=%u freeze_us=%" PRIu64
		 " send_us=%" PRIu64 " decode_us=%u restore_us=%u repoint_us=%u resume_us=%u "
		 "reply_us=%" PRIu64 " bytes=%zu unacked=%zu unsent=%zu recvq=%zu app=%zu",
		 run, hops, d->name, to, s->cport, total_us, (t_frozen - t0) / 1000,
		 (t_sent - t_frozen) / 1000, wire_get32(rep + 16), wire_get32(rep + 20),
		 wire_get32(rep + 24), wire_get32(rep + 28), (t_reply - t0) / 1000, len, unacked,
		 unsent, recvq, app);
	s->fd = -1;
	session_unlink(s);
	free(s);
	return 0;
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
	write_full(fd, r, sizeof(r));
}

/* One STATE message on an incoming peer connection.  Returns -1 when the
 * connection should be closed. */
static int handoff_in(struct demo *d, int cfd)
{
	uint8_t hdr[STATE_HDR];
	struct tch_state st;
	char err[256] = "", why[160], from[17];
	uint32_t us[4] = { 0 };
	uint64_t t0, t1, t2, t3;
	int nfd = -1, repointed = 0;

	if (read_full(cfd, hdr, sizeof(hdr), PEER_TIMEOUT_MS) < 0)
		return -1;
	if (wire_get32(hdr) != MSG_MAGIC || hdr[4] != MSG_STATE) {
		log_warnx("peer: not a STATE message");
		return -1;
	}
	uint32_t run = wire_get32(hdr + 8), hops = wire_get32(hdr + 12), gap = wire_get32(hdr + 16);
	memcpy(from, hdr + 24, 16);
	from[16] = 0;
	uint32_t len = wire_get32(hdr + 40);
	if (len > TCH_STATE_MAX) {
		log_warnx("peer %s: state of %u bytes", from, len);
		return -1;
	}
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf || read_full(cfd, buf, len, PEER_TIMEOUT_MS) < 0) {
		free(buf);
		return -1;
	}
	if (d->inject == 1) {
		log_info("inject: dying on a handoff from %s (run %u)", from, run);
		_exit(9);
	}
	t0 = now_ns();
	enum tch_err e = tch_state_decode(buf, len, &st, why, sizeof(why));
	free(buf);
	if (e != TCH_OK) {
		snprintf(err, sizeof(err), "decode: %s", why);
		goto refuse;
	}
	struct lb_flow_key key;
	tch_state_flow_key(&st, &key);
	/* Drop the flow here too until we resume: once the switch sends it here,
	 * the restored socket (still in repair mode) would ACK the client's
	 * data, and if we die or fail before resuming, those bytes would exist
	 * nowhere while the old node rolls back.  (This also re-arms the entry
	 * left from a grace period, when this node handed the session away.) */
	if (flowdrop_add(&d->drop, &key, now_ns() + 3000000000ull) < 0) {
		snprintf(err, sizeof(err), "flow drop: %s", strerror(errno));
		goto refuse_st;
	}
	if (d->inject == 2) {
		d->inject = 0;
		inet_pton(AF_INET, "192.0.2.1", st.local_addr);	/* not configured here */
	}
	t1 = now_ns();
	if (tch_restore(&st, &nfd, err, sizeof(err)) < 0)
		goto refuse_st;
	t2 = now_ns();
	struct session *s = session_new(d, nfd);
	if (!s || app_take(s, &st) < 0) {
		snprintf(err, sizeof(err), "bad app state");
		if (s) {
			s->fd = -1;
			session_unlink(s);
			free(s);
		}
		tch_close_silently(nfd, NULL, 0);
		goto refuse_st;
	}
	if (repoint(d, &s->client, s->cport, &s->vip, s->vport, d->name, err, sizeof(err)) < 0) {
		s->fd = -1;
		session_unlink(s);
		free(s);
		tch_close_silently(nfd, NULL, 0);
		goto refuse_st;
	}
	repointed = 1;
	if (d->inject == 3) {
		/* The switch now sends the flow here, the socket is restored but not
		 * resumed: dying now closes it in repair mode, silently. */
		log_info("inject: dying after the re-point (run %u)", run);
		_exit(9);
	}
	t3 = now_ns();
	/* Commit: stop dropping, then leave repair mode (its window probe's
	 * answer must get through). */
	flowdrop_del(&d->drop, &key);
	if (tch_resume(nfd, &st, err, sizeof(err)) < 0) {
		/* The switch sends the flow here; the old node will point it back. */
		s->fd = -1;
		session_unlink(s);
		free(s);
		tch_close_silently(nfd, NULL, 0);
		goto refuse_st;
	}
	uint64_t t4 = now_ns();
	tch_state_free(&st);
	us[0] = (uint32_t)((t1 - t0) / 1000);
	us[1] = (uint32_t)((t2 - t1) / 1000);
	us[2] = (uint32_t)((t3 - t2) / 1000);
	us[3] = (uint32_t)((t4 - t3) / 1000);
	send_reply(cfd, 0, 1, t4, us, "ok");
	d->in_ok++;
	session_arm(s);
	if (s->plen)	/* echo what the old node had not sent yet */
		session_cb(&d->loop, &s->io, EPOLLOUT);
	if (hops > 1) {
		snprintf(s->hop_to, sizeof(s->hop_to), "%s", from);
		s->hops = hops - 1;
		s->gap_ms = gap;
		s->run = run;
		loop_timer_set(&s->hop, gap ? gap : 1, 0);
	} else {
		d->last_done = run;
		log_info("run %u done: session on %s", run, d->name);
	}
	return 0;

refuse_st:
	if (!repointed)	/* else the old node points the switch back first */
		flowdrop_del(&d->drop, &key);
	tch_state_free(&st);
refuse:
	d->in_fail++;
	log_warnx("handoff from %s refused (run %u): %s", from, run, err);
	send_reply(cfd, 1, repointed, 0, us, err);
	return 0;
}

struct peer_in {
	struct loop_io io;
	struct demo *d;
};

static void peer_in_cb(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct peer_in *pi = io->arg;

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
	struct peer_in *pi = calloc(1, sizeof(*pi));
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int count_sessions(const struct demo *d)
{
	int n = 0;

	for (const struct session *s = d->sessions; s; s = s->next)
		n++;
	return n;
}

static json_t *cmd(struct demo *d, char *line)
{
	char *argv[8];
	int argc = 0;

	for (char *t = strtok(line, " \t\r\n"); t && argc < 8; t = strtok(NULL, " \t\r\n"))
		argv[argc++] = t;
	if (!argc)
		return ctl_error("empty command");
	if (!strcmp(argv[0], "status")) {
		uint64_t dropped = 0, dropped_out = 0, expired = 0;
		flowdrop_counters(&d->drop, &dropped, &dropped_out, &expired);
		return json_pack("{s:b, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:I}", "ok", 1,
				 "name", d->name, "sessions", count_sessions(d),
				 "out_ok", (json_int_t)d->out_ok, "out_fail", (json_int_t)d->out_fail,
				 "in_ok", (json_int_t)d->in_ok, "in_fail", (json_int_t)d->in_fail,
				 "rollbacks", (json_int_t)d->rollbacks, "ended", (json_int_t)d->ended,
				 "last_done", (int)d->last_done, "last_failed", (int)d->last_failed,
				 "dropped_in", (json_int_t)dropped, "dropped_out", (json_int_t)dropped_out,
				 "drop_expired", (json_int_t)expired);
	}
	if (!strcmp(argv[0], "sessions")) {
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
	if (!strcmp(argv[0], "latency")) {
		uint32_t *c = malloc((d->nlat ? d->nlat : 1) * sizeof(*c));
		memcpy(c, d->lat_us, d->nlat * sizeof(*c));
		qsort(c, d->nlat, sizeof(*c), cmp_u32);
		json_t *r = json_pack("{s:b, s:i, s:i, s:i, s:i}", "ok", 1, "count", (int)d->nlat,
				      "p50_us", d->nlat ? (int)c[d->nlat / 2] : 0,
				      "p99_us", d->nlat ? (int)c[(d->nlat * 99) / 100] : 0,
				      "max_us", d->nlat ? (int)c[d->nlat - 1] : 0);
		free(c);
		return r;
	}
	if (!strcmp(argv[0], "handoff") && (argc == 5 || argc == 6)) {
		struct session *s = d->sessions;
		if (argc == 6)
			while (s && s->cport != atoi(argv[5]))
				s = s->next;
		if (!s)
			return ctl_error("no such session");
		if (!find_peer(d, argv[1]))
			return ctl_error("no peer %s", argv[1]);
		/* From the loop, not from inside this reply. */
		snprintf(s->hop_to, sizeof(s->hop_to), "%s", argv[1]);
		s->hops = (uint32_t)atoi(argv[2]);
		s->gap_ms = (uint32_t)atoi(argv[3]);
		s->run = (uint32_t)atoi(argv[4]);
		if (!s->hops)
			return ctl_error("HOPS must be >= 1");
		loop_timer_set(&s->hop, 1, 0);
		return json_pack("{s:b, s:i}", "ok", 1, "client_port", s->cport);
	}
	if (!strcmp(argv[0], "inject") && argc == 2) {
		if (!strcmp(argv[1], "die-on-state"))
			d->inject = 1;
		else if (!strcmp(argv[1], "fail-restore"))
			d->inject = 2;
		else if (!strcmp(argv[1], "die-after-repoint"))
			d->inject = 3;
		else if (!strcmp(argv[1], "none"))
			d->inject = 0;
		else
			return ctl_error("inject die-on-state|die-after-repoint|fail-restore|none");
		return json_pack("{s:b}", "ok", 1);
	}
	if (!strcmp(argv[0], "quit")) {
		loop_stop(&d->loop);
		return json_pack("{s:b}", "ok", 1);
	}
	return ctl_error("unknown command %s", argv[0]);
}

static void ctl_cb(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct listener *li = io->arg;
	char line[512];
	int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return;
	while (n < sizeof(line) - 1) {
		if (read_full(fd, line + n, 1, 1000) < 0)
			break;
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	json_t *r = cmd(li->d, line);
	char *s = json_dumps(r, JSON_COMPACT);
	if (s) {
		write_full(fd, s, strlen(s));
		write_full(fd, "\n", 1);
		free(s);
	}
	json_decref(r);
	close(fd);
}

static int ctl_client(const char *path, int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[512] = "", buf[65536];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		strncat(line, argv[i], sizeof(line) - strlen(line) - 2);
		strcat(line, i + 1 < argc ? " " : "\n");
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("%s", path);
	if (write_full(fd, line, strlen(line)) < 0)
		fatal("write");
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	fputs(buf, stdout);
	return strstr(buf, "\"ok\":true") ? 0 : 1;
}

/* --------------------------------------------------------------- main -- */

static int listen_on(struct demo *d, struct listener *li, const char *ep, loop_io_cb cb)
{
	struct taddr a;
	uint16_t port;
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	if (taddr_parse_endpoint(ep, &a, &port) < 0)
		fatalx("bad endpoint %s", ep);
	memset(&ss, 0, sizeof(ss));
	if (a.family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a.a, 4);
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a.a, 16);
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a.family == 6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0)
		fatal("listen %s", ep);
	li->d = d;
	li->io.fd = fd;
	li->io.cb = cb;
	li->io.arg = li;
	return loop_add(&d->loop, &li->io, EPOLLIN);
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
		"         --ctl SOCK [--grace-ms MS] [-v]\n"
		"       tch_demo ctl SOCK COMMAND...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct demo d;
	const char *ifname = NULL, *obj = NULL, *pin = NULL, *ctl = NULL, *peer_listen = NULL;
	const char *listens[MAX_LISTEN];
	int verbose = 0, opt;
	char err[256];
	static const struct option lo[] = {
		{ "name", 1, 0, 'n' }, { "listen", 1, 0, 'l' }, { "peer-listen", 1, 0, 'P' },
		{ "peer", 1, 0, 'p' }, { "ifname", 1, 0, 'i' }, { "obj", 1, 0, 'o' },
		{ "pin", 1, 0, 'b' }, { "lbd", 1, 0, 's' }, { "ctl", 1, 0, 'c' },
		{ "grace-ms", 1, 0, 'g' }, { 0, 0, 0, 0 }
	};

	log_init("tch_demo", 0, 0);
	if (argc >= 3 && !strcmp(argv[1], "ctl"))
		return ctl_client(argv[2], argc - 3, argv + 3);
	if (argc < 2 || strcmp(argv[1], "serve"))
		usage();
	argc--;
	argv++;
	d.grace_ns = 2000000000ull;
	while ((opt = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': snprintf(d.name, sizeof(d.name), "%s", optarg); break;
		case 'l':
			if (d.nlis == MAX_LISTEN)
				fatalx("too many --listen");
			listens[d.nlis++] = optarg;
			break;
		case 'P': peer_listen = optarg; break;
		case 'p': {
			char *eq = strchr(optarg, '=');
			struct taddr a;
			uint16_t port;
			if (!eq || d.npeers == MAX_PEERS || taddr_parse_endpoint(eq + 1, &a, &port) < 0 ||
			    a.family != 4)
				fatalx("bad --peer %s (want NAME=IPv4:PORT)", optarg);
			struct peer *p = &d.peers[d.npeers++];
			snprintf(p->name, sizeof(p->name), "%.*s", (int)(eq - optarg), optarg);
			p->addr.sin_family = AF_INET;
			memcpy(&p->addr.sin_addr, a.a, 4);
			p->addr.sin_port = htons(port);
			p->fd = -1;
			break;
		}
		case 'i': ifname = optarg; break;
		case 'o': obj = optarg; break;
		case 'b': pin = optarg; break;
		case 's': d.lbd_sock = optarg; break;
		case 'c': ctl = optarg; break;
		case 'g': d.grace_ns = (uint64_t)atol(optarg) * 1000000ull; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (!d.name[0] || !d.nlis || !peer_listen || !ifname || !d.lbd_sock || !ctl)
		usage();
	log_init("tch_demo", 0, verbose);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(quiet_libbpf);
	d.lat_us = calloc(MAX_LAT, sizeof(*d.lat_us));
	if (!d.lat_us || loop_init(&d.loop) < 0)
		fatal("init");
	if (flowdrop_open(&d.drop, ifname, NULL, obj, pin, err, sizeof(err)) < 0)
		fatalx("%s", err);
	for (int i = 0; i < d.nlis; i++)
		listen_on(&d, &d.lis[i], listens[i], client_accept_cb);
	listen_on(&d, &d.peer_lis, peer_listen, peer_accept_cb);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl);
		unlink(ctl);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0)
			fatal("control socket %s", ctl);
		d.ctl_lis.d = &d;
		d.ctl_lis.io.fd = fd;
		d.ctl_lis.io.cb = ctl_cb;
		d.ctl_lis.io.arg = &d.ctl_lis;
		loop_add(&d.loop, &d.ctl_lis.io, EPOLLIN);
	}
	static const int sigs[] = { SIGTERM, SIGINT };
	if (loop_signals_init(&d.loop, &d.sig, sigs, 2, on_signal, &d) < 0 ||
	    loop_timer_init(&d.loop, &d.gc, gc_cb, &d) < 0 || loop_timer_set(&d.gc, 500, 500) < 0)
		fatal("loop");
	log_info("%s serving (flow drop on %s)", d.name, ifname);
	loop_run(&d.loop);
	flowdrop_close(&d.drop);
	unlink(ctl);
	log_info("%s stops", d.name);
	return 0;
}
