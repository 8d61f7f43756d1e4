/* Unit tests: tandem-nasd's exports (path safety beneath an export with
 * openat2, uploads through temp files) and its configuration parser. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "storage/http/http.h"

static char root[64], outside[128];

static void put(const char *rel, const char *content)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

static void sub(const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	mkdir(p, 0755);
}

static void link_(const char *target, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (symlink(target, p) < 0)
		perror(p);
}

static char *slurp(const char *rel)
{
	static char buf[256];
	char p[256];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static struct nasd_config cfg;

/* GET status of a clean path ("" + 0 = served). */
static int get(const char *path)
{
	struct export_ref ref;
	struct export_file f;
	int st;

	if (export_find(&cfg, path, &ref) < 0)
		return 404;
	st = export_open_file(&ref, &f);
	if (st == 0)
		close(f.fd);
	return st;
}

static void test_get(void)
{
	CHECK(get("/pub/a.txt") == 0, "a file");
	CHECK(get("/pub/d/b.txt") == 0, "a file in a subdirectory");
	CHECK(get("/pub/in-link") == 0, "a relative symlink staying inside");
	CHECK(get("/pub/d/up-in") == 0, "a ../ symlink staying inside");
	CHECK(get("/pub/nope") == 404, "missing: 404");
	CHECK(get("/pub/a.txt/x") == 404, "file as a directory: 404");
	CHECK(get("/pub/d") == 403 && get("/pub/") == 403 && get("/pub") == 403, "directories: 403");
	CHECK(get("/pub/abs-out") == 403, "absolute symlink out: 403");
	CHECK(get("/pub/rel-out") == 403, "relative symlink climbing out: 403");
	CHECK(get("/pub/dir-out/passwd") == 403, "through a symlinked directory out: 403");
	CHECK(get("/pub/abs-in") == 403, "absolute symlink (even to inside): 403");
	CHECK(get("/pub/fifo") == 403, "fifo: 403 (and no blocking open)");
	CHECK(get("/pub/" SST_TMP_PREFIX "x") == 404, "temp files are never served");
	CHECK(get("/other") == 404, "outside every export: 404");

	struct export_ref ref;
	CHECK(export_find(&cfg, "/pub/up/x", &ref) == 0 && !strcmp(ref.ex->url, "/pub/up/") &&
	      !strcmp(ref.rel, "x"), "longest export prefix wins");
	CHECK(export_find(&cfg, "/pub/up", &ref) == 0 && !strcmp(ref.ex->url, "/pub/up/") &&
	      !strcmp(ref.rel, ""), "an export's URL without its '/' is its root");
	CHECK(!strcmp(export_content_type("/a/x.HTML"), "text/html") &&
	      !strcmp(export_content_type("/a.b/x"), "application/octet-stream"), "content types");
}

static int begin(const char *path, uint64_t len, struct export_upload *u)
{
	struct export_ref ref;

	if (export_find(&cfg, path, &ref) < 0)
		return 404;
	int st = export_upload_begin(&ref, 7, u);
	if (st)
		return st;
	/* what upload.c does next: reserve (here the whole announced length) */
	return export_upload_reserve(u, 0, len) == 507 ? 507 : 0;
}

