/* test_nfs_dirlink: the directory replica's link to its providers read
 * from /proc/net/tcp[6] text (storage/nfs/nfs_dirlink.c). */
#include <string.h>

#include "check.h"
#include "storage/nfs/nfs_int.h"

static const char hdr[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

static int scan(const char *text, const struct taddr *p, const uint16_t *port, unsigned n)
{
	return nfs_dirlink_scan(text, strlen(text), p, port, n);
}

int main(void)
{
	struct taddr prov[2];
	uint16_t port[2] = { 389, 389 };
	char t[1024];

	taddr_parse("10.77.2.2", &prov[0]);
	taddr_parse("10.77.2.3", &prov[1]);
	/* 10.77.2.11:41394 -> 10.77.2.3:389, as the kernel prints it (x86) */
	snprintf(t, sizeof(t), "%s   0: 0B024D0A:A1B2 03024D0A:0185 01 00000000:00000000 02:00000A3C 00000000     0        0 1234 2\n", hdr);
	CHECK(scan(t, prov, port, 2) == 1, "an established connection to provider 2 is a link");
	snprintf(t, sizeof(t), "%s   0: 0B024D0A:A1B2 03024D0A:0185 02 00000000:00000000 00:00000000 00000000     0        0 1234 2\n", hdr);
	CHECK(scan(t, prov, port, 2) == 0, "SYN_SENT (a provider cut off, syncrepl retrying) is not");
	snprintf(t, sizeof(t), "%s   0: 0B024D0A:A1B2 03024D0A:0186 01 00000000:00000000 00:00000000 00000000     0        0 1234 2\n", hdr);
	CHECK(scan(t, prov, port, 2) == 0, "another port of the provider is not");
	snprintf(t, sizeof(t), "%s   0: 0B024D0A:0185 04024D0A:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 1234 2\n", hdr);
	CHECK(scan(t, prov, port, 2) == 0, "another host is not (nor a local port 389)");
	/* v6 socket, v4-mapped peer ::ffff:10.77.2.2 */
	snprintf(t, sizeof(t), "   0: 0000000000000000FFFF00000B024D0A:A1B2 0000000000000000FFFF000002024D0A:0185 01 0 0\n");
	CHECK(scan(t, prov, port, 2) == 1, "a v4-mapped peer of a v6 socket counts as the v4 provider");
	CHECK(scan("", prov, port, 2) == 0, "an empty table: no link");
	CHECK(scan("garbage 1 2 3\n\n   :  : 01\n", prov, port, 2) == 0, "garbage: no link");
	return check_done();
}
