/*
 * handoff_key.c - the handoff keys derived from the switch's master key,
 * and a node's key file (handoff_key.h).
 */
#include "handoff_key.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "wire.h"

static void derive(const uint8_t *m, size_t mlen, const char *label, const char *a, const char *b,
		   uint8_t out[HOKEY_LEN])
{
	char in[32 + 2 * (HOKEY_NAME_MAX + 1)];
	int n = snprintf(in, sizeof(in), "%s%s%s%s", label, a, b ? "\n" : "", b ? b : "");

	wire_hmac(m, mlen, (const uint8_t *)in, (size_t)n, out);
}

void hokey_node(const uint8_t *m, size_t mlen, const char *node, uint8_t out[HOKEY_LEN])
{
	derive(m, mlen, "tandem-handoff-node:", node, NULL, out);
}

void hokey_pair(const uint8_t *m, size_t mlen, const char *a, const char *b,
		uint8_t out[HOKEY_LEN])
{
	if (strcmp(a, b) > 0) {
		const char *t = a;
		a = b;
		b = t;
	}
	derive(m, mlen, "tandem-handoff-pair:", a, b, out);
}

static int name_ok(const char *s, size_t n)
{
	if (n < 1 || n > HOKEY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

/* One "node NAME HEX" / "peer NAME HEX" line into ks.  0 / -1. */
static int parse_line(const char *line, const char *self, struct hokey_set *ks, int *have_node,
		      char *err, size_t errlen, int lineno)
{
	char kind[8], name[HOKEY_NAME_MAX + 2], hex[2 * KEYFILE_MAX + 3];	/* %64s, %130s: + NUL */
	uint8_t k[KEYFILE_MAX];
	size_t klen;

	if (sscanf(line, "%7s %64s %130s", kind, name, hex) != 3 || !name_ok(name, strlen(name)) ||
	    keyfile_parse_hex(hex, k, &klen) < 0 || klen != HOKEY_LEN)
		return err_set(err, errlen, "line %d: want \"node NAME KEY\" or \"peer NAME KEY\" "
			       "(KEY: 64 hex digits)", lineno);
	if (!strcmp(kind, "node")) {
		if (*have_node || strcmp(name, self))
			return err_set(err, errlen, "line %d: the key file is node \"%s\"'s, this node is \"%s\"",
				       lineno, name, self);
		memcpy(ks->node, k, HOKEY_LEN);
		*have_node = 1;
		return 0;
	}
	if (strcmp(kind, "peer") || !strcmp(name, self))
		return err_set(err, errlen, "line %d: want \"node NAME KEY\" or \"peer NAME KEY\"", lineno);
	for (unsigned i = 0; i < ks->npeers; i++)
		if (!strcmp(ks->peers[i].name, name))
			return err_set(err, errlen, "line %d: peer \"%s\" twice", lineno, name);
	if (ks->npeers >= HOKEY_MAX_PEERS)
		return err_set(err, errlen, "line %d: more than %d peers", lineno, HOKEY_MAX_PEERS);
	snprintf(ks->peers[ks->npeers].name, sizeof(ks->peers[0].name), "%s", name);
	memcpy(ks->peers[ks->npeers].k, k, HOKEY_LEN);
	ks->npeers++;
	return 0;
}

int hokey_parse(const char *text, const char *self, struct hokey_set *ks, char *err, size_t errlen)
{
	int have_node = 0, lineno = 0;

	memset(ks, 0, sizeof(*ks));
	if (!name_ok(self, strlen(self)))
		return err_set(err, errlen, "bad node name \"%.64s\"", self);
	snprintf(ks->self, sizeof(ks->self), "%s", self);
	if (keyfile_parse_hex(text, ks->master, &ks->master_len) == 0) {	/* the master key */
		ks->from_master = 1;
		hokey_node(ks->master, ks->master_len, self, ks->node);
		return 0;
	}
	ks->master_len = 0;
	for (const char *p = text; *p; ) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[256];
		lineno++;
		if (len >= sizeof(line))
			return err_set(err, errlen, "line %d: too long", lineno);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl != NULL);
		const char *s = line + strspn(line, " \t\r");
		if (!*s || *s == '#')
			continue;
		if (parse_line(s, self, ks, &have_node, err, errlen, lineno) < 0)
			return -1;
	}
	if (!have_node)
		return err_set(err, errlen, "no \"node %s KEY\" line (want a key file made by "
			       "`tandemctl handoff-key`, or the master key)", self);
	return 0;
}

int hokey_load(const char *path, const char *self, struct hokey_set *ks, char *err, size_t errlen)
{
	char text[HOKEY_MAX_PEERS * 160 + 512], msg[200];
	FILE *f = fopen(path, "r");

	if (!f)
		return err_set(err, errlen, "%.200s: %s", path, strerror(errno));
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	int big = !feof(f);
	fclose(f);
	text[n] = '\0';
	if (big)
		return err_set(err, errlen, "%.200s: too big for a handoff key file", path);
	if (hokey_parse(text, self, ks, msg, sizeof(msg)) < 0)
		return err_set(err, errlen, "%.200s: %s", path, msg);
	return 0;
}

int hokey_peer(const struct hokey_set *ks, const char *name, uint8_t out[HOKEY_LEN])
{
	if (ks->from_master) {
		hokey_pair(ks->master, ks->master_len, ks->self, name, out);
		return 0;
	}
	for (unsigned i = 0; i < ks->npeers; i++)
		if (!strcmp(ks->peers[i].name, name)) {
			memcpy(out, ks->peers[i].k, HOKEY_LEN);
			return 0;
		}
	return -1;
}

static void put_hex(FILE *f, const uint8_t *k)
{
	for (int i = 0; i < HOKEY_LEN; i++)
		fprintf(f, "%02x", k[i]);
	fputc('\n', f);
}

int hokey_write(FILE *f, const uint8_t *m, size_t mlen, const char *self, const char *const *peers,
		unsigned npeers)
{
	uint8_t k[HOKEY_LEN];

	if (!name_ok(self, strlen(self)))
		return -1;
	for (unsigned i = 0; i < npeers; i++)
		if (!name_ok(peers[i], strlen(peers[i])) || !strcmp(peers[i], self))
			return -1;
	fprintf(f, "# tandem handoff keys of node %s (tandemctl handoff-key): its link to the\n"
		"# switch and its channels to %u peer(s).  Keep it mode 0600 on that node only.\n",
		self, npeers);
	hokey_node(m, mlen, self, k);
	fprintf(f, "node %s ", self);
	put_hex(f, k);
	for (unsigned i = 0; i < npeers; i++) {
		hokey_pair(m, mlen, self, peers[i], k);
		fprintf(f, "peer %s ", peers[i]);
		put_hex(f, k);
	}
	return 0;
}
