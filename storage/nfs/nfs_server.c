/*
 * nfs_server.c - tandem-nasd's NFS service (doc/nasd.md "NFS"): opening
 * and closing it, its listeners, its status.  The service's parts are
 * listed in nfs_int.h.
 *
 * Every listener answers every program (portmapper, MOUNT, NFS): clients
 * find MOUNT and NFS on 2049 through the portmapper on 111, so a VIP needs
 * only those two ports (and the same two over UDP, where the portmapper
 * and MOUNT answer too: nfs_udp.c).
 */
#include "nfs_int.h"
#include "nlm.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "storage/log_client.h"
#include "lib/wire.h"
#include "storage/listen.h"

/*
 * Whether to serve a connection just accepted from ss, decided before it
 * has a buffer or a slot: a host outside "clients" (and not a peer) is
 * closed at once (counted once in refused_clients: it has nothing to
 * say that nasd would answer; portmapper, MOUNT and NFS alike); a client
 * address with max_conns_per_client open already too (client_limit); and
 * anyone past max_sessions (the HTTP limit bounds NFS connections too:
 * each holds up to 2 x max_io of buffers; the client retries).  1 or 0.
 */
static int admit(struct nfs_server *s, const struct sockaddr_storage *ss)
{
	int peer;

	if (!nfs_conn_admissible(s, ss, &peer)) {
		char client[TADDR_STRLEN], more[24];
		uint16_t port;
		s->st.refused++;
		if (log_rate_allow(&s->log_conn_refused, more, sizeof(more))) {
			log_client(ss, client, &port);
			log_event(LOG_NOTICE, "nfs_refused", KV_S("client", client),
				  KV_U("client_port", port), KV_S("reason", "client not in \"clients\""),
				  KV_S("not_logged", more[0] ? more : NULL));
		}
		return 0;
	}
	if (!peer && nfs_conns_from(s, ss) >= s->cfg->max_conns_per_client) {
		s->st.client_limit++;
		return 0;
	}
	return s->nconns < s->nasd->cfg.max_sessions;
}

static void accept_ready(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nfs_listener *li = io->arg;
	struct nfs_server *s = li->srv;

	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!admit(s, &ss) || !nfs_conn_new(s, fd, &ss))
			close(fd);
	}
}

/* Socket io of address a (its fd just opened; -1: that failed, errno
 * says why) onto the loop.  0 / -1 (logged: what, a; the fd closed). */
static int arm(struct nfs_server *s, struct loop_io *io, const char *what,
	       const struct nasd_listen *a)
{
	char buf[TADDR_STRLEN];

	if (io->fd < 0) {
		log_warn("nfs: %s %s port %u", what, taddr_fmt(&a->addr, buf, sizeof(buf)), a->port);
		return -1;
	}
	if (loop_add(&s->nasd->loop, io, EPOLLIN) < 0) {
		close(io->fd);
		return -1;
	}
	return 0;
}

/* A TCP listener on a (into ls[]), and a UDP socket on the same address
 * for the portmapper and MOUNT (into us[], nfs_udp.c).  0 / -1 (logged). */
static int add_listener(struct nfs_server *s, const struct nasd_listen *a)
{
	struct nfs_listener *li = &s->ls[s->nls], *u = &s->us[s->nus];

	li->srv = u->srv = s;
	li->addr = u->addr = *a;
	if (tcp_listen_io(&li->io, &a->addr, a->port, 1024, accept_ready, li) < 0)
		li->io.fd = -1;
	if (arm(s, &li->io, "listen", a) < 0)
		return -1;
	s->nls++;
	u->io = (struct loop_io){ .fd = udp_bind(&a->addr, a->port), .cb = nfs_udp_ready, .arg = u };
	if (arm(s, &u->io, "udp", a) < 0)
		return -1;
	s->nus++;
	return 0;
}

