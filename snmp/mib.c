/*
 * mib.c - TANDEM-MIB's objects in the net-snmp agent library.
 *
 * Scalars: one handler per scalar group (tandemSwitch, tandemSync,
 * tandemHandoff) through netsnmp_register_scalar_group, which turns GETNEXT
 * into GET of the right instance; the handler switches on the sub-id.
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
 * The agent library finds our context through reginfo->my_reg_void: no
 * globals here.
 */
#include "agentx.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

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
static const oid oid_notif[] = { MIB_ROOT, 0 };
static const oid oid_snmptrap[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };	/* snmpTrapOID.0 */

/* sub-ids (TANDEM-MIB.txt) */
enum { SW_ROLE = 1, SW_LBD_UP, SW_UPTIME, SW_FLOWS, SW_FLOW_TABLE_SIZE, SW_NODES_UP,
       SW_NODES_TOTAL, SW_RELOADS, SW_SESSIONS_LISTED, SW_PREVIOUS_ROLE };
enum { SY_STATE = 1, SY_ALIVE, SY_SYNCED, SY_LAG50, SY_LAG99, SY_TX, SY_RX };
enum { HO_REQ = 1, HO_OK, HO_FAILED, HO_REP_HANDLED, HO_REP_FAILED, HO_REP_REJECTED,
       HO_REP_REPLAYED };
enum { VIP_NAME = 2, VIP_ATYPE, VIP_ADDR, VIP_PROTO, VIP_PORT, VIP_NIT, VIP_PKTS, VIP_BYTES,
       VIP_NEW };
enum { NODE_NAME = 2, NODE_ATYPE, NODE_ADDR, NODE_STATE, NODE_DRAIN, NODE_LINK, NODE_WEIGHT,
       NODE_FLOWS, NODE_PKTS, NODE_BYTES, NODE_NEW, NODE_HIN, NODE_HOUT, NODE_CHECKS,
       NODE_CHECKS_OK, NODE_HERR };
enum { SESS_NODE = 8, SESS_NODE_INDEX, SESS_PKTS, SESS_BYTES, SESS_IDLE, SESS_FLAGS };
enum { N_FAILOVER = 1, N_NODE_DOWN, N_NODE_UP, N_SYNC_LOST, N_SYNC_RESTORED };

#define OIDLEN(x) (sizeof(x) / sizeof(oid))
#define TV(b) ((b) ? 1 : 2)		/* TruthValue */

struct agx_tables {
	netsnmp_tdata *vips, *nodes, *sess;
	netsnmp_handler_registration *regs[6];
	int nregs;
};

/* ---- value setters ---- */

static void set_int(netsnmp_variable_list *v, int type, long x)
{
	snmp_set_var_typed_value(v, (u_char)type, &x, sizeof(x));
}

static void set_u64(netsnmp_variable_list *v, uint64_t x)
{
	struct counter64 c;

	c.high = (uint32_t)(x >> 32);
	c.low = (uint32_t)x;
	snmp_set_var_typed_value(v, ASN_COUNTER64, &c, sizeof(c));
}

static void set_str(netsnmp_variable_list *v, const void *s, size_t len)
{
	snmp_set_var_typed_value(v, ASN_OCTET_STR, s, len);
}

static size_t alen(int atype)
{
	return atype == INET_IPV6 ? 16 : 4;
}

/* ---- scalars ---- */

/* The scalar a scalar-group request is about: its name is GROUP.SUBID.0
 * (scalar_group has checked the range and the .0, and for the duration of
 * the call it lengthens reg->rootoid to the instance, so the name is the
 * reliable source). */
static oid scalar_subid(const netsnmp_request_info *r)
{
	return r->requestvb->name_length >= 2 ? r->requestvb->name[r->requestvb->name_length - 2] : 0;
}

/* The request's name lies under group g. */
static int in_group(const netsnmp_request_info *r, const oid *g, size_t glen)
{
	return r->requestvb->name_length > glen &&
	       snmp_oid_ncompare(r->requestvb->name, glen, g, glen, glen) == 0;
}

