#include "commands.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "lib/addr.h"
#include "lib/ctl.h"
#include "format.h"
#include "view.h"

/* A usage error for the command: "tandemctl: <cmd>: <why>". */
static int usage_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tandemctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static void set_str(json_t *req, const char *key, const char *val)
{
	json_object_set_new(req, key, json_string(val));
}

/* status, nodes, vips, stats, reload: no operands, nothing to add. */
static int build_plain(const struct ctl_args *a, json_t *req)
{
	if (a->argc)
		return usage_err(json_string_value(json_object_get(req, "cmd")),
				 "unexpected argument '%s'", a->argv[0]);
	return 0;
}

static int build_flows(const struct ctl_args *a, json_t *req)
{
	if (a->argc)
		return usage_err("flows", "unexpected argument '%s'", a->argv[0]);
	if (a->vip)
		set_str(req, "vip", a->vip);
	if (a->node)
		set_str(req, "node", a->node);
	if (a->given & OPT_LIMIT)
		json_object_set_new(req, "limit", json_integer(a->limit));
	if (a->client) {
		/* ADDR, ADDR:PORT or [ADDR6]:PORT: one client's flows, found by
		 * the daemon (one row among millions without sending them all) */
		struct taddr c;
		uint16_t port;
		char s[TADDR_STRLEN];
		if (taddr_parse_endpoint(a->client, &c, &port) == 0) {
			set_str(req, "client", taddr_fmt(&c, s, sizeof(s)));
			json_object_set_new(req, "client_port", json_integer(port));
		} else if (taddr_parse(a->client, &c) == 0) {
			set_str(req, "client", taddr_fmt(&c, s, sizeof(s)));
		} else {
			return usage_err("flows", "bad --client '%s' (ADDR, ADDR:PORT or [ADDR6]:PORT)",
					 a->client);
		}
	}
	return 0;
}

/* drain, undrain: one operand, the node. */
static int build_node(const struct ctl_args *a, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (a->argc != 1)
		return usage_err(cmd, a->argc ? "one NODE only" : "missing NODE");
	set_str(req, "node", a->argv[0]);
	return 0;
}

/*
 * Parse an "ADDRESS:PORT" / "[IPv6]:PORT" operand (lib/addr.h) into addr
 * (normalised text, FMT_BUFLEN bytes) and *port.  0, or -1 after a usage
 * error naming what (client, VIP).
 */
static int endpoint(const char *cmd, const char *what, const char *s, char *addr, unsigned *port)
{
	struct taddr ta;
	uint16_t p;

	if (taddr_parse_endpoint(s, &ta, &p) < 0 || p == 0)
		return usage_err(cmd, "%s '%s': expected ADDRESS:PORT, IPv6 as [ADDRESS]:PORT, "
				 "port 1..65535", what, s);
	taddr_fmt(&ta, addr, FMT_BUFLEN);
	*port = p;
	return 0;
}

/* CLIENT:PORT VIP:PORT TO [--proto P], TO possibly as --to: the request's
 * "flow" (one flow-table key: IP literals) and "to".  Shared by migrate and
 * handoff; cmd and expected go into the usage errors. */
static int build_flow_to(const char *cmd, const char *expected, const struct ctl_args *a, json_t *req)
{
	const char *to = a->argc == 3 ? a->argv[2] : a->to;
	if (a->argc < 2 || a->argc > 3 || !to || (a->argc == 3 && a->to))
		return usage_err(cmd, "expected %s", expected);

	const char *proto = a->proto ? a->proto : "tcp";
	if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return usage_err(cmd, "--proto must be tcp or udp");

	char client[FMT_BUFLEN], vip[FMT_BUFLEN];
	unsigned cport, vport;

	if (endpoint(cmd, "client", a->argv[0], client, &cport) < 0 ||
	    endpoint(cmd, "VIP", a->argv[1], vip, &vport) < 0)
		return -1;
	json_object_set_new(req, "flow",
			    json_pack("{s:s, s:i, s:s, s:i, s:s}", "client", client,
				      "client_port", (int)cport, "vip", vip,
				      "port", (int)vport, "proto", proto));
	set_str(req, "to", to);
	return 0;
}

