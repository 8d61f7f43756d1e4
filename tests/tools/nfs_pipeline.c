/*
 * nfs_pipeline - many small NFS calls in flight on one connection, as a
 * kernel client writing a memory-mapped file sends them: do they complete
 * at the rate the network allows, or does each batch of replies wait for a
 * delayed ACK (Nagle's algorithm on the server's socket)?
 *
 *   nfs_pipeline [-n CALLS] [-b BATCHES] [-s SIZE] [-P PID[,PID...] [-B]] SERVER EXPORT PATH[,...]
 *     -n CALLS   calls put in flight at once (default 256)
 *     -b BATCHES batches of CALLS per phase, each sent once the previous
 *                one is answered, as a client flushing dirty pages does
 *                (default 1)
 *     -s SIZE    bytes per WRITE / READ (default 4096)
 *     -P PIDS    the server processes (tandem-nasd on each node): the one
 *                holding this connection is found (pidfd_getfd of its
 *                sockets) and its socket's TCP_NODELAY reported
 *     -B         with -P: the workload measured again with TCP_NODELAY
 *                forced on at the server's end (the no-Nagle baseline of
 *                this run) and forced off (what Nagle costs here), then the
 *                option put back as it was.  Without -B the server's socket
 *                is let go at once (a connection that may be handed to
 *                another node must not be held open here)
 *     -m PORT    MOUNT on its own connection to SERVER:PORT (servers such as
 *                nfs-ganesha that serve MOUNT on another port than NFS;
 *                default: MOUNT on the NFS connection, as tandem-nasd
 *                serves both on 2049)
 *     PATH       a file below EXPORT, created (or truncated); with -P and
 *                several PATHs, the i-th is used when the i-th PID holds
 *                the connection (a file homed on that node: no forwarding)
 *   nfs_pipeline -L PID
 *     list process PID's connected TCP sockets, one JSON line each: local,
 *     peer, nodelay (its TCP_NODELAY) - e.g. nasd's connections to the
 *     other nodes it forwards calls to
 *
 * One TCP connection to SERVER:2049 (libnfs's raw RPC layer: MOUNT and
 * NFS on the one port, as tandem-nasd serves them), TCP_NODELAY on the
 * client's side, so only the server's side can stall.  A round: BATCHES
 * times CALLS UNSTABLE WRITEs of SIZE bytes queued at once and all
 * answered, then the same for READs of those ranges, every byte checked.
 * The last reply of a batch is where Nagle's algorithm hurts: it waits on
 * the server for the ACK of the one before, which the client, having
 * nothing to send, delays (40 ms and more).  Output: one JSON
 * object: port, the path used, server_pid and server_nodelay (with -P),
 * and per round (as_is; with -P also nodelay, nagle) write_ms, read_ms,
 * total_ms and max_gap_ms (the longest wait between two replies with calls
 * outstanding).  Exit 0 when every call succeeded and every byte read back
 * was the byte written.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "tests/tools/lib/rpc_step.h"

#define MAX_PIDS 8
#define MAX_PATHS 8

struct pipe;
/* A call of a round: which slice of data it writes or reads back. */
struct slot {
	struct pipe *p;
	size_t i;		/* index of the call in the phase */
};

