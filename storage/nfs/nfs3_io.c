/*
 * nfs3_io.c - READ, WRITE and COMMIT (RFC 1813 3.3.6, 3.3.7, 3.3.21): the
 * file is opened beneath the export as the caller for each call, never
 * blocking, and the fd's own fstat decides (nfs3_open_file: only the
 * handle's regular file is read, written or synced); READ reads straight
 * into the reply, WRITE answers UNSTABLE unless asked for more (then
 * fdatasync, FILE_SYNC), COMMIT is an fdatasync (as the caller, who must
 * be able to write the file, as with nfsd).  The write
 * verifier is this process's start (nfs_server.c): a restart tells clients
 * to send their unstable writes again.
 */
#include "nfs3_int.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/wire.h"

void nfs3_proc_read(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	struct nfs3_post_attr pa;
	struct nfs3_obj o;
	uint32_t count = a->u.read.count, st = nfs3_resolve(s, &a->u.read.fh, &o);
	size_t start = e->len;
	int fd;

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	if (!S_ISREG(o.st.st_mode)) {
		nfs3_post_attr_of(s, &o.st, &pa);
		nfs3_enc_read_head(e, S_ISDIR(o.st.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL, &pa, 0, 0);
		goto out;
	}
	if (count > s->cfg->max_io)
		count = s->cfg->max_io;
	struct stat fst;
	if ((fd = nfs3_open_file(r, &o, O_RDONLY, &fst, &st)) < 0) {
		nfs3_post_attr_of(s, &o.st, &pa);
		nfs3_enc_read_head(e, st, &pa, 0, 0);
		goto out;
	}
	nfs3_post_attr_of(s, &fst, &pa);
	nfs3_enc_read_head(e, NFS3_OK, &pa, count, 0);
	size_t words = e->len;		/* ... count, eof, length | data */
	uint8_t *data = xdr_reserve(e, count);
	ssize_t n = 0;
	while (data && (uint32_t)n < count) {
		ssize_t k = pread(fd, data + n, count - (size_t)n, (off_t)(a->u.read.offset + (uint64_t)n));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			n = -1;
			break;
		}
		if (k == 0)
			break;
		n += k;
	}
	if (!data || n < 0) {
		st = data ? nfs3_errno_stat(errno) : NFS3ERR_IO;
		e->len = start;
		e->err = 0;
		nfs3_enc_read_head(e, st, &pa, 0, 0);
		close(fd);
		goto out;
	}
	xdr_shrink(e, count, (size_t)n);
	struct stat now;
	uint64_t size = fstat(fd, &now) == 0 ? (uint64_t)now.st_size : (uint64_t)fst.st_size;
	wire_put32(e->p + words - 12, (uint32_t)n);
	wire_put32(e->p + words - 8, a->u.read.offset + (uint64_t)n >= size ? 1 : 0);
	wire_put32(e->p + words - 4, (uint32_t)n);
	s->st.bytes_read += (uint64_t)n;
	close(fd);
out:
	nfs3_obj_close(&o);
}

void nfs3_proc_write(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct nfs3_wcc w;
	struct nfs3_obj o;
	uint32_t st = nfs3_resolve(s, &a->u.write.fh, &o), committed = NFS3_UNSTABLE;
	size_t done = 0;
	int fd = -1;

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_wcc_pre(&o.st, &w);
	if (!r->acc->writable) {
		st = NFS3ERR_ROFS;
		goto reply;
	}
	if (!S_ISREG(o.st.st_mode)) {
		st = S_ISDIR(o.st.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
		goto reply;
	}
	struct stat fst;
	if ((fd = nfs3_open_file(r, &o, O_WRONLY, &fst, &st)) < 0)
		goto reply;
	while (done < a->u.write.len) {
		ssize_t k = pwrite(fd, a->u.write.data + done, a->u.write.len - done,
				   (off_t)(a->u.write.offset + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			st = nfs3_errno_stat(k < 0 ? errno : ENOSPC);
			break;
		}
		done += (size_t)k;
	}
	if (st == NFS3_OK && a->u.write.stable != NFS3_UNSTABLE) {
		if (fdatasync(fd) < 0)
			st = nfs3_errno_stat(errno);
		committed = NFS3_FILE_SYNC;
	}
	s->st.bytes_written += done;
reply:
	nfs3_wcc_post(s, fd >= 0 ? fd : o.fd, &w);
	if (fd >= 0)
		close(fd);
	nfs3_enc_write(r->e, st, &w, (uint32_t)done, committed, s->wverf);
	nfs3_obj_close(&o);
}

void nfs3_proc_commit(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct nfs3_wcc w;
	struct nfs3_obj o;
	struct stat fst;
	uint32_t st = nfs3_resolve(s, &a->u.commit.fh, &o);
	int fd = -1;

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_wcc_pre(&o.st, &w);
	if (!S_ISREG(o.st.st_mode))
		st = S_ISDIR(o.st.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
	else if (!r->acc->writable)
		st = NFS3ERR_ROFS;	/* no WRITE could have left anything to commit */
	else if ((fd = nfs3_open_file(r, &o, O_WRONLY, &fst, &st)) >= 0 && fdatasync(fd) < 0)
		st = nfs3_errno_stat(errno);
	nfs3_wcc_post(s, fd >= 0 ? fd : o.fd, &w);
	if (fd >= 0)
		close(fd);
	nfs3_enc_commit(r->e, st, &w, s->wverf);
	nfs3_obj_close(&o);
}
