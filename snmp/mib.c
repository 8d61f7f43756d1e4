/*
 * mib.c - TANDEM-MIB's objects in the net-snmp agent library.
 *
 * Table-driven: every object the MIB serves is a column descriptor
 * (struct mib_col: sub-id -> ASN type + where the value is in a row), and
 * each scalar group and table is a descriptor of its columns (struct
 * mib_obj, the array mib_objs below).  One handler (mib_handler) serves all
 * six registrations; one function (col_value) turns a column of a row into
 * a value, for answers, table indexes and notifications alike.  Adding an
 * object is a line in a descriptor table (and in TANDEM-MIB.txt).
 *
 * Scalars: netsnmp_register_scalar_group per group (tandemSwitch,
 * tandemSync, tandemHandoff), which turns GETNEXT into GET of the right
 * instance; the "row" of a scalar group is the snapshot itself.
 *
 * Tables: the tdata helper (table_tdata).  Why tdata rather than the
 * iterator helper: the iterator walks every row on each request (a full
 * walk of the session table, up to -n rows, is then quadratic), and it
 * would need a hand-written "next row" over our arrays; tdata keeps the
 * rows in a container sorted by index OID, answers GET/GETNEXT with a
 * lookup, and its rows carry our struct directly.  We rebuild the rows
 * from scratch on every poll: the snapshot is the truth, there is no
 * row-by-row change tracking to get wrong, and a thousand rows a second is
 * nothing.  Each row's data pointer points into the current snapshot's
 * arrays (struct agx.cur), replaced in the same step, so no row outlives
 * the memory it points to.
 *
 * The agent library finds our context through reginfo->my_reg_void (a
 * struct mib_bind: the agx and the object's descriptor): no globals here.
 */
#include "agentx.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* TANDEM-MIB::tandemMIB.  32473 is the documentation PEN (RFC 5612), a
 * placeholder: see the MIB's header and doc/snmp.md. */
#define TANDEM_ENTERPRISE 32473
#define MIB_ROOT 1, 3, 6, 1, 4, 1, TANDEM_ENTERPRISE, 1

static const oid oid_switch[] = { MIB_ROOT, 1, 1 };
static const oid oid_sync[] = { MIB_ROOT, 1, 2 };
static const oid oid_handoff[] = { MIB_ROOT, 1, 3 };
static const oid oid_vip_entry[] = { MIB_ROOT, 1, 4, 1 };
static const oid oid_node_entry[] = { MIB_ROOT, 1, 5, 1 };
static const oid oid_sess_entry[] = { MIB_ROOT, 1, 6, 1 };
static const oid oid_group_entry[] = { MIB_ROOT, 1, 7, 1 };
static const oid oid_notif[] = { MIB_ROOT, 0 };
static const oid oid_snmptrap[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };	/* snmpTrapOID.0 */

/* sub-ids (TANDEM-MIB.txt) */
enum { SW_ROLE = 1, SW_LBD_UP, SW_UPTIME, SW_FLOWS, SW_FLOW_TABLE_SIZE, SW_NODES_UP,
       SW_NODES_TOTAL, SW_RELOADS, SW_SESSIONS_LISTED, SW_PREVIOUS_ROLE };
enum { SY_STATE = 1, SY_ALIVE, SY_SYNCED, SY_LAG50, SY_LAG99, SY_TX, SY_RX };
enum { HO_REQ = 1, HO_OK, HO_FAILED, HO_REP_HANDLED, HO_REP_FAILED, HO_REP_REJECTED,
       HO_REP_REPLAYED };
enum { VIP_INDEX = 1, VIP_NAME, VIP_ATYPE, VIP_ADDR, VIP_PROTO, VIP_PORT, VIP_NIT, VIP_PKTS,
       VIP_BYTES, VIP_NEW };
enum { NODE_INDEX = 1, NODE_NAME, NODE_ATYPE, NODE_ADDR, NODE_STATE, NODE_DRAIN, NODE_LINK,
       NODE_WEIGHT, NODE_FLOWS, NODE_PKTS, NODE_BYTES, NODE_NEW, NODE_HIN, NODE_HOUT,
       NODE_CHECKS, NODE_CHECKS_OK, NODE_HERR };
