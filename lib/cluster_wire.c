/*
 * cluster_wire.c - the NFS cluster map codec (cluster_wire.h).  Pure: the
 * encoder validates what it writes with the same rules as the parser, so
 * lbd can never send a map a node would refuse as malformed.
 */
#include "cluster_wire.h"

#include <string.h>

static const char *const ack_names[] = { "ok", "not_member", "unused", "refused", "stale" };

const char *cw_ack_status_name(unsigned st)
{
	return st < sizeof(ack_names) / sizeof(ack_names[0]) ? ack_names[st] : "?";
}

int cw_is_cluster(const uint8_t *buf, size_t len)
{
	return len >= 2 && wire_get16(buf) == CW_MAGIC;
}

int cw_type(const uint8_t *buf, size_t len)
{
	return len >= CW_HDR_LEN && cw_is_cluster(buf, len) ? buf[3] : -1;
}

/* Node names as lbd's config allows them: [A-Za-z0-9_-]{1,32}. */
static int name_ok(const char *s, size_t n)
{
	if (n < 1 || n > CW_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* One path component: it becomes a directory name under the export. */
static int dir_ok(const char *s, size_t n)
{
	if (n < 1 || n > CW_DIR_MAX || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == '\0')
			return 0;
	return 1;
}

static int export_ok(const char *s, size_t n)
{
	if (n < 1 || n > CW_EXPORT_MAX || s[0] != '/')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			return 0;
	return 1;
}

const struct cw_node *cw_map_node(const struct cw_map *m, uint8_t nfs_id)
{
	for (unsigned i = 0; i < m->nnodes; i++)
		if (m->nodes[i].nfs_id == nfs_id)
			return &m->nodes[i];
	return NULL;
}

/* The rules shared by encoder and parser, on a decoded map.  NULL or why. */
static const char *validate(const struct cw_map *m)
{
	if (!export_ok(m->export_name, strlen(m->export_name)))
		return "bad_export";
	if (m->nclients > CW_MAX_CLIENTS)
		return "bad_clients";
	for (unsigned i = 0; i < m->nclients; i++) {
		const struct cw_cidr *c = &m->clients[i];
		if ((c->addr.family != 4 && c->addr.family != 6) ||
		    c->plen > (c->addr.family == 4 ? 32 : 128))
			return "bad_client";
	}
	if (m->nnodes < 1 || m->nnodes > CW_MAX_NODES)
		return "bad_nodes";
	for (unsigned i = 0; i < m->nnodes; i++) {
		const struct cw_node *n = &m->nodes[i];
		if (!n->nfs_id || (n->addr.family != 4 && n->addr.family != 6) ||
		    !name_ok(n->name, strlen(n->name)))
			return "bad_node";
		for (unsigned j = 0; j < i; j++)
			if (m->nodes[j].nfs_id == n->nfs_id || !strcmp(m->nodes[j].name, n->name))
				return "duplicate_node";
	}
	if (m->nhomes > CW_MAX_HOMES)
		return "bad_homes";
	for (unsigned i = 0; i < m->nhomes; i++) {
		const struct cw_home *h = &m->homes[i];
		if (!dir_ok(h->dir, strlen(h->dir)))
			return "bad_dir";
		if (!cw_map_node(m, h->nfs_id))
			return "home_not_a_node";
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(m->homes[j].dir, h->dir))
				return "duplicate_dir";
	}
	return NULL;
}

static void put_hdr(uint8_t *b, const struct cw_hdr *h, uint8_t type, size_t body)
{
	wire_put16(b, CW_MAGIC);
	b[2] = CW_VERSION;
	b[3] = type;
	wire_put32(b + 4, h->cluster_id);
	wire_put32(b + 8, h->switch_id);
	wire_put64(b + 12, h->generation);
	wire_put64(b + 20, h->epoch);
	wire_put64(b + 28, h->peer_epoch);
	wire_put16(b + 36, (uint16_t)body);
	b[38] = b[39] = 0;
}

static size_t addr_len(int family)
{
	return family == 6 ? 16 : 4;
}

size_t cw_map_encode(const struct cw_map *m, const uint8_t *key, size_t keylen, uint8_t *buf,
		     size_t cap, const char **why)
{
	size_t n = CW_HDR_LEN, l;

	if ((*why = validate(m)))
		return 0;
	*why = "too_big";
	if (cap < CW_MAX_DGRAM)
		return 0;	/* every valid map fits CW_MAX_DGRAM: no check per field */
	wire_put64(buf + n, m->handoff_threshold);
	n += 8;
	l = strlen(m->export_name);
	buf[n++] = (uint8_t)l;
	memcpy(buf + n, m->export_name, l);
	n += l;
	buf[n++] = (uint8_t)m->nclients;
	for (unsigned i = 0; i < m->nclients; i++) {
		buf[n++] = (uint8_t)m->clients[i].addr.family;
		buf[n++] = m->clients[i].plen;
		l = addr_len(m->clients[i].addr.family);
		memcpy(buf + n, m->clients[i].addr.a, l);
		n += l;
	}
	buf[n++] = (uint8_t)m->nnodes;
	for (unsigned i = 0; i < m->nnodes; i++) {
		const struct cw_node *nd = &m->nodes[i];
		buf[n++] = nd->nfs_id;
		buf[n++] = (uint8_t)nd->addr.family;
		l = addr_len(nd->addr.family);
		memcpy(buf + n, nd->addr.a, l);
		n += l;
		l = strlen(nd->name);
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, nd->name, l);
		n += l;
	}
	buf[n++] = (uint8_t)m->nhomes;
	for (unsigned i = 0; i < m->nhomes; i++) {
		buf[n++] = m->homes[i].nfs_id;
		l = strlen(m->homes[i].dir);
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, m->homes[i].dir, l);
		n += l;
	}
	put_hdr(buf, &m->h, CW_T_MAP, n - CW_HDR_LEN);
	wire_hmac(key, keylen, buf, n, buf + n);
	*why = NULL;
	return n + WIRE_MAC_LEN;
}

