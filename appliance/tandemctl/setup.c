/*
 * setup.c - ask for the essentials of a switch or a storage node and write
 * the configuration a config drive would have brought: role,
 * network/NAME.network, tandem.json (switch) or nasd.json (node).
 *
 *   tandemctl setup [--root DIR] [--no-apply]
 *
 * Answers come from standard input, one per line (a console, or a script);
 * an invalid answer is explained and asked again; end of input gives up
 * without writing anything.  The files go to DIR (default /etc/tandem); the
 * role file is written last, so a configuration is complete or absent.
 * Then the daemon's own check runs on what was written (tandem-lbd -t /
 * tandem-nasd -t), and unless --no-apply the system side is applied
 * (tandem-config) and the network and the role's daemons start.  A
 * single switch; a pair, handoff and NFS are added to tandem.json later
 * (doc/config.md).
 */
#include "setup.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/addr.h"

#define ANS_MAX 256
#define MAX_LIST 16

struct setup {
	const char *dir;
	int apply;
	FILE *in, *out;
	char role[8];
	char cif[16], caddr[64], sif[16], saddr[64], gw[64], vip[64], exp[ANS_MAX];
	char services[ANS_MAX], nodes[ANS_MAX], vips[ANS_MAX];
};

/* One validator per kind of answer: 0 ok, else -1 with why. */
typedef int (*check_fn)(const char *s, char *why, size_t wl);

static int ck_role(const char *s, char *why, size_t wl)
{
	if (!strcmp(s, "switch") || !strcmp(s, "node"))
		return 0;
	snprintf(why, wl, "answer switch or node");
	return -1;
}

static int ck_ifname(const char *s, char *why, size_t wl)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n) {
		snprintf(why, wl, "an interface name: 1..15 of [a-z0-9_.-]");
		return -1;
	}
	return 0;
}

static int ck_addr(const char *s, char *why, size_t wl)
{
	struct taddr a;

	if (taddr_parse(s, &a) == 0)
		return 0;
	snprintf(why, wl, "an IPv4 or IPv6 address, e.g. 10.0.1.100");
	return -1;
}

static int ck_cidr(const char *s, char *why, size_t wl)
{
	char a[64];
	const char *slash = strchr(s, '/');
	char *end;
	long p;

	if (slash && (size_t)(slash - s) < sizeof(a)) {
		memcpy(a, s, (size_t)(slash - s));
		a[slash - s] = '\0';
		struct taddr t;
		p = strtol(slash + 1, &end, 10);
		if (taddr_parse(a, &t) == 0 && !*end && slash[1] && p >= 1 &&
		    p <= (t.family == 4 ? 32 : 128))
			return 0;
	}
	snprintf(why, wl, "ADDRESS/PREFIX, e.g. 10.0.1.2/24");
	return -1;
}

static int ck_path(const char *s, char *why, size_t wl)
{
	if (s[0] == '/' && !strstr(s, "..") && strlen(s) < 200)
		return 0;
	snprintf(why, wl, "an absolute directory path");
	return -1;
}

/* A comma-separated list, each item checked by item() after trimming. */
static int ck_list(const char *s, int (*item)(const char *, char *, size_t), char *why,
		   size_t wl)
{
	char buf[ANS_MAX], *save = NULL, *t;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (++n > MAX_LIST || item(t, why, wl) < 0)
			return -1;
	if (n)
		return 0;
	snprintf(why, wl, "at least one item, comma separated");
	return -1;
}

static int ck_service(const char *s, char *why, size_t wl)
{
	char proto[8];
	unsigned port;
	char extra;

	if (sscanf(s, "%7[a-z]/%u%c", proto, &port, &extra) == 2 && proto_parse(proto) >= 0 &&
	    port >= 1 && port <= 65535)
		return 0;
	snprintf(why, wl, "PROTO/PORT, e.g. tcp/80 or udp/5201");
	return -1;
}

static int ck_services(const char *s, char *why, size_t wl)
{
	return ck_list(s, ck_service, why, wl);
}

static int ck_node(const char *s, char *why, size_t wl)
{
	const char *eq = strchr(s, '=');

	if (eq && eq > s && eq - s <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
	    (size_t)(eq - s) && ck_addr(eq + 1, why, wl) == 0)
		return 0;
	snprintf(why, wl, "NAME=ADDRESS, e.g. n1=10.0.2.11");
	return -1;
}

static int ck_nodes(const char *s, char *why, size_t wl)
{
	return ck_list(s, ck_node, why, wl);
}

static int ck_addrs(const char *s, char *why, size_t wl)
{
	return ck_list(s, ck_addr, why, wl);
}