enum { SESS_CATYPE = 1, SESS_CADDR, SESS_CPORT, SESS_VATYPE, SESS_VADDR, SESS_VPORT, SESS_PROTO,
       SESS_NODE, SESS_NODE_INDEX, SESS_PKTS, SESS_BYTES, SESS_IDLE, SESS_FLAGS };
enum { GRP_INDEX = 1, GRP_NAME, GRP_ROLE, GRP_PREFERRED, GRP_HERE, GRP_VIPS, GRP_DNS };
enum { N_FAILOVER = 1, N_NODE_DOWN, N_NODE_UP, N_SYNC_LOST, N_SYNC_RESTORED };

#define OIDLEN(x) (sizeof(x) / sizeof(oid))
#define TV(b) ((b) ? 1 : 2)		/* TruthValue */

/* ---- column descriptors ---- */

/* How a column's value is read from its row (the field at mib_col.off). */
enum col_kind {
	K_INT,		/* int */
	K_U32,		/* uint32_t */
	K_U64,		/* uint64_t, served as Counter64 */
	K_TV,		/* int 0/1, served as TruthValue */
	K_STR,		/* NUL-terminated char array */
	K_ADDR,		/* uint8_t[16]; 4 or 16 bytes by the int InetAddressType at .aux */
	K_FN,		/* computed by .fn */
};

struct mib_col {
	oid id;				/* column number, or scalar sub-id */
	u_char asn;			/* ASN_* type served */
	u_char kind;			/* enum col_kind */
	size_t off, aux;		/* offsetof the field (and of K_ADDR's type) in the row */
	long (*fn)(const struct agx *a, const void *row);	/* K_FN */
};

/*
 * Descriptor lines.  The kind comes from the field's C type through
 * _Generic, so a column cannot read a field as the wrong type: a field of
 * another type does not compile.
 */
#define FIELD(st, f) (((st *)0)->f)
#define C_NUM(id, asn, st, f) \
	{ id, asn, _Generic(FIELD(st, f), int: K_INT, uint32_t: K_U32), offsetof(st, f), 0, NULL }
#define C_U64(id, st, f) \
	{ id, ASN_COUNTER64, _Generic(FIELD(st, f), uint64_t: K_U64), offsetof(st, f), 0, NULL }
#define C_TV(id, st, f) \
	{ id, ASN_INTEGER, _Generic(FIELD(st, f), int: K_TV), offsetof(st, f), 0, NULL }
#define C_STR(id, st, f) \
	{ id, ASN_OCTET_STR, _Generic(FIELD(st, f) + 0, char *: K_STR), offsetof(st, f), 0, NULL }
#define C_ADDR(id, st, f, at) \
	{ id, ASN_OCTET_STR, _Generic(FIELD(st, f) + 0, uint8_t *: K_ADDR), offsetof(st, f), \
	  offsetof(st, at) + 0 * sizeof(_Generic(FIELD(st, at), int: 1)), NULL }
#define C_FN(id, asn, f) { id, asn, K_FN, 0, 0, f }

static long sw_role(const struct agx *a, const void *row)
{
	const struct snap *s = row;

	return a->have_cur ? s->role : ROLE_UNKNOWN;
}

static long sw_sessions_listed(const struct agx *a, const void *row)
{
	const struct snap *s = row;

	return (long)s->nsess;
}

static long sy_state(const struct agx *a, const void *row)
{
	const struct snap *s = row;

	return s->sync_state ? s->sync_state
			     : (a->syncd_sock ? SYNC_SYNCD_DOWN : SYNC_NOT_CONFIGURED);
}

static const struct mib_col switch_cols[] = {
	C_FN(SW_ROLE, ASN_INTEGER, sw_role),
	C_TV(SW_LBD_UP, struct snap, lbd_up),
	C_NUM(SW_UPTIME, ASN_UNSIGNED, struct snap, uptime_s),
	C_NUM(SW_FLOWS, ASN_GAUGE, struct snap, flows),
	C_NUM(SW_FLOW_TABLE_SIZE, ASN_UNSIGNED, struct snap, flow_table_size),
	C_NUM(SW_NODES_UP, ASN_GAUGE, struct snap, nodes_up),
	C_NUM(SW_NODES_TOTAL, ASN_GAUGE, struct snap, nodes_total),
	C_NUM(SW_RELOADS, ASN_COUNTER, struct snap, reloads),
	C_FN(SW_SESSIONS_LISTED, ASN_GAUGE, sw_sessions_listed),
	/* SW_PREVIOUS_ROLE is accessible-for-notify: in notifications only */
};