static void test_upload(void)
{
	struct export_upload u, u2;
	struct export_ref ref;
	struct stat st;
	char p[512];

	CHECK(begin("/pub/a.txt", 3, &u) == 403, "PUT to a read-only export: 403");
	CHECK(begin("/pub/up/", 3, &u) == 409, "PUT to a directory path: 409");
	CHECK(begin("/pub/up/sub", 3, &u) == 409, "PUT over a directory: 409");
	CHECK(begin("/pub/up/nodir/x", 3, &u) == 409, "PUT into a missing directory: 409");
	CHECK(begin("/pub/up/out/x", 3, &u) == 403, "PUT through a symlink out: 403");
	CHECK(begin("/pub/up/" SST_TMP_PREFIX "x", 3, &u) == 403, "PUT to a temp file name: 403");

	CHECK(begin("/pub/up/new.bin", 5, &u) == 0 && !u.existed && u.fd >= 0, "PUT new file: begins");
	CHECK(write(u.fd, "hel", 3) == 3, "writes part of the body");
	snprintf(p, sizeof(p), "%s/up/%s", root, u.tmp);
	CHECK(stat(p, &st) == 0 && st.st_size == 3, "temp file next to the target, size = bytes written");
	CHECK(slurp("up/new.bin") == NULL, "target not visible before the commit");
	/* a handoff: the temp file is left on disk, reopened by the new owner */
	char tmp[SST_MAX_NAME + 1];
	snprintf(tmp, sizeof(tmp), "%s", u.tmp);
	export_upload_abort(&u, 0);
	CHECK(stat(p, &st) == 0, "abort without unlink keeps the temp file");
	CHECK(export_find(&cfg, "/pub/up/new.bin", &ref) == 0 &&
	      export_upload_reopen(&ref, tmp, 4, &u2) < 0, "reopen refuses a file shorter than received");
	CHECK(export_upload_reopen(&ref, "../x", 0, &u2) < 0, "reopen refuses a non-temp name");
	CHECK(export_upload_reopen(&ref, tmp, 2, &u2) == 0, "reopen at 2 of 3 bytes");
	CHECK(stat(p, &st) == 0 && st.st_size == 2, "cut to the bytes received");
	CHECK(write(u2.fd, "llo", 3) == 3 && export_upload_commit(&u2, 1) == 0, "rest written, committed");
	CHECK(slurp("up/new.bin") && !strcmp(slurp("up/new.bin"), "hello"), "target has the whole body");
	CHECK(stat(p, &st) < 0, "temp file gone after the rename");

	CHECK(begin("/pub/up/new.bin", 2, &u) == 0 && u.existed, "PUT over an existing file: existed");
	CHECK(write(u.fd, "hi", 2) == 2 && export_upload_commit(&u, 0) == 0 &&
	      !strcmp(slurp("up/new.bin"), "hi"), "replaced atomically");
	CHECK(begin("/pub/up/gone.bin", 2, &u) == 0, "another upload");
	snprintf(p, sizeof(p), "%s/up/%s", root, u.tmp);
	export_upload_abort(&u, 1);
	CHECK(stat(p, &st) < 0 && slurp("up/gone.bin") == NULL, "abort removes the temp file");
}

#define TOKEN "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static struct http_slice sl(const char *v)
{
	return (struct http_slice){ v, v ? strlen(v) : 0 };
}

static void peer4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, a, &in->sin_addr);
}

static void peer6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6 *in = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &in->sin6_addr);
}

/* The export's "clients" and the bearer token of a writable one. */
static void test_access(void)
{
	const struct nasd_export *pub = &cfg.exports[0], *up = &cfg.exports[1];
	struct sockaddr_storage ss;

	CHECK(up->writable && up->token_len == 32, "token loaded from a 0600 file");
	peer4(&ss, "10.1.2.3");
	CHECK(export_client_ok(pub, &ss) && export_client_ok(up, &ss), "client inside \"clients\"");
	peer4(&ss, "10.2.0.1");
	CHECK(!export_client_ok(pub, &ss) && export_client_ok(up, &ss),
	      "client outside: refused (an export without \"clients\": anyone)");
	peer6(&ss, "::ffff:10.1.0.9");
	CHECK(export_client_ok(pub, &ss), "an IPv4-mapped client matches the IPv4 network");
	CHECK(export_write_auth(up, sl(NULL)) == 401, "PUT without Authorization: 401");
	CHECK(export_write_auth(up, sl("Basic dXNlcjpwYXNz")) == 401, "other scheme: 401");
	CHECK(export_write_auth(up, sl("Bearer " TOKEN)) == 0, "the token: allowed");
	CHECK(export_write_auth(up, sl("bearer  " TOKEN)) == 0, "scheme case, extra spaces");
	CHECK(export_write_auth(up, sl("Bearer 10112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")) == 403,
	      "another token: 403");
	CHECK(export_write_auth(up, sl("Bearer " TOKEN "00")) == 403 &&
	      export_write_auth(up, sl("Bearer 0011")) == 403 && export_write_auth(up, sl("Bearer ")) == 403 &&
	      export_write_auth(up, sl("Bearer " TOKEN "x")) == 403, "longer, shorter, empty, not hex: 403");
}

