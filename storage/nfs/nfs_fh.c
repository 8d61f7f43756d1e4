/*
 * nfs_fh.c - the cluster-global file handle (nfs_fh.h).
 */
#include "nfs_fh.h"

#include <stdio.h>
#include <string.h>

#include "lib/wire.h"

static void body(const struct nfs_fh *fh, uint8_t *p)
{
	p[0] = NFS_FH_VERSION;
	p[1] = fh->node_id;
	wire_put16(p + 2, fh->flags);
	wire_put32(p + 4, fh->export_id);
	wire_put64(p + 8, fh->ino);
	wire_put32(p + 16, fh->gen);
}

void nfs_fh_encode(const struct nfs_fh *fh, const uint8_t *key, size_t keylen,
		   uint8_t out[NFS_FH_LEN])
{
	uint8_t mac[32];

	body(fh, out);
	wire_hmac(key, keylen, out, NFS_FH_BODY, mac);
	memcpy(out + NFS_FH_BODY, mac, NFS_FH_MAC);
}

int nfs_fh_decode(const uint8_t *p, size_t len, const uint8_t *key, size_t keylen,
		  struct nfs_fh *fh, char *err, size_t errlen)
{
	uint8_t mac[32], diff = 0;

	if (len != NFS_FH_LEN) {
		if (err)
			snprintf(err, errlen, "fh: %zu bytes, want %d", len, NFS_FH_LEN);
		return -1;
	}
	if (p[0] != NFS_FH_VERSION || (wire_get16(p + 2) & ~NFS_FH_F_VROOT)) {
		if (err)
			snprintf(err, errlen, "fh: version %u flags %#x", p[0], wire_get16(p + 2));
		return -1;
	}
	wire_hmac(key, keylen, p, NFS_FH_BODY, mac);
	for (int i = 0; i < NFS_FH_MAC; i++)
		diff |= (uint8_t)(mac[i] ^ p[NFS_FH_BODY + i]);
	if (diff) {
		if (err)
			snprintf(err, errlen, "fh: bad MAC");
		return -1;
	}
	fh->node_id = p[1];
	fh->flags = wire_get16(p + 2);
	fh->export_id = wire_get32(p + 4);
	fh->ino = wire_get64(p + 8);
	fh->gen = wire_get32(p + 16);
	return 0;
}