static const struct mib_col sync_cols[] = {
	C_FN(SY_STATE, ASN_INTEGER, sy_state),
	C_TV(SY_ALIVE, struct snap, peer_alive),
	C_TV(SY_SYNCED, struct snap, synced),
	C_NUM(SY_LAG50, ASN_UNSIGNED, struct snap, lag_p50_us),
	C_NUM(SY_LAG99, ASN_UNSIGNED, struct snap, lag_p99_us),
	C_U64(SY_TX, struct snap, sync_tx_flows),
	C_U64(SY_RX, struct snap, sync_rx_flows),
};

static const struct mib_col handoff_cols[] = {
	C_NUM(HO_REQ, ASN_COUNTER, struct snap, ho_requested),
	C_NUM(HO_OK, ASN_COUNTER, struct snap, ho_ok),
	C_NUM(HO_FAILED, ASN_COUNTER, struct snap, ho_failed),
	C_NUM(HO_REP_HANDLED, ASN_COUNTER, struct snap, rep_handled),
	C_NUM(HO_REP_FAILED, ASN_COUNTER, struct snap, rep_failed),
	C_NUM(HO_REP_REJECTED, ASN_COUNTER, struct snap, rep_rejected),
	C_NUM(HO_REP_REPLAYED, ASN_COUNTER, struct snap, rep_replayed),
};

static const struct mib_col vip_index[] = {
	C_NUM(VIP_INDEX, ASN_UNSIGNED, struct vip_row, index),
};

static const struct mib_col vip_cols[] = {
	C_STR(VIP_NAME, struct vip_row, name),
	C_NUM(VIP_ATYPE, ASN_INTEGER, struct vip_row, atype),
	C_ADDR(VIP_ADDR, struct vip_row, addr, atype),
	C_NUM(VIP_PROTO, ASN_INTEGER, struct vip_row, proto),
	C_NUM(VIP_PORT, ASN_UNSIGNED, struct vip_row, port),
	C_NUM(VIP_NIT, ASN_GAUGE, struct vip_row, nodes_in_table),
	C_U64(VIP_PKTS, struct vip_row, packets),
	C_U64(VIP_BYTES, struct vip_row, bytes),
	C_U64(VIP_NEW, struct vip_row, new_flows),
};

static const struct mib_col node_index[] = {
	C_NUM(NODE_INDEX, ASN_UNSIGNED, struct node_row, index),
};

static const struct mib_col node_cols[] = {
	C_STR(NODE_NAME, struct node_row, name),
	C_NUM(NODE_ATYPE, ASN_INTEGER, struct node_row, atype),
	C_ADDR(NODE_ADDR, struct node_row, addr, atype),
	C_NUM(NODE_STATE, ASN_INTEGER, struct node_row, state),
	C_TV(NODE_DRAIN, struct node_row, drain),
	C_TV(NODE_LINK, struct node_row, link_up),	/* up(1)/down(2): a TruthValue's numbers */
	C_NUM(NODE_WEIGHT, ASN_UNSIGNED, struct node_row, weight),
	C_NUM(NODE_FLOWS, ASN_GAUGE, struct node_row, flows),
	C_U64(NODE_PKTS, struct node_row, packets),
	C_U64(NODE_BYTES, struct node_row, bytes),
	C_U64(NODE_NEW, struct node_row, new_flows),
	C_U64(NODE_HIN, struct node_row, handoffs_in),
	C_U64(NODE_HOUT, struct node_row, handoffs_out),
	C_NUM(NODE_CHECKS, ASN_GAUGE, struct node_row, checks),
	C_NUM(NODE_CHECKS_OK, ASN_GAUGE, struct node_row, checks_ok),
	C_STR(NODE_HERR, struct node_row, health_error),
};

/* The 5-tuple; both address types are the row's one atype. */
static const struct mib_col sess_index[] = {
	C_NUM(SESS_CATYPE, ASN_INTEGER, struct sess_row, atype),
	C_ADDR(SESS_CADDR, struct sess_row, client, atype),
	C_NUM(SESS_CPORT, ASN_UNSIGNED, struct sess_row, client_port),
	C_NUM(SESS_VATYPE, ASN_INTEGER, struct sess_row, atype),
	C_ADDR(SESS_VADDR, struct sess_row, vip, atype),
	C_NUM(SESS_VPORT, ASN_UNSIGNED, struct sess_row, vip_port),
	C_NUM(SESS_PROTO, ASN_INTEGER, struct sess_row, proto),
};

