/*
 * flowdrop.c - load, attach and drive the flow-drop tc program
 * (flowdrop.h; the program and its reasons: flowdrop.bpf.c).
 */
#include "flowdrop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"

/* The loop's clock is CLOCK_MONOTONIC, as bpf_ktime_get_ns() is; the name
 * here says which clock the map's deadlines are in. */
uint64_t flowdrop_now_ns(void)
{
	return loop_now_ns();
}

static int pin_map(struct bpf_object *obj, const char *name, const char *pin_dir)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	char path[512];

	if (!m) {
		errno = ENOENT;
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* libbpf reuses a compatible map pinned there, or pins the new one. */
	return bpf_map__set_pin_path(m, path) ? -1 : 0;
}

static int ring_cb(void *ctx, void *data, size_t size);

/* The clsact qdisc both hooks hang on (there already: fine). */
static int clsact(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int rc = bpf_tc_hook_create(&hook);

	if (rc && rc != -EEXIST) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* Our filter on one hook of ifindex (replacing an earlier one of ours). */
static int attach(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FLOWDROP_TC_HANDLE,
			    .priority = FLOWDROP_TC_PRIO, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int rc = bpf_tc_attach(&hook, &opts);

	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

static void detach(int ifindex, enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FLOWDROP_TC_HANDLE,
			    .priority = FLOWDROP_TC_PRIO);

	bpf_tc_detach(&hook, &opts);	/* the interface may be gone: nothing to do */
}

int flowdrop_open(struct flowdrop *d, const char *ifname, const char *egress_ifname,
		  const char *obj_path, const char *pin_dir, size_t hold_total, char *err,
		  size_t errlen)
{
	struct bpf_program *prog, *prog_out;
	int rc;

	memset(d, 0, sizeof(*d));
	d->map_fd = d->stats_fd = -1;
	d->held_tail = &d->held;
	d->held_limit = hold_total ? hold_total : FLOWDROP_HOLD_TOTAL_DEFAULT;
	if (!obj_path)
		obj_path = FLOWDROP_OBJ_DEFAULT;
	snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
	d->ifindex = (int)if_nametoindex(ifname);
	if (!d->ifindex)
		return err_errno(err, errlen, "flowdrop: interface %s", ifname);
	if (!egress_ifname)
		d->out_ifindex = d->ifindex;
	else if (egress_ifname[0] && !(d->out_ifindex = (int)if_nametoindex(egress_ifname)))
		return err_errno(err, errlen, "flowdrop: interface %s", egress_ifname);
	d->ncpus = libbpf_num_possible_cpus();
	if (d->ncpus <= 0) {
		errno = -d->ncpus;
		return err_errno(err, errlen, "flowdrop: number of CPUs");
	}
	d->obj = bpf_object__open_file(obj_path, NULL);
	if (!d->obj) {
		err_errno(err, errlen, "flowdrop: open %s", obj_path);
		d->obj = NULL;
		return -1;
	}
	if (pin_dir && (pin_map(d->obj, FLOWDROP_MAP, pin_dir) < 0 ||
			pin_map(d->obj, FLOWDROP_STATS, pin_dir) < 0)) {
		err_errno(err, errlen, "flowdrop: pin paths under %s", pin_dir);
		goto out_fail;
	}
	rc = flowdrop_size_maps(d->obj, d->ncpus, d->held_limit);
	if (!rc)
		rc = bpf_object__load(d->obj);
	if (rc) {
		errno = -rc;
		err_errno(err, errlen, "flowdrop: load %s%s%s", obj_path,
		     pin_dir ? " (maps pinned in " : "", pin_dir ? pin_dir : "");
		goto out_fail;
	}
	prog = bpf_object__find_program_by_name(d->obj, FLOWDROP_PROG);
	prog_out = bpf_object__find_program_by_name(d->obj, FLOWDROP_PROG_OUT);
	if (!prog || !prog_out || flowdrop_bind(d, d->obj) < 0) {
		err_errno(err, errlen, "flowdrop: %s is not a flow-drop object", obj_path);
		goto out_fail;
	}

	if (clsact(d->ifindex) < 0 || (d->out_ifindex && clsact(d->out_ifindex) < 0)) {
		err_errno(err, errlen, "flowdrop: tc clsact on %s", ifname);
		goto out_fail;
	}
	if (attach(d->ifindex, BPF_TC_INGRESS, bpf_program__fd(prog)) < 0) {
		err_errno(err, errlen, "flowdrop: tc attach to %s ingress", ifname);
		goto out_fail;
	}
	d->attached = 1;
	if (!d->out_ifindex)
		return 0;
	if (attach(d->out_ifindex, BPF_TC_EGRESS, bpf_program__fd(prog_out)) < 0) {
		err_errno(err, errlen, "flowdrop: tc attach to %s egress", egress_ifname ?: ifname);
		goto out_detach;
	}
	d->attached = 2;
	return 0;

out_detach:
	detach(d->ifindex, BPF_TC_INGRESS);
	d->attached = 0;
out_fail:
	flowdrop_unbind(d);
	bpf_object__close(d->obj);
	d->obj = NULL;
	d->map_fd = d->stats_fd = -1;
	return -1;
}

uint32_t flowdrop_ring_size(size_t hold_total)
{
	uint32_t r = FLOWDROP_HOLD_RING_MIN;

	if (!hold_total)
		hold_total = FLOWDROP_HOLD_TOTAL_DEFAULT;
	while (r < FLOWDROP_HOLD_RING_MAX && (size_t)r * 2 <= hold_total)
		r *= 2;
	return r;
}

int flowdrop_size_maps(struct bpf_object *obj, int ncpus, size_t hold_total)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, FLOWDROP_HOLD_BUF);
	struct bpf_map *ring = bpf_object__find_map_by_name(obj, FLOWDROP_HOLD_RING);
	int rc;

	if (!m || !ring)
		return -ENOENT;
	rc = bpf_map__set_max_entries(m, (__u32)ncpus);
	return rc ? rc : bpf_map__set_max_entries(ring, flowdrop_ring_size(hold_total));
}