static int scalar_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
			  netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	struct agx *a = reg->my_reg_void;
	const struct snap *s = &a->cur;

	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	for (; req; req = req->next) {
		netsnmp_variable_list *v = req->requestvb;
		oid id = scalar_subid(req);
		int done = 1;

		if (req->processed)
			continue;
		if (in_group(req, oid_switch, OIDLEN(oid_switch))) {
			switch (id) {
			case SW_ROLE: set_int(v, ASN_INTEGER, a->have_cur ? s->role : ROLE_UNKNOWN); break;
			case SW_LBD_UP: set_int(v, ASN_INTEGER, TV(s->lbd_up)); break;
			case SW_UPTIME: set_int(v, ASN_UNSIGNED, s->uptime_s); break;
			case SW_FLOWS: set_int(v, ASN_GAUGE, s->flows); break;
			case SW_FLOW_TABLE_SIZE: set_int(v, ASN_UNSIGNED, s->flow_table_size); break;
			case SW_NODES_UP: set_int(v, ASN_GAUGE, s->nodes_up); break;
			case SW_NODES_TOTAL: set_int(v, ASN_GAUGE, s->nodes_total); break;
			case SW_RELOADS: set_int(v, ASN_COUNTER, s->reloads); break;
			case SW_SESSIONS_LISTED: set_int(v, ASN_GAUGE, (long)s->nsess); break;
			default: done = 0;
			}
		} else if (in_group(req, oid_sync, OIDLEN(oid_sync))) {
			switch (id) {
			case SY_STATE: set_int(v, ASN_INTEGER, s->sync_state ? s->sync_state
						: (a->syncd_sock ? SYNC_SYNCD_DOWN : SYNC_NOT_CONFIGURED)); break;
			case SY_ALIVE: set_int(v, ASN_INTEGER, TV(s->peer_alive)); break;
			case SY_SYNCED: set_int(v, ASN_INTEGER, TV(s->synced)); break;
			case SY_LAG50: set_int(v, ASN_UNSIGNED, s->lag_p50_us); break;
			case SY_LAG99: set_int(v, ASN_UNSIGNED, s->lag_p99_us); break;
			case SY_TX: set_u64(v, s->sync_tx_flows); break;
			case SY_RX: set_u64(v, s->sync_rx_flows); break;
			default: done = 0;
			}
		} else {
			switch (id) {
			case HO_REQ: set_int(v, ASN_COUNTER, s->ho_requested); break;
			case HO_OK: set_int(v, ASN_COUNTER, s->ho_ok); break;
			case HO_FAILED: set_int(v, ASN_COUNTER, s->ho_failed); break;
			case HO_REP_HANDLED: set_int(v, ASN_COUNTER, s->rep_handled); break;
			case HO_REP_FAILED: set_int(v, ASN_COUNTER, s->rep_failed); break;
			case HO_REP_REJECTED: set_int(v, ASN_COUNTER, s->rep_rejected); break;
			case HO_REP_REPLAYED: set_int(v, ASN_COUNTER, s->rep_replayed); break;
			default: done = 0;
			}
		}
		if (!done)
			netsnmp_set_request_error(ri, req, SNMP_NOSUCHOBJECT);
	}
	return SNMP_ERR_NOERROR;
}

/* ---- tables ---- */

static int vip_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
		       netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	for (; req; req = req->next) {
		const struct vip_row *r = netsnmp_tdata_extract_entry(req);
		netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
		netsnmp_variable_list *v = req->requestvb;

		if (req->processed)
			continue;
		if (!r || !ti) {
			netsnmp_set_request_error(ri, req, SNMP_NOSUCHINSTANCE);
			continue;
		}
		switch (ti->colnum) {
		case VIP_NAME: set_str(v, r->name, strlen(r->name)); break;
		case VIP_ATYPE: set_int(v, ASN_INTEGER, r->atype); break;
		case VIP_ADDR: set_str(v, r->addr, alen(r->atype)); break;
		case VIP_PROTO: set_int(v, ASN_INTEGER, r->proto); break;
		case VIP_PORT: set_int(v, ASN_UNSIGNED, r->port); break;
		case VIP_NIT: set_int(v, ASN_GAUGE, r->nodes_in_table); break;
		case VIP_PKTS: set_u64(v, r->packets); break;
		case VIP_BYTES: set_u64(v, r->bytes); break;
		case VIP_NEW: set_u64(v, r->new_flows); break;
		default: netsnmp_set_request_error(ri, req, SNMP_NOSUCHOBJECT);
		}
	}
	return SNMP_ERR_NOERROR;
}