static const struct mib_col sess_cols[] = {
	C_STR(SESS_NODE, struct sess_row, node),
	C_NUM(SESS_NODE_INDEX, ASN_UNSIGNED, struct sess_row, node_index),
	C_U64(SESS_PKTS, struct sess_row, packets),
	C_U64(SESS_BYTES, struct sess_row, bytes),
	C_NUM(SESS_IDLE, ASN_UNSIGNED, struct sess_row, idle_ms),
	C_STR(SESS_FLAGS, struct sess_row, flags),
};

static const struct mib_col group_index[] = {
	C_NUM(GRP_INDEX, ASN_UNSIGNED, struct group_row, index),
};

static const struct mib_col group_cols[] = {
	C_STR(GRP_NAME, struct group_row, name),
	C_NUM(GRP_ROLE, ASN_INTEGER, struct group_row, role),
	C_NUM(GRP_PREFERRED, ASN_UNSIGNED, struct group_row, preferred),
	C_TV(GRP_HERE, struct group_row, preferred_here),
	C_STR(GRP_VIPS, struct group_row, vips),
	C_STR(GRP_DNS, struct group_row, dns),
};

/* One scalar group or table.  Columns are in ascending id order: the first
 * and last are the registration's column range. */
struct mib_obj {
	const char *name;
	const oid *oid;			/* the group, or the table's entry */
	size_t oidlen;
	const struct mib_col *cols;
	size_t ncols;
	/* tables only (nindex 0: a scalar group, whose row is struct snap) */
	const struct mib_col *index;	/* the INDEX parts, in order */
	size_t nindex;
	size_t rows_off, count_off, row_size;	/* the row array in struct snap */
};

#define COLS(c) c, sizeof(c) / sizeof(c[0])
#define SCALARS(n, o, c) { n, o, OIDLEN(o), COLS(c), NULL, 0, 0, 0, 0 }
#define TABLE(n, o, c, ix, rows, count) \
	{ n, o, OIDLEN(o), COLS(c), COLS(ix), offsetof(struct snap, rows), \
	  offsetof(struct snap, count), sizeof(*FIELD(struct snap, rows)) }

enum { OBJ_SWITCH, OBJ_SYNC, OBJ_HANDOFF, OBJ_VIPS, OBJ_NODES, OBJ_SESS, OBJ_GROUPS, NOBJ };

static const struct mib_obj mib_objs[NOBJ] = {
	[OBJ_SWITCH] = SCALARS("tandemSwitch", oid_switch, switch_cols),
	[OBJ_SYNC] = SCALARS("tandemSync", oid_sync, sync_cols),
	[OBJ_HANDOFF] = SCALARS("tandemHandoff", oid_handoff, handoff_cols),
	[OBJ_VIPS] = TABLE("tandemVipTable", oid_vip_entry, vip_cols, vip_index, vips, nvips),
	[OBJ_NODES] = TABLE("tandemNodeTable", oid_node_entry, node_cols, node_index, nodes, nnodes),
	[OBJ_SESS] = TABLE("tandemSessionTable", oid_sess_entry, sess_cols, sess_index, sess, nsess),
	[OBJ_GROUPS] = TABLE("tandemGroupTable", oid_group_entry, group_cols, group_index, groups,
			     ngroups),
};

/* An object's registration: what mib_handler finds in my_reg_void. */
struct mib_bind {
	struct agx *a;
	const struct mib_obj *obj;
	netsnmp_handler_registration *reg;	/* NULL: not registered */
	netsnmp_tdata *rows;			/* tables */
};

struct agx_tables {
	struct mib_bind bind[NOBJ];
};

/* ---- values ---- */

/* A column's value as snmp_set_var_typed_value and netsnmp_tdata_row_add_index
 * take it: type, p, len.  p may point into v itself (do not copy a mib_val)
 * or into the row. */
struct mib_val {
	u_char type;
	const void *p;
	size_t len;
	long l;
	struct counter64 c64;
};