struct pipe {
	struct rpc_step st;	/* first: the calls' private pointer is the pipe */
	unsigned calls, batches;
	size_t size;
	uint8_t *data;		/* batches * calls * size: what the round writes */
	struct slot *slots;	/* batches * calls */
	/* a round */
	unsigned answered, failed, mismatched;
	int all;		/* every call of the phase answered */
	uint64_t last_ns, max_gap_ns;
	/* the server's end of the connection (with -P) */
	int server_fd;		/* a duplicate of the server's socket, or -1 */
	int server_pid, server_index, server_nodelay;
	int baselines;		/* -B */
	int mount_port;		/* -m, or 0: MOUNT on the NFS connection */
	const char *server;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int die(const char *what, const char *why)
{
	printf("{\"ok\":false,\"error\":\"%s: %s\"}\n", what, why);
	return 1;
}

/* ---- one call at a time: connect, MNT, LOOKUP, CREATE (rpc_step.h) ---- */

/* A copy of a handle (libnfs frees the reply it came in). */
static int fh_copy(nfs_fh3 *dst, const char *val, unsigned len)
{
	dst->data.data_val = malloc(len ? len : 1);
	if (!dst->data.data_val)
		return -1;
	memcpy(dst->data.data_val, val, len);
	dst->data.data_len = len;
	return 0;
}

static int do_mnt(struct pipe *p, const char *export, nfs_fh3 *root)
{
	if (p->mount_port) {	/* its own connection, for this one call */
		struct rpc_context *nfs = p->st.rpc;
		int rc = -1;
		if (!(p->st.rpc = rpc_init_context())) {
			p->st.rpc = nfs;
			snprintf(p->st.err, sizeof(p->st.err), "out of memory");
			return -1;
		}
		rpc_set_auth(p->st.rpc, libnfs_authunix_create_default());
		p->st.done = 0;
		if (rpc_step_wait(&p->st, rpc_connect_async(p->st.rpc, p->server, p->mount_port, rpc_step_cb, p)) == 0) {
			p->mount_port = 0;
			rc = do_mnt(p, export, root);
		}
		rpc_destroy_context(p->st.rpc);
		p->st.rpc = nfs;
		return rc;
	}
	p->st.done = 0;
	if (rpc_step_wait(&p->st, rpc_mount3_mnt_async(p->st.rpc, rpc_step_cb, (char *)export, p)) < 0)
		return -1;
	mountres3 *r = p->st.result;
	if (r->fhs_status != MNT3_OK) {
		snprintf(p->st.err, sizeof(p->st.err), "MNT %s: status %d", export, r->fhs_status);
		return -1;
	}
	fhandle3 *h = &r->mountres3_u.mountinfo.fhandle;
	return fh_copy(root, h->fhandle3_val, h->fhandle3_len);
}

static int do_lookup(struct pipe *p, nfs_fh3 *dir, const char *name, nfs_fh3 *out)
{
	LOOKUP3args a = { .what = { .dir = *dir, .name = (char *)name } };

	p->st.done = 0;
	if (rpc_step_wait(&p->st, rpc_nfs3_lookup_async(p->st.rpc, rpc_step_cb, &a, p)) < 0)
		return -1;
	LOOKUP3res *r = p->st.result;
	if (r->status != NFS3_OK) {
		snprintf(p->st.err, sizeof(p->st.err), "LOOKUP %s: status %d", name, r->status);
		return -1;
	}
	return fh_copy(out, r->LOOKUP3res_u.resok.object.data.data_val,
		       r->LOOKUP3res_u.resok.object.data.data_len);
}

static int do_create(struct pipe *p, nfs_fh3 *dir, const char *name, nfs_fh3 *out)
{
	CREATE3args a = { .where = { .dir = *dir, .name = (char *)name } };

	a.how.mode = UNCHECKED;
	a.how.createhow3_u.obj_attributes.mode.set_it = 1;
	a.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = 0644;
	a.how.createhow3_u.obj_attributes.size.set_it = 1;	/* truncate */
	p->st.done = 0;
	if (rpc_step_wait(&p->st, rpc_nfs3_create_async(p->st.rpc, rpc_step_cb, &a, p)) < 0)
		return -1;
	CREATE3res *r = p->st.result;
	if (r->status != NFS3_OK || !r->CREATE3res_u.resok.obj.handle_follows) {
		snprintf(p->st.err, sizeof(p->st.err), "CREATE %s: status %d", name, r->status);
		return -1;
	}
	nfs_fh3 *h = &r->CREATE3res_u.resok.obj.post_op_fh3_u.handle;
	return fh_copy(out, h->data.data_val, h->data.data_len);
}

/* The file's handle: MNT, LOOKUP of each directory of path, CREATE. */
static int open_file(struct pipe *p, const char *export, const char *path, nfs_fh3 *fh)
{
	char buf[1024], *save = NULL;
	nfs_fh3 cur;

	snprintf(buf, sizeof(buf), "%s", path);
	if (do_mnt(p, export, &cur) < 0)
		return -1;
	char *name = strtok_r(buf, "/", &save), *next;
	for (; name && (next = strtok_r(NULL, "/", &save)); name = next) {
		nfs_fh3 sub;
		if (do_lookup(p, &cur, name, &sub) < 0)
			return -1;
		free(cur.data.data_val);
		cur = sub;
	}
	if (!name) {
		snprintf(p->st.err, sizeof(p->st.err), "empty path");
		return -1;
	}
	int rc = do_create(p, &cur, name, fh);
	free(cur.data.data_val);
	return rc;
}

/* ---- the pipelined round ---- */

static void reply_seen(struct pipe *p)
{
	uint64_t t = now_ns();

	if (t - p->last_ns > p->max_gap_ns)
		p->max_gap_ns = t - p->last_ns;
	p->last_ns = t;
	p->all = ++p->answered >= p->calls;
}

static void write_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct pipe *p = ((struct slot *)priv)->p;
	WRITE3res *r = data;

