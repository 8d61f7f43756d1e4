# The sources each fuzz target is built from (besides its own file): the
# parser under test and what it calls, nothing more.  Included by the
# top Makefile; FUZZ_SRC_<target> for every tests/fuzz/<target>.c.
FUZZ_SRC_fuzz_api_req       := mgmt-web/api_req.c mgmt-web/api_guard.c lib/jsonconf.c lib/addr.c lib/err.c
FUZZ_SRC_fuzz_cluster       := lib/cluster_wire.c lib/wire.c
FUZZ_SRC_fuzz_config        := lib/config.c lib/config_pair.c lib/config_dir.c lib/config_bgp.c lib/jsonconf.c lib/maglev.c lib/addr.c
FUZZ_SRC_fuzz_export_path  := storage/http/export.c storage/http/http_parse.c storage/cidr.c lib/bearer.c \
	lib/keyfile.c lib/log.c lib/log_fmt.c lib/loop.c lib/addr.c lib/jsonconf.c lib/err.c
FUZZ_SRC_fuzz_handoff       := lib/handoff_wire.c lib/handoff_key.c lib/keyfile.c lib/wire.c lib/err.c
FUZZ_SRC_fuzz_http          := storage/http/http_parse.c
FUZZ_SRC_fuzz_http_session := storage/http/http_server.c storage/http/session.c \
	storage/http/session_state.c storage/http/export.c storage/http/upload.c \
	storage/http/http_response.c storage/http/http_parse.c storage/http/remote.c \
	storage/http/remote_fetch.c storage/http/http_resp.c storage/cidr.c storage/listen.c \
	storage/log_client.c storage/nfs/nfs_policy.c storage/nfs/nfs_dirlink.c \
	lib/loop.c lib/log.c lib/log_fmt.c lib/netio.c lib/keyfile.c lib/bearer.c lib/addr.c lib/jsonconf.c lib/err.c lib/wire.c
FUZZ_SRC_fuzz_http_resp     := storage/http/http_resp.c
FUZZ_SRC_fuzz_nfs_policy    := storage/nfs/nfs_policy_config.c storage/nfs/nfs_dirlink.c storage/cidr.c lib/jsonconf.c lib/addr.c
FUZZ_SRC_fuzz_packet        := lib/addr.c
FUZZ_SRC_fuzz_rpc           := storage/nfs/oncrpc.c storage/nfs/xdr.c storage/nfs/nfs3_xdr.c storage/nfs/rpcb_xdr.c \
	storage/nfs/nlm_xdr.c storage/nfs/nlm_lock.c \
	storage/nfs/nfs_fh.c lib/wire.c lib/err.c
FUZZ_SRC_fuzz_session_state := storage/http/session_state.c lib/wire.c lib/err.c
FUZZ_SRC_fuzz_sync          := sessionsync/sync_wire.c lib/wire.c lib/keyfile.c lib/err.c
FUZZ_SRC_fuzz_tch_state     := storage/tch/tch_state.c storage/tch/tch_held.c lib/wire.c lib/err.c
FUZZ_SRC_fuzz_bundle        := appliance/tandemctl/bundle.c lib/jsonconf.c lib/addr.c lib/err.c
FUZZ_SRC_fuzz_nfs_proc      := tests/fuzz/nfs_tree.c storage/nfs/nfs_call.c storage/nfs/nfs_conn.c storage/nfs/nfs_drc.c storage/nfs/nfs_policy.c storage/nfs/nfs_dirlink.c \
	storage/nfs/nfs3_call.c storage/nfs/nfs3_handle.c storage/nfs/nfs3_obj.c \
	storage/nfs/nfs3_attr.c storage/nfs/nfs3_io.c storage/nfs/nfs3_readdir.c \
	storage/nfs/nfs3_entry.c storage/nfs/nfs3_vroot.c storage/nfs/mount3.c storage/nfs/portmap.c storage/nfs/rpcbind.c storage/nfs/rpcb_xdr.c \
	storage/nfs/nlm.c storage/nfs/nlm_cb.c storage/nfs/nlm_hosts.c storage/nfs/nlm_lock.c storage/nfs/nlm_xdr.c storage/nfs/nsm.c \
	storage/nfs/nfs_proxy.c storage/nfs/nfs_xrename.c storage/nfs/nfs_udp.c storage/nfs/nfs_home.c \
	storage/nfs/nfs_freeze.c storage/nfs/nfs3_xdr.c storage/nfs/nfs_gids.c \
	storage/nfs/xdr.c storage/nfs/oncrpc.c storage/nfs/nfs_fh.c storage/cidr.c storage/listen.c \
	storage/log_client.c \
	lib/loop.c lib/log.c lib/log_fmt.c lib/wire.c lib/err.c lib/addr.c lib/jsonconf.c
FUZZ_SRC_fuzz_metrics       := lib/bearer.c lib/keyfile.c lib/prom.c lib/jsonconf.c lib/addr.c \
	lib/err.c mgmt-web/metrics_conf.c mgmt-web/metrics_page.c storage/metrics_page.c
