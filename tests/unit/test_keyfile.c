/*
 * Key files (lib/keyfile.c): a key only its owner can read is loaded; a key
 * that group or others may read or write, one owned by another user, or
 * something that is not a regular file is refused with a message naming
 * the file and what is wrong (mode or owner).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lib/keyfile.h"

#define HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char dir[64];

/* Write a key file of this mode (umask aside) and return its path. */
static const char *put(const char *name, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, HEX "\n", sizeof(HEX)) != (ssize_t)sizeof(HEX) ||
	    fchmod(fd, mode) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
	return path;
}

static int load(const char *path, char *err, size_t errlen)
{
	uint8_t key[KEYFILE_MAX];
	size_t len = 0;

	err[0] = '\0';
	return keyfile_load(path, key, &len, err, errlen) == 0 && len == 32 ? 0 : -1;
}

int main(void)
{
	char err[512];
	const char *p;

	alarm(20);	/* a key load that blocks (a FIFO) fails the test */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(dir, sizeof(dir), "/tmp/test_keyfile.XXXXXX");
	if (!mkdtemp(dir))
		return 1;

	p = put("ok.key", 0600);
	CHECK(load(p, err, sizeof(err)) == 0, "a 0600 key loads (%s)", err);
	p = put("ro.key", 0400);
	CHECK(load(p, err, sizeof(err)) == 0, "a 0400 key loads (%s)", err);

	p = put("world.key", 0644);
	CHECK(load(p, err, sizeof(err)) < 0 && strstr(err, p) && strstr(err, "0644"),
	      "a 0644 key is refused, the message names file and mode (%s)", err);
	p = put("group.key", 0640);
	CHECK(load(p, err, sizeof(err)) < 0 && strstr(err, "0640"),
	      "a group-readable 0640 key is refused (%s)", err);
	p = put("gw.key", 0620);
	CHECK(load(p, err, sizeof(err)) < 0 && strstr(err, "0620"),
	      "a group-writable 0620 key is refused (%s)", err);
	p = put("other.key", 0604);
	CHECK(load(p, err, sizeof(err)) < 0 && strstr(err, "0604"),
	      "an other-readable 0604 key is refused (%s)", err);

	p = put("owner.key", 0600);
	if (geteuid() == 0 && chown(p, 4321, 4321) == 0)
		CHECK(load(p, err, sizeof(err)) < 0 && strstr(err, p) && strstr(err, "4321"),
		      "a key owned by another user is refused, the message names the uid (%s)", err);
	else
		CHECK(1, "# SKIP not root: cannot give a key to another user");

	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	mkfifo(fifo, 0600);
	CHECK(load(fifo, err, sizeof(err)) < 0 && strstr(err, "not a regular file"),
	      "a FIFO is refused without blocking (%s)", err);
	CHECK(load("/nonexistent/tandem.key", err, sizeof(err)) < 0 &&
	      strstr(err, "/nonexistent/tandem.key"), "a missing key: named (%s)", err);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
