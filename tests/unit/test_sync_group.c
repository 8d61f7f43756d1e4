/*
 * test_sync_group.c - when a member of a scale-out sync group is ready
 * (sessionsync/group.c): in sync or gone, the heard mask, the grace a new
 * member gets.  A group of three: this switch (index 0) and peers B (1)
 * and C (2); peer_dead_ms 1000.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sessionsync/syncd.h"

static struct syncd sd;

static void setup(void)
{
	static struct sync_peer peers[2];
	static struct rxslot *rx;

	if (!rx)
		rx = calloc(RX_WINDOW, sizeof(*rx));
	memset(&sd, 0, sizeof(sd));
	memset(peers, 0, sizeof(peers));
	sd.cfg.sync.nmembers = 3;
	sd.cfg.sync.self = 0;
	sd.cfg.sync.peer_dead_ms = 1000;
	sd.group = 1;
	sd.peers = peers;
	sd.npeers = 2;
	sd.started_ms = loop_now_ms() - 10000;	/* long past the start */
	for (int i = 0; i < 2; i++) {
		peers[i].s = &sd;
		peers[i].member = (unsigned)i + 1;
		peers[i].rx = rx;
		strcpy(peers[i].peer_name, i ? "C" : "B");
	}
}

static void alive(struct sync_peer *p, int synced, uint16_t heard)
{
	p->peer_alive = 1;
	p->synced = synced;
	p->peer_hello_ms = loop_now_ms();
	p->peer_hello.heard = heard;
}

int main(void)
{
	struct sync_peer *b, *c;

	setup();
	b = &sd.peers[0];
	c = &sd.peers[1];
	alive(b, 1, 0x7);
	alive(c, 1, 0x7);
	group_tick(&sd);
	CHECK(sd.group_ok && !sd.group_why[0], "both alive and synced: ready");
	CHECK(group_heard_mask(&sd) == 0x7, "heard mask: self and both peers (%#x)", group_heard_mask(&sd));
	b->peer_hello_ms = loop_now_ms() - 600;
	CHECK(group_heard_mask(&sd) == 0x5, "a peer silent for over half of peer_dead_ms is left out (%#x)",
	      group_heard_mask(&sd));

	setup();
	alive(b, 0, 0x7);
	alive(c, 1, 0x7);
	group_tick(&sd);
	CHECK(!sd.group_ok && strstr(sd.group_why, "B: resync not complete"),
	      "at start, a live member not synced yet: behind (%s)", sd.group_why);

	setup();
	alive(c, 1, 0x7);	/* C hears B; we do not */
	group_tick(&sd);
	CHECK(!sd.group_ok && strstr(sd.group_why, "B: silent here, heard by C"),
	      "silent to us, heard by another: behind (%s)", sd.group_why);
	alive(c, 1, 0x5);	/* nobody hears B */
	group_tick(&sd);
	CHECK(sd.group_ok, "silent to everybody: gone, ready");

	setup();
	sd.started_ms = loop_now_ms();
	alive(c, 1, 0x5);
	group_tick(&sd);
	CHECK(!sd.group_ok && strstr(sd.group_why, "B: not heard yet"),
	      "just started, a member not heard yet: wait peer_dead_ms (%s)", sd.group_why);

	/* A member that comes up while we are ready gets peer_dead_ms. */
	setup();
	alive(c, 1, 0x5);
	group_tick(&sd);
	CHECK(sd.group_ok, "ready with B gone");
	group_peer_up(b);
	alive(b, 0, 0x7);
	group_tick(&sd);
	CHECK(sd.group_ok, "B comes up, its resync not complete: ready within the grace");
	b->grace_until_ms = loop_now_ms() - 1;
	group_tick(&sd);
	CHECK(!sd.group_ok, "... and behind once the grace ran out");
	b->synced = 1;
	group_tick(&sd);
	CHECK(sd.group_ok, "... ready again once synced");

	/* One that comes back while we are behind gets none. */
	setup();
	alive(c, 1, 0x7);
	group_tick(&sd);
	CHECK(!sd.group_ok, "behind B (heard by C)");
	sd.group_ok_once = 1;
	group_peer_up(b);
	alive(b, 0, 0x7);
	group_tick(&sd);
	CHECK(!sd.group_ok, "B's link is back: no grace, behind until its resync completed");

	/* Silence resets the link: the next contact must resync. */
	b->anchored = 1;
	group_peer_down(b);
	CHECK(!b->synced && !b->anchored, "a member gone silent is neither synced nor anchored");
	return check_done();
}
