/*
 * nfs_tree.c - fuzz_nfs_proc's scratch export, built once and put back
 * after every input (nfs_tree.h says why not rebuilt).  What "the same
 * tree" means: the same names, each of the same type, permissions and
 * owner; files with one link and the same content, symlinks with the same
 * target; directories of the same size (one that grew stays grown on ext4,
 * and a directory of more than a block is indexed: its READDIR cookies are
 * hashes).  Not the same times or inode numbers (a rebuild would not keep
 * those either).  Directories are kept and repaired in place (removing
 * one is what costs) unless they grew; anything else that differs is made
 * anew.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nfs_tree.h"

/* Parents before their children: a pass repairs a directory before it
 * looks at what is in it. */
static const struct entry {
	const char *rel;	/* "" = the export's root */
	mode_t mode;		/* type and permissions asked for (the FIFO's under the umask) */
	uid_t uid;		/* a file's owner and group, when run as root */
	const char *text;	/* a file's content, a symlink's target (NULL: t->canary) */
} tree[NFS_TREE_N] = {
	{ "", S_IFDIR | 0755, 0, NULL },
	{ "f", S_IFREG | 0644, 0, "hello" },
	{ "d", S_IFDIR | 0755, 0, NULL },
	{ "d/sub", S_IFDIR | 0755, 0, NULL },
	{ "nosearch", S_IFDIR | 0744, 0, NULL },
	{ "nosearch/secret", S_IFREG | 0644, 0, "secret" },
	{ "fifo", S_IFIFO | 0666, 0, NULL },
	{ "esc", S_IFLNK | 0777, 0, "../outside" },
	{ "abs", S_IFLNK | 0777, 0, NULL },
	{ "ro", S_IFDIR | 0555, 0, NULL },
	{ "u1000", S_IFREG | 0600, 1000, "mine" },
	{ "pub", S_IFDIR | 01777, 0, NULL },
};

static int open_dir(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_D || type == FTW_DNR)
		chmod(p, 0700);
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

void nfs_tree_rm(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		unlink(path);
	/* not root: nftw cannot read a directory under a 0000 one until that
	 * one is chmod-ed, so each round opens one more level */
	for (int k = 0; k < 16 && lstat(path, &st) == 0; k++) {
		nftw(path, open_dir, 16, FTW_PHYS);
		nftw(path, rm_one, 16, FTW_PHYS | FTW_DEPTH);
	}
	if (lstat(path, &st) == 0)
		fprintf(stderr, "could not remove %s\n", path);
}

static void path_of(const struct nfs_tree *t, const char *rel, char *p, size_t cap)
{
	if ((size_t)snprintf(p, cap, "%s%s%s", t->exp, rel[0] ? "/" : "", rel) >= cap)
		abort();
}

/* Make entry i (its parent exists, it does not). */
static void make(const struct nfs_tree *t, unsigned i)
{
	const struct entry *e = &tree[i];
	mode_t perm = e->mode & 07777;
	char p[512];
	int fd;

	path_of(t, e->rel, p, sizeof(p));
	switch (e->mode & S_IFMT) {
	case S_IFREG:
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, perm);
		if (fd < 0 || write(fd, e->text, strlen(e->text)) != (ssize_t)strlen(e->text))
			abort();
		close(fd);
		if (chmod(p, perm) < 0 || (geteuid() == 0 && chown(p, e->uid, e->uid) < 0))
			abort();
		break;
	case S_IFDIR:
		if (mkdir(p, 0755) < 0 || chmod(p, perm) < 0)
			abort();
		break;
	case S_IFIFO:
		if (mkfifo(p, perm) < 0)
			abort();
		break;
	default:
		if (symlink(e->text ? e->text : t->canary, p) < 0)
			abort();
	}
}

void nfs_tree_build(struct nfs_tree *t)
{
	struct stat st;
	char p[512];

	nfs_tree_rm(t->exp);
	for (unsigned i = 0; i < NFS_TREE_N; i++) {
		make(t, i);
		path_of(t, tree[i].rel, p, sizeof(p));
		if (lstat(p, &st) < 0)
			abort();
		t->ref[i].mode = st.st_mode;
		t->ref[i].uid = st.st_uid;
		t->ref[i].gid = st.st_gid;
		t->ref[i].size = st.st_size;
	}
}

