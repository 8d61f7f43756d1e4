/*
 * nlm_cb.c - calls from a node to a client (nlm.h): GRANTED (a blocked
 * lock was granted, the client's lock manager is told so), the _RES calls
 * that carry the results of the _MSG forms, and SM_NOTIFY
 * (this node restarted: the client's status monitor is told, and its lock
 * manager reclaims).
 *
 * The client's port comes from its portmapper: GETPORT (NLM v4 or NSM v1, UDP)
 * to its port 111, from this node's own address (the reply must come back
 * here, and a reply to the VIP would go to the switch), sent up to
 * NLM_CB_TRIES times a second apart.  The GRANTED call then leaves over
 * UDP from the socket bound to the address the client called (the VIP,
 * as a client checks that its server calls back), or from the GETPORT
 * socket when this node has no socket on that address.  The reply comes
 * to the VIP and may reach any node: it is not waited for.
 * The lock is the client's either way; a client that missed the callback
 * asks again (its next LOCK is GRANTED at once: the owner holds it).
 */
#include "nlm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

struct nlm_cb {
	struct loop_io io;		/* the GETPORT socket */
	struct loop_timer tm;
	struct nfs_server *s;
	struct nlm_cb *next;
	struct nlm_cb_to to;
	int tries;
	uint32_t xid;			/* of the GETPORT */
	uint32_t prog, vers;		/* whose port GETPORT asks (NLM; NSM for SM_NOTIFY) */
	size_t len;
	uint8_t msg[];			/* the call: GRANTED or SM_NOTIFY */
};

size_t nlm_granted_msg(uint8_t *buf, size_t cap, uint32_t xid, const struct nlm_obj *cookie,
		       int exclusive, const struct nlm4_lock *l)
{
	struct xdr_enc e;

	xdr_enc_init(&e, buf, cap);
	rpc_put_call_head(&e, xid, NLM_PROG, NLM4_VERS, NLM4_GRANTED);
	nlm4_put_testargs(&e, cookie, exclusive, l);
	return e.err ? 0 : e.len;
}

static void cb_free(struct nlm_cb *cb, int ok)
{
	struct nfs_server *s = cb->s;

	for (struct nlm_cb **pp = &s->nlm->cbs; *pp; pp = &(*pp)->next)
		if (*pp == cb) {
			*pp = cb->next;
			break;
		}
	if (ok)
		s->nlm->st.callbacks++;
	else
		s->nlm->st.callbacks_failed++;
	loop_timer_close(&s->nasd->loop, &cb->tm);
	loop_del(&s->nasd->loop, &cb->io);
	close(cb->io.fd);
	free(cb);
}

static int send_getport(struct nlm_cb *cb)
{
	uint8_t b[96];
	struct xdr_enc e;
	struct sockaddr_storage pm = cb->to.client;

	xdr_enc_init(&e, b, sizeof(b));
	rpc_put_call_head(&e, cb->xid, PMAP_PROG, PMAP_VERS, PMAP_GETPORT);
	xdr_put_u32(&e, cb->prog);
	xdr_put_u32(&e, cb->vers);
	xdr_put_u32(&e, 17);		/* IPPROTO_UDP */
	xdr_put_u32(&e, 0);
	if (pm.ss_family == AF_INET)
		((struct sockaddr_in *)&pm)->sin_port = htons(PMAP_PORT);
	else
		((struct sockaddr_in6 *)&pm)->sin6_port = htons(PMAP_PORT);
	cb->tries++;
	return sendto(cb->io.fd, b, e.len, MSG_DONTWAIT, (struct sockaddr *)&pm, sizeof(pm)) ==
			       (ssize_t)e.len ? 0 : -1;
}

/* The UDP socket of this node bound to addr (the VIP), or -1. */
static int socket_on(const struct nfs_server *s, const struct sockaddr_storage *addr)
{
	struct taddr a;
	uint16_t port;

	if (taddr_from_sockaddr(addr, &a, &port) < 0)
		return -1;
	for (unsigned i = 0; i < s->nus; i++)
		if (s->us[i].io.fd >= 0 && s->us[i].addr.addr.family == a.family &&
		    memcmp(s->us[i].addr.addr.a, a.a, 16) == 0)
			return s->us[i].io.fd;
	return -1;
}