	(void)rpc;
	reply_seen(p);
	if (status != RPC_STATUS_SUCCESS || r->status != NFS3_OK ||
	    r->WRITE3res_u.resok.count != p->size)
		p->failed++;
}

static void read_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct pipe *p = ((struct slot *)priv)->p;
	size_t i = ((struct slot *)priv)->i;
	READ3res *r = data;

	(void)rpc;
	reply_seen(p);
	if (status != RPC_STATUS_SUCCESS || r->status != NFS3_OK) {
		p->failed++;
		return;
	}
	if (r->READ3res_u.resok.data.data_len != p->size ||
	    memcmp(r->READ3res_u.resok.data.data_val, p->data + i * p->size, p->size))
		p->mismatched++;
}

/* Queue batch b's calls, serve until all are answered.  0 / -1. */
static int batch(struct pipe *p, nfs_fh3 *fh, int write, unsigned b)
{
	p->answered = 0;
	p->all = 0;
	p->last_ns = now_ns();
	for (unsigned i = b * p->calls; i < (b + 1) * p->calls; i++) {
		int rc;
		if (write) {
			WRITE3args a = { .file = *fh, .offset = (uint64_t)i * p->size,
					 .count = (count3)p->size, .stable = UNSTABLE };
			a.data.data_len = (u_int)p->size;
			a.data.data_val = (char *)p->data + (size_t)i * p->size;
			rc = rpc_nfs3_write_async(p->st.rpc, write_cb, &a, &p->slots[i]);
		} else {
			READ3args a = { .file = *fh, .offset = (uint64_t)i * p->size,
					.count = (count3)p->size };
			rc = rpc_nfs3_read_async(p->st.rpc, read_cb, &a, &p->slots[i]);
		}
		if (rc < 0) {
			snprintf(p->st.err, sizeof(p->st.err), "queue: %s", rpc_get_error(p->st.rpc));
			return -1;
		}
	}
	return rpc_step_serve(&p->st, &p->all, rpc_step_now_ms() + RPC_STEP_WAIT_MS) < 0 ? -1 : 0;
}

/* Every batch of a phase in turn.  Its time in ms, or -1. */
static int64_t phase(struct pipe *p, nfs_fh3 *fh, int write)
{
	uint64_t t0 = now_ns();

	for (unsigned b = 0; b < p->batches; b++)
		if (batch(p, fh, write, b) < 0)
			return -1;
	return (int64_t)((now_ns() - t0) / 1000000);
}

/* One round: the WRITEs, then the READs; its JSON member into out. */
static int round_run(struct pipe *p, nfs_fh3 *fh, const char *label, unsigned seed, char *out,
		     size_t cap)
{
	for (size_t i = 0; i < (size_t)p->batches * p->calls * p->size; i++)
		p->data[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 12));
	p->failed = p->mismatched = 0;
	p->max_gap_ns = 0;
	int64_t w = phase(p, fh, 1), r = w < 0 ? -1 : phase(p, fh, 0);
	if (w < 0 || r < 0)
		return -1;
	snprintf(out, cap, "\"%s\":{\"write_ms\":%" PRId64 ",\"read_ms\":%" PRId64
		 ",\"total_ms\":%" PRId64 ",\"max_gap_ms\":%" PRIu64 ",\"failed\":%u,\"mismatched\":%u}",
		 label, w, r, w + r, p->max_gap_ns / 1000000, p->failed, p->mismatched);
	return p->failed || p->mismatched ? -1 : 0;
}

