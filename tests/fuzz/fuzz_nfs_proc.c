/* libFuzzer target: tandem-nasd's NFS procedures past argument decoding,
 * run for real against a scratch export.  The input is a list of calls,
 * each a small header and an argument template:
 *
 *   u8 program (% 5: NFS v3, MOUNT v3, portmapper v2, rpcbind v3, v4),
 *   u8 procedure,
 *   u8 flags (bit 0: AUTH_NONE instead of AUTH_SYS; bit 1: sent as a UDP
 *   datagram, nfs_call_datagram, instead of a connection's record), u8 xid,
 *   u16 uid, u16 gid (the AUTH_SYS credential: any uid), u16 length,
 *   then length bytes of arguments, where FE ED i stands for the XDR handle
 *   number i of a table (the export's root and fixtures, then every valid
 *   handle a reply carried: a fuzzer cannot forge the MAC).
 *
 * The first input byte configures the export (bit 0 root_squash, bit 1
 * writable).  Each input starts from a fresh server and the same export
 * (nfs_tree.c: built once, what an input changed put back after it, and
 * checked): files and directories of several owners and modes, one not
 * searchable by others, a FIFO, symlinks out of the export (relative and
 * absolute); beside the export, outside/ with a canary file.  Every call goes through
 * nfs_call_answer (the call header, the duplicate request cache, the
 * program's dispatcher) as a connection's record would, or through
 * nfs_call_datagram as a datagram to the UDP portmapper and MOUNT would
 * (its reply must fit a datagram; NFS over UDP is PROG_UNAVAIL).
 *
 * Invariants: no crash, leak or undefined behaviour (ASan/UBSan); no call
 * blocks (a FIFO opened for reading would: a watchdog thread aborts an
 * input that runs for 10 s, whatever -timeout says); nothing outside the export changes (outside/, its canary, the
 * scratch directory's entries); every reply is a well-formed RPC reply to
 * the call's xid that fits, accepted unless the credential was refused;
 * the file system ids are nasd's own again after every call.  As root
 * (the daemon's case) the procedures run with the fuzzed uid and gid; as
 * another user they run with that user's permissions. */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/wire.h"
#include "storage/nfs/nfs3_int.h"
#include "storage/nfs/nfs_fh.h"
#include "storage/nfs/nlm.h"
#include "nfs_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The handoff agent of this harness: there is none (no namespace, so the
 * data-location trigger in nfs_home.c is never reached). */
int handoff_schedule_nfs(struct nasd *n, struct nfs_conn *c, const struct taddr *to)
{
	(void)n;
	(void)c;
	(void)to;
	return HO_SCHED_FAILED;
}

/* ... nor a half handoff to finish (nfs_half.c needs the agent). */
int nfs_half_boundary(struct nfs_conn *c)
{
	(void)c;
	return 0;
}

int handoff_fd_on_vip(int fd)
{
	(void)fd;
	return 0;
}

#define MAX_CALLS 16
#define MAX_FH 48

static char tmp[64], out_path[128];
static DIR *out_dir;		/* outside/, open for good: counted after every call */
static struct nfs_tree tree;	/* the export, tmp/export */
static struct nasd nasd;
static struct nfs_server *srv;	/* during an input: mem.srv */
static struct nfs_conn conn;
static struct nfs3_fh fhs[MAX_FH];
static unsigned nfh;

/* The server's memory and the connection's reply buffer, allocated once:
 * start() zeroes all of it, which is what a calloc per input gave (their
 * allocation and release under ASan cost more than an input's calls).  In
 * the daemon the server lives as long as the process too. */
static struct {
	struct nfs_server *srv;
	struct nfs_drc_ent *drc;	/* NFS_DRC_SIZE */
	struct nfs_stale_ent *stale;	/* NFS_STALE_SLOTS */
	struct nfs_fhc_ent *fhc_dec, *fhc_enc;	/* NFS_FHC_SLOTS each */
	struct nfs_gen_ent *gens;	/* NFS_GEN_SLOTS */
	uint8_t *out;			/* OUT_CAP */
} mem;
#define OUT_CAP (65536 + NFS_REPLY_SLACK)	/* the conn's out_cap for max_io 65536 */