static int node_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
			netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	for (; req; req = req->next) {
		const struct node_row *r = netsnmp_tdata_extract_entry(req);
		netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
		netsnmp_variable_list *v = req->requestvb;

		if (req->processed)
			continue;
		if (!r || !ti) {
			netsnmp_set_request_error(ri, req, SNMP_NOSUCHINSTANCE);
			continue;
		}
		switch (ti->colnum) {
		case NODE_NAME: set_str(v, r->name, strlen(r->name)); break;
		case NODE_ATYPE: set_int(v, ASN_INTEGER, r->atype); break;
		case NODE_ADDR: set_str(v, r->addr, alen(r->atype)); break;
		case NODE_STATE: set_int(v, ASN_INTEGER, r->state); break;
		case NODE_DRAIN: set_int(v, ASN_INTEGER, TV(r->drain)); break;
		case NODE_LINK: set_int(v, ASN_INTEGER, r->link_up ? 1 : 2); break;
		case NODE_WEIGHT: set_int(v, ASN_UNSIGNED, r->weight); break;
		case NODE_FLOWS: set_int(v, ASN_GAUGE, r->flows); break;
		case NODE_PKTS: set_u64(v, r->packets); break;
		case NODE_BYTES: set_u64(v, r->bytes); break;
		case NODE_NEW: set_u64(v, r->new_flows); break;
		case NODE_HIN: set_u64(v, r->handoffs_in); break;
		case NODE_HOUT: set_u64(v, r->handoffs_out); break;
		case NODE_CHECKS: set_int(v, ASN_GAUGE, r->checks); break;
		case NODE_CHECKS_OK: set_int(v, ASN_GAUGE, r->checks_ok); break;
		case NODE_HERR: set_str(v, r->health_error, strlen(r->health_error)); break;
		default: netsnmp_set_request_error(ri, req, SNMP_NOSUCHOBJECT);
		}
	}
	return SNMP_ERR_NOERROR;
}

static int sess_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
			netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	for (; req; req = req->next) {
		const struct sess_row *r = netsnmp_tdata_extract_entry(req);
		netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
		netsnmp_variable_list *v = req->requestvb;

		if (req->processed)
			continue;
		if (!r || !ti) {
			netsnmp_set_request_error(ri, req, SNMP_NOSUCHINSTANCE);
			continue;
		}
		switch (ti->colnum) {
		case SESS_NODE: set_str(v, r->node, strlen(r->node)); break;
		case SESS_NODE_INDEX: set_int(v, ASN_UNSIGNED, r->node_index); break;
		case SESS_PKTS: set_u64(v, r->packets); break;
		case SESS_BYTES: set_u64(v, r->bytes); break;
		case SESS_IDLE: set_int(v, ASN_UNSIGNED, r->idle_ms); break;
		case SESS_FLAGS: set_str(v, r->flags, strlen(r->flags)); break;
		default: netsnmp_set_request_error(ri, req, SNMP_NOSUCHOBJECT);
		}
	}
	return SNMP_ERR_NOERROR;
}

/* ---- registration ---- */

static netsnmp_handler_registration *reg_new(struct agx *a, const char *name, Netsnmp_Node_Handler *fn,
					     const oid *o, size_t len)
{
	netsnmp_handler_registration *reg =
		netsnmp_create_handler_registration(name, fn, o, len, HANDLER_CAN_RONLY);

	if (reg) {
		reg->my_reg_void = a;
		a->tab->regs[a->tab->nregs++] = reg;
	}
	return reg;
}

static int reg_scalars(struct agx *a, const char *name, const oid *o, size_t len, oid last)
{
	netsnmp_handler_registration *reg = reg_new(a, name, scalar_handler, o, len);

	return reg && netsnmp_register_scalar_group(reg, 1, last) == MIB_REGISTERED_OK ? 0 : -1;
}

