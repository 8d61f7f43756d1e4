/*
 * upgrade.c - install a release into the inactive root slot.
 *
 *   tandemctl upgrade [--esp DIR] [--slot-a DEV] [--slot-b DEV] [--current a|b]
 *                     [--key PEM] [--release VERSION] [--tries N] [--reboot] FILE
 *   tandemctl upgrade --print-entry SLOT VERSION
 *
 * The contract: nothing is written before the whole bundle checks out
 * (signature by the key in the image, every payload's sha256, sizes, a
 * newer version than the running one, room in the slot and on the ESP).
 * The running slot and its boot entry are never touched.  The inactive
 * slot's boot entry is removed before its partition is written and a new
 * one (with a try counter: systemd-boot's boot counting) is written last,
 * so a failure at any point leaves the inactive slot without an entry and
 * the machine boots what it runs now.  The new entry sorts first (newer
 * version), so the next boot tries it; tandem-ready blesses it once the
 * appliance is ready, or reboots into the old slot (image/overlay).
 */
#include "upgrade.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#include "bundle.h"
#include "lib/err.h"
#include "lib/netio.h"

#define DEF_ESP "/boot/efi"
#define DEF_SLOT "/dev/disk/by-partlabel/tandem-%c"
#define DEF_KEY "/usr/lib/tandem/upgrade-key.pem"
#define DEF_RELEASE "/usr/lib/tandem/release"
#define IOBUF (1u << 20)

struct up {
	const char *file, *esp, *key;
	char slot_dev[2][PATH_MAX];
	char current;			/* 'a' or 'b' */
	char release[BUNDLE_VERSION_MAX + 1];	/* running version */
	unsigned tries;
	int reboot;
	int fd;				/* the bundle */
	struct bundle b;
	uint8_t *buf;			/* IOBUF bytes of I/O buffer */
	char err[512];
};

static char other(char slot)
{
	return slot == 'a' ? 'b' : 'a';
}

/* ---- checking the bundle (reads only) ---- */

static int read_at(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int verify_signature(struct up *u, const uint8_t *head, size_t len, const uint8_t *sig)
{
	FILE *f = fopen(u->key, "r");
	EVP_PKEY *pk = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = 0;

	if (f)
		fclose(f);
	if (!pk) {
		EVP_MD_CTX_free(m);
		return err_set(u->err, sizeof(u->err), "signing key %s: not a readable public key",
			       u->key);
	}
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519 && m &&
	    EVP_DigestVerifyInit(m, NULL, NULL, NULL, pk) == 1)
		ok = EVP_DigestVerify(m, sig, BUNDLE_SIG_LEN, head, len) == 1;
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pk);
	if (!ok)
		return err_set(u->err, sizeof(u->err),
			       "bad signature: not signed by the key this appliance trusts (%s)",
			       u->key);
	return 0;
}

/* Read the head, check its signature and that the file is exactly as long
 * as the manifest says. */
static int check_head(struct up *u)
{
	uint8_t pre[BUNDLE_PREFIX_LEN];
	const uint8_t *sig;
	uint32_t mlen;
	struct stat st;
	uint8_t *head;
	size_t hlen;

	if (read_at(u->fd, pre, sizeof(pre), 0) < 0)
		return err_set(u->err, sizeof(u->err), "too short for a bundle header");
	if (bundle_prefix(pre, sizeof(pre), &mlen, u->err, sizeof(u->err)) < 0)
		return -1;
	hlen = BUNDLE_PREFIX_LEN + (size_t)mlen + 2 + BUNDLE_SIG_LEN;
	head = malloc(hlen);
	if (!head)
		return err_set(u->err, sizeof(u->err), "out of memory");
	int rc = -1;
	if (read_at(u->fd, head, hlen, 0) < 0)
		err_set(u->err, sizeof(u->err), "truncated inside its header");
	else if (bundle_parse(head, hlen, &u->b, &sig, u->err, sizeof(u->err)) == 0 &&
		 verify_signature(u, head, BUNDLE_PREFIX_LEN + mlen, sig) == 0)
		rc = 0;
	free(head);
	if (rc < 0)
		return -1;
	if (fstat(u->fd, &st) < 0)
		return err_errno(u->err, sizeof(u->err), "%s", u->file);
	if ((uint64_t)st.st_size != u->b.total)
		return err_set(u->err, sizeof(u->err), "%s is %lld bytes, its manifest says %llu: %s",
			       u->file, (long long)st.st_size, (unsigned long long)u->b.total,
			       (uint64_t)st.st_size < u->b.total ? "truncated" : "trailing bytes");
	return 0;
}