static void rm_tree(void)
{
	if (tmp[0])
		nfs_tree_rm(tmp);
}

/* The fixtures, in handle order after the root (see fixture_fhs). */
static const char *const fixtures[] = {
	"f", "d", "nosearch", "nosearch/secret", "fifo", "esc", "abs", "ro", "u1000", "d/sub",
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

/*
 * A handle is an HMAC of the object's inode number and generation (the
 * key, node and export ids are this harness's constants), and OpenSSL's
 * one-shot HMAC() makes some 240 allocations under ASan: the root's and
 * the fixtures' handles are kept from one input to the next while the
 * object is the same one (same inode number and generation, read as nasd
 * reads them: an input may have replaced a fixture by an identical one,
 * which nfs_tree does not undo).  valid 0: compute it again.
 */
static struct {
	uint64_t ino;
	uint32_t gen;
	int valid;
} fh_key[1 + NFIX];

/* The generation nasd gives fd's object (obj_gen in nfs3_handle.c); 0 if
 * it could not be read (then the handle is computed again). */
static int gen_of(int fd, mode_t mode, uint32_t *gen)
{
	char p[32];
	int g[2] = { 0, 0 }, ok;

	*gen = 0;
	if (!srv->has_gen || !(S_ISREG(mode) || S_ISDIR(mode)))
		return 1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	int rfd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (rfd < 0)
		return 0;
	ok = ioctl(rfd, FS_IOC_GETVERSION, g) == 0;
	close(rfd);
	*gen = (uint32_t)g[0];
	return ok;
}

/* Whether handle i (0: the root) is still the one of (ino, gen); the key
 * noted for the next input (known 0: not). */
static int fh_kept(unsigned i, uint64_t ino, uint32_t gen, int known)
{
	int same = fh_key[i].valid && known && fh_key[i].ino == ino && fh_key[i].gen == gen;

	fh_key[i].ino = ino;
	fh_key[i].gen = gen;
	fh_key[i].valid = known;
	return same;
}

/* The root's handle and the fixtures', as LOOKUP would give them; each
 * fixture in the inode cache, as LOOKUP would leave it. */
static void fixture_fhs(void)
{
	struct nfs3_obj o;
	uint32_t gen;

	if (!fh_kept(0, srv->root_ino, srv->root_gen, 1))
		nfs3_root_fh(srv, &fhs[0]);
	for (unsigned i = 0; i < NFIX; i++) {
		o.fd = nfs3_open_beneath(srv->dirfd, fixtures[i], O_PATH | O_NOFOLLOW, 0);
		if (o.fd < 0 || fstat(o.fd, &o.st) < 0)
			abort();
		snprintf(o.rel, sizeof(o.rel), "%s", fixtures[i]);
		nfs3_ino_put(srv, (uint64_t)o.st.st_ino, o.rel);
		int known = gen_of(o.fd, o.st.st_mode, &gen);
		if (!fh_kept(1 + i, (uint64_t)o.st.st_ino, gen, known))
			nfs3_obj_fh(srv, &o, &fhs[1 + i]);
		nfs3_obj_close(&o);
	}
	nfh = 1 + NFIX;
}

static volatile uint64_t input_started;	/* CLOCK_MONOTONIC s, 0: between inputs */

static uint64_t now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec;
}

/* An input still running after 10 s is a call that blocks (on a FIFO): a
 * crash, with the input saved. */
static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(1);
		uint64_t t = input_started;
		if (t && now_s() - t > 10) {
			fprintf(stderr, "fuzz_nfs_proc: an input has run for 10 s: a call blocks\n");
			abort();
		}
	}
	return NULL;
}

