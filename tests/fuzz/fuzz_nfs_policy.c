/* libFuzzer target: tandem-nasd's NFS export policy ("client_groups",
 * storage/nfs/nfs_policy_config.c) from arbitrary JSON text as the "nfs"
 * object.  Invariants: refused input leaves a non-empty message; accepted
 * input holds 1..NASD_NFS_MAX_GROUPS groups (or none), each of a known
 * kind, a netgroup or host name non-empty, NUL-terminated and free of the
 * characters a netgroup triple uses, no group writable unless the section
 * is, and the refresh interval and member bound in their ranges. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonconf.h"
#include "storage/nasd.h"
#include "storage/nfs/nfs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct nasd_nfs_config *c)
{
	if (c->ngroups > NASD_NFS_MAX_GROUPS || c->policy_refresh_ms < 1000 ||
	    c->policy_refresh_ms > 3600000 || !c->policy_max_members ||
	    c->policy_max_members > NASD_NFS_POLICY_MAX_ADDRS)
		abort();
	for (unsigned i = 0; i < c->ngroups; i++) {
		const struct nasd_nfs_client_group *g = &c->groups[i];

		if (g->kind < NASD_CG_NETWORK || g->kind > NASD_CG_HOST ||
		    !memchr(g->name, '\0', sizeof(g->name)) || (g->writable && !c->writable))
			abort();
		if (g->kind != NASD_CG_NETWORK && (!g->name[0] || strpbrk(g->name, "(), \"\\")))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nasd_nfs_config c;
	char err[256] = "";
	struct jconf p = { .err = err, .errlen = sizeof(err) };
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

	/* the same bytes as /proc/net/tcp text (nfs_dirlink.c): any answer,
	 * never a crash or a read past them */
	static const struct taddr prov[2] = { { 4, { 10, 77, 2, 2 } }, { 6, { 0xfd, 0x77 } } };
	static const uint16_t port[2] = { 389, 389 };
	if (nfs_dirlink_scan((const char *)data, size, prov, port, 2) > 1)
		abort();
	if (!o)
		return 0;
	memset(&c, 0, sizeof(c));
	c.writable = size & 1;	/* the section's own options, as parse_export leaves them */
	c.root_squash = 1;
	c.anonuid = c.anongid = 65534;
	if (nasd_nfs_policy_parse(&p, o, &c) == 0)
		check(&c);
	else if (!err[0] || !memchr(err, '\0', sizeof(err)))
		abort();
	json_decref(o);
	return 0;
}