/* Ask until a valid answer (def when the line is empty); -1 at EOF. */
static int ask(struct setup *st, const char *q, const char *def, check_fn ck, char *out,
	       size_t cap)
{
	char line[ANS_MAX + 2], why[128];

	for (;;) {
		fprintf(st->out, "%s%s%s%s: ", q, def ? " [" : "", def ? def : "", def ? "]" : "");
		fflush(st->out);
		if (!fgets(line, sizeof(line), st->in))
			return -1;
		line[strcspn(line, "\r\n")] = '\0';
		const char *v = line[0] ? line : def ? def : "";
		if (strlen(v) < cap && ck(v, why, sizeof(why)) == 0) {
			snprintf(out, cap, "%s", v);
			return 0;
		}
		fprintf(st->out, "  not valid: %s\n", why);
	}
}

static int ask_switch(struct setup *s)
{
	return ask(s, "Client-facing interface", "eth0", ck_ifname, s->cif, sizeof(s->cif)) ||
	       ask(s, "  its address/prefix", NULL, ck_cidr, s->caddr, sizeof(s->caddr)) ||
	       ask(s, "Storage-facing interface", "eth1", ck_ifname, s->sif, sizeof(s->sif)) ||
	       ask(s, "  its address/prefix", NULL, ck_cidr, s->saddr, sizeof(s->saddr)) ||
	       ask(s, "VIP address", NULL, ck_addr, s->vip, sizeof(s->vip)) ||
	       ask(s, "VIP services", "tcp/80", ck_services, s->services, sizeof(s->services)) ||
	       ask(s, "Storage nodes (NAME=ADDRESS, ...)", NULL, ck_nodes, s->nodes,
		   sizeof(s->nodes)) ? -1 : 0;
}

static int ask_node(struct setup *s)
{
	return ask(s, "Storage interface", "eth0", ck_ifname, s->sif, sizeof(s->sif)) ||
	       ask(s, "  its address/prefix", NULL, ck_cidr, s->saddr, sizeof(s->saddr)) ||
	       ask(s, "  gateway (the switch pair's storage gateway)", NULL, ck_addr, s->gw,
		   sizeof(s->gw)) ||
	       ask(s, "VIP addresses served here (ADDRESS, ...)", NULL, ck_addrs, s->vips,
		   sizeof(s->vips)) ||
	       ask(s, "Export directory", "/srv/tandem", ck_path, s->exp, sizeof(s->exp)) ? -1 : 0;
}

/* ---- writing ---- */

