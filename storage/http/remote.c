/*
 * remote.c - data location: serving a file whose home is another node, and
 * the trigger that hands the session to that home.
 *
 * The "data_location" section maps URL prefixes to home nodes.  A request
 * here for a path under another node's prefix is answered from the home's
 * copy: a HEAD there gives the version (size and mtime, from the ETag that
 * every tandem-nasd makes the same way), and the body is fetched from the
 * home in pieces (GET with Range, the ETag checked on every piece) into a
 * memfd the session sends from with sendfile, exactly as from a local file.
 * The session counts the bytes fetched for it; once they reach `threshold`
 * it is handed to the home (handoff_schedule: libtch, the normal handoff):
 * in the middle of a response when the next piece is due, or between
 * requests.  The home then resumes the response from its own file (the
 * session blob names the path, offset and version).  Small reads therefore
 * stay where the client's connection is; a client that reads a lot of
 * another node's data ends up on that node.  If the handoff fails (no
 * channel, the home refused), the session stays and goes on fetching.
 *
 * Fetches run on the event loop (remote_fetch.c), each with a deadline
 * (timeout_ms): the session waits (fetch_wait) while every other one goes
 * on, and a slow or stopped home delays only the sessions reading its files.
 * Before the home's HEAD is in, the request stays unread in the session's
 * input (remote_prepare), so a handoff in between moves it as any request
 * not yet read.  Why memfd: the session's send path, pacing, freeze and blob
 * stay exactly those of a local file; only which bytes are present differs
 * (fetch_end).  What the client has acknowledged is punched out of the
 * memfd as the response goes (remote_sent), so a long response, or one
 * that stays after a failed handoff, holds about a piece and the socket's
 * send queue, not the file; the memfd goes when the response or the
 * handoff ends.
 */
#include "http.h"
#include "storage/handoff/handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http_parse.h"
#include "http_resp.h"
#include "lib/jsonconf.h"
#include "lib/log.h"

#define DEF_THRESHOLD (256u * 1024)
#define MAX_PIECE (4u << 20)
#define PUNCH_STEP (256u * 1024)	/* memfd bytes sent before a hole is punched */
#define PUNCH_ALIGN 4096u

int remote_config_parse(struct jconf *p, json_t *o, struct nasd_data_location *dl)
{
	static const char *const keys[] = { "threshold", "piece", "timeout_ms", "homes", "clients",
					    NULL };
	static const char *const hkeys[] = { "prefix", "node", "address", NULL };
	json_t *homes = json_object_get(o, "homes"), *v;
	size_t i;

	memset(dl, 0, sizeof(*dl));
	snprintf(p->where, sizeof(p->where), "data_location");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_u64(p, o, "threshold", &dl->threshold, DEF_THRESHOLD, 1, 1ull << 40) < 0 ||
	    jconf_get_u64(p, o, "piece", &dl->piece, 0, 0, MAX_PIECE) < 0 ||
	    jconf_get_uint(p, o, "timeout_ms", &dl->timeout_ms, 2000, 10, 60000) < 0 ||
	    nasd_cidr_list_parse(p, o, "clients", dl->clients, NASD_HTTP_MAX_CLIENTS, &dl->nclients) < 0)
		return -1;
	if (!dl->piece)	/* default: one piece up to the threshold (then the handoff) */
		dl->piece = dl->threshold < MAX_PIECE ? dl->threshold : MAX_PIECE;
	if (!json_is_array(homes) || !json_array_size(homes))
		return jconf_perr(p, "\"homes\" must be a non-empty array");
	if (json_array_size(homes) > NASD_MAX_HOMES)
		return jconf_perr(p, "\"homes\": at most %d", NASD_MAX_HOMES);
	json_array_foreach(homes, i, v) {
		struct nasd_home *h = &dl->homes[dl->nhomes];
		char addr[80], clean[NASD_URL_MAX];
		int st;

		snprintf(p->where, sizeof(p->where), "data_location.homes[%zu]", i);
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, v, hkeys) < 0 ||
		    jconf_get_str(p, v, "prefix", h->prefix, sizeof(h->prefix), NULL) < 0 ||
		    jconf_get_str(p, v, "node", h->node, sizeof(h->node), NULL) < 0 ||
		    jconf_get_str(p, v, "address", addr, sizeof(addr), NULL) < 0)
			return -1;
		h->prefix_len = strlen(h->prefix);
		if (h->prefix_len < 2 || h->prefix[0] != '/' || h->prefix[h->prefix_len - 1] != '/' ||
		    strpbrk(h->prefix, "%?#") ||
		    http_path_clean(h->prefix, h->prefix_len, clean, sizeof(clean), &st) != (int)h->prefix_len)
			return jconf_perr(p, "\"prefix\": want a clean \"/dir/\" (not \"/\")");
		if (taddr_parse_endpoint(addr, &h->addr, &h->port) < 0 || !h->port)
			return jconf_perr(p, "\"address\": want \"addr:port\" or \"[v6addr]:port\"");
		for (unsigned j = 0; j < dl->nhomes; j++)
			if (!strncmp(dl->homes[j].prefix, h->prefix, dl->homes[j].prefix_len) ||
			    !strncmp(dl->homes[j].prefix, h->prefix, h->prefix_len))
				return jconf_perr(p, "\"prefix\" overlaps homes[%u]", j);
		dl->nhomes++;
	}
	dl->enabled = 1;
	return 0;
}

