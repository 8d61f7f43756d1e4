/*
 * view_nasd.c - renderings of tandem-nasd's replies (tandemctl -s
 * NASD_SOCKET): "nfs-conns", the NFS connections of one node, with the
 * user and group of each one's last call by name.
 *
 * nasd sends the AUTH_SYS numbers only (asking NSS on its event loop would
 * hold every client while the directory answers); tandemctl names them
 * through the NSS of the host it runs on (getpwuid_r, getgrgid_r): on a
 * node, nslcd and the node's directory replica (doc/directory.md), so an
 * operator sees "gus", not 30000.  A number NSS does not know prints as
 * the number.
 */
#include "view.h"

#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "format.h"

/* o[key] (a uid, or a gid with group set) as "name(number)" by NSS, the
 * number alone if NSS does not know it. */
static void cell_id(struct table *t, const json_t *o, const char *key, int group)
{
	const json_t *v = json_object_get(o, key);
	struct passwd pw, *pr = NULL;
	struct group gr, *gres = NULL;
	const char *name = NULL;
	char buf[16384];

	if (!json_is_integer(v)) {
		table_cell(t, FMT_MISSING);
		return;
	}
	if (group && getgrgid_r((gid_t)json_integer_value(v), &gr, buf, sizeof(buf), &gres) == 0 && gres)
		name = gr.gr_name;
	if (!group && getpwuid_r((uid_t)json_integer_value(v), &pw, buf, sizeof(buf), &pr) == 0 && pr)
		name = pw.pw_name;
	if (name)
		table_cellf(t, "%s(%lld)", name, (long long)json_integer_value(v));
	else
		table_cellf(t, "%lld", (long long)json_integer_value(v));
}

/* o[key], milliseconds, as seconds ("12.3s"). */
static void cell_secs(struct table *t, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		table_cellf(t, "%.1fs", (double)json_integer_value(v) / 1000.0);
	else
		table_cell(t, FMT_MISSING);
}

static const struct col conn_cols[] = {
	{ "ID", 1 }, { "CLIENT", 0 }, { "USER", 0 }, { "GROUP", 0 }, { "CALLS", 1 },
	{ "AGE", 1 }, { "IDLE", 1 },
};

void view_nfs_conns(const struct ctl_args *a, const json_t *r, FILE *out)
{
	struct table *t = table_new(conn_cols, sizeof(conn_cols) / sizeof(conn_cols[0]));
	const json_t *conns = json_object_get(r, "conns"), *c;
	char b[FMT_BUFLEN];
	size_t i;

	(void)a;
	json_array_foreach(conns, i, c) {
		table_row(t);
		table_cell(t, j_text(b, sizeof(b), c, "id"));
		table_cell(t, j_text(b, sizeof(b), c, "client"));
		cell_id(t, c, "uid", 0);
		cell_id(t, c, "gid", 1);
		table_cell(t, j_text(b, sizeof(b), c, "calls"));
		cell_secs(t, c, "age_ms");
		cell_secs(t, c, "idle_ms");
	}
	table_print(t, out);
	table_free(t);
	fprintf(out, "%zu NFS connections\n", json_is_array(conns) ? json_array_size(conns) : 0);
}