/* Register a tdata table whose INDEX types are the ASN_* list (0-terminated). */
static netsnmp_tdata *reg_table(struct agx *a, const char *name, Netsnmp_Node_Handler *fn,
				const oid *entry, size_t len, unsigned mincol, unsigned maxcol, ...)
{
	netsnmp_table_registration_info *ti = SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
	netsnmp_tdata *t = netsnmp_tdata_create_table(name, 0);
	netsnmp_handler_registration *reg;
	va_list ap;
	int type;

	/* the table OID is the entry's parent */
	reg = reg_new(a, name, fn, entry, len - 1);
	if (!ti || !t || !reg)
		return NULL;
	va_start(ap, maxcol);
	while ((type = va_arg(ap, int)) != 0)
		netsnmp_table_helper_add_index(ti, (u_char)type);
	va_end(ap);
	ti->min_column = mincol;
	ti->max_column = maxcol;
	if (netsnmp_tdata_register(reg, t, ti) != MIB_REGISTERED_OK)
		return NULL;
	return t;
}

int mib_register(struct agx *a)
{
	a->tab = calloc(1, sizeof(*a->tab));
	if (!a->tab)
		return -1;
	if (reg_scalars(a, "tandemSwitch", oid_switch, OIDLEN(oid_switch), SW_SESSIONS_LISTED) < 0 ||
	    reg_scalars(a, "tandemSync", oid_sync, OIDLEN(oid_sync), SY_RX) < 0 ||
	    reg_scalars(a, "tandemHandoff", oid_handoff, OIDLEN(oid_handoff), HO_REP_REPLAYED) < 0)
		goto fail;
	a->tab->vips = reg_table(a, "tandemVipTable", vip_handler, oid_vip_entry,
				 OIDLEN(oid_vip_entry), VIP_NAME, VIP_NEW, ASN_UNSIGNED, 0);
	a->tab->nodes = reg_table(a, "tandemNodeTable", node_handler, oid_node_entry,
				  OIDLEN(oid_node_entry), NODE_NAME, NODE_HERR, ASN_UNSIGNED, 0);
	a->tab->sess = reg_table(a, "tandemSessionTable", sess_handler, oid_sess_entry,
				 OIDLEN(oid_sess_entry), SESS_NODE, SESS_FLAGS, ASN_INTEGER,
				 ASN_OCTET_STR, ASN_UNSIGNED, ASN_INTEGER, ASN_OCTET_STR,
				 ASN_UNSIGNED, ASN_INTEGER, 0);
	if (a->tab->vips && a->tab->nodes && a->tab->sess)
		return 0;
fail:
	log_warnx("cannot register TANDEM-MIB with the agent library");
	return -1;
}

void mib_unregister(struct agx *a)
{
	if (!a->tab)
		return;
	for (int i = 0; i < a->tab->nregs; i++)
		netsnmp_unregister_handler(a->tab->regs[i]);
	free(a->tab);
	a->tab = NULL;
}

/* Empty a tdata table.  Row data belongs to the snapshot, not to the row. */
static void tdata_clear(netsnmp_tdata *t)
{
	netsnmp_tdata_row *row;

	while ((row = netsnmp_tdata_row_first(t)))
		netsnmp_tdata_remove_and_delete_row(t, row);
}

static void add_row(netsnmp_tdata *t, netsnmp_tdata_row *row, void *data)
{
	row->data = data;
	if (netsnmp_tdata_add_row(t, row) != SNMPERR_SUCCESS) {
		/* a duplicate index (cannot happen with lbd's unique ids and
		 * 5-tuples): drop the row, keep the table consistent */
		netsnmp_tdata_delete_row(row);
	}
}