void nfs_server_tick(struct nasd *n)
{
	if (n->nfs) {
		nfs_proxy_tick(n->nfs);
		nfs_conn_tick(n->nfs);
		nfs_policy_tick(n->nfs);
		nfs_gids_tick(n->nfs);
	}
}

int nfs_server_open(struct nasd *n)
{
	const struct nasd_nfs_config *cfg = &n->cfg.nfs;
	struct nfs_server *s;
	char err[256];

	if (!cfg->enabled)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->nasd = n;
	s->cfg = cfg;
	s->dirfd = -1;
	n->nfs = s;
	if (!(s->drc = calloc(NFS_DRC_SIZE, sizeof(*s->drc))) ||
	    !(s->stale = calloc(NFS_STALE_SLOTS, sizeof(*s->stale))) ||
	    !(s->fhc_dec = calloc(NFS_FHC_SLOTS, sizeof(*s->fhc_dec))) ||
	    !(s->fhc_enc = calloc(NFS_FHC_SLOTS, sizeof(*s->fhc_enc))) ||
	    !(s->gens = calloc(NFS_GEN_SLOTS, sizeof(*s->gens))) || nfs_gids_init(s) < 0 ||
	    nfs_policy_init(s) < 0)
		return -1;
	if (keyfile_load(cfg->fh_key_file, s->key, &s->keylen, err, sizeof(err)) < 0) {
		log_warnx("nfs: %s", err);
		return -1;
	}
	wire_put64(s->wverf, loop_now_ns() ^ (uint64_t)getpid() << 48);
	if (nfs3_export_open(s) < 0 || nlm_open(s) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->nlisten; i++)
		if (add_listener(s, &cfg->listen[i]) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->npmap; i++)
		if (add_listener(s, &cfg->pmap[i]) < 0)
			return -1;
	nlm_hosts_notify(s);	/* from the listeners' addresses: opened now */
	log_info("nfs: export %s -> %s (id %u, node id %u, %u client network(s), %u listener(s), "
		 "portmapper and MOUNT over UDP too)", cfg->export_name, cfg->path, cfg->export_id,
		 cfg->node_id, cfg->nclients, s->nls);
	return 0;
}

void nfs_server_close(struct nasd *n)
{
	struct nfs_server *s = n->nfs;

	if (!s)
		return;
	while (s->conns)
		nfs_conn_close(s->conns, "shutdown");
	nfs_proxy_close(s);	/* a MNT forwarded from a datagram is answered on its socket: */
	for (unsigned i = 0; i < s->nls; i++) {	/* closed after */
		loop_del(&n->loop, &s->ls[i].io);
		close(s->ls[i].io.fd);
	}
	for (unsigned i = 0; i < s->nus; i++) {
		loop_del(&n->loop, &s->us[i].io);
		close(s->us[i].io.fd);
	}
	nfs3_export_close(s);
	nlm_close(s);
	free(s->drc);
	free(s->stale);
	free(s->fhc_dec);
	free(s->fhc_enc);
	free(s->gens);
	nfs_gids_free(s);
	nfs_policy_free(s);
	free(s);
	n->nfs = NULL;
}