static int write_text(const struct setup *s, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fflush(f) || fsync(fileno(f)) || fclose(f)) {
		fprintf(stderr, "tandemctl setup: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (rename(tmp, path) < 0) {
		fprintf(stderr, "tandemctl setup: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_json(const struct setup *s, const char *name, json_t *j)
{
	char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc = t ? write_text(s, name, t) : -1;

	free(t);
	json_decref(j);
	return rc;
}

/* network/10-IF.network: the interface's address (and a gateway). */
static int write_network(const struct setup *s, const char *ifn, const char *cidr, const char *gw)
{
	char name[64], text[512];

	snprintf(name, sizeof(name), "network/10-%s.network", ifn);
	snprintf(text, sizeof(text), "[Match]\nName=%s\n\n[Network]\nAddress=%s\n%s%s%s", ifn, cidr,
		 gw ? "Gateway=" : "", gw ? gw : "", gw ? "\n" : "");
	return write_text(s, name, text);
}

/* Split a comma list into JSON values made by mk(item). */
static json_t *list_json(const char *s, json_t *(*mk)(const char *))
{
	char buf[ANS_MAX], *save = NULL, *t;
	json_t *a = json_array();

	snprintf(buf, sizeof(buf), "%s", s);
	for (t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		json_array_append_new(a, mk(t));
	return a;
}

static json_t *mk_service(const char *t)
{
	char proto[8];
	unsigned port;

	sscanf(t, "%7[a-z]/%u", proto, &port);
	return json_pack("{s:s, s:i}", "proto", proto, "port", (int)port);
}

static json_t *mk_node(const char *t)
{
	const char *eq = strchr(t, '=');

	return json_pack("{s:s%, s:s, s:i}", "name", t, (int)(eq - t), "address", eq + 1,
			 "weight", 100);
}

static int write_switch(const struct setup *s)
{
	json_t *j = json_pack("{s:s, s:s, s:o, s:[{s:s, s:s, s:o}]}", "client_interface", s->cif,
			      "storage_interface", s->sif, "nodes", list_json(s->nodes, mk_node),
			      "vips", "name", "vip", "address", s->vip, "services",
			      list_json(s->services, mk_service));

	return write_network(s, s->cif, s->caddr, NULL) < 0 ||
	       write_network(s, s->sif, s->saddr, NULL) < 0 ? -1 : write_json(s, "tandem.json", j);
}

static json_t *mk_listen(const char *a)
{
	char buf[80];
	struct taddr t;

	taddr_parse(a, &t);
	snprintf(buf, sizeof(buf), t.family == 6 ? "[%s]:80" : "%s:80", a);
	return json_string(buf);
}

static int write_node(const struct setup *s)
{
	char own[64], lo[ANS_MAX * 2] = "[Match]\nName=lo\n\n[Network]\n";
	json_t *listen = list_json(s->vips, mk_listen);
	char buf[ANS_MAX], *save = NULL, *t;

	snprintf(own, sizeof(own), "%.*s", (int)strcspn(s->saddr, "/"), s->saddr);
	json_array_append_new(listen, mk_listen(own));
	snprintf(buf, sizeof(buf), "%s", s->vips);
	for (t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		size_t n = strlen(lo);
		snprintf(lo + n, sizeof(lo) - n, "Address=%s/%s\n", t, strchr(t, ':') ? "128" : "32");
	}
	mkdir(s->exp, 0755);
	json_t *j = json_pack("{s:o, s:[{s:s, s:s}]}", "listen", listen, "exports", "url", "/",
			      "path", s->exp);
	return write_network(s, s->sif, s->saddr, s->gw) < 0 ||
	       write_text(s, "network/05-lo.network", lo) < 0 ? -1 : write_json(s, "nasd.json", j);
}

/* Run a command; its exit status (or -1). */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int check_and_apply(const struct setup *s)
{
	char conf[PATH_MAX];
	int sw = !strcmp(s->role, "switch");

	snprintf(conf, sizeof(conf), "%s/%s", s->dir, sw ? "tandem.json" : "nasd.json");
	char *check[] = { sw ? "tandem-lbd" : "tandem-nasd", "-t", "-c", conf, NULL };
	int rc = run(check);
	if (rc != 0) {
		fprintf(s->out, rc == 127 ? "Cannot run %s (not installed?); nothing is active.\n"
			: "The configuration does not pass %s -t (above); nothing is active.\n",
			check[0]);
		return -1;
	}
	if (write_text(s, "role", sw ? "switch\n" : "node\n") < 0)
		return -1;
	fprintf(s->out, "Configuration written to %s (role %s).\n", s->dir, s->role);
	if (!s->apply)
		return 0;
	char *cfg[] = { "/usr/lib/tandem/appliance/tandem-config", NULL };
	char *net[] = { "systemctl", "restart", "systemd-networkd", NULL };
	char *up[] = { "systemctl", "start", sw ? "tandem-lbd" : "tandem-nasd", "tandem-ready", NULL };
	if (run(cfg) != 0 || run(net) != 0 || run(up) != 0) {
		fprintf(s->out, "Starting the services failed: see journalctl -b.\n");
		return -1;
	}
	fprintf(s->out, "Started.  More (a pair, handoff, NFS): edit %s/tandem.json, doc/config.md.\n",
		s->dir);
	return 0;
}

int setup_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "root", required_argument, NULL, 'r' }, { "no-apply", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct setup s = { .dir = "/etc/tandem", .apply = 1, .in = stdin, .out = stdout };
	char net[PATH_MAX];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'r')
			s.dir = optarg;
		else if (c == 'n')
			s.apply = 0;
		else
			goto usage;
	}
	if (optind != argc)
		goto usage;
	fprintf(s.out, "Tandem appliance setup.  Defaults in [brackets]; Enter takes them.\n");
	if (ask(&s, "Role (switch or node)", "switch", ck_role, s.role, sizeof(s.role)) < 0 ||
	    (!strcmp(s.role, "switch") ? ask_switch(&s) : ask_node(&s)) < 0) {
		fprintf(s.out, "\nNo more answers: nothing was written.\n");
		return 1;
	}
	snprintf(net, sizeof(net), "%s/network", s.dir);
	if ((mkdir(s.dir, 0750) < 0 && errno != EEXIST) || (mkdir(net, 0755) < 0 && errno != EEXIST)) {
		fprintf(stderr, "tandemctl setup: %s: %s\n", net, strerror(errno));
		return 1;
	}
	if ((!strcmp(s.role, "switch") ? write_switch(&s) : write_node(&s)) < 0)
		return 1;
	return check_and_apply(&s) < 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: tandemctl setup [--root DIR] [--no-apply]\n");
	return 2;
}
