/*
 * Control sockets (lib/ctl.c ctl_listen) are never reachable by others, not
 * even between bind and a later chmod: bind is interposed here to look at
 * the socket file the instant it exists, with the most permissive umask a
 * daemon could inherit (0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "lib/ctl.h"

static int binds;
static mode_t mode_at_bind;

/* The test's bind (ctl.o links against this one): the real bind, then the
 * socket file's mode right away, before the caller can change it. */
int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
	struct stat st;
	int rc = (int)syscall(SYS_bind, fd, sa, len);

	if (rc == 0 && sa->sa_family == AF_UNIX && stat(sun->sun_path, &st) == 0) {
		binds++;
		mode_at_bind = st.st_mode & 07777;
	}
	return rc;
}

int main(void)
{
	char dir[64], path[128];
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/test_ctl_listen.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/sub/x.sock", dir);
	umask(0);
	fd = ctl_listen(path);
	CHECK(fd >= 0, "ctl_listen under umask 0");
	CHECK(binds == 1, "the socket file was seen at bind");
	CHECK((mode_at_bind & 07) == 0,
	      "at bind the socket is not reachable by others (mode %04o)", (unsigned)mode_at_bind);
	CHECK((mode_at_bind & 0777) == 0660, "at bind its mode is already 0660 (%04o)",
	      (unsigned)mode_at_bind);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660, "after: 0660 (%04o)",
	      (unsigned)(st.st_mode & 0777));
	CHECK(umask(0) == 0, "the caller's umask is given back");
	close(fd);

	umask(022);
	fd = ctl_listen(path);	/* a stale socket file is replaced */
	CHECK(fd >= 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0660,
	      "a second listen on the same path under umask 022: 0660 (%04o)",
	      (unsigned)(st.st_mode & 0777));
	close(fd);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