/*
 * migrate --node FROM --to TO: every flow of FROM (re-pointed).
 * migrate CLIENT:PORT VIP:PORT TO [--proto P] [--repoint]: one 5-tuple (TO
 * may also be given as --to).  Both ends are IP literals: they name one
 * flow-table key.  lbd moves a TCP session on a node with a handoff agent
 * live (as handoff), unless --repoint; anything else is re-pointed.
 */
static int build_migrate(const struct ctl_args *a, json_t *req)
{
	if (a->repoint)
		json_object_set_new(req, "repoint", json_true());
	if (a->node) {
		if (a->repoint)
			return usage_err("migrate", "--repoint is for one flow (--node always re-points)");
		if (a->argc)
			return usage_err("migrate", "--node takes no other arguments ('%s')",
					 a->argv[0]);
		if (!a->to)
			return usage_err("migrate", "--node needs --to TO");
		if (a->proto)
			return usage_err("migrate", "--proto is for one flow, not --node");
		set_str(req, "node", a->node);
		set_str(req, "to", a->to);
		return 0;
	}

	return build_flow_to("migrate", "--node FROM --to TO, or CLIENT:PORT VIP:PORT TO", a, req);
}

/*
 * handoff CLIENT:PORT VIP:PORT TO [--proto P]: live session handoff: lbd asks
 * the flow's owner node (its tandem-nasd) to hand the session to TO.
 */
static int build_handoff(const struct ctl_args *a, json_t *req)
{
	return build_flow_to("handoff", "CLIENT:PORT VIP:PORT TO", a, req);
}

static void print_handoff(const struct ctl_args *a, const json_t *r, FILE *out)
{
	char from[FMT_BUFLEN], owner[FMT_BUFLEN], ms[FMT_BUFLEN];

	j_text(from, sizeof(from), r, "from");
	j_text(owner, sizeof(owner), r, "owner");
	j_text(ms, sizeof(ms), r, "elapsed_ms");
	fprintf(out, "handed %s session %s -> %s from %s to %s in %s ms (flow owner now %s)\n",
		a->proto ? a->proto : "tcp", a->argv[0], a->argv[1], from,
		a->argc == 3 ? a->argv[2] : a->to, ms, owner);
}

static uint64_t mv_num(const json_t *mv, const char *key)
{
	uint64_t v = 0;

	j_u64(mv, key, &v);
	return v;
}

/* The drain's progress from lbd's "nodes" reply: the node's "moving" object
 * (a new reference), or NULL. */
static json_t *drain_progress(const struct ctl_args *a, const char *node)
{
	char err[256];
	json_t *req = json_pack("{s:s}", "cmd", "nodes");
	json_t *r = ctl_request(a->socket, req, a->timeout_ms, err, sizeof(err)), *mv = NULL;
	size_t i;
	json_t *n;

	json_decref(req);
	json_array_foreach(json_object_get(r, "nodes"), i, n)
		if (json_is_string(json_object_get(n, "name")) &&
		    !strcmp(json_string_value(json_object_get(n, "name")), node))
			mv = json_incref(json_object_get(n, "moving"));
	json_decref(r);
	return mv;
}

#define DRAIN_WAIT_MS (30 * 60 * 1000)	/* give up showing progress after this */

/* drain: lbd stops new sessions at once and moves the live ones in the
 * background; show that progress until it is done (one line per second
 * while it changes), so the operator knows when the node is empty. */
