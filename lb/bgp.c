/*
 * bgp.c - scale-out behind an ECMP router (config "bgp", doc/scaleout.md):
 * this switch's BIRD announces a VIP while this switch can serve it, and
 * withdraws it otherwise.
 *
 * A VIP is wanted announced while lbd is ready (every node checked and
 * settled: health_ready), replication is in sync when this switch has a
 * "sync" section (syncwatch.c: tandem-syncd is ready) and every service of the VIP has a node in its
 * Maglev table (health_vip_ok: the rule the DNS front end uses too).
 * bird.conf (tandem-failover birdconf) holds each VIP's route in a static
 * protocol "tdm_vipN" that starts disabled; lbd enables or disables it
 * through birdc.  Why that way round and not a route lbd puts in a kernel
 * table for BIRD to pick up: BIRD then announces nothing unless lbd said
 * so, after its own restart too (a kernel route would outlive lbd and be
 * announced by a fresh BIRD before lbd knows anything), and birdc's answer
 * ("tdm_vip0: enabled") confirms the change in BIRD itself.
 *
 * birdc runs as a child off the loop (child.c): one at a time, its stdin
 * the enable/disable lines, its stdout checked for each protocol's answer;
 * a run over timeout_ms is killed.  A VIP whose answer did not come is
 * retried a second later.  Every refresh_ms the wanted states are told
 * again (BIRD restarted meanwhile: its protocols are disabled again).
 */
#include "lbd.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/err.h"
#include "lib/log.h"

#define BGP_RETRY_MS 1000
#define BGP_SHOW "show protocols \"up*\"\n"

/* The birdc script for the VIPs whose sent[i] is 0 or 1 (per bgp.vips:
 * disable, enable; -1 none), into buf.  Number of lines, -1 if too small. */
int bgp_script(const struct config *cfg, const int8_t *sent, char *buf, size_t len)
{
	size_t off = 0;
	int n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < cfg->bgp.nvips; i++) {
		if (sent[i] < 0)
			continue;
		int w = snprintf(buf + off, len - off, "%s " CFG_BGP_VIP_PROTO "\n",
				 sent[i] ? "enable" : "disable", (unsigned)cfg->bgp.vips[i]);
		if (w < 0 || (size_t)w >= len - off)
			return -1;
		off += (size_t)w;
		n++;
	}
	/* and the sessions' states, for status (bgp_sessions) */
	if (n > 0 && off + sizeof(BGP_SHOW) > len)
		return -1;
	if (n > 0)
		memcpy(buf + off, BGP_SHOW, sizeof(BGP_SHOW));
	return n;
}

int bgp_sessions(const struct config *cfg, const char *out, char (*state)[BGP_STATE_LEN])
{
	int found = 0;

	for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char name[32], proto[16], table[16], st[16], since[32], info[64] = "";
		const char *p = line, *esc;
		unsigned i;
		/* birdc's prompt and line clearing ahead of a command's first line */
		while ((esc = strstr(p, "\x1b[K")) && esc < (strchr(p, '\n') ? strchr(p, '\n') : p + strlen(p)))
			p = esc + 3;
		if (!strncmp(p, "bird> ", 6))
			p += 6;
		if (sscanf(p, "%31s %15s %15s %15s %31s %63[^\n]", name, proto, table, st, since, info) < 5 ||
		    strcmp(proto, "BGP") || sscanf(name, "up%u", &i) != 1 || i >= cfg->bgp.nneighbors)
			continue;
		info[strcspn(info, " ")] = '\0';
		snprintf(state[i], BGP_STATE_LEN, "%s", info[0] ? info : st);
		found++;
	}
	return found;
}

