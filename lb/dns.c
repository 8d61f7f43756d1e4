/*
 * dns.c - the round-robin DNS front end (config "dns", doc/dns.md): this
 * switch keeps the A/AAAA records of the VIPs it holds true at the DNS
 * server, by RFC 2136 dynamic updates signed with TSIG.
 *
 * Each published VIP's record is wanted while this switch holds the VIP
 * (roles.c: master of its group, or standing alone) and every service of
 * the VIP has a node in its Maglev table; it is deleted while we hold the
 * VIP and it has none.  A switch that stops holding a VIP leaves its record
 * to the peer that takes it over, unless the failover hook said the peer
 * is not ready (then no switch holds the VIP: we delete it).  We add and
 * delete only our own addresses (never the whole RRset), so several pairs
 * publish into one name.
 *
 * The updates are made by Debian's nsupdate (bind9-dnsutils), run as a
 * child process: it builds, signs and sends the UPDATE, and waits for the
 * answer, so lbd needs no DNS encoder of its own.  One child at a time,
 * never waited for: its stdin is a pipe holding the whole script (far
 * under the pipe's capacity), its exit is a pidfd on lbd's loop, a child
 * over timeout_ms is killed.  A failed update (the server refused it: a
 * bad key, or no answer) is counted, logged, and retried after retry_ms.
 * Published records are added again every refresh_s (a server that lost
 * them gets them back).
 */
#include "lbd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/err.h"
#include "lib/keyfile.h"
#include "lib/log.h"

/* What a record should be: published, withdrawn, or none of our business. */
enum { WANT_LEAVE = -1, WANT_DEL = 0, WANT_ADD = 1 };

int dns_script(const struct config *cfg, const int8_t *op, char *buf, size_t len)
{
	const struct cfg_dns *d = &cfg->dns;
	char a[TADDR_STRLEN], srv[TADDR_STRLEN];
	size_t off;
	int n = 0;

	off = (size_t)snprintf(buf, len, "server %s %u\nzone %s.\n",
			       taddr_fmt(&d->server, srv, sizeof(srv)), d->port, d->zone);
	for (unsigned i = 0; i < d->nvips && off < len; i++) {
		const struct taddr *t = &cfg->vips[d->vips[i]].addr;
		const char *type = t->family == 4 ? "A" : "AAAA";
		if (op[i] == WANT_DEL)
			off += (size_t)snprintf(buf + off, len - off, "update delete %s. %s %s\n",
						d->name, type, taddr_fmt(t, a, sizeof(a)));
		else if (op[i] == WANT_ADD)
			off += (size_t)snprintf(buf + off, len - off, "update add %s. %u %s %s\n",
						d->name, d->ttl, type, taddr_fmt(t, a, sizeof(a)));
		else
			continue;
		n++;
	}
	if (off < len)
		off += (size_t)snprintf(buf + off, len - off, "send\n");
	if (off >= len)
		return -1;
	return n;
}

/* Update each record's want from roles and health (see the top). */
static void dns_wants(struct lbd *l, uint64_t now)
{
	struct dns_pub *p = &l->dns;

	for (unsigned i = 0; i < l->cfg.dns.nvips; i++) {
		struct dns_rec *r = &p->rec[i];
		int vip = l->cfg.dns.vips[i], holds = roles_holds_vip(l, vip), want;
		if (holds) {
			r->mine = 1;
			want = health_vip_ok(l, vip) ? WANT_ADD : WANT_DEL;
		} else if (r->mine && l->roles.peer_ready != 1) {
			want = WANT_DEL;	/* no switch holds it now */
		} else {
			r->mine = 0;
			want = WANT_LEAVE;
		}
		if (want != r->want) {
			r->want = want;
			r->changed_ms = now;
			r->timed = 0;
			r->published = -1;	/* as far as this want goes: not yet */
		}
	}
}

/* The server took record i of the name (op publish or withdraw), ms after
 * lbd wanted it: the dns_update event. */
static void log_dns_update(const struct lbd *l, unsigned i, const char *op, uint64_t ms)
{
	char vip[TADDR_STRLEN];

	taddr_fmt(&l->cfg.vips[l->cfg.dns.vips[i]].addr, vip, sizeof(vip));
	log_event(LOG_NOTICE, "dns_update", KV_S("name", l->cfg.dns.name), KV_S("vip", vip),
		  KV_S("op", op), KV_U("ms", ms));
}