/* ---- the server's end of this connection ---- */

static int same_ep(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

/*
 * Each connected socket of process pid, as a duplicate (pidfd_getfd)
 * handed to fn with its peer address: fn returns 1 to keep the descriptor
 * (the walk stops and returns it), 0 to go on (it is closed).  The kept
 * descriptor, or -1.
 */
static int each_socket(int pid, int (*fn)(int fd, const struct sockaddr_storage *peer, void *arg),
		       void *arg)
{
	char dir[32], link[64], target[64];
	int pfd = (int)pidfd_open(pid, 0), found = -1;
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	if (pfd < 0 || !(d = opendir(dir))) {
		if (pfd >= 0)
			close(pfd);
		return -1;
	}
	while (found < 0 && (e = readdir(d))) {
		snprintf(link, sizeof(link), "%s/%.20s", dir, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0 || (target[n] = '\0', strncmp(target, "socket:", 7)))
			continue;
		int fd = pidfd_getfd(pfd, atoi(e->d_name), 0);
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		if (fd >= 0 && getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 && fn(fd, &peer, arg))
			found = fd;
		else if (fd >= 0)
			close(fd);
	}
	closedir(d);
	close(pfd);
	return found;
}

static int is_me(int fd, const struct sockaddr_storage *peer, void *me)
{
	(void)fd;
	return same_ep(peer, me);
}

static int nodelay_get(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	return getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l) < 0 ? -1 : v;
}

static void nodelay_set(int fd, int v)
{
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
}

static void find_server(struct pipe *p, const char *pids)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	char buf[256], *save = NULL;
	int i = 0;

	p->server_fd = -1;
	if (!pids || getsockname(rpc_get_fd(p->st.rpc), (struct sockaddr *)&me, &ml) < 0)
		return;
	snprintf(buf, sizeof(buf), "%s", pids);
	for (char *t = strtok_r(buf, ",", &save); t && p->server_fd < 0 && i < MAX_PIDS;
	     t = strtok_r(NULL, ",", &save), i++) {
		p->server_fd = each_socket(atoi(t), is_me, &me);	/* its peer is us */
		p->server_pid = atoi(t);
		p->server_index = i;
	}
}

/* ---- main ---- */

static const char *ep_fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(((const struct sockaddr_in *)ss)->sin_port));
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	}
	return buf;
}

/* -L: one JSON line per connected TCP socket. */
static int print_socket(int fd, const struct sockaddr_storage *peer, void *arg)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	int type = 0;
	socklen_t tl = sizeof(type);
	char a[80], b[80];

	(void)arg;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&me, &ml) < 0)
		return 0;
	printf("{\"local\":\"%s\",\"peer\":\"%s\",\"nodelay\":%d}\n", ep_fmt(&me, a, sizeof(a)),
	       ep_fmt(peer, b, sizeof(b)), nodelay_get(fd));
	return 0;
}

static unsigned local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int usage(void)
{
	fprintf(stderr, "usage: nfs_pipeline [-n CALLS] [-b BATCHES] [-s SIZE] [-m MOUNTPORT] [-P PID[,PID...] [-B]] SERVER EXPORT "
			"PATH[,PATH...]\n");
	return 2;
}

/* The rounds (as_is; with the server's socket also nodelay and nagle)
 * into json[cap].  0, or -1 (p->st.err). */
static int rounds(struct pipe *p, nfs_fh3 *fh, char *json, size_t cap)
{
	char r[3][256];
	int orig = p->server_nodelay;

	if (round_run(p, fh, "as_is", 1, r[0], sizeof(r[0])) < 0)
		return -1;
	if (p->server_fd < 0) {
		if (p->server_pid)
			snprintf(json, cap, "\"server_pid\":%d,\"server_nodelay\":%d,%s", p->server_pid,
				 orig, r[0]);
		else
			snprintf(json, cap, "%s", r[0]);
		return 0;
	}
	nodelay_set(p->server_fd, 1);
	int rc = round_run(p, fh, "nodelay", 2, r[1], sizeof(r[1]));
	nodelay_set(p->server_fd, 0);
	if (rc == 0)
		rc = round_run(p, fh, "nagle", 3, r[2], sizeof(r[2]));
	nodelay_set(p->server_fd, orig > 0);
	if (rc < 0)
		return -1;
	snprintf(json, cap, "\"server_pid\":%d,\"server_nodelay\":%d,%s,%s,%s", p->server_pid, orig,
		 r[0], r[1], r[2]);
	return 0;
}