int cw_reseal(uint8_t *buf, size_t len, uint64_t epoch, uint64_t peer_epoch, const uint8_t *key,
	      size_t keylen)
{
	if (len < CW_HDR_LEN + WIRE_MAC_LEN || !cw_is_cluster(buf, len) ||
	    CW_HDR_LEN + (size_t)wire_get16(buf + 36) + WIRE_MAC_LEN != len)
		return -1;
	wire_put64(buf + 20, epoch);
	wire_put64(buf + 28, peer_epoch);
	wire_hmac(key, keylen, buf, len - WIRE_MAC_LEN, buf + len - WIRE_MAC_LEN);
	return 0;
}

size_t cw_ack_encode(const struct cw_ack *a, const uint8_t *key, size_t keylen, uint8_t *buf,
		     size_t cap)
{
	if (cap < CW_ACK_LEN)
		return 0;
	put_hdr(buf, &a->h, a->h.type == CW_T_NODES_ACK ? CW_T_NODES_ACK : CW_T_ACK, 10);
	buf[CW_HDR_LEN] = a->nfs_id;
	buf[CW_HDR_LEN + 1] = a->status;
	wire_put64(buf + CW_HDR_LEN + 2, a->held);
	wire_hmac(key, keylen, buf, CW_HDR_LEN + 10, buf + CW_HDR_LEN + 10);
	return CW_ACK_LEN;
}

/* A bounded reader over the body: every take checks the remaining length. */
struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