static void print_drain(const struct ctl_args *a, const json_t *r, FILE *out)
{
	const char *node = json_string_value(json_object_get(r, "node"));
	const json_t *d = json_object_get(r, "drain");
	json_t *mv = json_incref(json_object_get(r, "moving"));

	if (!node)
		node = a->argv[0];
	if (!json_is_true(d)) {
		fprintf(out, "%s: not draining (accepts new sessions)%s\n", node,
			mv && json_is_false(json_object_get(mv, "done")) ? "; moving its sessions stopped" : "");
		json_decref(mv);
		return;
	}
	if (!mv) {
		const char *why = json_string_value(json_object_get(r, "sessions_stay"));
		fprintf(out, "%s: draining (no new sessions; existing flows stay%s%s)\n", node,
			why ? ": " : "", why ? why : "");
		return;
	}
	fprintf(out, "%s: draining (no new sessions); moving its %llu TCP session(s) to other nodes\n",
		node, (unsigned long long)mv_num(mv, "total"));
	fflush(out);
	char last[160] = "";
	for (int waited = 0; mv && !json_is_true(json_object_get(mv, "done")) && waited < DRAIN_WAIT_MS;
	     waited += 250) {
		char line[160];
		snprintf(line, sizeof(line), "%s: moved %llu/%llu, in flight %llu, not live %llu, failed %llu",
			 node, (unsigned long long)mv_num(mv, "moved"), (unsigned long long)mv_num(mv, "total"),
			 (unsigned long long)mv_num(mv, "in_flight"),
			 (unsigned long long)mv_num(mv, "not_live"), (unsigned long long)mv_num(mv, "failed"));
		if (strcmp(line, last) && waited % 1000 == 0) {
			fprintf(out, "%s\n", line);
			fflush(out);
			snprintf(last, sizeof(last), "%s", line);
		}
		struct timespec ts = { 0, 250 * 1000000L };
		nanosleep(&ts, NULL);
		json_decref(mv);
		mv = drain_progress(a, node);
	}
	if (!mv) {
		fprintf(out, "%s: progress no longer available\n", node);
		return;
	}
	const char *le = json_string_value(json_object_get(mv, "last_error"));
	char took[32];
	uint64_t ms = mv_num(mv, "elapsed_ms");
	if (ms < 1000)
		snprintf(took, sizeof(took), "%llu ms", (unsigned long long)ms);
	else
		snprintf(took, sizeof(took), "%.1f s", (double)ms / 1000.0);
	fprintf(out, "%s: %s: %llu moved, %llu not live (connection gone or not a handoff service), "
		"%llu failed (stayed on %s), %llu not tried, in %s%s%s\n", node,
		json_is_true(json_object_get(mv, "done")) ? "done" : "still moving",
		(unsigned long long)mv_num(mv, "moved"), (unsigned long long)mv_num(mv, "not_live"),
		(unsigned long long)mv_num(mv, "failed"), node, (unsigned long long)mv_num(mv, "not_tried"),
		took, le ? "; last error: " : "", le ? le : "");
	json_decref(mv);
}

static void print_migrate(const struct ctl_args *a, const json_t *r, FILE *out)
{
	char buf[FMT_BUFLEN];
	uint64_t moved;
	int known = j_u64(r, "moved", &moved) == 0;

	if (json_object_get(r, "elapsed_ms")) {	/* lbd moved the session live */
		print_handoff(a, r, out);
		return;
	}
	j_text(buf, sizeof(buf), r, "moved");
	if (a->node) {
		fprintf(out, "moved %s flow%s from %s to %s\n", buf,
			known && moved == 1 ? "" : "s", a->node, a->to);
	} else {
		const char *to = a->argc == 3 ? a->argv[2] : a->to;
		if (known && moved == 0)
			fprintf(out, "no such flow: nothing moved\n");
		else
			fprintf(out, "moved %s flow %s -> %s to %s\n",
				a->proto ? a->proto : "tcp", a->argv[0], a->argv[1], to);
	}
}

static void print_reload(const struct ctl_args *a, const json_t *r, FILE *out)
{
	char buf[FMT_BUFLEN];

	(void)a;
	fprintf(out, "configuration reloaded (reloads: %s)\n",
		j_text(buf, sizeof(buf), r, "reloads"));
}