static void setup(void)
{
	pthread_t th;

	char p[256];
	struct nasd_nfs_config *cfg = &nasd.cfg.nfs;

	snprintf(tmp, sizeof(tmp), "/tmp/fuzz_nfs_proc.XXXXXX");
	if (!mkdtemp(tmp))
		abort();
	atexit(rm_tree);
	snprintf(tree.exp, sizeof(tree.exp), "%s/export", tmp);
	snprintf(out_path, sizeof(out_path), "%s/outside", tmp);
	snprintf(tree.canary, sizeof(tree.canary), "%s/canary", out_path);
	if (mkdir(out_path, 0777) < 0 || chmod(out_path, 0777) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/canary", out_path);
	int fd = open(p, O_WRONLY | O_CREAT, 0666);
	if (fd < 0 || write(fd, "canary", 6) != 6 || fchmod(fd, 0666) < 0)
		abort();
	close(fd);
	if (!(out_dir = opendir(out_path)))
		abort();
	cfg->enabled = 1;
	snprintf(cfg->export_name, sizeof(cfg->export_name), "/export");
	snprintf(cfg->path, sizeof(cfg->path), "%s", tree.exp);
	cfg->export_id = 1;
	cfg->node_id = 1;
	cfg->max_io = OUT_CAP - NFS_REPLY_SLACK;
	cfg->anonuid = cfg->anongid = 65534;
	nasd_cidr_parse("10.0.0.0/8", &cfg->clients[0]);
	cfg->nclients = 1;
	nasd.cfg.max_sessions = 64;
	if (loop_init(&nasd.loop) < 0 || pthread_create(&th, NULL, watchdog, NULL) != 0 ||
	    !(mem.srv = malloc(sizeof(*mem.srv))) ||
	    !(mem.drc = malloc(NFS_DRC_SIZE * sizeof(*mem.drc))) ||
	    !(mem.stale = malloc(NFS_STALE_SLOTS * sizeof(*mem.stale))) ||
	    !(mem.fhc_dec = malloc(NFS_FHC_SLOTS * sizeof(*mem.fhc_dec))) ||
	    !(mem.fhc_enc = malloc(NFS_FHC_SLOTS * sizeof(*mem.fhc_enc))) ||
	    !(mem.gens = malloc(NFS_GEN_SLOTS * sizeof(*mem.gens))) || !(mem.out = malloc(OUT_CAP)))
		abort();
	nfs_tree_build(&tree);
}

/* A fresh server over the export as built (the previous input's changes
 * were put back); flags: bit 0 root_squash, bit 1 writable. */
static void start(uint8_t flags)
{
	struct nasd_nfs_config *cfg = &nasd.cfg.nfs;
	struct sockaddr_in *sin = (struct sockaddr_in *)&conn.peer;

	cfg->root_squash = flags & 1;
	cfg->writable = (flags >> 1) & 1;
	srv = memset(mem.srv, 0, sizeof(*srv));
	srv->drc = memset(mem.drc, 0, NFS_DRC_SIZE * sizeof(*srv->drc));
	srv->stale = memset(mem.stale, 0, NFS_STALE_SLOTS * sizeof(*srv->stale));
	srv->fhc_dec = memset(mem.fhc_dec, 0, NFS_FHC_SLOTS * sizeof(*srv->fhc_dec));
	srv->fhc_enc = memset(mem.fhc_enc, 0, NFS_FHC_SLOTS * sizeof(*srv->fhc_enc));
	srv->gens = memset(mem.gens, 0, NFS_GEN_SLOTS * sizeof(*srv->gens));
	srv->nasd = &nasd;
	srv->cfg = cfg;
	memset(srv->key, 0x5a, 32);
	srv->keylen = 32;
	srv->dirfd = -1;
	nasd.nfs = srv;
	if (nfs3_export_open(srv) < 0 || nlm_open(srv) < 0)
		abort();
	fixture_fhs();
	memset(&conn, 0, sizeof(conn));
	conn.srv = srv;
	conn.id = 1;
	conn.allowed = 1;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a000001);
	conn.out_cap = OUT_CAP;
	conn.out = memset(mem.out, 0, OUT_CAP);
}

