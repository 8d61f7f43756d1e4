/*
 * nlm_client - an NFS lock client for the lab tests: NLM v4 calls made
 * with libnfs's raw RPC layer (Debian's libnfs-dev: rpc_nlm4_*_async),
 * driven by commands on stdin, one JSON line on stdout per command.
 *
 *   nlm_client [-H CALLER] [-c] SERVER EXPORT
 *     -H CALLER  the caller_name of the locks (default "nlmtest")
 *     -c         receive GRANTED and SM_NOTIFY calls: a UDP socket for
 *                them, and a portmapper on udp/111 of this host answering
 *                GETPORT (NLM v4, NSM v1) with its port (what a client's
 *                rpcbind does for its lockd and statd; one per network
 *                namespace)
 *
 * One TCP connection to SERVER:2049 (MOUNT, NFS and NLM on the one port,
 * as tandem-nasd serves them) carries every call.  Commands:
 *
 *   open PATH                 MNT EXPORT, LOOKUP each part of PATH: the
 *                             file the next commands lock
 *   test SVID OFF LEN MODE    MODE excl or shared: {"stat":N, "holder":SVID}
 *   lock SVID OFF LEN MODE [block] [reclaim]       {"stat":N}
 *   unlock SVID OFF LEN       {"stat":N}
 *   cancel SVID OFF LEN MODE  {"stat":N}
 *   granted SECS              wait up to SECS for a GRANTED callback:
 *                             {"granted":1, "svid":S, "off":O, "len":L,
 *                             "from":"ADDR"} or {"granted":0}
 *   notified SECS             wait up to SECS for an SM_NOTIFY (a server
 *                             restarted): {"notify":1, "mon_name":NAME,
 *                             "state":N} or {"notify":0}
 *   notify HOST STATE         NSM SM_NOTIFY: HOST restarted (its locks go)
 *                             {"notified":1}
 *   port                      {"port":P}: this connection's local port
 *                             (tandemctl handoff names a session by it)
 *   quit
 *
 * stat is the NLM4 status (0 GRANTED, 1 DENIED, 3 BLOCKED, 4
 * DENIED_GRACE_PERIOD, ...), -1 if the call failed (an RPC error such as
 * SYSTEM_ERR, or the connection lost: the next commands say the same).
 * The owner handle is "oh-SVID".  Exit 0 at quit or end of input, 1 if the
 * first connection failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw-nlm.h>
#include <nfsc/libnfs-raw-nsm.h>

#include "tests/tools/lib/rpc_step.h"

struct cl {
	struct rpc_step st;	/* first: the calls' private pointer is the cl */
	const char *caller;
	nfs_fh3 fh;
	int cb_fd, pm_fd;	/* -c: the callback socket, the portmapper; else -1 */
	uint16_t cb_port;
	int want;		/* while waiting for a callback: 1 GRANTED, 2 SM_NOTIFY */
};

static void rd32(const uint8_t *p, uint32_t *v) { *v = ntohl(*(const uint32_t *)(const void *)p); }
static void wr32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }

/* One datagram to the portmapper: GETPORT answered with our callback port
 * for any program (only NLM is asked here), anything else ignored. */