int flowdrop_bind(struct flowdrop *d, struct bpf_object *obj)
{
	d->map_fd = bpf_object__find_map_fd_by_name(obj, FLOWDROP_MAP);
	d->stats_fd = bpf_object__find_map_fd_by_name(obj, FLOWDROP_STATS);
	d->held = NULL;
	d->held_tail = &d->held;
	d->held_bytes = 0;
	if (!d->held_limit)
		d->held_limit = FLOWDROP_HOLD_TOTAL_DEFAULT;
	if (d->map_fd < 0 || d->stats_fd < 0) {
		errno = ENOENT;
		return -1;
	}
	d->ring = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, FLOWDROP_HOLD_RING), ring_cb, d, NULL);
	return d->ring ? 0 : -1;
}

void flowdrop_unbind(struct flowdrop *d)
{
	ring_buffer__free(d->ring);
	d->ring = NULL;
	flowdrop_pkts_free(d->held);
	d->held = NULL;
	d->held_tail = &d->held;
	d->held_bytes = 0;
}

void flowdrop_close(struct flowdrop *d)
{
	if (!d || !d->obj)
		return;
	if (d->attached >= 1)
		detach(d->ifindex, BPF_TC_INGRESS);
	if (d->attached >= 2)
		detach(d->out_ifindex, BPF_TC_EGRESS);
	d->attached = 0;
	flowdrop_unbind(d);
	bpf_object__close(d->obj);
	d->obj = NULL;
	d->map_fd = d->stats_fd = -1;
}

/* Arm k until until_ns with flags and hold_max (held restarts at 0).  Keeps
 * the counts of an entry being re-armed (lookup+update is not atomic; a
 * packet counted in between is lost from the count only). */
static int arm(struct flowdrop *d, const struct lb_flow_key *k, uint64_t until_ns,
	       uint32_t flags, uint32_t hold_max)
{
	struct flowdrop_val v = { 0 };

	bpf_map_lookup_elem(d->map_fd, k, &v);
	v.until_ns = until_ns;
	v.flags = flags;
	v.hold_max = hold_max;
	v.held = 0;
	return bpf_map_update_elem(d->map_fd, k, &v, BPF_ANY);
}

int flowdrop_add(struct flowdrop *d, const struct lb_flow_key *k, uint64_t until_ns)
{
	return arm(d, k, until_ns, 0, 0);
}

int flowdrop_hold(struct flowdrop *d, const struct lb_flow_key *k, uint64_t until_ns,
		  uint32_t hold_max)
{
	return arm(d, k, until_ns, FLOWDROP_F_HOLD, hold_max);
}

int flowdrop_hold_ingress(struct flowdrop *d, const struct lb_flow_key *k)
{
	struct flowdrop_val v;

	if (bpf_map_lookup_elem(d->map_fd, k, &v) < 0)
		return -1;
	v.flags |= FLOWDROP_F_IN_ONLY;
	return bpf_map_update_elem(d->map_fd, k, &v, BPF_EXIST);
}

/* One ring record into the store, or refused (counted) when the store is
 * full: the packet is then lost as it would have been without holding. */