/* birdc's answer confirms that VIP i of bgp.vips is (en|dis)abled now. */
int bgp_answer_ok(const struct config *cfg, unsigned i, int enable, const char *out)
{
	char want[64], again[64];

	snprintf(want, sizeof(want), CFG_BGP_VIP_PROTO ": %s", (unsigned)cfg->bgp.vips[i],
		 enable ? "enabled" : "disabled");
	snprintf(again, sizeof(again), CFG_BGP_VIP_PROTO ": already %s", (unsigned)cfg->bgp.vips[i],
		 enable ? "enabled" : "disabled");
	return strstr(out, want) != NULL || strstr(out, again) != NULL;
}

static void log_change(const struct lbd *l, unsigned i, int on, uint64_t ms)
{
	char a[TADDR_STRLEN];
	const struct cfg_vip *v = &l->cfg.vips[l->cfg.bgp.vips[i]];

	log_event(LOG_NOTICE, on ? "bgp_announce" : "bgp_withdraw", KV_S("vip", v->name),
		  KV_S("address", taddr_fmt(&v->addr, a, sizeof(a))), KV_S("reason", l->bgp.why),
		  KV_U("ms", ms));
}

/* birdc is done (status st): take its answer. */
static void child_done(struct lbd *l, int st)
{
	struct bgp_ann *b = &l->bgp;
	uint64_t now = loop_now_ms();
	char out[16384];	/* 64 VIPs x two lines, the sessions */
	int bad = 0;

	child_output(&b->ch, out, sizeof(out));
	if (bgp_sessions(&l->cfg, out, b->session) > 0)
		b->sessions_ms = now;
	for (unsigned i = 0; i < l->cfg.bgp.nvips; i++) {
		struct bgp_vip *v = &b->vip[i];
		if (b->sent[i] < 0)
			continue;
		if (b->sent[i] != v->want || !bgp_answer_ok(&l->cfg, i, v->want, out)) {
			bad |= b->sent[i] == v->want;
			continue;
		}
		if (v->told != v->want && v->logged != v->want) {
			log_change(l, i, v->want, now - v->changed_ms);
			v->logged = v->want;
		}
		v->told = v->want;
	}
	if (bad || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		b->failed++;
		if (b->ch.killed)
			snprintf(b->last_error, sizeof(b->last_error), "birdc: no answer within %u ms",
				 l->cfg.bgp.timeout_ms);
		else	/* birdc's last line says why: "Unable to connect ..." */
			snprintf(b->last_error, sizeof(b->last_error), "birdc: %.150s",
				 out[0] ? out : "no answer");
		b->last_error[strcspn(b->last_error, "\n")] = '\0';
		b->next_try_ms = now + BGP_RETRY_MS;
		log_event(LOG_WARNING, "bgp_birdc_failed", KV_S("reason", b->last_error),
			  KV_U("retry_ms", BGP_RETRY_MS));
	} else {
		b->ok++;
	}
	child_close(&l->loop, &b->ch);
}

static void child_exited(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct lbd *l = io->arg;
	int st;

	if (waitpid(l->bgp.ch.pid, &st, WNOHANG) == l->bgp.ch.pid)
		child_done(l, st);
}

/* Run birdc for every VIP whose told state differs from its want. */
static void bgp_send(struct lbd *l, uint64_t now)
{
	struct bgp_ann *b = &l->bgp;
	char script[CFG_MAX_VIPS * 32];
	char *argv[] = { l->cfg.bgp.birdc, "-s", l->cfg.bgp.socket, NULL };

	for (unsigned i = 0; i < l->cfg.bgp.nvips; i++)
		b->sent[i] = b->vip[i].told != b->vip[i].want ? b->vip[i].want : -1;
	if (bgp_script(&l->cfg, b->sent, script, sizeof(script)) <= 0)
		return;
	b->runs++;
	if (child_spawn(&l->loop, &b->ch, argv, script, strlen(script), 1, child_exited, l) < 0) {
		log_warn("bgp: %s", argv[0]);
		b->failed++;
		snprintf(b->last_error, sizeof(b->last_error), "cannot run %s", argv[0]);
		b->next_try_ms = now + BGP_RETRY_MS;
	}
}

