/*
 * Config parser: the example parses; each kind of bad file gets a clear
 * message naming the offending key, never a crash; defaults are applied.
 */
#include <netinet/in.h>
#include <string.h>

#include "config_check.h"
#include "lib/config.h"

#define BASE_NODES "\"nodes\":[{\"name\":\"n1\",\"address\":\"10.0.0.1\"}]"
#define BASE_VIPS "\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"tcp\",\"port\":80}]}]"
#define IFS "\"client_interface\":\"eth0\",\"storage_interface\":\"eth1\""
#define SVC_HEAD "{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send_hex\":\""

int main(void)
{
	char err[300];

	CHECK(config_load("appliance/examples/tandem.json", &cfg, err, sizeof(err)) == 0,
	      "example config parses (%s)", err);
	CHECK(cfg.nnodes == 3 && cfg.nvips == 2 && cfg.nsvc_total == 7 && cfg.nodes[2].weight == 200 &&
	      cfg.vips[1].addr.family == 6, "example content");

	CHECK(parse("{" IFS "," BASE_NODES "," BASE_VIPS "}", err, sizeof(err)) == 0,
	      "minimal config parses (%s)", err);
	CHECK(!strcmp(cfg.instance, "default") && cfg.flow_table_size == 1048576 &&
	      cfg.maglev_size == 65537 && cfg.health.fall == 3 && cfg.nodes[0].weight == 100 &&
	      cfg.attach == CFG_ATTACH_TC, "defaults applied");

	bad("", "line 1");
	bad("{", "line 1");
	bad("[]", "top level must be a JSON object");
	bad("{" BASE_NODES "," BASE_VIPS "}", "\"client_interface\" is required");
	bad("{" IFS "," BASE_VIPS "}", "\"nodes\" is required");
	bad("{" IFS "," BASE_NODES "}", "\"vips\" is required");
	bad("{" IFS ",\"nodez\":1," BASE_NODES "," BASE_VIPS "}", "unknown key \"nodez\"");
	bad("{" IFS ",\"flow_table_size\":10," BASE_NODES "," BASE_VIPS "}", "\"flow_table_size\" is 10");
	bad("{" IFS ",\"flow_table_size\":\"big\"," BASE_NODES "," BASE_VIPS "}", "must be an integer");
	bad("{" IFS ",\"maglev_size\":65541," BASE_NODES "," BASE_VIPS "}", "not prime");
	bad("{" IFS ",\"attach\":\"dpdk\"," BASE_NODES "," BASE_VIPS "}", "\"attach\" \"dpdk\"");
	bad("{" IFS ",\"health\":{\"interval_ms\":200,\"timeout_ms\":500}," BASE_NODES "," BASE_VIPS "}",
	    "health: \"timeout_ms\" (500) must not exceed");
	bad("{" IFS ",\"nodes\":[{\"name\":\"n1\",\"address\":\"10.0.0.300\"}]," BASE_VIPS "}",
	    "nodes[0]: \"address\" \"10.0.0.300\" is not an IPv4 or IPv6 address");
	bad("{" IFS ",\"nodes\":[{\"name\":\"n1\",\"address\":\"10.0.0.1\"},{\"name\":\"n1\",\"address\":\"10.0.0.2\"}]," BASE_VIPS "}",
	    "nodes[1]: duplicate node name \"n1\"");
	bad("{" IFS ",\"nodes\":[{\"name\":\"n 1\",\"address\":\"10.0.0.1\"}]," BASE_VIPS "}",
	    "use letters, digits");
	bad("{" IFS ",\"nodes\":[{\"name\":\"n1\",\"address\":\"10.0.0.1\",\"weight\":-1}]," BASE_VIPS "}",
	    "\"weight\" is -1");
	bad("{" IFS ",\"nodes\":[]," BASE_VIPS "}", "non-empty array");
	bad("{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"sctp\",\"port\":80}]}]}",
	    "vips[0].services[0]: \"proto\" \"sctp\"");
	bad("{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"tcp\",\"port\":0}]}]}",
	    "\"port\" is 0");
	bad("{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"tcp\"}]}]}",
	    "\"port\" is required");
	bad("{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.0.1\",\"services\":[{\"proto\":\"tcp\",\"port\":1}]}]}",
	    "node \"n1\"'s address");
	bad("{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"tcp\",\"port\":1},{\"proto\":\"tcp\",\"port\":1}]}]}",
	    "duplicate service tcp/1");
	bad("{\"client_interface\":\"eth0\",\"storage_interface\":\"eth0\"," BASE_NODES "," BASE_VIPS "}",
	    "must differ");
	bad("{" IFS ",\"instance\":\"a\",\"instance\":\"b\"," BASE_NODES "," BASE_VIPS "}", "duplicate");
	bad("{" IFS ",\"control_socket\":\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"," BASE_NODES "," BASE_VIPS "}",
	    "too long");
	/* pairing sections */
	CHECK(parse("{" IFS "," BASE_NODES "," BASE_VIPS ",\"sync\":{\"switch_id\":1,\"local\":\"10.9.0.1\",\"peer\":\"10.9.0.2\",\"key_file\":\"/k\"},"
		    "\"vrrp\":{\"priority\":150,\"advert_int_ms\":200,\"storage_gateways\":[\"10.0.0.254/24\",\"fd00::1/64\"]}}",
		    err, sizeof(err)) == 0, "sync and vrrp parse (%s)", err);
	CHECK(cfg.sync.enabled && cfg.sync.port == 7405 && cfg.sync.peer_dead_ms == 3000 &&
	      cfg.vrrp.enabled && cfg.vrrp.priority == 150 && cfg.vrrp.ngw == 2 && cfg.vrrp.preempt &&
	      cfg.vrrp.router_id == 51, "pairing defaults and values");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"sync\":{\"local\":\"10.9.0.1\",\"peer\":\"10.9.0.2\",\"key_file\":\"/k\"}}",
	    "sync: \"switch_id\" is required");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"sync\":{\"switch_id\":1,\"local\":\"10.9.0.1\",\"peer\":\"fd00::2\",\"key_file\":\"/k\"}}",
	    "same address family");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"sync\":{\"switch_id\":1,\"local\":\"10.9.0.1\",\"peer\":\"10.9.0.1\",\"key_file\":\"/k\"}}",
	    "must differ");
	/* a scale-out group: every member listed, local among them */
