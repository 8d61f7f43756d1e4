/*
 * nlm_lock.c - the lock table (nlm_lock.h): three singly linked lists (locks,
 * waiters, shares), in
 * the order entries came.  Sizes are what one node's clients hold at once
 * (hundreds); a list walk per call is fine at that scale.
 */
#include "nlm_lock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int same_file(const struct nlm_file *a, const struct nlm_file *b)
{
	return a->export_id == b->export_id && a->ino == b->ino && a->gen == b->gen;
}

static int obj_eq(const struct nlm_obj *a, const struct nlm_obj *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static int same_owner(const struct nlm4_lock *a, const struct nlm4_lock *b)
{
	return a->svid == b->svid && obj_eq(&a->caller, &b->caller) && obj_eq(&a->oh, &b->oh);
}

/* A copy of l (caller, oh, fh, cookie into its own data[]).  NULL: ENOMEM. */
static struct nlm_ent *ent_new(const struct nlm_file *f, const struct nlm4_lock *l, int exclusive,
			       const struct nlm_obj *cookie)
{
	uint32_t clen = cookie ? cookie->len : 0;
	struct nlm_ent *e = calloc(1, sizeof(*e) + l->caller.len + l->oh.len + l->fh.len + clen);
	uint8_t *p;

	if (!e)
		return NULL;
	e->f = *f;
	e->exclusive = exclusive;
	e->l = *l;
	p = e->data;
	memcpy(p, l->caller.p, l->caller.len);
	e->l.caller.p = p;
	p += l->caller.len;
	memcpy(p, l->oh.p, l->oh.len);
	e->l.oh.p = p;
	p += l->oh.len;
	memcpy(p, l->fh.p, l->fh.len);
	e->l.fh.p = p;
	p += l->fh.len;
	if (clen)
		memcpy(p, cookie->p, clen);
	e->cookie.p = p;
	e->cookie.len = clen;
	return e;
}

const struct nlm_ent *nlm_conflict(const struct nlm_table *t, const struct nlm_file *f,
				   const struct nlm4_lock *l, int exclusive)
{
	for (const struct nlm_ent *e = t->locks; e; e = e->next)
		if (same_file(&e->f, f) && !same_owner(&e->l, l) && (exclusive || e->exclusive) &&
		    nlm_ranges_overlap(e->l.off, e->l.len, l->off, l->len))
			return e;
	return NULL;
}

/* Push a piece [off, last] of e (same owner, file, mode) at the head. */
static int push_piece(struct nlm_table *t, const struct nlm_ent *e, uint64_t off, uint64_t last)
{
	struct nlm4_lock l = e->l;

	l.off = off;
	l.len = last == UINT64_MAX ? 0 : last - off + 1;
	struct nlm_ent *n = ent_new(&e->f, &l, e->exclusive, NULL);
	if (!n)
		return -1;
	n->next = t->locks;
	t->locks = n;
	t->nlocks++;
	return 0;
}

int nlm_unlock(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l)
{
	uint64_t off = l->off, last = nlm_range_last(l->off, l->len);
	struct nlm_ent **pp = &t->locks;
	int rc = 0;

	while (*pp) {
		struct nlm_ent *e = *pp;
		uint64_t elast = nlm_range_last(e->l.off, e->l.len);
		if (!same_file(&e->f, f) || !same_owner(&e->l, l) ||
		    !nlm_ranges_overlap(e->l.off, e->l.len, l->off, l->len)) {
			pp = &e->next;
			continue;
		}
		/* out; what lies outside [off, last] goes back in at the head (it
		 * overlaps nothing this walk removes) */
		*pp = e->next;
		t->nlocks--;
		if ((e->l.off < off && push_piece(t, e, e->l.off, off - 1) < 0) ||
		    (elast > last && push_piece(t, e, last + 1, elast) < 0))
			rc = -1;
		free(e);
	}
	return rc;
}

int nlm_lock_add(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l,
		 int exclusive)
{
	struct nlm_ent *n = ent_new(f, l, exclusive, NULL);

	if (!n)
		return -1;
	if (nlm_unlock(t, f, l) < 0) {
		free(n);
		errno = ENOMEM;
		return -1;
	}
	n->l.fh.len = 0;	/* a granted lock needs no handle */
	n->next = t->locks;
	t->locks = n;
	t->nlocks++;
	return 0;
}

unsigned nlm_count_owner(const struct nlm_table *t, const struct nlm4_lock *l)
{
	unsigned n = 0;

	for (const struct nlm_ent *e = t->locks; e; e = e->next)
		n += same_owner(&e->l, l);
	return n;
}

int nlm_wait_add(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l,
		 int exclusive, const struct nlm_obj *cookie, const struct nlm_cb_to *to)
{
	struct nlm_ent **pp = &t->waiters;

	for (; *pp; pp = &(*pp)->next)
		if (same_file(&(*pp)->f, f) && same_owner(&(*pp)->l, l) && (*pp)->l.off == l->off &&
		    (*pp)->l.len == l->len)
			return 0;	/* a retransmission: already queued */
	struct nlm_ent *n = ent_new(f, l, exclusive, cookie);
	if (!n)
		return -1;
	n->to = *to;
	*pp = n;	/* at the tail: first come, first granted */
	t->nwaiters++;
	return 0;
}

int nlm_wait_cancel(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l)
{
	for (struct nlm_ent **pp = &t->waiters; *pp; pp = &(*pp)->next) {
		struct nlm_ent *e = *pp;
		if (same_file(&e->f, f) && same_owner(&e->l, l) && e->l.off == l->off &&
		    e->l.len == l->len) {
			*pp = e->next;
			t->nwaiters--;
			free(e);
			return 1;
		}
	}
	return 0;
}

struct nlm_ent *nlm_wait_ready(struct nlm_table *t)
{
	for (struct nlm_ent **pp = &t->waiters; *pp; pp = &(*pp)->next) {
		struct nlm_ent *e = *pp;
		if (!nlm_conflict(t, &e->f, &e->l, e->exclusive)) {
			*pp = e->next;
			t->nwaiters--;
			e->next = NULL;
			return e;
		}
	}
	return NULL;
}

/* Free the entries of *head whose caller is name; how many. */
static int same_share_owner(const struct nlm4_lock *a, const struct nlm4_lock *b)
{
	return obj_eq(&a->caller, &b->caller) && obj_eq(&a->oh, &b->oh);
}

const struct nlm_ent *nlm_share_conflict(const struct nlm_table *t, const struct nlm_file *f,
					 const struct nlm4_lock *owner, uint32_t mode,
					 uint32_t access)
{
	for (const struct nlm_ent *e = t->shares; e; e = e->next)
		if (same_file(&e->f, f) && !same_share_owner(&e->l, owner) &&
		    ((access & e->mode) || (mode & e->access)))
			return e;
	return NULL;
}

int nlm_share_remove(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *owner)
{
	for (struct nlm_ent **pp = &t->shares; *pp; pp = &(*pp)->next) {
		struct nlm_ent *e = *pp;
		if (same_file(&e->f, f) && same_share_owner(&e->l, owner)) {
			*pp = e->next;
			free(e);
			t->nshares--;
			return 1;
		}
	}
	return 0;
}

int nlm_share_set(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *owner,
		  uint32_t mode, uint32_t access)
{
	struct nlm_ent *n = ent_new(f, owner, 0, NULL);

	if (!n)
		return -1;
	n->mode = mode;
	n->access = access;
	nlm_share_remove(t, f, owner);
	n->next = t->shares;
	t->shares = n;
	t->nshares++;
	return 0;
}

static unsigned free_list(struct nlm_ent **head, const uint8_t *name, uint32_t len)
{
	unsigned n = 0;

	for (struct nlm_ent **pp = head; *pp;) {
		struct nlm_ent *e = *pp;
		if (e->l.caller.len == len && memcmp(e->l.caller.p, name, len) == 0) {
			*pp = e->next;
			free(e);
			n++;
		} else {
			pp = &e->next;
		}
	}
	return n;
}

unsigned nlm_free_host(struct nlm_table *t, const uint8_t *caller, uint32_t len)
{
	unsigned l = free_list(&t->locks, caller, len), w = free_list(&t->waiters, caller, len);
	unsigned sh = free_list(&t->shares, caller, len);

	t->nlocks -= l;
	t->nwaiters -= w;
	t->nshares -= sh;
	return l + w + sh;
}

void nlm_table_free(struct nlm_table *t)
{
	for (struct nlm_ent *e = t->locks, *n; e; e = n) {
		n = e->next;
		free(e);
	}
	for (struct nlm_ent *e = t->waiters, *n; e; e = n) {
		n = e->next;
		free(e);
	}
	for (struct nlm_ent *e = t->shares, *n; e; e = n) {
		n = e->next;
		free(e);
	}
	memset(t, 0, sizeof(*t));
}
