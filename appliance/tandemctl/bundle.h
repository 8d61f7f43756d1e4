/*
 * bundle.h - the appliance's upgrade bundle (.tup): what image/mkbundle.sh
 * writes and `tandemctl upgrade` checks before it writes anything.
 *
 * Layout (integers big-endian; doc/appliance.md):
 *   0       8  magic "TANDMUP1"
 *   8       4  M, manifest length, 2..BUNDLE_MANIFEST_MAX
 *   12      M  manifest, JSON:
 *              {"format": 1, "version": "0.9.1",
 *               "payloads": [ {"name": "rootfs", "size": N, "raw_size": R,
 *                              "sha256": "<64 hex>", "compression": "zstd"},
 *                             {"name": "kernel", ...}, {"name": "initrd", ...} ]}
 *   12+M    2  S, signature length (64)
 *   14+M    S  Ed25519 signature over bytes [0, 12+M): magic, length, manifest
 *   14+M+S     the payloads, in manifest order, each `size` bytes; nothing after
 *
 * The signature covers the manifest, the manifest covers each payload by
 * its sha256: a bundle whose bytes all check out was made by the holder of
 * the signing key.
 */
#ifndef TANDEMCTL_BUNDLE_H
#define TANDEMCTL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define BUNDLE_MAGIC "TANDMUP1"
#define BUNDLE_MANIFEST_MAX 65536
#define BUNDLE_SIG_LEN 64
#define BUNDLE_PREFIX_LEN 12		/* magic + manifest length */
#define BUNDLE_VERSION_MAX 32
#define BUNDLE_PAYLOADS 3

enum bundle_payload { BP_ROOTFS = 0, BP_KERNEL, BP_INITRD };

struct bundle_payload_info {
	uint64_t size;			/* bytes in the bundle */
	uint64_t raw_size;		/* bytes once decompressed (= size if stored) */
	uint8_t sha256[32];		/* of the bytes in the bundle */
	int zstd;			/* compressed with zstd */
};

struct bundle {
	char version[BUNDLE_VERSION_MAX + 1];	/* [0-9A-Za-z.+~-], starts with a digit */
	uint32_t manifest_len;
	uint64_t payload_off;		/* where the first payload starts */
	uint64_t total;			/* the bundle's exact size */
	struct bundle_payload_info p[BUNDLE_PAYLOADS];	/* by enum bundle_payload */
};

/*
 * The manifest length from the first BUNDLE_PREFIX_LEN bytes: 0 and
 * *mlen, or -1 with a message (not a bundle, a length out of range).  Pure.
 */
int bundle_prefix(const uint8_t *buf, size_t len, uint32_t *mlen, char *err, size_t errlen);

/*
 * Parse the head of a bundle: buf holds at least the prefix, the manifest,
 * the signature length and the signature (the caller read
 * BUNDLE_PREFIX_LEN + mlen + 2 + BUNDLE_SIG_LEN bytes).  Fills *b and
 * points *sig at the signature.  Every field is checked: known payload
 * names, each exactly once, sizes, hex digests, version syntax, no unknown
 * keys.  0, or -1 with a one-line message.  Pure: no I/O, no allocation
 * that outlives the call; fuzzed (tests/fuzz/fuzz_bundle.c).
 */
int bundle_parse(const uint8_t *buf, size_t len, struct bundle *b, const uint8_t **sig,
		 char *err, size_t errlen);

#endif
