/*
 * nfs_dirlink.c - whether this node's directory replica is connected to a
 * provider (doc/directory.md "Stale"): a replica that lost the switches
 * still answers NSS from its copy, so reading the policy succeeds, but the
 * copy is no longer kept current.  syncrepl keeps one TCP connection to
 * each provider (refreshAndPersist; its keepalive ends one whose peer is
 * unreachable), so "an established TCP connection to a provider's address
 * and port" in the kernel's table of this network namespace is the
 * replica's link.  Read in the policy's resolver thread; the parser is
 * pure and fuzzed (tests/fuzz/fuzz_nfs_policy.c).
 */
#include "nfs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One /proc/net/tcp[6] address "HEX:PORT" (the address as the kernel
 * prints it: 32-bit words in host order) into a, port. */
static int proc_addr(const char *s, size_t len, struct taddr *a, uint16_t *port)
{
	unsigned w[4], p;
	char tmp[48];

	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(a, 0, sizeof(*a));
	if (len == 8 + 1 + 4 && sscanf(tmp, "%8x:%4x", &w[0], &p) == 2) {
		a->family = 4;
		memcpy(a->a, &w[0], 4);
	} else if (len == 32 + 1 + 4 &&
		   sscanf(tmp, "%8x%8x%8x%8x:%4x", &w[0], &w[1], &w[2], &w[3], &p) == 5) {
		a->family = 6;
		memcpy(a->a, w, 16);
		/* an IPv4-mapped peer of a v6 socket counts as the v4 address */
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (!memcmp(a->a, mapped, 12)) {
			a->family = 4;
			memmove(a->a, a->a + 12, 4);
			memset(a->a + 4, 0, 12);
		}
	} else {
		return -1;
	}
	*port = (uint16_t)p;
	return 0;
}

int nfs_dirlink_scan(const char *text, size_t len, const struct taddr *prov,
		     const uint16_t *port, unsigned n)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *f[4];
		size_t fl[4];
		unsigned k = 0;
		const char *q = p;

		if (!nl)
			nl = end;
		/* fields: "sl:", local, remote, state */
		while (k < 4 && q < nl) {
			while (q < nl && *q == ' ')
				q++;
			f[k] = q;
			while (q < nl && *q != ' ')
				q++;
			fl[k] = (size_t)(q - f[k]);
			if (fl[k])
				k++;
		}
		p = nl + 1;
		struct taddr a;
		uint16_t pt;
		if (k < 4 || fl[3] != 2 || memcmp(f[3], "01", 2) ||	/* TCP_ESTABLISHED */
		    proc_addr(f[2], fl[2], &a, &pt) < 0)
			continue;
		for (unsigned i = 0; i < n; i++)
			if (pt == port[i] && taddr_equal(&a, &prov[i]))
				return 1;
	}
	return 0;
}

int nfs_dirlink_up(const struct nasd_nfs_config *c)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	int up = 0;

	if (!buf)
		return -1;
	for (int i = 0; i < 2 && !up; i++) {
		FILE *f = fopen(files[i], "re");
		size_t n;

		if (!f)
			continue;
		n = fread(buf, 1, cap, f);	/* bounded: a table past 1 MiB is cut */
		fclose(f);
		up = nfs_dirlink_scan(buf, n, c->dir_prov, c->dir_prov_port, c->ndir_prov);
	}
	free(buf);
	return up;
}