static uint8_t take8(struct rd *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

/* A length-prefixed string into out (cap >= max + 1). */
static void take_str(struct rd *r, char *out, size_t max)
{
	size_t n = take8(r);
	const uint8_t *p = take(r, n);

	out[0] = '\0';
	if (!p || n > max) {
		r->bad = 1;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	if (memchr(p, '\0', n))
		r->bad = 1;	/* would shorten the string silently */
}

static void take_addr(struct rd *r, struct taddr *a)
{
	uint8_t fam = take8(r);
	const uint8_t *p;

	memset(a, 0, sizeof(*a));
	if (fam != 4 && fam != 6) {
		r->bad = 1;
		return;
	}
	if (!(p = take(r, addr_len(fam))))
		return;
	a->family = fam;
	memcpy(a->a, p, addr_len(fam));
}

static int parse_map(const uint8_t *body, size_t len, struct cw_map *m, const char **why)
{
	struct rd r = { body, len, 0 };
	const uint8_t *p;

	*why = "bad_body";
	if ((p = take(&r, 8)))
		m->handoff_threshold = wire_get64(p);
	take_str(&r, m->export_name, CW_EXPORT_MAX);
	m->nclients = take8(&r);
	if (m->nclients > CW_MAX_CLIENTS)
		return -1;
	for (unsigned i = 0; i < m->nclients && !r.bad; i++) {
		/* family, prefix, then the address: take_addr reads family + address */
		uint8_t fam = take8(&r);
		m->clients[i].plen = take8(&r);
		const uint8_t *a = fam == 4 || fam == 6 ? take(&r, addr_len(fam)) : NULL;
		memset(&m->clients[i].addr, 0, sizeof(m->clients[i].addr));
		if (!a) {
			r.bad = 1;
			break;
		}
		m->clients[i].addr.family = fam;
		memcpy(m->clients[i].addr.a, a, addr_len(fam));
	}
	m->nnodes = take8(&r);
	for (unsigned i = 0; i < m->nnodes && !r.bad; i++) {
		m->nodes[i].nfs_id = take8(&r);
		take_addr(&r, &m->nodes[i].addr);
		take_str(&r, m->nodes[i].name, CW_NAME_MAX);
	}
	m->nhomes = take8(&r);
	if (m->nhomes > CW_MAX_HOMES)
		return -1;
	for (unsigned i = 0; i < m->nhomes && !r.bad; i++) {
		m->homes[i].nfs_id = take8(&r);
		take_str(&r, m->homes[i].dir, CW_DIR_MAX);
	}
	if (r.bad || r.left)
		return -1;
	if ((*why = validate(m)))
		return -1;
	return 0;
}

/* The header of an authentic message of this version into *h, its body
 * length into *body.  0, or -1 with why. */
static int parse_hdr(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
		     struct cw_hdr *h, size_t *body, const char **why)
{
	if (len < CW_HDR_LEN + WIRE_MAC_LEN) {
		*why = "short";
		return -1;
	}
	if (wire_get16(buf) != CW_MAGIC) {
		*why = "bad_magic";
		return -1;
	}
	*body = wire_get16(buf + 36);
	if (CW_HDR_LEN + *body + WIRE_MAC_LEN != len || len > CW_MAX_DGRAM) {
		*why = "bad_length";
		return -1;
	}
	/* the MAC first: nothing unauthenticated is interpreted further */
	if (!wire_mac_ok(key, keylen, buf, len)) {
		*why = "bad_mac";
		return -1;
	}
	if (buf[2] != CW_VERSION || buf[38] || buf[39]) {
		*why = "bad_version";
		return -1;
	}
	h->type = buf[3];
	h->cluster_id = wire_get32(buf + 4);
	h->switch_id = wire_get32(buf + 8);
	h->generation = wire_get64(buf + 12);
	h->epoch = wire_get64(buf + 20);
	h->peer_epoch = wire_get64(buf + 28);
	return 0;
}

int cw_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen, uint8_t *type,
	     struct cw_map *map, struct cw_ack *ack, const char **why)
{
	struct cw_hdr h;
	size_t body;

	if (parse_hdr(buf, len, key, keylen, &h, &body, why) < 0)
		return -1;
	*type = h.type;
	if (h.type == CW_T_MAP && map) {
		memset(map, 0, sizeof(*map));
		map->h = h;
		return parse_map(buf + CW_HDR_LEN, body, map, why);
	}
	if ((h.type == CW_T_ACK || h.type == CW_T_NODES_ACK) && ack) {
		if (body != 10 || buf[CW_HDR_LEN + 1] > CW_ACK_STALE) {
			*why = "bad_body";
			return -1;
		}
		ack->h = h;
		ack->nfs_id = buf[CW_HDR_LEN];
		ack->status = buf[CW_HDR_LEN + 1];
		ack->held = wire_get64(buf + CW_HDR_LEN + 2);
		return 0;
	}
	*why = h.type >= CW_T_MAP && h.type <= CW_T_NODES_ACK ? "unexpected_type" : "bad_type";
	return -1;
}

/* ---- node states ---- */

static const char *nodes_validate(const struct cw_nodes *s)
{
	if (s->n > CW_MAX_NODES)
		return "bad_nodes";
	for (unsigned i = 0; i < s->n; i++) {
		if (!name_ok(s->nodes[i].name, strlen(s->nodes[i].name)) ||
		    (s->nodes[i].flags & ~CW_NODE_DRAINING))
			return "bad_node";
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(s->nodes[j].name, s->nodes[i].name))
				return "duplicate_node";
	}
	return NULL;
}