json_t *nfs_status(struct nasd *n)
{
	struct nfs_server *s = n->nfs;
	json_t *o, *p;

	if (!s)
		return json_null();
	o = json_object();
	p = json_object();
	json_object_set_new(o, "export", json_string(s->cfg->export_name));
	json_object_set_new(o, "path", json_string(s->cfg->path));
	json_object_set_new(o, "connections", nfs_ju(s->nconns));
	json_object_set_new(o, "connections_total", nfs_ju(s->st.conns_total));
	json_object_set_new(o, "refused_clients", nfs_ju(s->st.refused));
	json_object_set_new(o, "client_limit", nfs_ju(s->st.client_limit));
	json_object_set_new(o, "idle_closed", nfs_ju(s->st.idle_closed));
	json_object_set_new(o, "records", nfs_ju(s->st.records));
	json_object_set_new(o, "calls", nfs_ju(s->st.calls));
	json_object_set_new(o, "replies", nfs_ju(s->st.replies));
	json_object_set_new(o, "dropped", nfs_ju(s->st.dropped));
	json_object_set_new(o, "garbage_args", nfs_ju(s->st.garbage_args));
	json_object_set_new(o, "proc_unavail", nfs_ju(s->st.proc_unavail));
	json_object_set_new(o, "prog_unavail", nfs_ju(s->st.prog_unavail));
	json_object_set_new(o, "prog_mismatch", nfs_ju(s->st.prog_mismatch));
	json_object_set_new(o, "rpc_mismatch", nfs_ju(s->st.rpc_mismatch));
	json_object_set_new(o, "auth_errors", nfs_ju(s->st.auth_errors));
	json_object_set_new(o, "bad_handles", nfs_ju(s->st.bad_handles));
	json_object_set_new(o, "stale", nfs_ju(s->st.stale));
	json_object_set_new(o, "records_too_big", nfs_ju(s->st.too_big));
	json_object_set_new(o, "bytes_read", nfs_ju(s->st.bytes_read));
	json_object_set_new(o, "bytes_written", nfs_ju(s->st.bytes_written));
	json_object_set_new(o, "inode_cache", nfs_ju(s->nino));
	json_object_set_new(o, "scans", nfs_ju(s->st.scans));
	json_object_set_new(o, "stale_cached", nfs_ju(s->st.stale_cached));
	json_object_set_new(o, "handle_cache", json_pack("{s:o, s:o, s:o, s:o}", "hits",
		nfs_ju(s->st.fh_hits), "macs", nfs_ju(s->st.fh_macs), "gen_hits",
		nfs_ju(s->st.gen_hits), "gen_reads", nfs_ju(s->st.gen_reads)));
	json_object_set_new(o, "drc_hits", nfs_ju(s->st.drc_hits));
	json_object_set_new(o, "namespace", json_boolean(s->cfg->vroot));
	json_object_set_new(o, "forwarded", nfs_ju(s->st.forwarded));
	json_object_set_new(o, "forward_errors", nfs_ju(s->st.forward_errors));
	json_object_set_new(o, "from_peers", nfs_ju(s->st.from_peers));
	json_object_set_new(o, "fwd_decided", nfs_ju(s->st.fwd_decided));
	json_object_set_new(o, "generation", nfs_ju(s->cl.generation));	/* cluster map in use */
	json_object_set_new(o, "cluster", nfs_cluster_status(s->nasd));
	json_object_set_new(o, "udp", json_pack("{s:o, s:o, s:o, s:o}", "datagrams", nfs_ju(s->st.udp_in),
		"replies", nfs_ju(s->st.udp_out), "refused", nfs_ju(s->st.udp_refused),
		"dropped", nfs_ju(s->st.udp_dropped)));
	json_object_set_new(o, "nlm", nlm_status(s));
	json_object_set_new(o, "frozen", nfs_ju(s->st.frozen));
	json_object_set_new(o, "restored", nfs_ju(s->st.restored));
	json_object_set_new(o, "policy", nfs_policy_json(s));
	json_object_set_new(o, "manage_gids", !s->cfg->manage_gids ? json_null() :
		json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "lookups",
			  nfs_ju(s->st.gids_lookups), "hits", nfs_ju(s->st.gids_hits),
			  "unknown", nfs_ju(s->st.gids_unknown),
			  "truncated", nfs_ju(s->st.gids_truncated), "held", nfs_ju(s->st.gids_held),
			  "timeouts", nfs_ju(s->st.gids_timeouts), "misses", nfs_ju(s->st.gids_misses),
			  "batches", nfs_ju(s->st.gids_batches)));
	for (unsigned i = 0; i < NFS3_NPROC; i++)
		json_object_set_new(p, nfs3_procname(i), nfs_ju(s->st.proc[i]));
	json_object_set_new(o, "procs", p);
	return o;
}