static void rebuild(struct agx *a)
{
	struct snap *s = &a->cur;

	tdata_clear(a->tab->vips);
	tdata_clear(a->tab->nodes);
	tdata_clear(a->tab->sess);
	for (size_t i = 0; i < s->nvips; i++) {
		netsnmp_tdata_row *row = netsnmp_tdata_create_row();
		u_long idx = s->vips[i].index;

		if (!row)
			return;
		netsnmp_tdata_row_add_index(row, ASN_UNSIGNED, &idx, sizeof(idx));
		add_row(a->tab->vips, row, &s->vips[i]);
	}
	for (size_t i = 0; i < s->nnodes; i++) {
		netsnmp_tdata_row *row = netsnmp_tdata_create_row();
		u_long idx = s->nodes[i].index;

		if (!row)
			return;
		netsnmp_tdata_row_add_index(row, ASN_UNSIGNED, &idx, sizeof(idx));
		add_row(a->tab->nodes, row, &s->nodes[i]);
	}
	for (size_t i = 0; i < s->nsess; i++) {
		const struct sess_row *r = &s->sess[i];
		netsnmp_tdata_row *row = netsnmp_tdata_create_row();
		long at = r->atype, proto = r->proto;
		u_long cp = r->client_port, vp = r->vip_port;

		if (!row)
			return;
		netsnmp_tdata_row_add_index(row, ASN_INTEGER, &at, sizeof(at));
		netsnmp_tdata_row_add_index(row, ASN_OCTET_STR, r->client, alen(r->atype));
		netsnmp_tdata_row_add_index(row, ASN_UNSIGNED, &cp, sizeof(cp));
		netsnmp_tdata_row_add_index(row, ASN_INTEGER, &at, sizeof(at));
		netsnmp_tdata_row_add_index(row, ASN_OCTET_STR, r->vip, alen(r->atype));
		netsnmp_tdata_row_add_index(row, ASN_UNSIGNED, &vp, sizeof(vp));
		netsnmp_tdata_row_add_index(row, ASN_INTEGER, &proto, sizeof(proto));
		add_row(a->tab->sess, row, (void *)r);
	}
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

static void notif_send(struct agx *a, netsnmp_variable_list *vl, const char *what)
{
	/* Sent to the master agent, which forwards it to its trap sinks; while
	 * no master is connected the notification is lost (logged). */
	send_v2trap(vl);
	snmp_free_varbind(vl);
	a->traps_sent++;
	log_info("notification: %s", what);
}

static void notify_role(struct agx *a, int from, int to)
{
	netsnmp_variable_list *vl = notif_start(N_FAILOVER);
	long t = to, f = from;
	char what[96];

	notif_add(&vl, oid_switch, OIDLEN(oid_switch), SW_ROLE, 0, ASN_INTEGER, &t, sizeof(t));
	notif_add(&vl, oid_switch, OIDLEN(oid_switch), SW_PREVIOUS_ROLE, 0, ASN_INTEGER, &f, sizeof(f));
	snprintf(what, sizeof(what), "tandemFailover %s -> %s", role_name(from), role_name(to));
	notif_send(a, vl, what);
}

static void notify_node(struct agx *a, const struct node_row *n, int up)
{
	const oid *e = oid_node_entry;
	size_t el = OIDLEN(oid_node_entry);
	netsnmp_variable_list *vl = notif_start(up ? N_NODE_UP : N_NODE_DOWN);
	long st = n->state;
	char what[128];

	notif_add(&vl, e, el, NODE_NAME, n->index, ASN_OCTET_STR, n->name, strlen(n->name));
	notif_add(&vl, e, el, NODE_STATE, n->index, ASN_INTEGER, &st, sizeof(st));
	if (!up)
		notif_add(&vl, e, el, NODE_HERR, n->index, ASN_OCTET_STR, n->health_error,
			  strlen(n->health_error));
	snprintf(what, sizeof(what), "%s %s", up ? "tandemNodeUp" : "tandemNodeDown", n->name);
	notif_send(a, vl, what);
}

static void notify_sync(struct agx *a, int state, int restored)
{
	netsnmp_variable_list *vl = notif_start(restored ? N_SYNC_RESTORED : N_SYNC_LOST);
	long st = state;

	notif_add(&vl, oid_sync, OIDLEN(oid_sync), SY_STATE, 0, ASN_INTEGER, &st, sizeof(st));
	notif_send(a, vl, restored ? "tandemSyncRestored" : "tandemSyncLost");
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