/* Each VIP's want from lbd's state (see the top). */
static void bgp_wants(struct lbd *l, uint64_t now)
{
	struct bgp_ann *b = &l->bgp;
	char why[sizeof(b->why)] = "", vwhy[sizeof(b->why)] = "", swhy[sizeof(b->why)] = "";
	int ready = !b->closing && !b->held && health_ready(l, why, sizeof(why));
	int synced = !b->closing && syncwatch_ready(l, swhy, sizeof(swhy));

	if (b->closing)
		snprintf(why, sizeof(why), "lbd stops");
	else if (b->held)
		snprintf(why, sizeof(why), "withdrawn by the operator (tandemctl withdraw)");
	for (unsigned i = 0; i < l->cfg.bgp.nvips; i++) {
		struct bgp_vip *v = &b->vip[i];
		int vip_ok = ready && health_vip_ok(l, l->cfg.bgp.vips[i]);
		int want = vip_ok && synced;
		if (ready && !vip_ok)
			snprintf(vwhy, sizeof(vwhy), "VIP %s: a service has no node",
				 l->cfg.vips[l->cfg.bgp.vips[i]].name);
		if (want != v->want) {
			v->want = (int8_t)want;
			v->told = -1;
			v->changed_ms = now;
		}
	}
	/* the first reason that holds: lbd not ready, a VIP without nodes,
	 * replication not in sync */
	snprintf(b->why, sizeof(b->why), "%s", !ready ? why : vwhy[0] ? vwhy : !synced ? swhy : "ready");
}

void bgp_tick(struct lbd *l)
{
	struct bgp_ann *b = &l->bgp;
	uint64_t now = loop_now_ms();

	if (!l->cfg.bgp.enabled)
		return;
	bgp_wants(l, now);
	if (b->ch.pid) {
		if (!b->ch.killed && now - b->ch.started_ms > l->cfg.bgp.timeout_ms) {
			b->ch.killed = 1;
			kill(b->ch.pid, SIGKILL);	/* reaped through the pidfd */
		}
		return;
	}
	if (now >= b->refresh_at_ms) {
		b->refresh_at_ms = now + l->cfg.bgp.refresh_ms;
		for (unsigned i = 0; i < l->cfg.bgp.nvips; i++)
			b->vip[i].told = -1;
	}
	if (now >= b->next_try_ms)
		bgp_send(l, now);
}

void bgp_init(struct lbd *l)
{
	struct bgp_ann *b = &l->bgp;

	memset(b, 0, sizeof(*b));
	b->ch.pidfd.fd = b->ch.out_fd = -1;
	bgp_config(l);
}

void bgp_config(struct lbd *l)
{
	/* the announced VIPs may be others now: tell BIRD every state again */
	for (unsigned i = 0; i < CFG_MAX_VIPS; i++) {
		l->bgp.vip[i].want = 0;
		l->bgp.vip[i].told = -1;
		l->bgp.vip[i].logged = -1;
		l->bgp.vip[i].changed_ms = loop_now_ms();
	}
	snprintf(l->bgp.why, sizeof(l->bgp.why), "starting");
	l->bgp.next_try_ms = 0;
}

int bgp_check(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->bgp.enabled && access(cfg->bgp.birdc, X_OK) < 0)
		return err_errno(err, errlen, "bgp.birdc %s (apt-get install bird2)", cfg->bgp.birdc);
	return 0;
}

/*
 * lbd stops: every VIP is withdrawn (a switch without lbd is not ready),
 * waiting up to timeout_ms for birdc: the loop has ended.
 */