static uint64_t payload_off(const struct bundle *b, int i)
{
	uint64_t off = b->payload_off;

	for (int k = 0; k < i; k++)
		off += b->p[k].size;
	return off;
}

/* Every payload's sha256, as the signed manifest gives it. */
static int check_payloads(struct up *u)
{
	static const char *const names[BUNDLE_PAYLOADS] = { "rootfs", "kernel", "initrd" };

	for (int i = 0; i < BUNDLE_PAYLOADS; i++) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		uint8_t md[32];
		uint64_t off = payload_off(&u->b, i), left = u->b.p[i].size;
		int bad = !m || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1;

		while (!bad && left) {
			size_t n = left < IOBUF ? (size_t)left : IOBUF;
			bad = read_at(u->fd, u->buf, n, off) < 0 ||
			      EVP_DigestUpdate(m, u->buf, n) != 1;
			off += n;
			left -= n;
		}
		bad = bad || EVP_DigestFinal_ex(m, md, NULL) != 1;
		EVP_MD_CTX_free(m);
		if (bad || memcmp(md, u->b.p[i].sha256, 32))
			return err_set(u->err, sizeof(u->err),
				       "payload %s: sha256 does not match the signed manifest "
				       "(corrupt bundle)", names[i]);
	}
	return 0;
}

/* ---- where it goes ---- */

static int64_t target_size(const char *path)
{
	struct stat st;
	uint64_t sz;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (S_ISBLK(st.st_mode) ? ioctl(fd, BLKGETSIZE64, &sz) < 0
						: (sz = (uint64_t)st.st_size, 0))) {
		close(fd);
		return -1;
	}
	close(fd);
	return (int64_t)sz;
}

/* Room checks, before anything is written. */
static int check_room(struct up *u)
{
	char t = other(u->current);
	const char *dev = u->slot_dev[t - 'a'];
	int64_t have = target_size(dev);
	struct statvfs vfs;

	if (have < 0)
		return err_errno(u->err, sizeof(u->err), "slot %c (%s)", t, dev);
	if ((uint64_t)have < u->b.p[BP_ROOTFS].raw_size)
		return err_set(u->err, sizeof(u->err),
			       "the root file system (%llu bytes) does not fit slot %c (%lld bytes)",
			       (unsigned long long)u->b.p[BP_ROOTFS].raw_size, t, (long long)have);
	if (statvfs(u->esp, &vfs) < 0)
		return err_errno(u->err, sizeof(u->err), "ESP %s", u->esp);
	uint64_t need = u->b.p[BP_KERNEL].size + u->b.p[BP_INITRD].size + (256u << 10);
	uint64_t old = 0;
	char path[PATH_MAX];
	struct stat st;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%c/%s", u->esp, t, i ? "initrd.img" : "vmlinuz");
		if (stat(path, &st) == 0)
			old += (uint64_t)st.st_size;	/* replaced, so its room counts */
	}
	if ((uint64_t)vfs.f_bavail * vfs.f_frsize + old < need)
		return err_set(u->err, sizeof(u->err),
			       "not enough space on the ESP %s for the kernel and initrd "
			       "(%llu bytes needed)", u->esp, (unsigned long long)need);
	return 0;
}

/* ---- writing ---- */

/* Remove every boot entry of slot t (tandem-*-t.conf, with or without a
 * try counter). */
static int drop_entries(struct up *u, char t)
{
	char dir[PATH_MAX], suffix[8], path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/loader/entries", u->esp);
	d = opendir(dir);
	if (!d)
		return err_errno(u->err, sizeof(u->err), "%s", dir);
	snprintf(suffix, sizeof(suffix), "-%c", t);
	while ((e = readdir(d))) {
		const char *dot = strstr(e->d_name, ".conf"), *plus = strchr(e->d_name, '+');
		size_t n = (plus && plus < dot ? plus : dot) - e->d_name;
		if (!dot || strncmp(e->d_name, "tandem-", 7) || n < 3 ||
		    strncmp(e->d_name + n - 2, suffix, 2))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) < 0) {
			closedir(d);
			return err_errno(u->err, sizeof(u->err), "%s", path);
		}
	}
	closedir(d);
	return 0;
}