/* The child is done (status st): take its result. */
static void child_done(struct lbd *l, int st)
{
	struct dns_pub *p = &l->dns;
	uint64_t now = loop_now_ms();
	char msg[sizeof(p->last_error)];

	child_output(&p->ch, msg, sizeof(msg));
	msg[strcspn(msg, "\n")] = '\0';
	char *m = msg + strspn(msg, "; ");	/* nsupdate's comment prefix */
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		p->ok++;
		for (unsigned i = 0; i < l->cfg.dns.nvips; i++) {
			struct dns_rec *r = &p->rec[i];
			if (p->sent_op[i] == WANT_LEAVE || p->sent_op[i] != r->want)
				continue;
			if (r->published != r->want)	/* not a refresh */
				log_dns_update(l, i, r->want == WANT_ADD ? "publish" : "withdraw",
					       now - r->changed_ms);
			r->published = r->want;
			if (r->want == WANT_DEL && r->mine && !roles_holds_vip(l, l->cfg.dns.vips[i]))
				r->mine = 0;	/* withdrawn for good: no longer ours */
			if (!r->timed)	/* not for a refresh */
				lat_hist_add(r->want == WANT_ADD ? &p->add_lat : &p->del_lat,
					     (now - r->changed_ms) * 1000);
			r->timed = 1;
		}
	} else {
		p->failed++;
		if (p->ch.killed || !*m) {
			if (p->ch.killed)
				snprintf(msg, sizeof(msg), "no answer within %u ms", l->cfg.dns.timeout_ms);
			else
				snprintf(msg, sizeof(msg), "nsupdate: %s %d", WIFEXITED(st) ? "exit" : "signal",
					 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			m = msg;
		}
		snprintf(p->last_error, sizeof(p->last_error), "%s", m);
		p->next_try_ms = now + l->cfg.dns.retry_ms;
		log_event(LOG_WARNING, "dns_update_failed", KV_S("name", l->cfg.dns.name),
			  KV_S("reason", p->last_error), KV_U("retry_ms", l->cfg.dns.retry_ms));
	}
	child_close(&l->loop, &p->ch);
}

static void child_exited(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct lbd *l = io->arg;
	int st;

	if (waitpid(l->dns.ch.pid, &st, WNOHANG) == l->dns.ch.pid)
		child_done(l, st);
}

/* Start nsupdate on script.  0 / -1 (logged). */
static int spawn(struct lbd *l, const char *script, size_t len)
{
	char tmo[16];
	char *argv[] = { l->cfg.dns.nsupdate, "-k", l->cfg.dns.key_file, "-t", tmo, NULL };

	snprintf(tmo, sizeof(tmo), "%u", (l->cfg.dns.timeout_ms + 999) / 1000);
	if (child_spawn(&l->loop, &l->dns.ch, argv, script, len, 2, child_exited, l) < 0) {
		log_warn("dns: %s", argv[0]);
		return -1;
	}
	return 0;
}

/* Send what differs from what the server holds (one update for all). */
static void dns_send(struct lbd *l, uint64_t now)
{
	struct dns_pub *p = &l->dns;
	char script[64 + CFG_MAX_VIPS * (CFG_DNS_NAME_MAX + 80) + 2 * CFG_DNS_NAME_MAX];
	int n;

	for (unsigned i = 0; i < l->cfg.dns.nvips; i++) {
		struct dns_rec *r = &p->rec[i];
		p->sent_op[i] = r->want != WANT_LEAVE && r->published != r->want ? (int8_t)r->want : WANT_LEAVE;
	}
	n = dns_script(&l->cfg, p->sent_op, script, sizeof(script));
	if (n <= 0)
		return;
	p->sent++;
	if (spawn(l, script, strlen(script)) < 0) {
		p->failed++;
		snprintf(p->last_error, sizeof(p->last_error), "cannot run %s", l->cfg.dns.nsupdate);
		p->next_try_ms = now + l->cfg.dns.retry_ms;
	}
}

void dns_tick(struct lbd *l)
{
	struct dns_pub *p = &l->dns;
	uint64_t now = loop_now_ms();

	if (!l->cfg.dns.enabled)
		return;
	dns_wants(l, now);
	if (p->ch.pid) {
		if (!p->ch.killed && now - p->ch.started_ms > l->cfg.dns.timeout_ms) {
			p->ch.killed = 1;
			p->timeouts++;
			kill(p->ch.pid, SIGKILL);	/* reaped through the pidfd */
		}
		return;
	}
	if (l->cfg.dns.refresh_s && now >= p->refresh_at_ms) {
		p->refresh_at_ms = now + (uint64_t)l->cfg.dns.refresh_s * 1000;
		for (unsigned i = 0; i < l->cfg.dns.nvips; i++)
			if (p->rec[i].want == WANT_ADD && p->rec[i].published == WANT_ADD)
				p->rec[i].published = -1;
	}
	if (now >= p->next_try_ms)
		dns_send(l, now);
}

