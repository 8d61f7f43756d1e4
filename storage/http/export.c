/*
 * export.c - request paths to files beneath an export directory.
 *
 * Every lookup goes through openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
 * relative to the export's O_PATH descriptor: the kernel refuses ".." above
 * the export, absolute symlinks and relative ones that climb out of it
 * (EXDEV), atomically, whatever renames happen meanwhile.  The request path
 * was already normalised (http_path_clean), so this is the second wall.
 *
 * Uploads are written to a temp file next to the target (SST_TMP_PREFIX*,
 * never served, never accepted as a PUT target), then renamed over it: a
 * reader sees the old file or the whole new one.
 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/bearer.h"
#include "lib/keyfile.h"
#include "lib/log.h"

static int openat2_beneath(int dirfd, const char *rel, uint64_t flags, uint64_t mode)
{
	struct open_how how = {
		.flags = flags,
		.mode = mode,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (!*rel)
		rel = ".";
	/* EAGAIN: a concurrent rename on the way; the kernel asks us to retry */
	for (int i = 0; i < 8; i++) {
		fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd;
}

static int status_of_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return 404;
	case EXDEV:
	case ELOOP:
	case EACCES:
	case EPERM:
		return 403;
	case ENAMETOOLONG:
		return 414;
	default:
		return 500;
	}
}

/* ex's bearer token from its write_token_file (lib/bearer.h: a file of
 * mode 0600 or stricter).  0 / -1 (logged). */
static int load_token(struct nasd_export *ex)
{
	char err[400];

	if (bearer_load(ex->token_file, ex->token, &ex->token_len, err, sizeof(err)) < 0) {
		log_warnx("export %s: write_token_file %s", ex->url, err);
		return -1;
	}
	return 0;
}

/* What the configuration makes of writes, said once at start (and by -t). */
static void warn_write_rule(const struct nasd_export *ex)
{
	if (ex->write_denied)
		log_warnx("export %s: \"writable\" without \"write_token_file\" (or \"write_auth\": "
			  "\"none\"): served read-only", ex->url);
	else if (ex->writable && ex->write_auth == NASD_WAUTH_NONE)
		log_warnx("export %s: writable WITHOUT authentication (\"write_auth\": \"none\"): "
			  "%s may create and replace files", ex->url,
			  ex->nclients ? "every client in \"clients\"" : "ANY client");
}

