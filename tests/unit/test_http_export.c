/* Unit tests: tandem-nasd's exports (path safety beneath an export with
 * openat2, uploads through temp files) and its configuration parser. */
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
	return export_upload_begin(&ref, len, 7, u);
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

static void test_config(void)
{
	struct nasd_config c;
	char err[256];
	const char *good =
		"{ \"node_name\": \"n1\", \"listen\": [\"10.0.0.1:80\", \"[fd00::1]:8080\"],"
		"  \"exports\": [ { \"url\": \"/\", \"path\": \"/srv\" },"
		"                 { \"url\": \"/up/\", \"path\": \"/srv/up\", \"writable\": true } ],"
		"  \"throttle\": [ { \"prefix\": \"/slow/\", \"rate\": 1000 },"
		"                  { \"prefix\": \"/rate/\", \"rate_arg\": \"bps\" } ],"
		"  \"idle_timeout_s\": 5, \"fsync\": false }";

	CHECK(nasd_config_parse(good, strlen(good), &c, err, sizeof(err)) == 0, "good config: %s", err);
	CHECK(c.nlisten == 2 && c.listen[1].port == 8080 && c.listen[1].addr.family == 6 &&
	      c.nexports == 2 && c.exports[1].writable && !c.exports[0].writable &&
	      c.nthrottle == 2 && c.throttle[0].rate == 1000 && !strcmp(c.throttle[1].rate_arg, "bps") &&
	      c.idle_timeout_ms == 5000 && !c.fsync_uploads && c.max_sessions == 4096 &&
	      !strcmp(c.control_socket, "/run/tandem/nasd.sock"), "fields and defaults");
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

	char conf[512];
	snprintf(conf, sizeof(conf),
		 "{ \"listen\": [\"127.0.0.1:1\"], \"exports\": ["
		 "{ \"url\": \"/pub/\", \"path\": \"%s\" },"
		 "{ \"url\": \"/pub/up/\", \"path\": \"%s/up\", \"writable\": true } ] }", root, root);
	char err[256] = "";
	int ok = nasd_config_parse(conf, strlen(conf), &cfg, err, sizeof(err)) == 0 &&
		 export_open_all(&cfg) == 0;
	CHECK(ok, "test exports open %s", err);
	if (ok) {
		test_get();
		test_upload();
		export_close_all(&cfg);
	}
	test_config();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