void bgp_close(struct lbd *l)
{
	struct bgp_ann *b = &l->bgp;
	int st;

	if (!l->cfg.bgp.enabled)
		return;
	if (b->ch.pid) {
		kill(b->ch.pid, SIGKILL);
		waitpid(b->ch.pid, &st, 0);
		child_close(&l->loop, &b->ch);
	}
	b->closing = 1;
	bgp_wants(l, loop_now_ms());
	for (unsigned i = 0; i < l->cfg.bgp.nvips; i++)
		b->vip[i].told = -1;
	bgp_send(l, loop_now_ms());
	if (!b->ch.pid)
		return;
	struct pollfd pf = { .fd = b->ch.pidfd.fd, .events = POLLIN };
	if (poll(&pf, 1, (int)l->cfg.bgp.timeout_ms) <= 0)
		kill(b->ch.pid, SIGKILL);
	if (waitpid(b->ch.pid, &st, 0) == b->ch.pid)
		child_done(l, st);	/* logs bgp_withdraw, or bgp_birdc_failed */
}

/*
 * Control "bgp" {withdraw: true|false}: the operator withdraws every VIP of
 * this switch (draining it off the router: its flows move to the other
 * switches, which pick them up by the same Maglev tables) or lets them be
 * announced again.  Held in memory only: a restarted lbd announces again.
 * The reply is the status "bgp" object after the change was asked for;
 * "announced" turns false once BIRD confirmed.
 */
json_t *bgp_cmd(struct lbd *l, const json_t *req)
{
	const json_t *w = json_object_get(req, "withdraw");

	if (!l->cfg.bgp.enabled)
		return ctl_error("no \"bgp\" section in the configuration");
	if (!json_is_boolean(w))
		return ctl_error("\"withdraw\" must be true or false");
	if (l->bgp.held != json_is_true(w))
		log_event(LOG_NOTICE, "bgp_hold", KV_S("op", json_is_true(w) ? "withdraw" : "announce"));
	l->bgp.held = json_is_true(w);
	bgp_tick(l);
	json_t *r = ctl_ok();
	json_object_set_new(r, "bgp", bgp_json(l));
	return r;
}

json_t *bgp_json(const struct lbd *l)
{
	const struct bgp_ann *b = &l->bgp;
	char a[TADDR_STRLEN];
	json_t *vips = json_array();

	for (unsigned i = 0; i < l->cfg.bgp.nvips; i++) {
		const struct bgp_vip *v = &b->vip[i];
		const struct cfg_vip *cv = &l->cfg.vips[l->cfg.bgp.vips[i]];
		char proto[32];
		snprintf(proto, sizeof(proto), CFG_BGP_VIP_PROTO, (unsigned)l->cfg.bgp.vips[i]);
		json_array_append_new(vips, json_pack("{s:s, s:s, s:s, s:b, s:o}", "vip", cv->name,
			"address", taddr_fmt(&cv->addr, a, sizeof(a)), "protocol", proto,
			"want", v->want == 1,
			"announced", v->told < 0 ? json_null() : json_boolean(v->told == 1)));
	}
	json_t *nb = json_array();
	for (unsigned i = 0; i < l->cfg.bgp.nneighbors; i++)
		json_array_append_new(nb, json_pack("{s:s, s:I, s:s}",
			"address", taddr_fmt(&l->cfg.bgp.neighbors[i].addr, a, sizeof(a)),
			"as", (json_int_t)l->cfg.bgp.neighbors[i].as,
			"state", b->session[i][0] ? b->session[i] : "unknown"));
	return json_pack("{s:I, s:s, s:b, s:o, s:o, s:I, s:s, s:{s:I, s:I, s:I, s:b}, s:s}",
		"local_as", (json_int_t)l->cfg.bgp.local_as, "socket", l->cfg.bgp.socket,
		"withdrawn_by_operator", b->held,
		"vips", vips, "neighbors", nb,
		"sessions_age_ms", b->sessions_ms ? (json_int_t)(loop_now_ms() - b->sessions_ms) : (json_int_t)-1,
		"reason", b->why,
		"birdc", "runs", (json_int_t)b->runs, "ok", (json_int_t)b->ok,
		"failed", (json_int_t)b->failed, "in_flight", b->ch.pid != 0,
		"last_error", b->last_error);
}