/* A token file others may read is refused (the daemon does not start). */
static void test_token_mode(void)
{
	char p[300];

	snprintf(p, sizeof(p), "%s-token", root);
	chmod(p, 0640);
	CHECK(export_open_all(&cfg) < 0, "a token file of mode 0640 is refused");
	export_close_all(&cfg);
	chmod(p, 0600);
}

static void test_cidr(void)
{
	struct nasd_cidr c;
	struct sockaddr_storage ss;
	char b[64];

	CHECK(nasd_cidr_parse("10.0.0.0/8", &c) == 0 && c.plen == 8, "10.0.0.0/8");
	CHECK(nasd_cidr_parse("2001:db8::/64", &c) == 0 && c.plen == 64 &&
	      !strcmp(nasd_cidr_fmt(&c, b, sizeof(b)), "2001:db8::/64"), "2001:db8::/64");
	CHECK(nasd_cidr_parse("10.1.2.3", &c) == 0 && c.plen == 32, "a bare address: the host");
	CHECK(nasd_cidr_parse("10.0.0.0/33", &c) < 0 && nasd_cidr_parse("10.0.0.0/", &c) < 0 &&
	      nasd_cidr_parse("10.0.0.0/-1", &c) < 0 && nasd_cidr_parse("::/129", &c) < 0 &&
	      nasd_cidr_parse("x/8", &c) < 0, "bad CIDRs refused");
	nasd_cidr_parse("10.77.1.0/25", &c);
	peer4(&ss, "10.77.1.127");
	CHECK(nasd_cidr_match(&c, &ss), "/25: .127 inside");
	peer4(&ss, "10.77.1.128");
	CHECK(!nasd_cidr_match(&c, &ss), "/25: .128 outside");
	peer6(&ss, "::ffff:10.77.1.5");
	CHECK(nasd_cidr_match(&c, &ss), "IPv4-mapped inside");
	nasd_cidr_parse("2001:db8::/64", &c);
	peer6(&ss, "2001:db8::1");
	CHECK(nasd_cidr_match(&c, &ss), "v6 inside");
	peer6(&ss, "2001:db8:0:1::1");
	CHECK(!nasd_cidr_match(&c, &ss), "v6 outside");
	peer4(&ss, "32.1.13.184");
	CHECK(!nasd_cidr_match(&c, &ss), "v4 client, v6 network: no match");
	nasd_cidr_parse("0.0.0.0/0", &c);
	CHECK(nasd_cidr_match(&c, &ss), "/0 matches every IPv4 client");
}