static int ring_cb(void *ctx, void *data, size_t size)
{
	struct flowdrop *d = ctx;
	const struct flowdrop_held_hdr *h = data;
	struct flowdrop_pkt *p;

	if (size < sizeof(*h) || h->len > size - sizeof(*h))
		return 0;	/* cannot happen: the program writes whole records */
	if (d->held_bytes + h->len > d->held_limit || !(p = malloc(sizeof(*p) + h->len))) {
		d->held_evicted++;
		return 0;
	}
	p->next = NULL;
	p->t_ns = flowdrop_now_ns();
	p->key = h->key;
	p->len = h->len;
	memcpy(p->data, h + 1, h->len);
	*d->held_tail = p;
	d->held_tail = &p->next;
	d->held_bytes += p->len;
	return 0;
}

/* Unlink the store's packets of flow k (k NULL: those taken from the ring
 * before older_than) into *out, in order; returns how many. */
static int unlink_pkts(struct flowdrop *d, const struct lb_flow_key *k, uint64_t older_than,
		       struct flowdrop_pkt **out)
{
	struct flowdrop_pkt **pp = &d->held, *p, **tail = out;
	int n = 0;

	*out = NULL;
	while ((p = *pp)) {
		int match = k ? memcmp(&p->key, k, sizeof(*k)) == 0 : p->t_ns < older_than;
		if (!match) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->next = NULL;
		d->held_bytes -= p->len;
		*tail = p;
		tail = &p->next;
		n++;
	}
	d->held_tail = pp;
	return n;
}

int flowdrop_take(struct flowdrop *d, const struct lb_flow_key *k, struct flowdrop_pkt **out)
{
	*out = NULL;
	if (!d->ring)
		return 0;
	if (ring_buffer__consume(d->ring) < 0)
		return -1;
	return unlink_pkts(d, k, 0, out);
}

void flowdrop_pkts_free(struct flowdrop_pkt *p)
{
	while (p) {
		struct flowdrop_pkt *n = p->next;
		free(p);
		p = n;
	}
}

int flowdrop_del(struct flowdrop *d, const struct lb_flow_key *k)
{
	if (bpf_map_delete_elem(d->map_fd, k) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int flowdrop_get(struct flowdrop *d, const struct lb_flow_key *k, struct flowdrop_val *out)
{
	return bpf_map_lookup_elem(d->map_fd, k, out);
}

int flowdrop_gc(struct flowdrop *d, uint64_t now_ns)
{
	/* Collect first, then delete: deleting the cursor key while walking
	 * would restart the walk. */
	enum { BATCH = 256 };
	struct lb_flow_key keys[BATCH], cur, next;
	struct flowdrop_val v;
	int removed = 0, n, more = 1, first;
	struct flowdrop_pkt *stale;

	if (d->ring && now_ns > FLOWDROP_HOLD_TTL_NS) {
		ring_buffer__consume(d->ring);
		d->held_evicted += (uint64_t)unlink_pkts(d, NULL, now_ns - FLOWDROP_HOLD_TTL_NS, &stale);
		flowdrop_pkts_free(stale);
	}
	while (more) {
		n = 0;
		first = 1;
		more = 0;
		while (bpf_map_get_next_key(d->map_fd, first ? NULL : &cur, &next) == 0) {
			first = 0;
			cur = next;
			if (bpf_map_lookup_elem(d->map_fd, &cur, &v) == 0 && v.until_ns <= now_ns) {
				keys[n++] = cur;
				if (n == BATCH) {
					more = 1;
					break;
				}
			}
		}
		for (int i = 0; i < n; i++)
			if (bpf_map_delete_elem(d->map_fd, &keys[i]) == 0)
				removed++;
	}
	return removed;
}

static int sum(struct flowdrop *d, uint32_t idx, uint64_t *out)
{
	uint64_t per[d->ncpus];

	*out = 0;
	if (bpf_map_lookup_elem(d->stats_fd, &idx, per) < 0)
		return -1;
	for (int c = 0; c < d->ncpus; c++)
		*out += per[c];
	return 0;
}

int flowdrop_counters(struct flowdrop *d, uint64_t *dropped_in, uint64_t *dropped_out,
		      uint64_t *expired)
{
	if (sum(d, FLOWDROP_C_DROPPED, dropped_in) < 0 || sum(d, FLOWDROP_C_DROPPED_OUT, dropped_out) < 0 ||
	    sum(d, FLOWDROP_C_EXPIRED, expired) < 0)
		return -1;
	return 0;
}

int flowdrop_hold_counters(struct flowdrop *d, uint64_t *held, uint64_t *overflow,
			   uint64_t *evicted)
{
	*evicted = d->held_evicted;
	if (sum(d, FLOWDROP_C_HELD, held) < 0 || sum(d, FLOWDROP_C_HOLD_OVERFLOW, overflow) < 0)
		return -1;
	return 0;
}
