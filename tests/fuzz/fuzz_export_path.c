/* libFuzzer target: resolving request paths beneath an export (export.c)
 * must never open anything outside the export's directory, whatever the
 * bytes: through http_path_clean + export_find as a request goes, and,
 * as the second wall, with the raw bytes handed straight to
 * export_open_file and export_upload_begin (openat2 RESOLVE_BENEATH).
 *
 * The tree (made once, removed at exit), with symlinks that climb out:
 *   TMP/out/secret              outside every export
 *   TMP/ex/a.txt, d/b.txt       the export "/" (read-only)
 *   TMP/ex/in-link -> a.txt, d/up-in -> ../a.txt, abs-out -> TMP/out/secret,
 *   rel-out -> ../out/secret, dir-out -> ../out, d/deep-out -> ../../out
 *   TMP/ex/up/                  the export "/up/" (writable; its PUTs are
 *                               begun and aborted, never committed)
 * Whatever opens, /proc/self/fd says where: it must be TMP/ex or below. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmp[64], exdir[128];
static struct nasd_config cfg;
static int ready;

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (tmp[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
}

static void mk(const char *rel, int dir, const char *link_to)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	if (link_to) {
		if (symlink(link_to, p) < 0)
			abort();
	} else if (dir) {
		if (mkdir(p, 0755) < 0)
			abort();
	} else {
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "x", 1) != 1)
			abort();
		close(fd);
	}
}

static void setup(void)
{
	char abs_out[128];

	snprintf(tmp, sizeof(tmp), "/tmp/fuzz_export_path.XXXXXX");
	if (!mkdtemp(tmp))
		abort();
	atexit(rm_tree);
	snprintf(exdir, sizeof(exdir), "%s/ex", tmp);
	snprintf(abs_out, sizeof(abs_out), "%s/out/secret", tmp);
	mk("out", 1, NULL);
	mk("out/secret", 0, NULL);
	mk("ex", 1, NULL);
	mk("ex/a.txt", 0, NULL);
	mk("ex/d", 1, NULL);
	mk("ex/d/b.txt", 0, NULL);
	mk("ex/up", 1, NULL);
	mk("ex/in-link", 0, "a.txt");
	mk("ex/d/up-in", 0, "../a.txt");
	mk("ex/abs-out", 0, abs_out);
	mk("ex/rel-out", 0, "../out/secret");
	mk("ex/dir-out", 0, "../out");
	mk("ex/d/deep-out", 0, "../../out");
	mk("ex/up/out", 0, "../../out");
	/* the exports as config.c would make them (its parser is not under test) */
	snprintf(cfg.exports[0].url, sizeof(cfg.exports[0].url), "/");
	snprintf(cfg.exports[0].path, sizeof(cfg.exports[0].path), "%s", exdir);
	snprintf(cfg.exports[1].url, sizeof(cfg.exports[1].url), "/up/");
	snprintf(cfg.exports[1].path, sizeof(cfg.exports[1].path), "%s/up", exdir);
	cfg.exports[1].writable = 1;
	cfg.exports[1].write_auth = NASD_WAUTH_NONE;
	for (unsigned i = 0; i < 2; i++) {
		cfg.exports[i].url_len = strlen(cfg.exports[i].url);
		cfg.exports[i].dirfd = -1;
	}
	cfg.nexports = 2;
	if (export_open_all(&cfg) < 0)
		abort();
	ready = 1;
}

/* fd (a file or O_PATH directory) lies in the export directory or below. */
static void check_inside(int fd)
{
	char link[64], where[4096];
	size_t el = strlen(exdir);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, where, sizeof(where) - 1);
	if (n < 0)
		abort();
	where[n] = '\0';
	if (strncmp(where, exdir, el) || (where[el] != '\0' && where[el] != '/')) {
		fprintf(stderr, "opened outside the export: %s\n", where);
		abort();
	}
}

static void try_open(const struct export_ref *ref)
{
	struct export_file f;

	if (export_open_file(ref, &f) == 0) {
		check_inside(f.fd);
		close(f.fd);
	}
}

static void try_upload(const struct export_ref *ref)
{
	struct export_upload u;

	if (export_upload_begin(ref, 1, &u) == 0) {
		check_inside(u.dirfd);
		check_inside(u.fd);
		export_upload_abort(&u, 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char raw[HTTP_MAX_TARGET + 1], clean[SST_MAX_PATH + 1];
	struct export_ref ref;
	int st;

	if (!ready)
		setup();
	if (size > HTTP_MAX_TARGET)
		return 0;
	/* as a request goes: clean, find the export, open */
	if (http_path_clean((const char *)data, size, clean, sizeof(clean), &st) >= 0 &&
	    export_find(&cfg, clean, &ref) == 0) {
		if (ref.rel[0] == '/')
			abort();	/* rel is below the export's URL, never absolute */
		try_open(&ref);
		try_upload(&ref);
	}
	/* the raw bytes (up to a NUL) as the path below each export: openat2 alone */
	memcpy(raw, data, size);
	raw[size] = '\0';
	for (unsigned i = 0; i < cfg.nexports; i++) {
		ref.ex = &cfg.exports[i];
		ref.rel = raw;
		try_open(&ref);
		try_upload(&ref);
	}
	return 0;
}