size_t cw_nodes_encode(const struct cw_nodes *s, const uint8_t *key, size_t keylen, uint8_t *buf,
		       size_t cap, const char **why)
{
	size_t n = CW_HDR_LEN;

	if ((*why = nodes_validate(s)))
		return 0;
	*why = "too_big";
	if (cap < CW_NODES_MAX_DGRAM)
		return 0;	/* every valid one fits: no check per field */
	buf[n++] = (uint8_t)s->n;
	for (unsigned i = 0; i < s->n; i++) {
		size_t l = strlen(s->nodes[i].name);
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, s->nodes[i].name, l);
		n += l;
		buf[n++] = s->nodes[i].flags;
	}
	put_hdr(buf, &s->h, CW_T_NODES, n - CW_HDR_LEN);
	wire_hmac(key, keylen, buf, n, buf + n);
	*why = NULL;
	return n + WIRE_MAC_LEN;
}

int cw_nodes_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
		   struct cw_nodes *s, const char **why)
{
	size_t body;

	memset(s, 0, sizeof(*s));
	if (parse_hdr(buf, len, key, keylen, &s->h, &body, why) < 0)
		return -1;
	if (s->h.type != CW_T_NODES) {
		*why = "bad_type";
		return -1;
	}
	struct rd r = { buf + CW_HDR_LEN, body, 0 };
	s->n = take8(&r);
	for (unsigned i = 0; i < s->n && !r.bad; i++) {
		take_str(&r, s->nodes[i].name, CW_NAME_MAX);
		s->nodes[i].flags = take8(&r) & CW_NODE_DRAINING;	/* other bits: ignored */
	}
	*why = "bad_body";
	if (r.bad || r.left)
		return -1;
	return (*why = nodes_validate(s)) ? -1 : 0;
}

static int replay_slot(const struct cw_replay *r, uint32_t switch_id)
{
	for (int i = 0; i < CW_REPLAY_SLOTS; i++)
		if (r->s[i].used && r->s[i].switch_id == switch_id)
			return i;
	return -1;
}

int cw_replay_check(const struct cw_replay *r, uint32_t switch_id, uint64_t epoch, uint64_t gen)
{
	int i = replay_slot(r, switch_id);

	if (i < 0) {
		for (i = 0; i < CW_REPLAY_SLOTS; i++)
			if (!r->s[i].used)
				return CW_NEW;
		return CW_FULL;
	}
	if (epoch != r->s[i].epoch)
		return epoch > r->s[i].epoch ? CW_NEW : CW_OLD_EPOCH;
	return gen > r->s[i].gen ? CW_NEW : gen == r->s[i].gen ? CW_SAME : CW_OLD;
}

void cw_replay_commit(struct cw_replay *r, uint32_t switch_id, uint64_t epoch, uint64_t gen)
{
	int slot = replay_slot(r, switch_id);

	for (int i = 0; i < CW_REPLAY_SLOTS && slot < 0; i++)
		if (!r->s[i].used)
			slot = i;
	if (slot < 0)
		return;
	if (r->s[slot].used && (epoch < r->s[slot].epoch ||
				(epoch == r->s[slot].epoch && gen <= r->s[slot].gen)))
		return;	/* never back */
	r->s[slot].used = 1;
	r->s[slot].switch_id = switch_id;
	r->s[slot].epoch = epoch;
	r->s[slot].gen = gen;
}

uint64_t cw_replay_held(const struct cw_replay *r, uint32_t switch_id)
{
	int i = replay_slot(r, switch_id);

	return i < 0 ? 0 : r->s[i].epoch;
}