/*
 * Where the root file system goes: a block device (the slot's partition) or,
 * for tests, a regular file.  Runs of zeros are not written but zeroed by
 * the device (BLKZEROOUT) or punched out of the file: most of a slot image
 * is free space, and writing it byte by byte took minutes.
 */
struct sink {
	int fd, blk;
	uint64_t off;			/* where the next byte goes */
	uint64_t zero_from, zero_len;	/* a pending run of zeros */
};

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int flush_zeros(struct sink *k, uint8_t *zeros, size_t zcap)
{
	uint64_t r[2] = { k->zero_from, k->zero_len };

	if (!k->zero_len)
		return 0;
	k->zero_len = 0;
	if (k->blk ? ioctl(k->fd, BLKZEROOUT, r) == 0
		   : fallocate(k->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r[0],
				(off_t)r[1]) == 0)
		return 0;
	for (uint64_t done = 0; done < r[1];) {	/* neither works here: write them */
		size_t n = r[1] - done < zcap ? (size_t)(r[1] - done) : zcap;
		if (pwrite(k->fd, zeros, n, (off_t)(r[0] + done)) != (ssize_t)n)
			return -1;
		done += n;
	}
	return 0;
}

/* Put n bytes of the image at the sink's offset. */
static int sink_put(struct sink *k, const uint8_t *p, size_t n, uint8_t *zeros, size_t zcap)
{
	if (all_zero(p, n)) {
		if (!k->zero_len)
			k->zero_from = k->off;
		k->zero_len += n;
	} else if (flush_zeros(k, zeros, zcap) < 0 || pwrite(k->fd, p, n, (off_t)k->off) != (ssize_t)n) {
		return -1;
	}
	k->off += n;
	return 0;
}

/* Write the root file system (zstd-decompressed as it streams) into the slot. */
static int write_rootfs(struct up *u, const char *dev)
{
	const struct bundle_payload_info *p = &u->b.p[BP_ROOTFS];
	size_t ocap = ZSTD_DStreamOutSize();
	ZSTD_DStream *z = ZSTD_createDStream();
	uint8_t *out = malloc(ocap), *zeros = calloc(1, ocap);
	uint64_t off = payload_off(&u->b, BP_ROOTFS), left = p->size;
	struct sink k = { .fd = open(dev, O_WRONLY | O_CLOEXEC) };
	struct stat st;
	int rc = -1;
	size_t zr = 1;

	if (!z || !out || !zeros || k.fd < 0 || fstat(k.fd, &st) < 0) {
		err_errno(u->err, sizeof(u->err), "slot %s", dev);
		goto out;
	}
	k.blk = S_ISBLK(st.st_mode);
	ZSTD_initDStream(z);
	while (left) {
		size_t n = left < IOBUF ? (size_t)left : IOBUF;
		if (read_at(u->fd, u->buf, n, off) < 0) {
			err_errno(u->err, sizeof(u->err), "reading %s", u->file);
			goto out;
		}
		ZSTD_inBuffer in = { u->buf, n, 0 };
		while (in.pos < in.size) {
			ZSTD_outBuffer ob = { out, ocap, 0 };
			zr = ZSTD_decompressStream(z, &ob, &in);
			if (ZSTD_isError(zr)) {
				err_set(u->err, sizeof(u->err), "rootfs: %s", ZSTD_getErrorName(zr));
				goto out;
			}
			if (k.off + ob.pos > p->raw_size) {
				err_set(u->err, sizeof(u->err), "rootfs: more than its raw_size");
				goto out;
			}
			if (sink_put(&k, out, ob.pos, zeros, ocap) < 0) {
				err_errno(u->err, sizeof(u->err), "writing slot %s", dev);
				goto out;
			}
		}
		off += n;
		left -= n;
	}
	if (zr != 0 || k.off != p->raw_size)
		err_set(u->err, sizeof(u->err), "rootfs: %llu of %llu bytes (incomplete frame)",
			(unsigned long long)k.off, (unsigned long long)p->raw_size);
	else if (flush_zeros(&k, zeros, ocap) < 0 || fsync(k.fd) < 0)
		err_errno(u->err, sizeof(u->err), "writing slot %s", dev);
	else
		rc = 0;
out:
	if (k.fd >= 0)
		close(k.fd);
	free(out);
	free(zeros);
	ZSTD_freeDStream(z);
	return rc;
}

