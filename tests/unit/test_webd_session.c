/* Unit tests of mgmt-web/session.c: the login rate limit's table (a blocked
 * key is never forgotten to make room) and the session table (a per-user
 * cap; a full table never ends another user's admin session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt-web/webd.h"
#include "check.h"

static void setup(struct sessions *s, uint32_t max, uint32_t per_user)
{
	struct webd_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.session_max = max;
	cfg.session_max_per_user = per_user;
	cfg.session_idle_s = 900;
	cfg.rate_max = 5;
	cfg.rate_window_s = 60;
	if (sessions_init(s, &cfg) < 0) {
		perror("sessions_init");
		exit(1);
	}
}

static void test_rl_evict(void)
{
	struct sessions s;
	char k[64];
	int refused = 0;

	setup(&s, 4, 4);
	for (int i = 0; i < 5; i++)
		rl_fail(&s, "u:victim");
	CHECK(rl_blocked(&s, "u:victim") > 0, "5 failures block u:victim");
	/* an attacker rotating through more keys than the table holds */
	for (int i = 0; i < 3 * WEBD_RL_SLOTS; i++) {
		snprintf(k, sizeof(k), "a:2001:db8:%x::/64", i);
		rl_fail(&s, k);
	}
	CHECK(rl_blocked(&s, "u:victim") > 0, "u:victim still blocked after %d other keys",
	      3 * WEBD_RL_SLOTS);
	/* fill every slot with blocked keys: then unknown keys wait */
	for (int i = 0; i < WEBD_RL_SLOTS; i++) {
		snprintf(k, sizeof(k), "u:x%d", i);
		for (int f = 0; f < 5; f++)
			refused += rl_fail(&s, k) < 0;
	}
	CHECK(refused > 0, "rl_fail refuses a new key when every slot is blocked (%d)", refused);
	CHECK(rl_blocked(&s, "u:victim") > 0, "u:victim still blocked in a table full of blocks");
	CHECK(rl_blocked(&s, "a:192.0.2.1") > 0, "an unknown key waits while the table is full of blocks");
	sessions_free(&s);
}

static void test_rl_refund(void)
{
	struct sessions s;
	uint64_t w;

	setup(&s, 4, 4);
	for (int i = 0; i < 4; i++)
		rl_fail(&s, "a:10.0.0.1");
	CHECK(rl_blocked(&s, "a:10.0.0.1") == 0, "4 failures: not blocked yet");
	rl_fail(&s, "a:10.0.0.1");	/* a fifth login in flight */
	CHECK(rl_blocked(&s, "a:10.0.0.1") > 0, "a login in flight counts: blocked");
	w = rl_window(&s, "a:10.0.0.1");
	CHECK(w != 0, "the key has a window");
	rl_refund(&s, "a:10.0.0.1", w);	/* it succeeded */
	CHECK(rl_blocked(&s, "a:10.0.0.1") == 0, "refunded: allowed again");
	rl_refund(&s, "a:10.0.0.1", w + 1);
	rl_fail(&s, "a:10.0.0.1");
	CHECK(rl_blocked(&s, "a:10.0.0.1") > 0, "a refund of another window takes nothing back");
	sessions_free(&s);
}

/* Live sessions of user (by api_user_key), or of anyone (NULL). */
static int live(struct sessions *s, const char *user)
{
	int n = 0;

	for (uint32_t i = 0; i < s->n; i++)
		n += s->tab[i].used && (!user || !strcmp(s->tab[i].ukey, user));
	return n;
}

static void test_sessions(void)
{
	struct sessions s;
	char first[API_TOKEN_HEX + 1], admin[API_TOKEN_HEX + 1];
	struct session *se;

	setup(&s, 256, 8);
	se = session_create(&s, "victor", 0);
	snprintf(first, sizeof(first), "%s", se ? se->id : "");
	for (int i = 0; i < 300; i++)
		session_create(&s, "victor", 0);
	CHECK(live(&s, "victor") == 8, "a viewer holds at most 8 sessions (%d)", live(&s, "victor"));
	CHECK(!webd_session_find(&s, first), "the user's least recently used session ended");
	for (int i = 0; i < 8; i++)
		session_create(&s, i & 1 ? "VICTOR" : " Victor", 0);
	CHECK(live(&s, "victor") == 8 && live(&s, NULL) == 8,
	      "VICTOR and ' Victor' count as victor: still 8 sessions in all (%d)", live(&s, NULL));
	se = session_create(&s, "alice", 1);
	CHECK(se != NULL, "an admin still logs in");
	sessions_free(&s);

	/* a table of 4: alice (admin) and victor; victor's logins never end alice's */
	setup(&s, 4, 8);
	se = session_create(&s, "alice", 1);
	snprintf(admin, sizeof(admin), "%s", se ? se->id : "");
	se = session_create(&s, "victor", 0);
	snprintf(first, sizeof(first), "%s", se ? se->id : "");
	for (int i = 0; i < 10; i++)
		CHECK(session_create(&s, "victor", 0) != NULL, "victor login %d in a full table", i + 2);
	CHECK(webd_session_find(&s, admin) != NULL, "alice's admin session survives");
	CHECK(!webd_session_find(&s, first), "victor's oldest session made room");
	CHECK(session_create(&s, "vera", 0) != NULL, "another viewer takes a viewer's slot");
	CHECK(webd_session_find(&s, admin) != NULL, "alice's admin session still survives");
	for (int i = 0; i < 3; i++) {
		char u[16];
		snprintf(u, sizeof(u), "root%d", i);
		session_create(&s, u, 1);
	}
	CHECK(webd_session_find(&s, admin) != NULL, "another admin's logins do not end alice's");
	CHECK(session_create(&s, "vera", 0) == NULL, "a table full of admin sessions: NULL (503)");
	sessions_free(&s);
}

int main(void)
{
	test_rl_evict();
	test_rl_refund();
	test_sessions();
	return check_done();
}