static size_t alen(int atype)
{
	return atype == INET_IPV6 ? 16 : 4;
}

static void col_value(const struct agx *a, const struct mib_col *c, const void *row,
		      struct mib_val *v)
{
	const char *f = (const char *)row + c->off;
	uint64_t x;

	v->type = c->asn;
	v->p = &v->l;
	v->len = sizeof(v->l);
	switch ((enum col_kind)c->kind) {
	case K_INT: v->l = *(const int *)f; break;
	case K_U32: v->l = *(const uint32_t *)f; break;
	case K_TV: v->l = TV(*(const int *)f); break;
	case K_FN: v->l = c->fn(a, row); break;
	case K_U64:
		x = *(const uint64_t *)f;
		v->c64.high = (uint32_t)(x >> 32);
		v->c64.low = (uint32_t)x;
		v->p = &v->c64;
		v->len = sizeof(v->c64);
		break;
	case K_STR:
		v->p = f;
		v->len = strlen(f);
		break;
	case K_ADDR:
		v->p = f;
		v->len = alen(*(const int *)((const char *)row + c->aux));
		break;
	}
}

/* The column id of o, or NULL. */
static const struct mib_col *col_find(const struct mib_obj *o, oid id)
{
	for (size_t i = 0; i < o->ncols; i++)
		if (o->cols[i].id == id)
			return &o->cols[i];
	return NULL;
}

/* ---- the handler ---- */

/* The scalar a scalar-group request is about: its name is GROUP.SUBID.0
 * (scalar_group has checked the range and the .0, and for the duration of
 * the call it lengthens reg->rootoid to the instance, so the name is the
 * reliable source). */
static oid scalar_subid(const netsnmp_request_info *r)
{
	return r->requestvb->name_length >= 2 ? r->requestvb->name[r->requestvb->name_length - 2] : 0;
}

/* GET for every registration (GETNEXT reaches us as GET through the
 * scalar_group and tdata helpers).  A table request without a row is
 * noSuchInstance; a sub-id without a column is noSuchObject. */
static int mib_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
		       netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	const struct mib_bind *b = reg->my_reg_void;
	const struct mib_obj *o = b->obj;

	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	for (; req; req = req->next) {
		const struct mib_col *c;
		const void *row = &b->a->cur;
		oid id;
		struct mib_val v;

		if (req->processed)
			continue;
		if (o->nindex) {
			netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);

			row = netsnmp_tdata_extract_entry(req);
			if (!row || !ti) {
				netsnmp_set_request_error(ri, req, SNMP_NOSUCHINSTANCE);
				continue;
			}
			id = ti->colnum;
		} else {
			id = scalar_subid(req);
		}
		c = col_find(o, id);
		if (!c) {
			netsnmp_set_request_error(ri, req, SNMP_NOSUCHOBJECT);
			continue;
		}
		col_value(b->a, c, row, &v);
		snmp_set_var_typed_value(req->requestvb, v.type, v.p, v.len);
	}
	return SNMP_ERR_NOERROR;
}

/* ---- registration ---- */

static int reg_obj(struct agx *a, struct mib_bind *b, const struct mib_obj *o)
{
	netsnmp_table_registration_info *ti;
	oid first = o->cols[0].id, last = o->cols[o->ncols - 1].id;
	int rc;

	b->a = a;
	b->obj = o;
	/* a table's OID is its entry's parent */
	b->reg = netsnmp_create_handler_registration(o->name, mib_handler, o->oid,
						     o->nindex ? o->oidlen - 1 : o->oidlen,
						     HANDLER_CAN_RONLY);
	if (!b->reg)
		return -1;
	b->reg->my_reg_void = b;
	if (!o->nindex) {
		rc = netsnmp_register_scalar_group(b->reg, 1, last);
	} else {
		ti = SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
		b->rows = netsnmp_tdata_create_table(o->name, 0);
		if (!ti || !b->rows)
			return -1;
		for (size_t i = 0; i < o->nindex; i++)
			netsnmp_table_helper_add_index(ti, o->index[i].asn);
		ti->min_column = first;
		ti->max_column = last;
		rc = netsnmp_tdata_register(b->reg, b->rows, ti);
	}
	if (rc != MIB_REGISTERED_OK) {
		b->reg = NULL;		/* refused: not ours to unregister */
		return -1;
	}
	return 0;
}