static void stop(void)
{
	nlm_close(srv);
	nfs3_export_close(srv);
	nasd.nfs = srv = NULL;
}

/* What "nothing outside the export changed" compares: the scratch
 * directory (its entries), outside/ and its canary. */
struct snap {
	struct stat top, out, canary;
	unsigned nout;
};

static void snapshot(struct snap *s)
{
	char p[256];

	memset(s, 0, sizeof(*s));
	snprintf(p, sizeof(p), "%s/canary", out_path);
	if (stat(tmp, &s->top) < 0 || lstat(out_path, &s->out) < 0 || lstat(p, &s->canary) < 0)
		abort();	/* outside/ or its canary gone */
	rewinddir(out_dir);	/* (an opendir per call costs a 32 KiB allocation) */
	while (readdir(out_dir))
		s->nout++;
}

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
	       a->st_gid == b->st_gid && a->st_size == b->st_size && a->st_nlink == b->st_nlink &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void check_outside(const struct snap *before)
{
	struct snap now;

	snapshot(&now);
	if (!same_stat(&before->top, &now.top) || !same_stat(&before->out, &now.out) ||
	    !same_stat(&before->canary, &now.canary) || before->nout != now.nout)
		abort();	/* a call touched something outside the export */
}

/* The call record for header h and arguments args[0, alen) into rec. */
static size_t build_call(const uint8_t *h, const uint8_t *args, size_t alen, uint8_t *rec,
			 size_t cap)
{
	static const uint32_t progs[5][2] = { { NFS3_PROG, NFS3_VERS }, { MOUNT_PROG, MOUNT_VERS },
					      { PMAP_PROG, PMAP_VERS }, { PMAP_PROG, 3 }, { PMAP_PROG, 4 } };
	struct xdr_enc e;
	uint8_t body[64];
	struct xdr_enc b;

	xdr_enc_init(&e, rec, cap);
	xdr_put_u32(&e, h[3]);
	xdr_put_u32(&e, 0);	/* CALL */
	xdr_put_u32(&e, 2);
	xdr_put_u32(&e, progs[h[0] % 5][0]);
	xdr_put_u32(&e, progs[h[0] % 5][1]);
	xdr_put_u32(&e, h[1]);
	if (h[2] & 1) {
		xdr_put_u32(&e, RPC_AUTH_NONE);
		xdr_put_u32(&e, 0);
	} else {
		xdr_enc_init(&b, body, sizeof(body));
		xdr_put_u32(&b, 0);	/* stamp */
		xdr_put_opaque(&b, (const uint8_t *)"fuzz", 4);
		xdr_put_u32(&b, wire_get16(h + 4));
		xdr_put_u32(&b, wire_get16(h + 6));
		xdr_put_u32(&b, 1);
		xdr_put_u32(&b, wire_get16(h + 6));
		xdr_put_u32(&e, RPC_AUTH_SYS);
		xdr_put_opaque(&e, body, b.len);
	}
	xdr_put_u32(&e, RPC_AUTH_NONE);
	xdr_put_u32(&e, 0);
	/* the arguments; FE ED i: handle i as XDR */
	for (size_t i = 0; i < alen; i++) {
		if (i + 2 < alen && args[i] == 0xfe && args[i + 1] == 0xed) {
			const struct nfs3_fh *f = &fhs[args[i + 2] % nfh];
			xdr_put_opaque(&e, f->data, f->len);
			i += 2;
			continue;
		}
		if (e.len < e.cap)	/* a byte as it is (xdr_put_fixed would pad it) */
			e.p[e.len++] = args[i];
	}
	if (e.err)
		abort();
	return e.len;
}

