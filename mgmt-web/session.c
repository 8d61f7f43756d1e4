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

struct session *session_create(struct sessions *s, const char *user, int admin)
{
	sessions_expire(s);
	for (uint32_t i = 0; i < s->n; i++) {
		struct session *se = &s->tab[i];
		if (se->used)
			continue;
		if (random_token(se->id) < 0 || random_token(se->csrf) < 0)
			return NULL;
		snprintf(se->user, sizeof(se->user), "%s", user);
		se->admin = admin;
		se->last_ms = loop_now_ms();
		se->used = 1;
		return se;
	}
	return NULL;
}

struct session *session_find(struct sessions *s, const char *id)
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
 * Rate limit: a fixed window per key ("a:ADDR", "u:USER") that starts with
 * its first failure; max failures in it block the key until it ends.  When
 * every slot is taken, the oldest window is reused (an attacker filling the
 * table with addresses can thus free a blocked key early: 1024 slots make
 * that cost 1024 addresses per window).
 */
static struct rl_ent *rl_find(struct sessions *s, const char *key, int create)
{
	uint64_t now = loop_now_ms();
	struct rl_ent *free_e = NULL, *oldest = NULL;

	for (int i = 0; i < WEBD_RL_SLOTS; i++) {
		struct rl_ent *e = &s->rl[i];
		if (e->key[0] && now - e->first_ms >= s->rl_window_ms)
			e->key[0] = '\0';	/* window over */
		if (!e->key[0]) {
			if (!free_e)
				free_e = e;
			continue;
		}
		if (!strcmp(e->key, key))
			return e;
		if (!oldest || e->first_ms < oldest->first_ms)
			oldest = e;
	}
	if (!create)
		return NULL;
	struct rl_ent *e = free_e ? free_e : oldest;
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->first_ms = now;
	e->count = 0;
	return e;
}

unsigned rl_blocked(struct sessions *s, const char *key)
{
	struct rl_ent *e = rl_find(s, key, 0);

	if (!e || e->count < s->rl_max)
		return 0;
	uint64_t left = s->rl_window_ms - (loop_now_ms() - e->first_ms);
	return (unsigned)((left + 999) / 1000);
}

void rl_fail(struct sessions *s, const char *key)
{
	struct rl_ent *e = rl_find(s, key, 1);

	if (e->count < UINT32_MAX)
		e->count++;
}
