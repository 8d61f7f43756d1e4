/*
 * nfs_udp.c - the portmapper and MOUNT over UDP (doc/nasd.md "NFS").
 * Clients find services with UDP: libtirpc's clnt_create() (rpcinfo,
 * showmount, mount.nfs) asks the portmapper on udp/111 for a port, and
 * MOUNT is often called over UDP; NFS itself stays TCP only.
 *
 * A UDP socket on every listener address (the VIPs and the node's own,
 * NFS "listen" and "portmap"; nfs_server.c opens them beside the TCP
 * listeners), bound to the address itself, so a reply
 * leaves from the address the client sent to (the VIP, which every node
 * has on lo).  One datagram is one RPC call, without record marking; the
 * reply goes to its source.  Who may ask is decided per datagram as at a
 * connection's accept: a source outside "clients" (and no namespace peer)
 * gets no answer at all (udp_refused); a datagram over NFS_UDP_MAX, or one
 * that cannot be answered, is dropped (udp_dropped).  The call runs through
 * the same decoders and dispatchers as a connection's (nfs_call.c), with no
 * duplicate request cache (MOUNT and the portmapper keep no state worth
 * caching).  A MNT below a directory homed on another node is forwarded as
 * over TCP; its reply is sent to the datagram's source when it comes.
 *
 * Amplification: the largest reply (MOUNT EXPORT with 32 client networks)
 * is about 1.5 KiB for a call of about 40 bytes; only hosts inside
 * "clients" are answered, and the portmapper offers no CALLIT.
 */
#include "nfs_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/wire.h"

static void reply_to(struct nfs_server *s, const struct nfs_dgram *dg, const uint8_t *buf,
		     size_t len)
{
	if (sendto(dg->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&dg->peer,
		   dg->peerlen) == (ssize_t)len)
		s->st.udp_out++;
	else
		s->st.udp_dropped++;	/* the socket buffer is full: the client retries */
}

void nfs_udp_ready(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nfs_listener *u = io->arg;
	struct nfs_server *s = u->srv;
	uint8_t in[NFS_UDP_MAX], out[NFS_UDP_MAX];

	(void)l;
	(void)events;
	for (int i = 0; i < 32; i++) {	/* then let the loop serve the others */
		struct nfs_dgram dg = { .fd = io->fd, .peerlen = sizeof(dg.peer) };
		ssize_t n = recvfrom(io->fd, in, sizeof(in), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&dg.peer, &dg.peerlen);
		int peer;

		if (n < 0)
			return;
		s->st.udp_in++;
		if ((size_t)n > sizeof(in)) {
			s->st.udp_dropped++;	/* cut short: not a whole call */
			continue;
		}
		if (!nfs_conn_admissible(s, &dg.peer, &peer)) {
			s->st.udp_refused++;
			continue;
		}
		size_t rl = nfs_call_datagram(s, &dg, 1, in, (size_t)n, out, sizeof(out));
		if (rl)
			reply_to(s, &dg, out, rl);
	}
}

/* ---- a MNT forwarded to its home node ---- */

struct udp_fwd {
	struct nfs_dgram dg;
	uint32_t xid;
};

static void forwarded(struct nfs_server *s, void *arg, const uint8_t *reply, size_t len)
{
	struct udp_fwd *f = arg;
	uint8_t out[NFS_UDP_MAX];
	struct xdr_enc e;

	if (reply && len >= 4 && len <= sizeof(out)) {
		memcpy(out, reply, len);
		wire_put32(out, f->xid);	/* the home answered our own xid */
	} else {
		s->st.forward_errors++;
		xdr_enc_init(&e, out, sizeof(out));
		rpc_reply_accepted(&e, f->xid, RPC_SYSTEM_ERR);
		len = e.len;
	}
	reply_to(s, &f->dg, out, len);
	free(f);
}

int nfs_udp_forward(struct nfs_req *r, uint8_t node_id)
{
	struct udp_fwd *f = malloc(sizeof(*f));

	if (!f)
		return -1;
	f->dg = *r->dg;
	f->xid = r->call->xid;
	if (nfs_proxy_call(r->srv, node_id, r->rec, r->rec_len, forwarded, f) < 0) {
		free(f);
		return -1;
	}
	r->srv->st.forwarded++;
	return 0;
}