int mib_register(struct agx *a)
{
	a->tab = calloc(1, sizeof(*a->tab));
	if (!a->tab)
		return -1;
	for (int i = 0; i < NOBJ; i++) {
		if (reg_obj(a, &a->tab->bind[i], &mib_objs[i]) < 0) {
			log_warnx("cannot register TANDEM-MIB with the agent library");
			return -1;
		}
	}
	return 0;
}

void mib_unregister(struct agx *a)
{
	if (!a->tab)
		return;
	for (int i = 0; i < NOBJ; i++)
		if (a->tab->bind[i].reg)
			netsnmp_unregister_handler(a->tab->bind[i].reg);
	free(a->tab);
	a->tab = NULL;
}

/* ---- rows ---- */

/* Empty a tdata table.  Row data belongs to the snapshot, not to the row. */
static void tdata_clear(netsnmp_tdata *t)
{
	netsnmp_tdata_row *row;

	while ((row = netsnmp_tdata_row_first(t)))
		netsnmp_tdata_remove_and_delete_row(t, row);
}

/* One row per element of the table's array in a->cur.  Returns 0, -1 when
 * out of memory (the table keeps the rows added so far). */
static int table_fill(struct agx *a, const struct mib_bind *b)
{
	const struct mib_obj *o = b->obj;
	const char *base = (const char *)&a->cur;
	const char *rows = *(const char *const *)(base + o->rows_off);
	size_t n = *(const size_t *)(base + o->count_off);

	for (size_t i = 0; i < n; i++) {
		netsnmp_tdata_row *row = netsnmp_tdata_create_row();
		const void *data = rows + i * o->row_size;
		struct mib_val v;

		if (!row)
			return -1;
		for (size_t k = 0; k < o->nindex; k++) {
			col_value(a, &o->index[k], data, &v);
			netsnmp_tdata_row_add_index(row, v.type, v.p, v.len);
		}
		row->data = (void *)data;
		if (netsnmp_tdata_add_row(b->rows, row) != SNMPERR_SUCCESS) {
			/* a duplicate index (cannot happen with lbd's unique ids
			 * and 5-tuples): drop the row, keep the table consistent */
			netsnmp_tdata_delete_row(row);
		}
	}
	return 0;
}

static void rebuild(struct agx *a)
{
	for (int i = 0; i < NOBJ; i++)
		if (a->tab->bind[i].rows)
			tdata_clear(a->tab->bind[i].rows);
	for (int i = 0; i < NOBJ; i++)
		if (a->tab->bind[i].rows && table_fill(a, &a->tab->bind[i]) < 0)
			return;
}

/* ---- notifications ---- */

/* Start a notification's varbind list: snmpTrapOID.0 = tandemNotifications.n. */
static netsnmp_variable_list *notif_start(int n)
{
	netsnmp_variable_list *vl = NULL;
	oid o[OIDLEN(oid_notif) + 1];

	memcpy(o, oid_notif, sizeof(oid_notif));
	o[OIDLEN(oid_notif)] = (oid)n;
	snmp_varlist_add_variable(&vl, oid_snmptrap, OIDLEN(oid_snmptrap), ASN_OBJECT_ID,
				  (const u_char *)o, sizeof(o));
	return vl;
}

/* Append object base.sub.instance (instance: 0 for scalars, the index for
 * table columns). */
static void notif_add(netsnmp_variable_list **vl, const oid *base, size_t len, oid sub, oid instance,
		      int type, const void *val, size_t vlen)
{
	oid o[MAX_OID_LEN];

	memcpy(o, base, len * sizeof(oid));
	o[len] = sub;
	o[len + 1] = instance;
	snmp_varlist_add_variable(vl, o, len + 2, (u_char)type, val, vlen);
}

/* Send notification vl; its event: name (the MIB's), and the node or the
 * roles it is about (NULL: none). */
static void notif_send(struct agx *a, netsnmp_variable_list *vl, const char *name,
		       const char *node, const char *role, const char *from)
{
	/* Sent to the master agent, which forwards it to its trap sinks; while
	 * no master is connected the notification is lost (logged). */
	send_v2trap(vl);
	snmp_free_varbind(vl);
	a->traps_sent++;
	log_event(LOG_INFO, "notification", KV_S("name", name), KV_S("node", node),
		  KV_S("role", role), KV_S("from", from));
}

