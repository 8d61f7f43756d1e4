#include "bundle.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/jsonconf.h"

static const char *const payload_names[BUNDLE_PAYLOADS] = {
	[BP_ROOTFS] = "rootfs", [BP_KERNEL] = "kernel", [BP_INITRD] = "initrd",
};

/* The largest payload we accept: a root slot is 1.5 GiB today; 64 GiB
 * leaves room and keeps every sum far from overflowing. */
#define PAYLOAD_MAX (64ull << 30)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int bundle_prefix(const uint8_t *buf, size_t len, uint32_t *mlen, char *err, size_t errlen)
{
	if (len < BUNDLE_PREFIX_LEN || memcmp(buf, BUNDLE_MAGIC, 8))
		return err_set(err, errlen, "not a Tandem upgrade bundle (no %s header)", BUNDLE_MAGIC);
	*mlen = be32(buf + 8);
	if (*mlen < 2 || *mlen > BUNDLE_MANIFEST_MAX)
		return err_set(err, errlen, "manifest length %u out of range (2..%u)", *mlen,
			       BUNDLE_MANIFEST_MAX);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int version_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > BUNDLE_VERSION_MAX || v[0] < '0' || v[0] > '9')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~-", v[i]))
			return 0;
	return 1;
}

/* One payload object of the manifest into b->p[], by name (once each). */
static int parse_payload(struct jconf *p, json_t *o, struct bundle *b, unsigned *seen)
{
	static const char *const keys[] = { "name", "size", "raw_size", "sha256", "compression", NULL };
	char name[16], hex[65], comp[8];
	uint64_t size, raw;
	int i;

	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_str(p, o, "name", name, sizeof(name), NULL) < 0 ||
	    jconf_get_u64(p, o, "size", &size, 0, 1, PAYLOAD_MAX) < 0 ||
	    jconf_get_u64(p, o, "raw_size", &raw, size, 1, PAYLOAD_MAX) < 0 ||
	    jconf_get_str(p, o, "sha256", hex, sizeof(hex), NULL) < 0 ||
	    jconf_get_str(p, o, "compression", comp, sizeof(comp), "none") < 0)
		return -1;
	for (i = 0; i < BUNDLE_PAYLOADS && strcmp(name, payload_names[i]); i++)
		;
	if (i == BUNDLE_PAYLOADS)
		return jconf_perr(p, "unknown payload \"%s\" (rootfs, kernel, initrd)", name);
	if (*seen & (1u << i))
		return jconf_perr(p, "payload \"%s\" given twice", name);
	*seen |= 1u << i;
	if (strlen(hex) != 64)
		return jconf_perr(p, "\"sha256\" must be 64 lowercase hex digits");
	for (int k = 0; k < 32; k++) {
		int hi = hexval(hex[2 * k]), lo = hexval(hex[2 * k + 1]);
		if (hi < 0 || lo < 0)
			return jconf_perr(p, "\"sha256\" must be 64 lowercase hex digits");
		b->p[i].sha256[k] = (uint8_t)(hi << 4 | lo);
	}
	if (!strcmp(comp, "zstd"))
		b->p[i].zstd = 1;
	else if (strcmp(comp, "none"))
		return jconf_perr(p, "\"compression\" must be \"zstd\" or \"none\"");
	if (!b->p[i].zstd && raw != size)
		return jconf_perr(p, "an uncompressed payload's raw_size must equal its size");
	b->p[i].size = size;
	b->p[i].raw_size = raw;
	return 0;
}

static int parse_manifest(const char *text, size_t len, struct bundle *b, char *err,
			  size_t errlen)
{
	static const char *const keys[] = { "format", "version", "payloads", NULL };
	struct jconf p = { .err = err, .errlen = errlen };
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *arr;
	uint32_t format;
	unsigned seen = 0;
	int rc = -1;

	if (!root)
		return err_set(err, errlen, "manifest: bad JSON at %d:%d: %s", je.line, je.column,
			       je.text);
	snprintf(p.where, sizeof(p.where), "manifest");
	if (!json_is_object(root)) {
		jconf_perr(&p, "must be an object");
		goto out;
	}
	if (!json_object_get(root, "format")) {
		jconf_perr(&p, "\"format\" is required");
		goto out;
	}
	if (jconf_check_keys(&p, root, keys) < 0 ||
	    jconf_get_uint(&p, root, "format", &format, 1, 1, 1) < 0 ||
	    jconf_get_str(&p, root, "version", b->version, sizeof(b->version), NULL) < 0)
		goto out;
	if (!version_ok(b->version)) {
		jconf_perr(&p, "\"version\" must start with a digit and hold only [0-9A-Za-z.+~-]");
		goto out;
	}
	arr = json_object_get(root, "payloads");
	if (!json_is_array(arr) || json_array_size(arr) != BUNDLE_PAYLOADS) {
		jconf_perr(&p, "\"payloads\" must be an array of %d (rootfs, kernel, initrd)",
			   BUNDLE_PAYLOADS);
		goto out;
	}
	for (size_t i = 0; i < BUNDLE_PAYLOADS; i++) {
		snprintf(p.where, sizeof(p.where), "manifest: payloads[%zu]", i);
		if (parse_payload(&p, json_array_get(arr, i), b, &seen) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int bundle_parse(const uint8_t *buf, size_t len, struct bundle *b, const uint8_t **sig,
		 char *err, size_t errlen)
{
	uint32_t mlen;
	size_t need;

	memset(b, 0, sizeof(*b));
	if (bundle_prefix(buf, len, &mlen, err, errlen) < 0)
		return -1;
	need = BUNDLE_PREFIX_LEN + (size_t)mlen + 2;
	if (len < need)
		return err_set(err, errlen, "truncated inside the manifest");
	if (memchr(buf + BUNDLE_PREFIX_LEN, '\0', mlen))
		return err_set(err, errlen, "manifest holds a NUL byte");
	uint16_t slen = (uint16_t)(buf[need - 2] << 8 | buf[need - 1]);
	if (slen != BUNDLE_SIG_LEN)
		return err_set(err, errlen, "signature length %u (want %d: Ed25519)", slen,
			       BUNDLE_SIG_LEN);
	if (len < need + slen)
		return err_set(err, errlen, "truncated inside the signature");
	if (parse_manifest((const char *)buf + BUNDLE_PREFIX_LEN, mlen, b, err, errlen) < 0)
		return -1;
	b->manifest_len = mlen;
	b->payload_off = need + slen;
	b->total = b->payload_off;
	for (int i = 0; i < BUNDLE_PAYLOADS; i++)
		b->total += b->p[i].size;
	*sig = buf + need;
	return 0;
}