static void serve_pmap(struct cl *c)
{
	uint8_t b[512], r[28];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(c->pm_fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	uint32_t xid, type, proc, cl, vl;

	if (n < 40)
		return;
	rd32(b, &xid), rd32(b + 4, &type), rd32(b + 20, &proc), rd32(b + 28, &cl);
	if (type != 0 || proc != 3 || 32 + cl + 8 > (size_t)n)
		return;
	rd32(b + 32 + ((cl + 3) & ~3u) + 4, &vl);
	wr32(r, xid), wr32(r + 4, 1), wr32(r + 8, 0), wr32(r + 12, 0), wr32(r + 16, 0);
	wr32(r + 20, 0), wr32(r + 24, c->cb_port);
	sendto(c->pm_fd, r, sizeof(r), 0, (struct sockaddr *)&from, fl);
}

/* An SM_NOTIFY call (b[0, n), its arguments at o): printed, answered
 * (void).  2. */
static int got_notify(struct cl *c, const uint8_t *b, size_t n, size_t o, uint32_t xid,
		      const struct sockaddr_storage *from, socklen_t fl)
{
	uint8_t r[24];
	uint32_t len, state;
	char name[256];

	rd32(b + o, &len);
	if (len > 255 || o + 4 + ((len + 3) & ~3u) + 4 > n)
		return 0;
	memcpy(name, b + o + 4, len);
	name[len] = 0;
	rd32(b + o + 4 + ((len + 3) & ~3u), &state);
	printf("{\"notify\":1,\"mon_name\":\"%s\",\"state\":%u}\n", name, state);
	wr32(r, xid), wr32(r + 4, 1), wr32(r + 8, 0), wr32(r + 12, 0), wr32(r + 16, 0), wr32(r + 20, 0);
	sendto(c->cb_fd, r, sizeof(r), 0, (const struct sockaddr *)from, fl);
	return 2;
}

/* A call on the callback socket: GRANTED (its lock printed, NLM4_GRANTED
 * answered: 1) or SM_NOTIFY (got_notify: 2); 0 for anything else. */
static int serve_granted(struct cl *c)
{
	uint8_t b[4096], r[64];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(c->cb_fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	uint32_t xid, type, prog, proc, len, svid, hi, lo, lhi, llo;
	size_t o = 24;

	if (n < 40)
		return 0;
	rd32(b, &xid), rd32(b + 4, &type), rd32(b + 12, &prog), rd32(b + 20, &proc);
	if (type != 0 || !((prog == 100021 && proc == 5) || (prog == 100024 && proc == 6)))
		return 0;
	for (int i = 0; i < 2; i++) {	/* cred, verf */
		rd32(b + o + 4, &len);
		o += 8 + ((len + 3) & ~3u);
	}
	if (o + 8 > (size_t)n)
		return 0;
	if (prog == 100024)
		return got_notify(c, b, (size_t)n, o, xid, &from, fl);
	size_t cookie_at = o;
	rd32(b + o, &len);	/* cookie */
	size_t cookie_len = 4 + ((len + 3) & ~3u);
	o += cookie_len + 4;	/* exclusive */
	for (int i = 0; i < 3 && o + 4 <= (size_t)n; i++) {	/* caller, fh, oh */
		rd32(b + o, &len);
		o += 4 + ((len + 3) & ~3u);
	}
	if (o + 20 > (size_t)n)
		return 0;
	rd32(b + o, &svid), rd32(b + o + 4, &hi), rd32(b + o + 8, &lo);
	rd32(b + o + 12, &lhi), rd32(b + o + 16, &llo);
	char addr[INET6_ADDRSTRLEN] = "?";
	if (from.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, addr, sizeof(addr));
	printf("{\"granted\":1,\"svid\":%u,\"off\":%" PRIu64 ",\"len\":%" PRIu64 ",\"from\":\"%s\"}\n",
	       svid, (uint64_t)hi << 32 | lo, (uint64_t)lhi << 32 | llo, addr);
	/* reply: accepted, AUTH_NONE verifier, SUCCESS, nlm4_res (cookie, GRANTED) */
	wr32(r, xid), wr32(r + 4, 1), wr32(r + 8, 0), wr32(r + 12, 0), wr32(r + 16, 0), wr32(r + 20, 0);
	if (cookie_len <= 32) {
		memcpy(r + 24, b + cookie_at, cookie_len);
		wr32(r + 24 + cookie_len, 0);
		sendto(c->cb_fd, r, 28 + cookie_len, 0, (struct sockaddr *)&from, fl);
	}
	return 1;
}

/* rpc_step's hook: the portmapper answered at any time; a call on the
 * callback socket read only while a callback is waited for (it stays
 * queued during other calls), ending the wait when it is the one wanted. */
static int on_extra(void *arg, int i)
{
	struct cl *c = arg;

	if (i == 1) {
		serve_pmap(c);
		return 0;
	}
	return c->want && serve_granted(c) == c->want;
}

/* Wait up to ms for a callback of kind want (1 GRANTED, 2 SM_NOTIFY).
 * 0 / -1 (none came). */
static int wait_callback(struct cl *c, int want, uint64_t ms)
{
	c->want = want;
	c->st.extra_fd[0] = c->cb_fd;
	int rc = rpc_step_serve(&c->st, NULL, rpc_step_now_ms() + ms);
	c->want = 0;
	c->st.extra_fd[0] = -1;
	return rc == 1 ? 0 : -1;
}

static int fh_copy(nfs_fh3 *dst, const char *val, unsigned len)
{
	free(dst->data.data_val);
	dst->data.data_val = malloc(len ? len : 1);
	if (!dst->data.data_val)
		return -1;
	memcpy(dst->data.data_val, val, len);
	dst->data.data_len = len;
	return 0;
}

static int cmd_open(struct cl *c, const char *export, char *path)
{
	char *save = NULL;

	if (rpc_step_wait(&c->st, rpc_mount3_mnt_async(c->st.rpc, rpc_step_cb, (char *)export, c)) < 0)
		return -1;
	mountres3 *m = c->st.result;
	if (m->fhs_status != MNT3_OK)
		return snprintf(c->st.err, sizeof(c->st.err), "MNT %d", m->fhs_status), -1;
	fhandle3 *h = &m->mountres3_u.mountinfo.fhandle;
	if (fh_copy(&c->fh, h->fhandle3_val, h->fhandle3_len) < 0)
		return -1;
	for (char *name = strtok_r(path, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		LOOKUP3args a = { .what = { .dir = c->fh, .name = name } };
		if (rpc_step_wait(&c->st, rpc_nfs3_lookup_async(c->st.rpc, rpc_step_cb, &a, c)) < 0)
			return -1;
		LOOKUP3res *r = c->st.result;
		if (r->status != NFS3_OK)
			return snprintf(c->st.err, sizeof(c->st.err), "LOOKUP %s: %d", name, r->status), -1;
		if (fh_copy(&c->fh, r->LOOKUP3res_u.resok.object.data.data_val,
			    r->LOOKUP3res_u.resok.object.data.data_len) < 0)
			return -1;
	}
	return 0;
}

/* The nlm4_lock of a command's SVID OFF LEN (oh is owned by the caller). */
static void mk_lock(struct cl *c, nlm4_lock *l, char *oh, size_t ohcap, const char *svid,
		    const char *off, const char *len)
{
	snprintf(oh, ohcap, "oh-%s", svid);
	l->caller_name = (char *)c->caller;
	l->fh.data.data_len = c->fh.data.data_len;
	l->fh.data.data_val = c->fh.data.data_val;
	l->oh = oh;
	l->svid = (u_int)strtoul(svid, NULL, 10);
	l->l_offset = strtoull(off, NULL, 10);
	l->l_len = strtoull(len, NULL, 10);
}

/* One command line (split into w[0..n)); prints its JSON line.  0, or -1
 * when the connection is unusable. */
static int run(struct cl *c, const char *export, char **w, int n)
{
	static char ck[] = "tandem";
	nlm_cookie cookie = { .data = { sizeof(ck) - 1, ck } };
	char oh[32];
	int rc = 0, st = -1;

	if (!strcmp(w[0], "open") && n == 2) {
		rc = cmd_open(c, export, w[1]);
		printf("{\"open\":%d%s%s%s}\n", rc == 0, rc ? ",\"error\":\"" : "", rc ? c->st.err : "",
		       rc ? "\"" : "");
		return 0;
	}
	if ((!strcmp(w[0], "granted") || !strcmp(w[0], "notified")) && n == 2) {
		int want = w[0][0] == 'g' ? 1 : 2;
		if (wait_callback(c, want, (uint64_t)(atof(w[1]) * 1000)) < 0)
			printf(want == 1 ? "{\"granted\":0}\n" : "{\"notify\":0}\n");
		return 0;
	}
	if (!strcmp(w[0], "notify") && n == 3) {	/* SM_NOTIFY: host w[1] restarted */
		NSM1_NOTIFYargs a = { .mon_name = w[1], .state = atoi(w[2]) };
		rc = rpc_step_wait(&c->st, rpc_nsm1_notify_async(c->st.rpc, rpc_step_cb, &a, c));
		printf("{\"notified\":%d}\n", rc == 0);
		return 0;
	}
	if (!strcmp(w[0], "port")) {
		struct sockaddr_storage ss;
		socklen_t l = sizeof(ss);
		getsockname(rpc_get_fd(c->st.rpc), (struct sockaddr *)&ss, &l);
		printf("{\"port\":%u}\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
		return 0;
	}
	if (n < 4) {
		printf("{\"error\":\"bad command\"}\n");
		return 0;
	}
	int excl = n > 4 && !strcmp(w[4], "excl");
	if (!strcmp(w[0], "test")) {
		NLM4_TESTargs a = { .cookie = cookie, .exclusive = (uint32_t)excl };
		mk_lock(c, &a.lock, oh, sizeof(oh), w[1], w[2], w[3]);
		if ((rc = rpc_step_wait(&c->st, rpc_nlm4_test_async(c->st.rpc, rpc_step_cb, &a, c))) == 0) {
			NLM4_TESTres *r = c->st.result;
			st = (int)r->reply.status;
			printf("{\"stat\":%d,\"holder\":%d}\n", st, st == NLM4_DENIED ?
			       (int)r->reply.nlm4_testreply_u.lock.holder.svid : -1);
			return 0;
		}
	} else if (!strcmp(w[0], "lock")) {
		NLM4_LOCKargs a = { .cookie = cookie, .exclusive = (uint32_t)excl, .state = 1 };
		for (int i = 5; i < n; i++) {
			a.block |= !strcmp(w[i], "block");
			a.reclaim |= !strcmp(w[i], "reclaim");
		}
		mk_lock(c, &a.lock, oh, sizeof(oh), w[1], w[2], w[3]);
		if ((rc = rpc_step_wait(&c->st, rpc_nlm4_lock_async(c->st.rpc, rpc_step_cb, &a, c))) == 0)
			st = (int)((NLM4_LOCKres *)c->st.result)->status;
	} else if (!strcmp(w[0], "unlock")) {
		NLM4_UNLOCKargs a = { .cookie = cookie };
		mk_lock(c, &a.lock, oh, sizeof(oh), w[1], w[2], w[3]);
		if ((rc = rpc_step_wait(&c->st, rpc_nlm4_unlock_async(c->st.rpc, rpc_step_cb, &a, c))) == 0)
			st = (int)((NLM4_UNLOCKres *)c->st.result)->status;
	} else if (!strcmp(w[0], "cancel")) {
		NLM4_CANCargs a = { .cookie = cookie, .exclusive = (uint32_t)excl, .block = 1 };
		mk_lock(c, &a.lock, oh, sizeof(oh), w[1], w[2], w[3]);
		if ((rc = rpc_step_wait(&c->st, rpc_nlm4_cancel_async(c->st.rpc, rpc_step_cb, &a, c))) == 0)
			st = (int)((NLM4_CANCres *)c->st.result)->status;
	} else {
		printf("{\"error\":\"bad command\"}\n");
		return 0;
	}
	if (rc < 0)
		printf("{\"stat\":-1,\"error\":\"%s\"}\n", c->st.err);
	else
		printf("{\"stat\":%d}\n", st);
	return 0;	/* an RPC error (SYSTEM_ERR: the home was unreachable) is an answer */
}

/* -c: the callback socket (any port) and the portmapper on udp/111. */
static int callbacks(struct cl *c, int family)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t l = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	c->cb_fd = socket(family, SOCK_DGRAM, 0);
	c->pm_fd = socket(family, SOCK_DGRAM, 0);
	if (c->cb_fd < 0 || c->pm_fd < 0 || bind(c->cb_fd, (struct sockaddr *)&ss, l) < 0 ||
	    getsockname(c->cb_fd, (struct sockaddr *)&ss, &l) < 0)
		return -1;
	c->cb_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);	/* same offset in v6 */
	((struct sockaddr_in *)&ss)->sin_port = htons(111);
	return bind(c->pm_fd, (struct sockaddr *)&ss, l);
}

int main(int argc, char **argv)
{
	struct cl c = { .caller = "nlmtest", .cb_fd = -1, .pm_fd = -1 };
	char line[512];
	int opt, cb = 0;

	while ((opt = getopt(argc, argv, "H:c")) != -1) {
		if (opt == 'H')
			c.caller = optarg;
		else if (opt == 'c')
			cb = 1;
		else
			return fprintf(stderr, "usage: nlm_client [-H CALLER] [-c] SERVER EXPORT\n"), 2;
	}
	if (argc - optind != 2)
		return fprintf(stderr, "usage: nlm_client [-H CALLER] [-c] SERVER EXPORT\n"), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (cb && callbacks(&c, strchr(argv[optind], ':') ? AF_INET6 : AF_INET) < 0)
		return printf("{\"error\":\"callback sockets: %s\"}\n", strerror(errno)), 1;
	struct rpc_context *ctx = rpc_init_context();
	if (!ctx)
		return 1;
	rpc_step_init(&c.st, ctx);
	c.st.extra_fd[1] = c.pm_fd;
	c.st.on_extra = on_extra;
	c.st.arg = &c;
	rpc_set_auth(c.st.rpc, libnfs_authunix_create_default());
	if (rpc_step_wait(&c.st, rpc_connect_async(c.st.rpc, argv[optind], 2049, rpc_step_cb, &c)) < 0)
		return printf("{\"error\":\"connect: %s\"}\n", c.st.err), 1;
	while (fgets(line, sizeof(line), stdin)) {
		char *w[8], *save = NULL;
		int n = 0;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 8; t = strtok_r(NULL, " \t\n", &save))
			w[n++] = t;
		if (!n)
			continue;
		if (!strcmp(w[0], "quit"))
			break;
		if (run(&c, argv[optind + 1], w, n) < 0)
			return 1;
	}
	rpc_destroy_context(c.st.rpc);
	return 0;
}
