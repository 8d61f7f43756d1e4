/*
 * session.c - the server-side session table, CSRF tokens and the login rate
 * limit.  Session ids and CSRF tokens are 256 random bits (getrandom) in
 * hex; the cookie carries only the id, the CSRF token is handed to the
 * console in the JSON body and must come back in X-CSRF-Token (a page on
 * another origin can make the browser send the cookie but cannot read the
 * token).  Sessions end after session_idle_s without a request, on logout,
 * or when webd restarts (nothing is stored on disk).
 */
#include "webd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api_guard.h"
#include "lib/log.h"

int random_token(char out[API_TOKEN_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[API_TOKEN_HEX / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[API_TOKEN_HEX] = '\0';
	explicit_bzero(r, sizeof(r));
	return 0;
}

int token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	/* no early exit on the first differing byte: timing says nothing */
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int sessions_init(struct sessions *s, const struct webd_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->n = cfg->session_max;
	s->per_user = cfg->session_max_per_user ? cfg->session_max_per_user : s->n;
	s->idle_ms = cfg->session_idle_s * 1000;
	s->rl_max = cfg->rate_max;
	s->rl_window_ms = cfg->rate_window_s * 1000;
	s->tab = calloc(s->n, sizeof(*s->tab));
	return s->tab ? 0 : -1;
}

void sessions_free(struct sessions *s)
{
	if (s->tab)
		explicit_bzero(s->tab, s->n * sizeof(*s->tab));
	free(s->tab);
	s->tab = NULL;
}

static int expired(const struct sessions *s, const struct session *se, uint64_t now)
{
	return now - se->last_ms > s->idle_ms;
}

void sessions_expire(struct sessions *s)
{
	uint64_t now = loop_now_ms();

	for (uint32_t i = 0; i < s->n; i++)
		if (s->tab[i].used && expired(s, &s->tab[i], now))
			session_end(&s->tab[i]);
}

/* The less recently used of a and b (either may be NULL). */
static struct session *lru(struct session *a, struct session *b)
{
	return !a || (b && b->last_ms < a->last_ms) ? b : a;
}

/* The slot a new session of user takes (session_create says which), or
 * NULL; *evict: it holds a session that must end first. */
static struct session *pick_slot(struct sessions *s, const char *ukey, int *evict)
{
	struct session *free_se = NULL, *own = NULL, *viewer = NULL;
	uint32_t mine = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		struct session *se = &s->tab[i];
		if (!se->used) {
			free_se = free_se ? free_se : se;
		} else if (!strcmp(se->ukey, ukey)) {
			mine++;
			own = lru(own, se);
		} else if (!se->admin) {
			viewer = lru(viewer, se);
		}
	}
	*evict = 1;
	if (mine >= s->per_user)
		return own;
	if (free_se) {
		*evict = 0;
		return free_se;
	}
	return own ? own : viewer;
}

struct session *session_create(struct sessions *s, const char *user, int admin)
{
	char ukey[API_USER_MAX + 1];
	struct session *se;
	int evict;

	if (api_user_key(user, ukey, sizeof(ukey)) < 0)
		snprintf(ukey, sizeof(ukey), "%s", user);
	sessions_expire(s);
	se = pick_slot(s, ukey, &evict);
	if (!se)
		return NULL;
	if (evict) {
		log_event(LOG_NOTICE, "session_evicted", KV_S("user", se->user),
			  KV_S("role", se->admin ? "admin" : "viewer"), KV_S("for_user", user));
		session_end(se);
	}
	if (random_token(se->id) < 0 || random_token(se->csrf) < 0) {
		session_end(se);
		return NULL;
	}
	snprintf(se->user, sizeof(se->user), "%s", user);
	snprintf(se->ukey, sizeof(se->ukey), "%s", ukey);
	se->admin = admin;
	se->last_ms = loop_now_ms();
	se->used = 1;
	return se;
}

struct session *webd_session_find(struct sessions *s, const char *id)
{
	uint64_t now = loop_now_ms();

	if (!api_token_ok(id))
		return NULL;
	for (uint32_t i = 0; i < s->n; i++) {
		struct session *se = &s->tab[i];
		if (!se->used || !token_eq(se->id, id))
			continue;
		if (expired(s, se, now)) {
			session_end(se);
			return NULL;
		}
		se->last_ms = now;
		return se;
	}
	return NULL;
}

void session_end(struct session *se)
{
	explicit_bzero(se, sizeof(*se));
}

/*
 * Rate limit: a fixed window per key ("a:ADDR" by api_client_key, "u:USER")
 * that starts with its first failure; rl_max failures in it block the key
 * until it ends.  api.c counts a login as a failure when it is submitted
 * and takes it back if it succeeds, so logins in flight count too.
 *
 * The table has WEBD_RL_SLOTS slots.  A new key takes a free slot, else the
 * slot of the oldest key that is not blocked; a blocked key is never
 * forgotten, so while every slot holds one, unknown keys wait too (429)
 * until the first of those windows ends: filling the table costs an
 * attacker rl_max failures per slot and locks out logins of new keys, but
 * it cannot free a blocked user or address.
 */
struct rl_scan {
	struct rl_ent *match, *free_e, *victim;	/* victim: the oldest unblocked */
	uint64_t soonest_end;			/* of the blocked windows */
};

static void rl_look(struct sessions *s, const char *key, struct rl_scan *sc)
{
	uint64_t now = loop_now_ms();

	memset(sc, 0, sizeof(*sc));
	sc->soonest_end = UINT64_MAX;
	for (int i = 0; i < WEBD_RL_SLOTS; i++) {
		struct rl_ent *e = &s->rl[i];
		if (e->key[0] && now - e->first_ms >= s->rl_window_ms)
			e->key[0] = '\0';	/* window over */
		if (!e->key[0]) {
			sc->free_e = sc->free_e ? sc->free_e : e;
			continue;
		}
		if (!strcmp(e->key, key))
			sc->match = e;
		if (e->count >= s->rl_max) {
			if (e->first_ms + s->rl_window_ms < sc->soonest_end)
				sc->soonest_end = e->first_ms + s->rl_window_ms;
		} else if (!sc->victim || e->first_ms < sc->victim->first_ms) {
			sc->victim = e;
		}
	}
}

static unsigned secs_until(uint64_t end_ms)
{
	uint64_t now = loop_now_ms();

	return end_ms > now ? (unsigned)((end_ms - now + 999) / 1000) : 1;
}

unsigned rl_blocked(struct sessions *s, const char *key)
{
	struct rl_scan sc;

	rl_look(s, key, &sc);
	if (sc.match)
		return sc.match->count < s->rl_max ? 0
						   : secs_until(sc.match->first_ms + s->rl_window_ms);
	if (sc.free_e || sc.victim)
		return 0;
	return secs_until(sc.soonest_end);	/* full of blocked keys */
}

int rl_fail(struct sessions *s, const char *key)
{
	struct rl_scan sc;
	struct rl_ent *e;

	rl_look(s, key, &sc);
	e = sc.match;
	if (!e) {
		e = sc.free_e ? sc.free_e : sc.victim;
		if (!e)
			return -1;
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->first_ms = loop_now_ms();
		e->count = 0;
	}
	if (e->count < UINT32_MAX)
		e->count++;
	return 0;
}

uint64_t rl_window(struct sessions *s, const char *key)
{
	struct rl_scan sc;

	rl_look(s, key, &sc);
	return sc.match ? sc.match->first_ms : 0;
}

void rl_refund(struct sessions *s, const char *key, uint64_t window)
{
	struct rl_scan sc;

	rl_look(s, key, &sc);
	if (window && sc.match && sc.match->first_ms == window && sc.match->count > 0)
		sc.match->count--;
}