#define GRP(list) ",\"sync\":{\"switch_id\":2,\"local\":\"10.9.0.2\",\"key_file\":\"/k\",\"group\":" list "}}"
	CHECK(parse("{" IFS "," BASE_NODES "," BASE_VIPS GRP("[\"10.9.0.1\",\"10.9.0.2\",\"10.9.0.3\"]"),
		    err, sizeof(err)) == 0, "sync group parses (%s)", err);
	CHECK(cfg.sync.enabled && cfg.sync.nmembers == 3 && cfg.sync.self == 1 &&
	      cfg.sync.members[2].a[3] == 3, "sync group: members and this switch's index");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS GRP("[\"10.9.0.1\",\"10.9.0.3\"]"), "must list \"local\"");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS GRP("[\"10.9.0.2\",\"10.9.0.2\"]"), "listed twice");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS GRP("[\"10.9.0.2\"]"), "array of 2 to 8");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS GRP("[\"10.9.0.2\",\"fd00::3\"]"), "address family");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS GRP("[\"10.9.0.2\",\"x\"]"), "\"group\"[1] is not");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"sync\":{\"switch_id\":1,\"local\":\"10.9.0.1\",\"key_file\":\"/k\"}}",
	    "one of \"peer\"");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"sync\":{\"switch_id\":1,\"local\":\"10.9.0.1\",\"peer\":\"10.9.0.2\","
	    "\"group\":[\"10.9.0.1\",\"10.9.0.2\"],\"key_file\":\"/k\"}}", "one of \"peer\"");
#undef GRP
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"vrrp\":{\"advert_int_ms\":205}}", "multiple of 10");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"vrrp\":{\"storage_gateways\":[\"10.0.0.1\"]}}", "missing /prefix");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"vrrp\":{\"client_gateways\":[\"10.0.0.1/33\"]}}", "not addr/prefix");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"vrrp\":{\"unicast_src\":\"10.0.0.1\"}}", "needs \"unicast_peer\"");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"vrrp\":{\"priority\":255}}", "\"priority\" is 255");
	/* "nfs": the NFS namespace map lbd hands to the nodes */
#define HO ",\"handoff\":{\"key_file\":\"/k\"}"
	CHECK(parse("{" IFS "," BASE_NODES "," BASE_VIPS HO ",\"nfs\":{\"clients\":[\"10.0.2.0/24\",\"fd00::1\"],"
		    "\"homes\":[{\"dir\":\"alpha\",\"node\":\"n1\"},{\"dir\":\"beta\",\"node\":\"n1\"}]}}",
		    err, sizeof(err)) == 0, "nfs section parses (%s)", err);
	CHECK(cfg.nfs.enabled && !strcmp(cfg.nfs.export_name, "/export") && cfg.nfs.nclients == 2 &&
	      cfg.nfs.clients[1].plen == 128 && cfg.nfs.nhomes == 2 && !strcmp(cfg.nfs.homes[1].dir, "beta") &&
	      cfg.nfs.handoff_threshold == 1048576, "nfs defaults and content");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS ",\"nfs\":{\"clients\":[\"10.0.2.0/24\"],\"homes\":[]}}",
	    "nfs: needs the \"handoff\" section");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS HO ",\"nfs\":{\"clients\":[\"10.0.2.0/24\"],"
	    "\"homes\":[{\"dir\":\"a\",\"node\":\"n2\"}]}}", "nfs.homes[0]: \"node\" \"n2\" is not one of");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS HO ",\"nfs\":{\"clients\":[\"10.0.2.0/24\"],"
	    "\"homes\":[{\"dir\":\"a/b\",\"node\":\"n1\"}]}}", "must be one name");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS HO ",\"nfs\":{\"clients\":[\"10.0.2.0/24\"],"
	    "\"homes\":[{\"dir\":\"a\",\"node\":\"n1\"},{\"dir\":\"a\",\"node\":\"n1\"}]}}", "\"a\" twice");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS HO ",\"nfs\":{\"clients\":[\"10.0.2.0/33\"],\"homes\":[]}}",
	    "clients[0]: want");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS HO ",\"nfs\":{\"export\":\"x\",\"clients\":[\"10.0.2.0/24\"],\"homes\":[]}}",
	    "must start with '/'");
	bad("{" IFS "," BASE_NODES "," BASE_VIPS HO ",\"nfs\":{\"clients\":[\"10.0.2.0/24\"]}}", "\"homes\" must be");
	/* health probes per service */