static void notify_role(struct agx *a, int from, int to)
{
	netsnmp_variable_list *vl = notif_start(N_FAILOVER);
	long t = to, f = from;

	notif_add(&vl, oid_switch, OIDLEN(oid_switch), SW_ROLE, 0, ASN_INTEGER, &t, sizeof(t));
	notif_add(&vl, oid_switch, OIDLEN(oid_switch), SW_PREVIOUS_ROLE, 0, ASN_INTEGER, &f, sizeof(f));
	notif_send(a, vl, "tandemFailover", NULL, role_name(to), role_name(from));
}

/* Append column id of table o for row (whose index is instance), as the
 * table serves it. */
static void notif_add_col(struct agx *a, netsnmp_variable_list **vl, const struct mib_obj *o,
			  oid id, const void *row, oid instance)
{
	struct mib_val v;

	col_value(a, col_find(o, id), row, &v);
	notif_add(vl, o->oid, o->oidlen, id, instance, v.type, v.p, v.len);
}

static void notify_node(struct agx *a, const struct node_row *n, int up)
{
	const struct mib_obj *o = &mib_objs[OBJ_NODES];
	netsnmp_variable_list *vl = notif_start(up ? N_NODE_UP : N_NODE_DOWN);

	notif_add_col(a, &vl, o, NODE_NAME, n, n->index);
	notif_add_col(a, &vl, o, NODE_STATE, n, n->index);
	if (!up)
		notif_add_col(a, &vl, o, NODE_HERR, n, n->index);
	notif_send(a, vl, up ? "tandemNodeUp" : "tandemNodeDown", n->name, NULL, NULL);
}

static void notify_sync(struct agx *a, int state, int restored)
{
	netsnmp_variable_list *vl = notif_start(restored ? N_SYNC_RESTORED : N_SYNC_LOST);
	long st = state;

	notif_add(&vl, oid_sync, OIDLEN(oid_sync), SY_STATE, 0, ASN_INTEGER, &st, sizeof(st));
	notif_send(a, vl, restored ? "tandemSyncRestored" : "tandemSyncLost", NULL, NULL, NULL);
}

/* Notifications for the differences between a->cur (old) and *s (new).
 * Nothing is compared before the first successful poll: a node that is down
 * when the agent starts is in the table, not in a notification. */
static void transitions(struct agx *a, const struct snap *s)
{
	const struct snap *o = &a->cur;

	if (!a->have_cur)
		return;
	if (s->lbd_up && o->role != s->role)
		notify_role(a, o->role, s->role);
	for (size_t i = 0; s->lbd_up && i < s->nnodes; i++) {
		const struct node_row *n = &s->nodes[i];
		for (size_t k = 0; k < o->nnodes; k++) {
			if (o->nodes[k].index != n->index)
				continue;
			if (o->nodes[k].state == NODE_UP && n->state != NODE_UP)
				notify_node(a, n, 0);
			else if (o->nodes[k].state != NODE_UP && n->state == NODE_UP)
				notify_node(a, n, 1);
		}
	}
	if (a->syncd_sock && o->sync_state && (o->sync_state == SYNC_SYNCED) != (s->sync_state == SYNC_SYNCED))
		notify_sync(a, s->sync_state, s->sync_state == SYNC_SYNCED);
}

void mib_update(struct agx *a, struct snap *s)
{
	if (!s->lbd_up && a->have_cur) {
		/* lbd did not answer: keep serving its last values (tandemSwitchLbdUp
		 * says they are stale); only the sync part is new. */
		struct snap keep = a->cur;

		keep.lbd_up = 0;
		keep.sync_state = s->sync_state;
		keep.peer_alive = s->peer_alive;
		keep.synced = s->synced;
		keep.lag_p50_us = s->lag_p50_us;
		keep.lag_p99_us = s->lag_p99_us;
		keep.sync_tx_flows = s->sync_tx_flows;
		keep.sync_rx_flows = s->sync_rx_flows;
		transitions(a, &keep);
		a->cur = keep;		/* same arrays: the rows stay valid */
		snap_free(s);
		return;
	}
	transitions(a, s);
	snap_free(&a->cur);
	a->cur = *s;
	memset(s, 0, sizeof(*s));
	if (a->cur.lbd_up)
		a->have_cur = 1;
	rebuild(a);
}