int export_open_all(struct nasd_config *cfg)
{
	for (unsigned i = 0; i < cfg->nexports; i++) {
		struct nasd_export *ex = &cfg->exports[i];
		warn_write_rule(ex);
		if (ex->token_file[0] && load_token(ex) < 0)
			return -1;
		ex->dirfd = open(ex->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (ex->dirfd < 0) {
			log_warn("export %s: %s", ex->url, ex->path);
			return -1;
		}
		int probe = openat2_beneath(ex->dirfd, ".", O_PATH | O_CLOEXEC, 0);
		if (probe < 0) {
			log_warn("export %s: openat2 (needs Linux >= 5.6)", ex->path);
			return -1;
		}
		close(probe);
		if (ex->writable && faccessat(ex->dirfd, ".", W_OK, AT_EACCESS) < 0)
			log_warn("export %s: %s is not writable", ex->url, ex->path);
	}
	return 0;
}

void export_close_all(struct nasd_config *cfg)
{
	for (unsigned i = 0; i < cfg->nexports; i++) {
		if (cfg->exports[i].dirfd >= 0)
			close(cfg->exports[i].dirfd);
		cfg->exports[i].dirfd = -1;
	}
}

int export_find(const struct nasd_config *cfg, const char *path, struct export_ref *ref)
{
	const struct nasd_export *best = NULL;
	size_t pl = strlen(path);

	for (unsigned i = 0; i < cfg->nexports; i++) {
		const struct nasd_export *ex = &cfg->exports[i];
		if (strncmp(path, ex->url, ex->url_len) == 0 ||
		    /* "/up" names the root of export "/up/" */
		    (pl + 1 == ex->url_len && strncmp(path, ex->url, pl) == 0)) {
			if (!best || ex->url_len > best->url_len)
				best = ex;
		}
	}
	if (!best)
		return -1;
	ref->ex = best;
	ref->rel = pl >= best->url_len ? path + best->url_len : "";
	return 0;
}

/* "a/n, b/m" or "any" into buf (cap bytes). */
static void fmt_clients(const struct nasd_cidr *l, unsigned n, char *buf, size_t cap)
{
	size_t o = 0;
	char c[TADDR_STRLEN + 8];

	snprintf(buf, cap, "any");
	for (unsigned i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "",
				      nasd_cidr_fmt(&l[i], c, sizeof(c)));
}

void export_describe(const struct nasd_config *cfg, FILE *f)
{
	char cl[NASD_HTTP_MAX_CLIENTS * (TADDR_STRLEN + 8)];

	for (unsigned i = 0; i < cfg->nexports; i++) {
		const struct nasd_export *ex = &cfg->exports[i];
		const char *mode = "read-only", *tf = "";
		if (ex->write_denied)
			mode = "READ-ONLY (\"writable\" without a token)";
		else if (ex->writable && ex->write_auth == NASD_WAUTH_NONE)
			mode = "read-write WITHOUT authentication";
		else if (ex->writable) {
			mode = "read-write, PUT needs the bearer token in ";
			tf = ex->token_file;
		}
		fmt_clients(ex->clients, ex->nclients, cl, sizeof(cl));
		fprintf(f, "  export %s -> %s: %s%s; clients %s%s\n", ex->url, ex->path, mode, tf, cl,
			ex->nfs_policy ? "; PUT only from clients the NFS client_groups let write" : "");
	}
	fprintf(f, "  uploads: at most %llu bytes each; disk reserved ahead of a body: %llu bytes "
		"per upload, %llu in all\n", (unsigned long long)cfg->max_upload,
		(unsigned long long)cfg->upload_reserve, (unsigned long long)cfg->upload_reserve_total);
	if (cfg->dl.enabled) {
		fmt_clients(cfg->dl.clients, cfg->dl.nclients, cl, sizeof(cl));
		fprintf(f, "  data location: %u home(s); other nodes' files for clients %s\n",
			cfg->dl.nhomes, cl);
	}
}

int export_client_ok(const struct nasd_export *ex, const struct sockaddr_storage *peer)
{
	return !ex->nclients || nasd_cidr_list_match(ex->clients, ex->nclients, peer);
}

/* a == b over n bytes in a time that does not depend on where they differ */
int export_write_auth(const struct nasd_export *ex, struct http_slice authz)
{
	if (ex->write_auth == NASD_WAUTH_NONE)
		return 0;
	return bearer_check(authz.p, authz.len, ex->token, ex->token_len);
}

static const char *base_name(const char *rel)
{
	const char *s = strrchr(rel, '/');

	return s ? s + 1 : rel;
}

static int is_tmp_name(const char *name)
{
	return strncmp(name, SST_TMP_PREFIX, strlen(SST_TMP_PREFIX)) == 0;
}

int export_open_file(const struct export_ref *ref, struct export_file *f)
{
	struct stat st;

	f->fd = -1;
	if (is_tmp_name(base_name(ref->rel)))
		return 404;
	int fd = openat2_beneath(ref->ex->dirfd, ref->rel,
				 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return status_of_errno(errno);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 500;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 403;	/* directory (no listings), device, fifo, socket */
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	return 0;
}

/* Split rel into its directory ("" = export root) and basename. */
static int split(const char *rel, char *dir, size_t dlen, const char **name)
{
	const char *s = strrchr(rel, '/');

	if (!s) {
		dir[0] = '\0';
		*name = rel;
		return 0;
	}
	if ((size_t)(s - rel) >= dlen)
		return -1;
	memcpy(dir, rel, (size_t)(s - rel));
	dir[s - rel] = '\0';
	*name = s + 1;
	return 0;
}

static int open_dir(const struct export_ref *ref, struct export_upload *u, const char **name)
{
	char dir[SST_MAX_PATH + 1];

	if (!ref->ex->writable)
		return 403;
	if (split(ref->rel, dir, sizeof(dir), name) < 0)
		return 414;
	if (!**name)
		return 409;	/* "PUT /dir/": a directory */
	if (strlen(*name) > SST_MAX_NAME - 32)
		return 414;
	if (is_tmp_name(*name))
		return 403;
	u->dirfd = openat2_beneath(ref->ex->dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (u->dirfd < 0) {
		int s = status_of_errno(errno);
		return s == 404 ? 409 : s;	/* no such directory: a conflict, not absence */
	}
	snprintf(u->name, sizeof(u->name), "%s", *name);
	return 0;
}

int export_upload_begin(const struct export_ref *ref, uint64_t id, struct export_upload *u)
{
	struct stat st;
	const char *name;
	uint64_t rnd = 0;
	int s;

	memset(u, 0, sizeof(*u));
	u->dirfd = u->fd = -1;
	if ((s = open_dir(ref, u, &name)) != 0)
		return s;
	if (fstatat(u->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			s = 409;
			goto fail;
		}
		u->existed = 1;
	} else if (errno != ENOENT) {
		s = status_of_errno(errno);
		goto fail;
	}
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd ^= (uint64_t)getpid() << 32 ^ (uint64_t)loop_now_ns();
	snprintf(u->tmp, sizeof(u->tmp), SST_TMP_PREFIX "%llx.%016llx", (unsigned long long)id,
		 (unsigned long long)rnd);
	u->fd = openat(u->dirfd, u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (u->fd < 0) {
		s = errno == ENOSPC || errno == EDQUOT ? 507 : status_of_errno(errno);
		goto fail;
	}
	return 0;
fail:
	close(u->dirfd);
	u->dirfd = -1;
	return s;
}

int export_upload_reserve(struct export_upload *u, uint64_t off, uint64_t len)
{
	/* KEEP_SIZE: the file's size stays the bytes received (restore checks it) */
	if (!len || fallocate(u->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	return errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? 507 : -1;
}

int export_upload_reopen(const struct export_ref *ref, const char *tmp, uint64_t received,
			 struct export_upload *u)
{
	struct stat st;
	const char *name;
	int s, e;

	memset(u, 0, sizeof(*u));
	u->dirfd = u->fd = -1;
	if ((s = open_dir(ref, u, &name)) != 0) {
		errno = s == 403 ? EACCES : ENOENT;
		return -1;
	}
	if (!is_tmp_name(tmp) || strchr(tmp, '/') || strlen(tmp) >= sizeof(u->tmp)) {
		e = EINVAL;
		goto fail;
	}
	snprintf(u->tmp, sizeof(u->tmp), "%s", tmp);
	u->fd = openat(u->dirfd, tmp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (u->fd < 0 || fstat(u->fd, &st) < 0) {
		e = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < received) {
		e = ESTALE;	/* not the bytes the session says it received */
		goto fail;
	}
	if (((uint64_t)st.st_size > received && ftruncate(u->fd, (off_t)received) < 0) ||
	    lseek(u->fd, (off_t)received, SEEK_SET) < 0) {
		e = errno;
		goto fail;
	}
	return 0;
fail:
	if (u->fd >= 0)
		close(u->fd);
	close(u->dirfd);
	u->fd = u->dirfd = -1;
	errno = e;
	return -1;
}

int export_upload_commit(struct export_upload *u, int do_fsync)
{
	int s = 0;

	if (do_fsync && fdatasync(u->fd) < 0)
		s = errno == ENOSPC || errno == EDQUOT ? 507 : 500;
	if (!s && renameat(u->dirfd, u->tmp, u->dirfd, u->name) < 0)
		s = errno == EISDIR ? 409 : errno == ENOSPC ? 507 : 500;
	if (s) {
		log_warn("upload %s", u->name);
		export_upload_abort(u, 1);
		return s;
	}
	close(u->fd);
	close(u->dirfd);
	u->fd = u->dirfd = -1;
	return 0;
}

void export_upload_abort(struct export_upload *u, int unlink_tmp)
{
	if (u->fd >= 0)
		close(u->fd);
	if (u->dirfd >= 0) {
		if (unlink_tmp && u->tmp[0])
			unlinkat(u->dirfd, u->tmp, 0);
		close(u->dirfd);
	}
	u->fd = u->dirfd = -1;
}

const char *export_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html" }, { "htm", "text/html" }, { "txt", "text/plain" },
		{ "css", "text/css" }, { "js", "text/javascript" }, { "json", "application/json" },
		{ "xml", "application/xml" }, { "png", "image/png" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "gif", "image/gif" }, { "svg", "image/svg+xml" },
		{ "pdf", "application/pdf" }, { "gz", "application/gzip" },
		{ "tar", "application/x-tar" }, { "iso", "application/octet-stream" },
	};
	const char *dot = strrchr(name, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}