int main(int argc, char **argv)
{
	struct pipe p = { .calls = 256, .batches = 1, .size = 4096, .server_fd = -1 };
	const char *pids = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "n:b:s:m:P:L:B")) != -1) {
		if (opt == 'L') {
			each_socket(atoi(optarg), print_socket, NULL);
			return 0;
		}
		if (opt == 'n' && atoi(optarg) > 0 && atoi(optarg) <= 4096)
			p.calls = (unsigned)atoi(optarg);
		else if (opt == 'b' && atoi(optarg) > 0 && atoi(optarg) <= 4096)
			p.batches = (unsigned)atoi(optarg);
		else if (opt == 's' && atoi(optarg) > 0 && atoi(optarg) <= (1 << 20))
			p.size = (size_t)atoi(optarg);
		else if (opt == 'm' && atoi(optarg) > 0 && atoi(optarg) < 65536)
			p.mount_port = atoi(optarg);
		else if (opt == 'P')
			pids = optarg;
		else if (opt == 'B')
			p.baselines = 1;
		else
			return usage();
	}
	if (argc - optind != 3)
		return usage();
	const char *server = argv[optind], *export = argv[optind + 1];
	p.server = server;
	char paths[1024], *save = NULL, *path[MAX_PATHS];
	int npath = 0;
	snprintf(paths, sizeof(paths), "%s", argv[optind + 2]);
	for (char *t = strtok_r(paths, ",", &save); t && npath < MAX_PATHS; t = strtok_r(NULL, ",", &save))
		path[npath++] = t;
	if (!npath)
		return usage();
	size_t total = (size_t)p.batches * p.calls;
	if (total * p.size > (256u << 20))
		return usage();
	p.data = malloc(total * p.size);
	p.slots = calloc(total, sizeof(*p.slots));
	struct rpc_context *ctx = rpc_init_context();
	if (!p.data || !p.slots || !ctx)
		return die("init", "out of memory");
	rpc_step_init(&p.st, ctx);
	for (size_t i = 0; i < total; i++)
		p.slots[i] = (struct slot){ &p, i };
	rpc_set_auth(p.st.rpc, libnfs_authunix_create_default());
	p.st.done = 0;
	if (rpc_step_wait(&p.st, rpc_connect_async(p.st.rpc, server, 2049, rpc_step_cb, &p)) < 0)
		return die("connect", p.st.err);
	int one = 1;
	setsockopt(rpc_get_fd(p.st.rpc), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* a NULL call first: once it is answered the server has accepted */
	p.st.done = 0;
	if (rpc_step_wait(&p.st, rpc_nfs3_null_async(p.st.rpc, rpc_step_cb, &p)) < 0)
		return die("NULL", p.st.err);
	find_server(&p, pids);
	const char *use = path[p.server_fd >= 0 && p.server_index < npath ? p.server_index : 0];
	if (p.server_fd >= 0) {
		p.server_nodelay = nodelay_get(p.server_fd);
		if (!p.baselines) {
			close(p.server_fd);
			p.server_fd = -1;
		}
	} else {
		p.server_pid = 0;
	}
	nfs_fh3 fh;
	if (open_file(&p, export, use, &fh) < 0)
		return die(use, p.st.err);
	char json[1024];
	int rc = rounds(&p, &fh, json, sizeof(json));
	printf("{\"ok\":%s,\"port\":%u,\"path\":\"%s\",\"calls\":%u,\"batches\":%u,\"size\":%zu,%s%s%s}\n",
	       rc == 0 ? "true" : "false", local_port(rpc_get_fd(p.st.rpc)), use, p.calls, p.batches, p.size,
	       rc == 0 ? json : "\"error\":\"", rc == 0 ? "" : p.st.err, rc == 0 ? "" : "\"");
	rpc_destroy_context(p.st.rpc);
	return rc == 0 ? 0 : 1;
}