/* Handles in a reply (an XDR length 36 and a MAC that checks) join the table. */
static void learn_fhs(const uint8_t *p, size_t len)
{
	struct nfs_fh f;

	for (size_t o = 0; o + 4 + NFS_FH_LEN <= len && nfh < MAX_FH; o += 4) {
		if (wire_get32(p + o) != NFS_FH_LEN ||
		    nfs_fh_decode(p + o + 4, NFS_FH_LEN, srv->key, srv->keylen, &f, NULL, 0) < 0)
			continue;
		memcpy(fhs[nfh].data, p + o + 4, NFS_FH_LEN);
		fhs[nfh++].len = NFS_FH_LEN;
	}
}

/* A reply (payload p[0, len), no record mark): the call's xid, and
 * accepted (SUCCESS or an RPC-level error that is not SYSTEM_ERR) unless
 * the credential was refused (AUTH_NONE on an NFS procedure); over UDP,
 * NFS is PROG_UNAVAIL. */
static void check_payload(const uint8_t *h, const uint8_t *p, size_t len, int udp)
{
	uint32_t xid, stat;
	size_t off;

	if (rpc_reply_decode(p, len, &xid, &stat, &off) < 0) {
		if (udp || !(h[2] & 1) || h[0] % 5 != 0 || h[1] == NFS3_NULL)
			abort();	/* only a refused AUTH_NONE is MSG_DENIED */
		return;
	}
	if (xid != h[3] || stat == RPC_SYSTEM_ERR || off > len)
		abort();
	if (udp && h[0] % 5 == 0 && stat != RPC_PROG_UNAVAIL)
		abort();	/* NFS is TCP only */
	if (stat == RPC_SUCCESS)
		learn_fhs(p + off, len - off);
}

/* The reply in conn.out: record mark, then as check_payload. */
static void check_reply(const uint8_t *h)
{
	if (conn.out_len < 4 || conn.out_len > conn.out_cap ||
	    wire_get32(conn.out) != (0x80000000u | (uint32_t)(conn.out_len - 4)))
		abort();
	check_payload(h, conn.out + 4, conn.out_len - 4, 0);
	conn.out_len = conn.out_off = 0;
}

/* The call rec[0, len) as a datagram from the client's address: a reply
 * that fits one, to the call's xid. */
static void datagram(const uint8_t *h, const uint8_t *rec, size_t len)
{
	static uint8_t out[NFS_UDP_MAX];
	struct nfs_dgram dg = { .fd = -1, .peer = conn.peer, .peerlen = sizeof(struct sockaddr_in) };
	size_t rl = nfs_call_datagram(srv, &dg, 1, rec, len, out, sizeof(out));

	if (rl == 0 || rl > sizeof(out))
		abort();	/* a well-formed call is answered, here, now (no namespace) */
	check_payload(h, out, rl, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rec[1 << 17];
	struct snap before;
	size_t off = 1;

	if (!tmp[0])
		setup();
	if (size < 1)
		return 0;
	input_started = now_s();
	start(data[0]);
	snapshot(&before);
	for (int n = 0; n < MAX_CALLS && off + 10 <= size; n++) {
		const uint8_t *h = data + off;
		size_t alen = wire_get16(h + 8);
		off += 10;
		if (alen > size - off)
			alen = size - off;
		size_t len = build_call(h, data + off, alen, rec, sizeof(rec));
		off += alen;
		if (h[2] & 2)
			datagram(h, rec, len);
		else if (nfs_call_answer(&conn, rec, len) != 0)
			abort();	/* a well-formed call is answered, here, now */
		if (geteuid() == 0 && (setfsuid((uid_t)-1) != 0 || setfsgid((gid_t)-1) != 0))
			abort();	/* the caller's ids stayed on */
		if (!(h[2] & 2))
			check_reply(h);
		check_outside(&before);
	}
	stop();
	nfs_tree_restore(&tree);	/* under the watchdog too */
	input_started = 0;
	return 0;
}
