/*
 * nfs_fh.h - Tandem's cluster-global NFSv3 file handle: 36 bytes, big-endian,
 * no bitfields, the same format on every storage node:
 *
 *   off len field
 *     0   1 version       NFS_FH_VERSION (1)
 *     1   1 node id       the node that issued it (its home node, later)
 *     2   2 flags         NFS_FH_F_VROOT (the virtual root of a namespace:
 *                         every node answers for it; inode and generation 0);
 *                         other bits must be 0
 *     4   4 export id     which export (config "nfs.export_id")
 *     8   8 inode         st_ino
 *    16   4 generation    FS_IOC_GETVERSION where the fs has it, else 0
 *    20  16 MAC           HMAC-SHA256(cluster key, bytes 0..19), truncated
 *
 * The MAC makes handles unforgeable by clients: a handle whose MAC does not
 * verify is NFS3ERR_BADHANDLE, never resolved.  Pure (the HMAC is
 * computation only).
 */
#ifndef TANDEM_NFS_FH_H
#define TANDEM_NFS_FH_H

#include <stddef.h>
#include <stdint.h>

#define NFS_FH_VERSION 1
#define NFS_FH_LEN 36
#define NFS_FH_BODY 20
#define NFS_FH_MAC 16
#define NFS_FH_F_VROOT 0x0001

struct nfs_fh {
	uint8_t node_id;
	uint16_t flags;
	uint32_t export_id;
	uint64_t ino;
	uint32_t gen;
};

/* Encode and sign into out[NFS_FH_LEN]. */
void nfs_fh_encode(const struct nfs_fh *fh, const uint8_t *key, size_t keylen,
		   uint8_t out[NFS_FH_LEN]);
/*
 * Verify and decode a handle of len bytes.  0, or -1 with a one-line reason
 * in err (may be NULL): wrong length, version, unknown flags, or MAC (compared in
 * constant time).
 */
int nfs_fh_decode(const uint8_t *p, size_t len, const uint8_t *key, size_t keylen,
		  struct nfs_fh *fh, char *err, size_t errlen);

#endif