/* Write bytes [off, off+len) of the bundle (or buf when given) to path via
 * a temporary file and rename; the temporary file goes on failure. */
static int put_file(struct up *u, const char *path, uint64_t off, uint64_t len, const char *buf)
{
	char tmp[PATH_MAX + 8];
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_errno(u->err, sizeof(u->err), "%s", tmp);
	if (buf) {
		if (write_all(fd, buf, len, NULL) < 0)
			goto fail;
	} else {
		while (len) {
			size_t n = len < IOBUF ? (size_t)len : IOBUF;
			if (read_at(u->fd, u->buf, n, off) < 0 || write_all(fd, u->buf, n, NULL) < 0)
				goto fail;
			off += n;
			len -= n;
		}
	}
	if (fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0)
			return 0;
	}
fail:
	err_errno(u->err, sizeof(u->err), "%s", tmp);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* The loader entry of slot for version (also what image/build.sh writes). */
static void format_entry(char *out, size_t cap, char slot, const char *version)
{
	snprintf(out, cap,
		 "title   Tandem %s (slot %c)\n"
		 "version %s\n"
		 "linux   /%c/vmlinuz\n"
		 "initrd  /%c/initrd.img\n"
		 "options root=PARTLABEL=tandem-%c rw rootwait console=tty0 console=ttyS0,115200 "
		 "net.ifnames=0 tandem.slot=%c quiet\n",
		 version, slot, version, slot, slot, slot, slot);
}

static int install(struct up *u)
{
	char t = other(u->current), path[PATH_MAX], entry[512];
	const char *dev = u->slot_dev[t - 'a'];

	if (drop_entries(u, t) < 0 || write_rootfs(u, dev) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%c", u->esp, t);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_errno(u->err, sizeof(u->err), "%s", path);
	snprintf(path, sizeof(path), "%s/%c/vmlinuz", u->esp, t);
	if (put_file(u, path, payload_off(&u->b, BP_KERNEL), u->b.p[BP_KERNEL].size, NULL) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%c/initrd.img", u->esp, t);
	if (put_file(u, path, payload_off(&u->b, BP_INITRD), u->b.p[BP_INITRD].size, NULL) < 0)
		return -1;
	format_entry(entry, sizeof(entry), t, u->b.version);
	snprintf(path, sizeof(path), "%s/loader/entries/tandem-%s-%c+%u.conf", u->esp,
		 u->b.version, t, u->tries);
	return put_file(u, path, 0, strlen(entry), entry);
}

/* ---- the command ---- */

static int current_slot(char *slot)
{
	char line[4096];
	FILE *f = fopen("/proc/cmdline", "r");
	char *p;

	if (!f)
		return -1;
	p = fgets(line, sizeof(line), f) ? strstr(line, "tandem.slot=") : NULL;
	fclose(f);
	if (!p || (p[12] != 'a' && p[12] != 'b'))
		return -1;
	*slot = p[12];
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: tandemctl upgrade [--esp DIR] [--slot-a DEV] [--slot-b DEV] [--current a|b]\n"
		"                         [--key PEM] [--release VERSION] [--tries N] [--reboot] FILE\n"
		"       tandemctl upgrade --print-entry SLOT VERSION\n");
	return 2;
}

static int parse(struct up *u, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "esp", required_argument, NULL, 'e' }, { "slot-a", required_argument, NULL, 'A' },
		{ "slot-b", required_argument, NULL, 'B' }, { "current", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' }, { "release", required_argument, NULL, 'r' },
		{ "tries", required_argument, NULL, 't' }, { "reboot", no_argument, NULL, 'R' },
		{ "print-entry", no_argument, NULL, 'P' }, { NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'e': u->esp = optarg; break;
		case 'A': snprintf(u->slot_dev[0], PATH_MAX, "%s", optarg); break;
		case 'B': snprintf(u->slot_dev[1], PATH_MAX, "%s", optarg); break;
		case 'c':
			if (strcmp(optarg, "a") && strcmp(optarg, "b"))
				return usage();
			u->current = optarg[0];
			break;
		case 'k': u->key = optarg; break;
		case 'r': snprintf(u->release, sizeof(u->release), "%s", optarg); break;
		case 't':
			u->tries = (unsigned)atoi(optarg);
			if (u->tries < 1 || u->tries > 9)
				return usage();
			break;
		case 'R': u->reboot = 1; break;
		case 'P':
			if (argc - optind != 2 || (strcmp(argv[optind], "a") && strcmp(argv[optind], "b")))
				return usage();
			char e[512];
			format_entry(e, sizeof(e), argv[optind][0], argv[optind + 1]);
			fputs(e, stdout);
			return 0;
		default: return usage();
		}
	}
	if (argc - optind != 1)
		return usage();
	u->file = argv[optind];
	return -1;
}