/* Non-directory entry i (at p, lstat st) is as built. */
static int same_leaf(const struct nfs_tree *t, unsigned i, const char *p, const struct stat *st)
{
	const char *want = tree[i].text ? tree[i].text : t->canary;
	char buf[256];
	ssize_t r;
	int fd;

	if (st->st_mode != t->ref[i].mode || st->st_uid != t->ref[i].uid ||
	    st->st_gid != t->ref[i].gid || st->st_nlink != 1)
		return 0;
	if (S_ISLNK(st->st_mode)) {
		r = readlink(p, buf, sizeof(buf));
		return r == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)r);
	}
	if (!S_ISREG(st->st_mode))
		return 1;	/* the FIFO: nothing more to compare */
	if (st->st_size != (off_t)strlen(want) || (fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	r = read(fd, buf, sizeof(buf));
	close(fd);
	return r == st->st_size && !memcmp(buf, want, (size_t)r);
}

/* The index of rel in the tree, if it is there with type `type` (S_IF*). */
static int known(const char *rel, mode_t type)
{
	for (unsigned i = 0; i < NFS_TREE_N; i++)
		if (!strcmp(tree[i].rel, rel))
			return (tree[i].mode & S_IFMT) == type ? (int)i : -1;
	return -1;
}

/* Entry de of directory i (open as fd) is one the tree has (name and type). */
static int expected(unsigned i, int fd, const struct dirent64 *de)
{
	char rel[512];
	struct stat st;
	mode_t type = DTTOIF(de->d_type);

	if (de->d_type == DT_UNKNOWN)
		type = fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode & S_IFMT : 0;
	snprintf(rel, sizeof(rel), "%s%s%s", tree[i].rel, tree[i].rel[0] ? "/" : "", de->d_name);
	return known(rel, type) >= 0;
}

/* Entries of directory i (at p) the tree does not have: how many; removed
 * if fix.  getdents64 into a stack buffer, not opendir: that is a 32 KiB
 * allocation, and this runs after every input. */
static unsigned extras(unsigned i, const char *p, int fix)
{
	char buf[4096] __attribute__((aligned(8))), q[768];
	unsigned n = 0;
	ssize_t got;
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && fix && chmod(p, 0700) == 0)	/* not root: a fuzzed chmod; put back after */
		fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (fix)
			abort();
		return 1;
	}
	while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < got;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + off);
			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || expected(i, fd, de))
				continue;
			n++;
			if (!fix)
				continue;
			chmod(p, 0700);	/* not root: a 0555 directory could not be emptied; put back after */
			snprintf(q, sizeof(q), "%s/%s", p, de->d_name);
			nfs_tree_rm(q);
		}
	}
	close(fd);
	return n;
}

/* Directory i (at p): what is in it that should not be, then its
 * permissions and owner (after: emptying it may have needed a chmod). */
static unsigned sync_dir(const struct nfs_tree *t, unsigned i, const char *p, int fix)
{
	unsigned n = extras(i, p, fix);
	struct stat st;

	if (lstat(p, &st) < 0)
		abort();
	if (st.st_uid != t->ref[i].uid || st.st_gid != t->ref[i].gid) {
		n++;
		if (fix && lchown(p, t->ref[i].uid, t->ref[i].gid) < 0)
			abort();
	}
	if ((st.st_mode & 07777) != (t->ref[i].mode & 07777)) {
		n++;
		if (fix && chmod(p, t->ref[i].mode & 07777) < 0)	/* after chown, which may clear bits */
			abort();
	}
	return n;
}

/* One pass: how many entries differ from the tree as built (and
 * everything put back if fix). */
static unsigned pass(const struct nfs_tree *t, int fix)
{
	struct stat st;
	unsigned n = 0;
	char p[512];

	for (unsigned i = 0; i < NFS_TREE_N; i++) {
		path_of(t, tree[i].rel, p, sizeof(p));
		int have = lstat(p, &st) == 0;
		if (have && S_ISDIR(st.st_mode) && S_ISDIR(t->ref[i].mode) &&
		    st.st_size == t->ref[i].size) {
			n += sync_dir(t, i, p, fix);
			continue;
		}
		if (have && same_leaf(t, i, p, &st))
			continue;
		n++;		/* missing, or another object: made anew */
		if (fix) {
			nfs_tree_rm(p);
			make(t, i);
		}
	}
	return n;
}

unsigned nfs_tree_restore(struct nfs_tree *t)
{
	unsigned n = pass(t, 1), again = n;

	/* until a pass finds nothing (entries removed while a directory is
	 * listed may hide others from that listing); a few passes at most */
	for (int k = 0; again && k < 3; k++)
		again = pass(t, 1);
	if (again) {
		fprintf(stderr, "fuzz_nfs_proc: the scratch export could not be put back\n");
		abort();
	}
	return n;
}