int remote_home_for(const struct nasd *n, const char *path)
{
	const struct nasd_data_location *dl = &n->cfg.dl;

	if (!dl->enabled)
		return -1;
	for (unsigned i = 0; i < dl->nhomes; i++)
		if (!strncmp(path, dl->homes[i].prefix, dl->homes[i].prefix_len))
			return strcmp(dl->homes[i].node, n->cfg.node_name) ? (int)i : -1;
	return -1;
}

int remote_prepare(struct session *s, const char *path)
{
	int h = remote_home_for(s->nasd, path);
	struct export_file f;
	char etag[HTTP_RESP_ETAG_MAX];

	if (h < 0)
		return 0;
	int a = remote_head_answer(s, path, &f, etag, sizeof(etag));
	if (a >= 0)
		return 0;
	if (a == -2) {		/* this request's HEAD is on its way */
		s->fetch_wait = 1;
		return 1;
	}
	remote_cancel(s);	/* whatever it was, it is not this request's */
	if (remote_fetch_start(s, h, FETCH_HEAD, path, 0, 0) < 0)
		return 0;	/* remote_open answers 502 */
	s->fetch_wait = 1;
	return 1;
}

int remote_open(struct session *s, const char *path, struct export_file *f)
{
	char etag[HTTP_RESP_ETAG_MAX];
	int st = remote_head_answer(s, path, f, etag, sizeof(etag));

	remote_cancel(s);	/* the answer is taken */
	if (st)
		return st < 0 ? 502 : st;
	f->fd = memfd_create("tandem-remote", MFD_CLOEXEC);
	if (f->fd < 0 || ftruncate(f->fd, (off_t)f->size) < 0) {
		log_warn("data location: memfd");
		if (f->fd >= 0)
			close(f->fd);
		return 503;
	}
	snprintf(s->remote_etag, sizeof(s->remote_etag), "%s", etag);
	return 0;
}

int remote_more(struct session *s)
{
	struct nasd *n = s->nasd;
	const struct nasd_data_location *dl = &n->cfg.dl;
	const struct nasd_home *h = &dl->homes[s->remote_home];

	if (s->fetch_failed)
		return -1;	/* the response cannot go on with the right bytes */
	if (s->fetch) {		/* the piece is on its way: wait for its next bytes */
		s->fetch_wait = 1;
		return 0;
	}
	if (s->fetched >= dl->threshold && !s->home_tried && n->ho) {
		s->home_tried = 1;
		if (handoff_schedule(n, s, h->node) == 0) {
			log_event(LOG_INFO, "home_move", KV_S("app", "http"), KV_U("session", s->id),
				  KV_U("bytes", s->fetched), KV_S("peer", h->node));
			return 0;
		}
	}
	uint64_t first = s->fetch_end, last = s->file_end - 1;
	if (last - first + 1 > dl->piece)
		last = first + dl->piece - 1;
	if (remote_fetch_start(s, s->remote_home, FETCH_GET, s->file_path, first, last) < 0)
		return -1;
	s->fetch_wait = 1;
	return 0;
}

void remote_sent(struct session *s)
{
	int unacked;

	if (s->file_off - s->punched < PUNCH_STEP || ioctl(s->io.fd, SIOCOUTQ, &unacked) < 0 ||
	    unacked < 0)
		return;
	/* bytes still in the send queue may be sent again (or read out by a
	 * handoff): only what the client acknowledged goes */
	uint64_t end = s->file_off - ((uint64_t)unacked < s->file_off ? (uint64_t)unacked : s->file_off);
	end &= ~(uint64_t)(PUNCH_ALIGN - 1);
	if (end <= s->punched)
		return;
	if (fallocate(s->file_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s->punched,
		      (off_t)(end - s->punched)) == 0)
		s->punched = end;
}

void remote_response_done(struct session *s)
{
	struct nasd *n = s->nasd;
	int hi = s->last_home;

	if (hi < 0 || s->home_tried || !n->ho || s->fetched < n->cfg.dl.threshold)
		return;
	s->home_tried = 1;
	if (handoff_schedule(n, s, n->cfg.dl.homes[hi].node) == 0)
		log_event(LOG_INFO, "home_move", KV_S("app", "http"), KV_U("session", s->id),
			  KV_U("bytes", s->fetched), KV_S("peer", n->cfg.dl.homes[hi].node));
}

json_t *remote_status(const struct nasd *n)
{
	const struct nasd_stats *st = &n->st;

	if (!n->cfg.dl.enabled)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "threshold", (json_int_t)n->cfg.dl.threshold,
		"fetches", (json_int_t)st->dl_fetches, "fetched_bytes", (json_int_t)st->dl_fetched_bytes,
		"fetch_errors", (json_int_t)st->dl_fetch_errors, "handoffs_home_ok", (json_int_t)st->dl_home_ok,
		"handoffs_home_failed", (json_int_t)st->dl_home_failed);
}