static int defaults(struct up *u)
{
	for (int i = 0; i < 2; i++)
		if (!u->slot_dev[i][0])
			snprintf(u->slot_dev[i], PATH_MAX, DEF_SLOT, 'a' + i);
	if (!u->current && current_slot(&u->current) < 0) {
		fprintf(stderr, "tandemctl upgrade: cannot tell the running slot (no tandem.slot= on "
			"the kernel command line: not booted from the appliance image?); give --current\n");
		return 1;
	}
	if (!u->release[0]) {
		FILE *f = fopen(DEF_RELEASE, "r");
		if (!f || !fgets(u->release, sizeof(u->release), f)) {
			if (f)
				fclose(f);
			fprintf(stderr, "tandemctl upgrade: %s: cannot read the running version; "
				"give --release\n", DEF_RELEASE);
			return 1;
		}
		fclose(f);
		u->release[strcspn(u->release, "\n")] = '\0';
	}
	return 0;
}

int upgrade_main(int argc, char **argv)
{
	struct up u = { .esp = DEF_ESP, .key = DEF_KEY, .tries = 1, .fd = -1 };
	int rc = parse(&u, argc, argv);

	if (rc >= 0 || (rc = defaults(&u)) != 0)
		return rc;
	u.buf = malloc(IOBUF);
	u.fd = open(u.file, O_RDONLY | O_CLOEXEC);
	if (!u.buf || u.fd < 0) {
		fprintf(stderr, "tandemctl upgrade: %s: %s\n", u.file, strerror(errno));
		free(u.buf);
		return 1;
	}
	rc = 1;
	if (check_head(&u) < 0 || check_payloads(&u) < 0) {
		fprintf(stderr, "tandemctl upgrade: REFUSED %s: %s; nothing was written\n", u.file, u.err);
	} else if (strverscmp(u.b.version, u.release) <= 0) {
		fprintf(stderr, "tandemctl upgrade: REFUSED %s: version %s is not newer than the "
			"running %s; nothing was written\n", u.file, u.b.version, u.release);
	} else if (check_room(&u) < 0) {
		fprintf(stderr, "tandemctl upgrade: REFUSED %s: %s; nothing was written\n", u.file, u.err);
	} else if (install(&u) < 0) {
		fprintf(stderr, "tandemctl upgrade: FAILED writing slot %c: %s.  The running slot %c "
			"and its boot entry are untouched; slot %c has no boot entry now\n",
			other(u.current), u.err, u.current, other(u.current));
	} else {
		printf("upgrade: version %s written to slot %c; the next boot tries it once: if it is "
		       "not ready in time the boot after returns to slot %c (%s)\n", u.b.version,
		       other(u.current), u.current, u.release);
		rc = 0;
	}
	close(u.fd);
	free(u.buf);
	if (rc == 0 && u.reboot) {
		sync();
		execl("/bin/systemctl", "systemctl", "reboot", (char *)NULL);
		fprintf(stderr, "tandemctl upgrade: systemctl reboot: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}