static void cb_readable(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nlm_cb *cb = io->arg;
	uint8_t b[512];
	uint32_t xid, as, port = 0;
	size_t off;
	struct xdr_dec d;

	(void)l, (void)events;
	ssize_t n = recv(io->fd, b, sizeof(b), MSG_DONTWAIT);
	if (n < 0 || rpc_reply_decode(b, (size_t)n, &xid, &as, &off) < 0 || xid != cb->xid)
		return;	/* not the answer: wait for it (or the timer) */
	xdr_dec_init(&d, b + off, (size_t)n - off);
	if (as != RPC_SUCCESS || xdr_get_u32(&d, &port) < 0 || port == 0 || port > 65535) {
		log_warnx("nlm: the client's portmapper has no program %u v%u over UDP: callback not "
			  "sent", cb->prog, cb->vers);
		cb_free(cb, 0);
		return;
	}
	struct sockaddr_storage to = cb->to.client;
	if (to.ss_family == AF_INET)
		((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)port);
	int fd = socket_on(cb->s, &cb->to.local);
	ssize_t w = sendto(fd >= 0 ? fd : io->fd, cb->msg, cb->len, MSG_DONTWAIT,
			   (struct sockaddr *)&to, sizeof(to));
	cb_free(cb, w == (ssize_t)cb->len);
}

static void cb_timer(struct loop *l, struct loop_timer *t)
{
	struct nlm_cb *cb = t->arg;

	(void)l;
	if (cb->tries >= NLM_CB_TRIES || send_getport(cb) < 0) {
		log_warnx("nlm: the client's portmapper did not answer: callback not sent");
		cb_free(cb, 0);
	}
}

/* Start a callback: msg[0, len) (a whole call) to the port of prog/vers
 * on the client of `to`.  0 / -1 (counted as failed). */
static int cb_start(struct nfs_server *s, const struct nlm_cb_to *to, uint32_t prog,
		    uint32_t vers, const uint8_t *msg, size_t len)
{
	struct nlm_cb *cb = calloc(1, sizeof(*cb) + len);

	if (!cb || !len) {
		free(cb);
		s->nlm->st.callbacks_failed++;
		return -1;
	}
	cb->s = s;
	cb->to = *to;
	cb->prog = prog;
	cb->vers = vers;
	cb->xid = s->nlm->next_xid++;
	cb->len = len;
	memcpy(cb->msg, msg, len);
	cb->io = (struct loop_io){ .fd = socket(to->client.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0),
				   .cb = cb_readable, .arg = cb };
	if (cb->io.fd < 0 || loop_add(&s->nasd->loop, &cb->io, EPOLLIN) < 0) {
		if (cb->io.fd >= 0)
			close(cb->io.fd);
		free(cb);
		s->nlm->st.callbacks_failed++;
		return -1;
	}
	if (loop_timer_init(&s->nasd->loop, &cb->tm, cb_timer, cb) < 0) {
		loop_del(&s->nasd->loop, &cb->io);
		close(cb->io.fd);
		free(cb);
		s->nlm->st.callbacks_failed++;
		return -1;
	}
	cb->next = s->nlm->cbs;
	s->nlm->cbs = cb;
	loop_timer_set(&cb->tm, 1000, 1000);
	send_getport(cb);	/* a failure here: the timer tries again */
	return 0;
}

int nlm_cb_send(struct nfs_server *s, const struct nlm_cb_to *to, const struct nlm_obj *cookie,
		int exclusive, const struct nlm4_lock *l)
{
	uint8_t msg[4096];
	size_t len = nlm_granted_msg(msg, sizeof(msg), s->nlm->next_xid++, cookie, exclusive, l);

	return cb_start(s, to, NLM_PROG, NLM4_VERS, msg, len);
}

int nlm_res_send(struct nfs_server *s, const struct nlm_cb_to *to, uint32_t res_proc,
		 const uint8_t *body, size_t len)
{
	uint8_t msg[2 * NLM_OBJ_MAX + 128];
	struct xdr_enc e;

	if (!len) {
		s->nlm->st.callbacks_failed++;
		return -1;
	}
	xdr_enc_init(&e, msg, sizeof(msg));
	rpc_put_call_head(&e, s->nlm->next_xid++, NLM_PROG, NLM4_VERS, res_proc);
	xdr_put_fixed(&e, body, (uint32_t)len);
	if (e.err) {
		s->nlm->st.callbacks_failed++;
		return -1;
	}
	s->nlm->st.results++;
	return cb_start(s, to, NLM_PROG, NLM4_VERS, msg, e.len);
}

int nlm_notify_send(struct nfs_server *s, const struct nlm_cb_to *to, const char *mon_name)
{
	uint8_t msg[512];
	struct xdr_enc e;

	xdr_enc_init(&e, msg, sizeof(msg));
	rpc_put_call_head(&e, s->nlm->next_xid++, NSM_PROG, NSM_VERS, NSM_NOTIFY);
	xdr_put_opaque(&e, mon_name, (uint32_t)strlen(mon_name));
	xdr_put_u32(&e, (uint32_t)s->nlm->nsm_state);
	return cb_start(s, to, NSM_PROG, NSM_VERS, msg, e.err ? 0 : e.len);
}

void nlm_cb_close_all(struct nfs_server *s)
{
	while (s->nlm->cbs)
		cb_free(s->nlm->cbs, 0);
}