/* withdraw, announce: lbd's "bgp" command with withdraw true/false. */
static int build_bgp_hold(const struct ctl_args *a, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (a->argc)
		return usage_err(cmd, "unexpected argument '%s'", a->argv[0]);
	json_object_set_new(req, "withdraw", json_boolean(!strcmp(cmd, "withdraw")));
	set_str(req, "cmd", "bgp");
	return 0;
}

static void print_bgp_hold(const struct ctl_args *a, const json_t *r, FILE *out)
{
	(void)a;
	view_bgp(json_object_get(r, "bgp"), out);
}

/* leave: withdraw, wait for the router to send nothing more, stop lbd. */
static void print_leave(const struct ctl_args *a, const json_t *r, FILE *out)
{
	char b1[FMT_BUFLEN], b2[FMT_BUFLEN], b3[FMT_BUFLEN], b4[FMT_BUFLEN], b5[FMT_BUFLEN];

	(void)a;
	fprintf(out, "left the group: withdrawn after %s ms, %s packets forwarded meanwhile, the last "
		"after %s ms, then quiet for %s ms; lbd stopped after %s ms\n",
		j_text(b1, sizeof(b1), r, "withdrawn_after_ms"),
		j_text(b5, sizeof(b5), r, "packets_while_leaving"),
		j_text(b2, sizeof(b2), r, "last_packet_after_ms"), j_text(b3, sizeof(b3), r, "quiet_ms"),
		j_text(b4, sizeof(b4), r, "waited_ms"));
}