void dns_init(struct lbd *l)
{
	struct dns_pub *p = &l->dns;

	memset(p, 0, sizeof(*p));
	p->ch.pidfd.fd = p->ch.out_fd = -1;
	for (unsigned i = 0; i < CFG_MAX_VIPS; i++) {
		p->rec[i].want = WANT_LEAVE;
		p->rec[i].published = -1;
	}
}

void dns_config(struct lbd *l)
{
	/* the published VIPs may be others now: start over (adds are idempotent) */
	for (unsigned i = 0; i < CFG_MAX_VIPS; i++) {
		l->dns.rec[i].want = WANT_LEAVE;
		l->dns.rec[i].published = -1;
	}
	l->dns.next_try_ms = 0;
}

int dns_check(const struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->dns.enabled)
		return 0;
	if (access(cfg->dns.nsupdate, X_OK) < 0)
		return err_errno(err, errlen, "dns.nsupdate %s (apt-get install bind9-dnsutils)",
				 cfg->dns.nsupdate);
	return keyfile_check(cfg->dns.key_file, err, errlen);
}

/*
 * lbd stops: a running update is killed; records still ours (we hold the
 * VIP, or no switch does) are deleted, unless the hook said the peer takes
 * them over.  This waits up to timeout_ms: the loop has ended, nothing else
 * is served any more.
 */
void dns_close(struct lbd *l)
{
	struct dns_pub *p = &l->dns;
	int st, any = 0;

	if (!l->cfg.dns.enabled)
		return;
	if (p->ch.pid) {
		kill(p->ch.pid, SIGKILL);
		waitpid(p->ch.pid, &st, 0);
		child_close(&l->loop, &p->ch);
	}
	for (unsigned i = 0; i < l->cfg.dns.nvips; i++) {
		struct dns_rec *r = &p->rec[i];
		r->published = -1;
		r->want = r->mine && l->roles.peer_ready != 1 ? WANT_DEL : WANT_LEAVE;
		any |= r->want == WANT_DEL;
	}
	if (!any)
		return;
	dns_send(l, loop_now_ms());
	if (!p->ch.pid)
		return;
	struct pollfd pf = { .fd = p->ch.pidfd.fd, .events = POLLIN };
	if (poll(&pf, 1, (int)l->cfg.dns.timeout_ms) <= 0)
		kill(p->ch.pid, SIGKILL);
	if (waitpid(p->ch.pid, &st, 0) == p->ch.pid)
		child_done(l, st);	/* logs dns_update op=withdraw, or dns_update_failed */
}

json_t *dns_json(const struct lbd *l)
{
	static const char *const wants[] = { "leave", "withdraw", "publish" };
	const struct dns_pub *p = &l->dns;
	char a[TADDR_STRLEN], srv[TADDR_STRLEN];
	json_t *recs = json_array();

	for (unsigned i = 0; i < l->cfg.dns.nvips; i++) {
		const struct dns_rec *r = &p->rec[i];
		const struct cfg_vip *v = &l->cfg.vips[l->cfg.dns.vips[i]];
		json_array_append_new(recs, json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}",
			"vip", v->name, "type", v->addr.family == 4 ? "A" : "AAAA",
			"address", taddr_fmt(&v->addr, a, sizeof(a)), "want", wants[r->want + 1],
			"published", r->published < 0 ? json_null() : json_boolean(r->published == WANT_ADD),
			"ours", r->mine));
	}
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:{s:I, s:I, s:I, s:I, s:b}, s:s, s:o, s:o}",
		"name", l->cfg.dns.name, "zone", l->cfg.dns.zone,
		"server", taddr_fmt(&l->cfg.dns.server, srv, sizeof(srv)), "port", l->cfg.dns.port,
		"ttl", (int)l->cfg.dns.ttl, "records", recs,
		"updates", "sent", (json_int_t)p->sent, "ok", (json_int_t)p->ok,
		"failed", (json_int_t)p->failed, "timeouts", (json_int_t)p->timeouts,
		"in_flight", p->ch.pid != 0,
		"last_error", p->last_error, "publish_latency", lat_hist_json(&p->add_lat),
		"withdraw_latency", lat_hist_json(&p->del_lat));
}
