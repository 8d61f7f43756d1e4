#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int keyfile_parse_hex(const char *hex, uint8_t key[KEYFILE_MAX], size_t *len)
{
	size_t n = strlen(hex);

	while (n && (hex[n - 1] == '\n' || hex[n - 1] == ' ' || hex[n - 1] == '\r'))
		n--;
	if (n < 64 || n > 2 * KEYFILE_MAX || n % 2)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v |= c - 'A' + 10;
			else
				return -1;
		}
		key[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* A key file only its owner can read or change, owned by root or by us.
 * 0, or -1 with a message naming the file and what is wrong. */
static int check_stat(const char *path, const struct stat *st, char *err, size_t errlen)
{
	uid_t me = geteuid();

	if (!S_ISREG(st->st_mode))
		return err_set(err, errlen, "%.200s: not a regular file", path);
	if (st->st_mode & 077)
		return err_set(err, errlen, "%.200s: mode %04o: a key file must be readable and "
			       "writable by its owner only (chmod 600 %.200s)", path,
			       (unsigned)(st->st_mode & 07777), path);
	if (st->st_uid != 0 && st->st_uid != me)
		return err_set(err, errlen, "%.200s: owned by uid %u: a key file must belong to "
			       "root or to the daemon's user (uid %u)", path, (unsigned)st->st_uid,
			       (unsigned)me);
	return 0;
}

int keyfile_check(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_errno(err, errlen, "%.200s", path);
	return check_stat(path, &st, err, errlen);
}

int keyfile_load(const char *path, uint8_t key[KEYFILE_MAX], size_t *len, char *err, size_t errlen)
{
	char buf[300];
	struct stat st;
	ssize_t n;
	/* One open file for the check and the read: the file checked is the
	 * file read (a rename in between changes nothing).  O_NONBLOCK: a FIFO
	 * put there does not hang the daemon before fstat refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return err_errno(err, errlen, "%.200s", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return err_errno(err, errlen, "%.200s", path);
	}
	if (check_stat(path, &st, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return err_errno(err, errlen, "%.200s", path);
	buf[n] = '\0';
	if (keyfile_parse_hex(buf, key, len) < 0)
		return err_set(err, errlen, "%.200s: want 64 to 128 hex digits (32 to 64 bytes), e.g. "
			       "from `openssl rand -hex 32`", path);
	return 0;
}