static const struct command commands[] = {
	{ "status", 0, { { "", "daemon summary" } }, build_plain, view_status },
	{ "nodes", 0, { { "", "the storage nodes: state, health per service, counters" } },
	  build_plain, view_nodes },
	{ "vips", 0, { { "", "VIP services and their counters" } }, build_plain, view_vips },
	{ "flows", OPT_VIP | OPT_NODE | OPT_LIMIT | OPT_CLIENT,
	  { { "[--vip V] [--node N] [--client ADDR[:PORT]] [--limit N]",
	      "flow table entries (lbd's default limit: 1000)" } },
	  build_flows, view_flows },
	{ "stats", OPT_ALL, { { "[-a]", "verdict, VIP and node counters (-a: zero verdicts too)" } },
	  build_plain, view_stats },
	{ "drain", 0, { { "NODE", "no new sessions to NODE; its live sessions move off (progress)" } },
	  build_node, print_drain },
	{ "undrain", 0, { { "NODE", "NODE takes new sessions again" } }, build_node, print_drain },
	{ "migrate", OPT_NODE | OPT_TO | OPT_PROTO | OPT_REPOINT,
	  { { "--node FROM --to TO", "re-point every flow of FROM to TO" },
	    { "CLIENT:PORT VIP:PORT TO [--proto tcp|udp] [--repoint]",
	      "move one session: live (handoff) if its node runs tandem-nasd, else re-point "
	      "(IPv6 as [ADDR]:PORT)" } },
	  build_migrate, print_migrate },
	{ "handoff", OPT_TO | OPT_PROTO,
	  { { "CLIENT:PORT VIP:PORT TO [--proto tcp|udp]",
	      "live handoff: the flow's node hands its session to TO" } },
	  build_handoff, print_handoff },
	{ "reload", 0, { { "", "reload the configuration (like SIGHUP)" } },
	  build_plain, print_reload },
	{ "cluster", 0, { { "", "the NFS namespace map sent to the nodes, and who holds it" } },
	  build_plain, view_cluster },
	{ "withdraw", 0, { { "", "BGP: withdraw this switch's VIPs from the router (drain the switch; "
			      "its flows move to the other switches)" } }, build_bgp_hold, print_bgp_hold },
	{ "announce", 0, { { "", "BGP: announce the VIPs again (while this switch can serve them)" } },
	  build_bgp_hold, print_bgp_hold },
	{ "leave", 0, { { "", "BGP: drain this switch gracefully: withdraw, wait until the router "
			   "sends it nothing (2 s without a packet for a node), then stop lbd" } },
	  build_plain, print_leave },
	{ "group", 0, { { "", "the scale-out group as this switch sees it: BGP sessions, routes, "
			   "replication per member" } }, build_plain, view_group },
	{ "nfs-conns", 0, { { "", "tandem-nasd (-s its socket): its NFS connections, the user and "
			       "group of each one's last call by name (this host's NSS)" } },
	  build_plain, view_nfs_conns },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/*
 * The commands tandemctl runs itself, no daemon asked (main.c hands them
 * their arguments before any option is parsed): here only for the usage,
 * which lists them in the same aligned form as the daemon's.
 */
static const struct command local_commands[] = {
	{ "handoff-key", 0,
	  { { "MASTER_KEY_FILE NODE [PEER...]",
	      "print NODE's handoff key file (its switch key, one key per PEER), derived "
	      "from the switch's master key (lbd's handoff.key_file)" } }, NULL, NULL },
	{ "upgrade", 0,
	  { { "[OPTIONS] FILE", "install a signed release into the other root slot "
	      "(its options: tandemctl(1); doc/appliance.md)" } }, NULL, NULL },
	{ "setup", 0,
	  { { "[--root DIR] [--no-apply]", "ask for a first configuration (serial console; "
	      "doc/appliance.md)" } }, NULL, NULL },
};

#define NLOCAL (sizeof(local_commands) / sizeof(local_commands[0]))

const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Synopses longer than this get their help text on a line of its own. */
#define USAGE_SYN_MAX 28
#define USAGE_COLS 79		/* help text is wrapped to fit */

/* "NAME ARGS" of form k into syn; its length. */
static int synopsis(const struct command *c, int k, char *syn, size_t len)
{
	const char *args = c->forms[k].args;

	return snprintf(syn, len, "%s%s%s", c->name, *args ? " " : "", args);
}

/* The widest synopsis of the tables that fits USAGE_SYN_MAX. */
static int usage_width(void)
{
	char syn[FMT_BUFLEN];
	int w = 0;

	for (size_t i = 0; i < NCOMMANDS + NLOCAL; i++) {
		const struct command *c = i < NCOMMANDS ? &commands[i] : &local_commands[i - NCOMMANDS];
		for (int k = 0; k < 2 && c->forms[k].help; k++) {
			int n = synopsis(c, k, syn, sizeof(syn));
			if (n > w && n <= USAGE_SYN_MAX)
				w = n;
		}
	}
	return w;
}

/* Print help starting at column col (the cursor is there), wrapped at word
 * boundaries to USAGE_COLS; continuation lines start at col too. */
static void usage_help(FILE *f, const char *help, int col)
{
	int at = col;

	while (*help) {
		int n = (int)strcspn(help, " ");
		if (at > col && at + 1 + n > USAGE_COLS) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		}
		if (at > col) {
			fputc(' ', f);
			at++;
		}
		fprintf(f, "%.*s", n, help);
		at += n;
		help += n;
		help += strspn(help, " ");
	}
	fputc('\n', f);
}

/* One group of commands, each form as "  SYNOPSIS  help" in columns of
 * width w (a longer synopsis gets its help on the next line). */
static void usage_group(FILE *f, const struct command *cmds, size_t n, int w)
{
	char syn[FMT_BUFLEN];

	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 2 && cmds[i].forms[k].help; k++) {
			int len = synopsis(&cmds[i], k, syn, sizeof(syn));
			if (len > w)
				fprintf(f, "  %s\n  %-*s  ", syn, w, "");
			else
				fprintf(f, "  %-*s  ", w, syn);
			usage_help(f, cmds[i].forms[k].help, w + 4);
		}
	}
}

void commands_usage(FILE *f)
{
	int w = usage_width();

	fprintf(f, "Commands (requests to tandem-lbd's control socket):\n");
	usage_group(f, commands, NCOMMANDS, w);
	fprintf(f, "\nLocal commands (no daemon asked; options above do not apply):\n");
	usage_group(f, local_commands, NLOCAL, w);
}