static void test_config(void)
{
	struct nasd_config c;
	char err[256];
	const char *good =
		"{ \"node_name\": \"n1\", \"listen\": [\"10.0.0.1:80\", \"[fd00::1]:8080\"],"
		"  \"exports\": [ { \"url\": \"/\", \"path\": \"/srv\" },"
		"                 { \"url\": \"/up/\", \"path\": \"/srv/up\", \"writable\": true,"
		"                   \"write_auth\": \"none\", \"clients\": [\"10.0.0.0/8\", \"fd00::/64\"] },"
		"                 { \"url\": \"/t/\", \"path\": \"/srv/t\", \"writable\": true,"
		"                   \"write_token_file\": \"/etc/t.key\" },"
		"                 { \"url\": \"/w/\", \"path\": \"/srv/w\", \"writable\": true } ],"
		"  \"throttle\": [ { \"prefix\": \"/slow/\", \"rate\": 1000 },"
		"                  { \"prefix\": \"/rate/\", \"rate_arg\": \"bps\" } ],"
		"  \"idle_timeout_s\": 5, \"fsync\": false }";

	CHECK(nasd_config_parse(good, strlen(good), &c, err, sizeof(err)) == 0, "good config: %s", err);
	CHECK(c.nlisten == 2 && c.listen[1].port == 8080 && c.listen[1].addr.family == 6 &&
	      c.nexports == 4 && c.exports[1].writable && !c.exports[0].writable &&
	      c.nthrottle == 2 && c.throttle[0].rate == 1000 && !strcmp(c.throttle[1].rate_arg, "bps") &&
	      c.idle_timeout_ms == 5000 && !c.fsync_uploads && c.max_sessions == 4096 &&
	      !strcmp(c.control_socket, "/run/tandem/nasd.sock"), "fields and defaults");
	CHECK(c.exports[1].write_auth == NASD_WAUTH_NONE && c.exports[1].nclients == 2 &&
	      c.exports[1].clients[1].plen == 64 && c.exports[0].nclients == 0 &&
	      c.exports[2].writable && c.exports[2].write_auth == NASD_WAUTH_TOKEN &&
	      !strcmp(c.exports[2].token_file, "/etc/t.key"),
	      "write rules: \"write_auth\": \"none\", a token file; \"clients\"");
	CHECK(!c.exports[3].writable && c.exports[3].write_denied,
	      "\"writable\" without a token or \"write_auth\": read-only");
	CHECK(c.upload_reserve == 8u << 20 && c.upload_reserve_total == 256u << 20,
	      "upload reservation defaults: 8 MiB per upload, 256 MiB in all");
	static const char *const bad[] = {
		"[]",
		"{ \"listen\": [\"10.0.0.1:80\"] }",
		"{ \"exports\": [ { \"path\": \"/srv\" } ] }",
		"{ \"listen\": [\"10.0.0.1\"], \"exports\": [ { \"path\": \"/srv\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\", \"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"srv\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"url\": \"/a\", \"path\": \"/srv\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"url\": \"/a/../\", \"path\": \"/srv\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\" }, { \"path\": \"/x\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"rw\": true } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\" } ], \"typo\": 1 }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\" } ],"
		"  \"throttle\": [ { \"prefix\": \"/s/\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\" } ],"
		"  \"throttle\": [ { \"prefix\": \"/\", \"rate\": 5 } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\" } ], \"max_sessions\": 0 }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\" } ], \"node_name\": \"a b\" }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"writable\": true,"
		"  \"write_auth\": \"open\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"writable\": true,"
		"  \"write_auth\": \"none\", \"write_token_file\": \"/k\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"write_token_file\": \"/k\" } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"clients\": [] } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"clients\": [\"10.0.0.0/33\"] } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"clients\": [\"10.0.0.0/\"] } ] }",
		"{ \"listen\": [\"10.0.0.1:80\"], \"exports\": [ { \"path\": \"/srv\", \"clients\": [\"host\"] } ] }",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(nasd_config_parse(bad[i], strlen(bad[i]), &c, err, sizeof(err)) < 0 && err[0],
		      "bad config %zu refused: %s", i, err);
	}
}

int main(void)
{
	char cmd[300];

	snprintf(root, sizeof(root), "/tmp/test_http_export.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(outside, sizeof(outside), "%s-outside", root);
	mkdir(outside, 0755);
	put("a.txt", "A");
	sub("d");
	put("d/b.txt", "B");
	sub("up");
	sub("up/sub");
	link_("a.txt", "in-link");
	link_("../a.txt", "d/up-in");
	link_("/etc/passwd", "abs-out");
	link_("../../../../../../etc/passwd", "rel-out");
	link_("/etc", "dir-out");
	snprintf(cmd, sizeof(cmd), "%s/a.txt", root);
	link_(cmd, "abs-in");
	link_(outside, "up/out");
	snprintf(cmd, sizeof(cmd), "%s/fifo", root);
	mkfifo(cmd, 0644);
	put(SST_TMP_PREFIX "x", "tmp");

	snprintf(cmd, sizeof(cmd), "%s-token", root);
	int tfd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (tfd < 0 || write(tfd, TOKEN "\n", sizeof(TOKEN)) != (ssize_t)sizeof(TOKEN))
		return 1;
	close(tfd);
	char conf[768];
	snprintf(conf, sizeof(conf),
		 "{ \"listen\": [\"127.0.0.1:1\"], \"exports\": ["
		 "{ \"url\": \"/pub/\", \"path\": \"%s\", \"clients\": [\"10.1.0.0/16\"] },"
		 "{ \"url\": \"/pub/up/\", \"path\": \"%s/up\", \"writable\": true,"
		 "  \"write_token_file\": \"%s-token\" } ] }", root, root, root);
	char err[256] = "";
	int ok = nasd_config_parse(conf, strlen(conf), &cfg, err, sizeof(err)) == 0 &&
		 export_open_all(&cfg) == 0;
	CHECK(ok, "test exports open %s", err);
	if (ok) {
		test_get();
		test_upload();
		test_access();
		export_close_all(&cfg);
		test_token_mode();
	}
	test_config();
	test_cidr();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s-token'", root, outside, root);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
