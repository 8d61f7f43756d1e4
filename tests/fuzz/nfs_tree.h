/*
 * nfs_tree.h - fuzz_nfs_proc's scratch export: built once, then put back
 * after every input (only what the input changed), so that each input
 * starts from the same tree without paying for a rebuild.  A rebuild
 * costs milliseconds on a disk file system (an rmdir alone costs about
 * 1 ms on an ext4 mounted with discard), and the export stays on such a
 * file system rather than tmpfs because tmpfs has no inode generations
 * (FS_IOC_GETVERSION): nasd's generation checks in its handles would go
 * unexercised.  Failures abort (this is a harness).
 */
#ifndef TANDEM_FUZZ_NFS_TREE_H
#define TANDEM_FUZZ_NFS_TREE_H

#include <sys/types.h>

#define NFS_TREE_N 12	/* entries, the export's root included */

struct nfs_tree {
	char exp[128];		/* the export */
	char canary[160];	/* the absolute symlink's target (outside the export) */
	struct {		/* each entry as built: type and permissions, owner, size */
		mode_t mode;
		uid_t uid;
		gid_t gid;
		off_t size;
	} ref[NFS_TREE_N];
};

/* Build the tree at t->exp from nothing (removing what is there) and
 * record each entry as built.  t->exp and t->canary set by the caller. */
void nfs_tree_build(struct nfs_tree *t);

/* Compare the tree with the one built: names, types, permissions, owners,
 * link counts, file contents, symlink targets, directory sizes (not times,
 * which a rebuild would not keep either, nor inode numbers).  Put back what differs and
 * check again, until a pass finds nothing: returns how many differences
 * the first pass put back (0: the input left the tree as it was); aborts
 * if the fourth pass still finds one. */
unsigned nfs_tree_restore(struct nfs_tree *t);

/* rm -rf path (making directories writable first, as a non-root user could
 * not empty a 0555 one otherwise). */
void nfs_tree_rm(const char *path);

#endif