#define SVC(x) "{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":[" x "]}]}"
	CHECK(parse(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send_hex\":\"7464 0100\",\"expect_hex\":\"74\",\"expect_prefix\":true}},"
		    "{\"proto\":\"udp\",\"port\":7,\"probe\":{\"send\":\"hi\\r\\n\",\"expect\":\"hi\\r\\n\"}},"
		    "{\"proto\":\"tcp\",\"port\":22,\"probe\":{\"expect\":\"SSH-\"}},{\"proto\":\"udp\",\"port\":9}"),
		    err, sizeof(err)) == 0, "probes parse (%s)", err);
	const struct cfg_probe *pr = config_probe(&cfg, IPPROTO_UDP, 53);
	CHECK(pr && pr->send_len == 4 && pr->send[0] == 0x74 && pr->send[3] == 0x00 && pr->expect_len == 1 &&
	      pr->expect_prefix, "udp/53 probe: hex with spaces, prefix");
	pr = config_probe(&cfg, IPPROTO_UDP, 7);
	CHECK(pr && pr->send_len == 4 && !memcmp(pr->send, "hi\r\n", 4) && !pr->expect_prefix,
	      "udp/7 probe: text, exact by default");
	pr = config_probe(&cfg, IPPROTO_TCP, 22);
	CHECK(pr && pr->send_len == 0 && pr->expect_prefix, "tcp/22 probe: banner, prefix by default");
	CHECK(!config_probe(&cfg, IPPROTO_UDP, 9) && !config_probe(&cfg, IPPROTO_TCP, 53) &&
	      cfg.vips[0].svc[3].probe == -1, "no probe where none is given");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"expect\":\"x\"}}"), "a udp probe needs \"send\"");
	bad(SVC("{\"proto\":\"tcp\",\"port\":80,\"probe\":{\"send\":\"GET\"}}"), "a tcp probe needs \"expect\"");
	bad(SVC("{\"proto\":\"tcp\",\"port\":80,\"probe\":{\"expect\":\"H\",\"expect_prefix\":false}}"),
	    "must be true for tcp");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send\":\"a\",\"send_hex\":\"61\"}}"), "not both");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send_hex\":\"123\"}}"), "pairs of hex digits");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send_hex\":\"zz\"}}"), "pairs of hex digits");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send_hex\":\"  \"}}"), "pairs of hex digits");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send\":\"\"}}"), "string of 1..512 bytes");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send\":\"a\",\"expect_prefix\":true}}"),
	    "\"expect_prefix\" without");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send\":\"a\",\"timeout\":1}}"),
	    "vips[0].services[0]: unknown key \"timeout\"");
	bad(SVC("{\"proto\":\"udp\",\"port\":53,\"probe\":\"dns\"}"), "\"probe\" must be an object");
	bad("{" IFS "," BASE_NODES ",\"vips\":[{\"name\":\"v\",\"address\":\"10.0.1.1\",\"services\":["
	    "{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send\":\"a\"}}]},{\"name\":\"w\",\"address\":\"10.0.1.2\","
	    "\"services\":[{\"proto\":\"udp\",\"port\":53,\"probe\":{\"send\":\"b\"}}]}]}",
	    "vips[1].services[0]: \"probe\" differs from vips[0].services[0]'s");
	{
		char big[2048] = SVC_HEAD;
		size_t n = strlen(big);
		for (int i = 0; i < 513; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "ab");
		snprintf(big + n, sizeof(big) - n, "\"}}]}]}");
		bad(big, "1..512 bytes as pairs of hex digits");
	}
	CHECK(config_load("/nonexistent/tandem.json", &cfg, err, sizeof(err)) < 0 &&
	      strstr(err, "/nonexistent/tandem.json: No such file"), "missing file: %s", err);
	return check_done();
}
