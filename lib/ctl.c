#include "ctl.h"
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_sun(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

json_t *ctl_request(const char *path, const json_t *req, int timeout_ms,
		    char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char *line = NULL, *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *reply = NULL;
	int fd = -1;
	long deadline = (long)loop_now_ms() + timeout_ms;

	if (fill_sun(&sun, path) < 0) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "%s: %s (is the daemon running?)", path, strerror(errno));
		goto out;
	}
	line = json_dumps(req, JSON_COMPACT);
	if (!line) {
		snprintf(err, errlen, "cannot encode request");
		goto out;
	}
	size_t l = strlen(line);
	if (write(fd, line, l) != (ssize_t)l || write(fd, "\n", 1) != 1) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		char *nl = len ? memchr(buf, '\n', len) : NULL;
		if (nl) {
			json_error_t je;
			reply = json_loadb(buf, nl - buf, 0, &je);
			if (!reply)
				snprintf(err, errlen, "bad reply from %s: %s", path, je.text);
			break;
		}
		long left = deadline - (long)loop_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			snprintf(err, errlen, "%s: no reply within %d ms", path, timeout_ms);
			break;
		}
		if (cap - len < 65536) {
			if (cap >= CTL_MAX_REPLY) {
				snprintf(err, errlen, "%s: reply too large", path);
				break;
			}
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				break;
			}
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n <= 0) {
			snprintf(err, errlen, "%s: connection closed before reply", path);
			break;
		}
		len += n;
	}
out:
	free(line);
	free(buf);
	if (fd >= 0)
		close(fd);
	return reply;
}

/* One page: req with this limit and cursor; lbd's reply or NULL. */
static json_t *flows_page(const char *path, const json_t *req, json_int_t limit,
			  const char *cursor, int timeout_ms, char *err, size_t errlen)
{
	json_t *q = json_deep_copy(req), *r;

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_object_set_new(q, "limit", json_integer(limit));
	if (cursor)
		json_object_set_new(q, "cursor", json_string(cursor));
	r = ctl_request(path, q, timeout_ms, err, errlen);
	json_decref(q);
	return r;
}

json_t *ctl_flows_request(const char *path, const json_t *req, int timeout_ms,
			  char *err, size_t errlen)
{
	const json_t *lim = json_object_get(req, "limit");
	json_int_t want = lim ? json_integer_value(lim) : CTL_FLOWS_DEFAULT, total = 0;
	json_t *rows = json_array(), *r = NULL;
	char *cursor = NULL;

	if (lim && (!json_is_integer(lim) || want < 0))
		return ctl_request(path, req, timeout_ms, err, errlen);	/* lbd says why */
	for (;;) {
		json_int_t room = want - (json_int_t)json_array_size(rows);
		json_decref(r);
		r = flows_page(path, req, room < CTL_FLOWS_PAGE_MAX ? room : CTL_FLOWS_PAGE_MAX,
			       cursor, timeout_ms, err, errlen);
		free(cursor);
		cursor = NULL;
		if (!r || !json_is_true(json_object_get(r, "ok"))) {
			json_decref(rows);
			return r;	/* NULL (err says why) or lbd's refusal */
		}
		json_array_extend(rows, json_object_get(r, "flows"));
		total += json_integer_value(json_object_get(r, "matched"));
		const char *c = json_string_value(json_object_get(r, "cursor"));
		if (!c)
			break;
		cursor = strdup(c);
		if (!cursor) {
			json_decref(r);
			json_decref(rows);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
	}
	json_decref(r);
	return json_pack("{s:b, s:o, s:I, s:b}", "ok", 1, "flows", rows, "total", total,
			 "truncated", total > (json_int_t)json_array_size(rows));
}

int ctl_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (fill_sun(&sun, path) < 0)
		return -1;
	/* The parent directory (e.g. /run/tandem) may not exist on a fresh boot. */
	char dir[sizeof(sun.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	/* bind creates the socket file with 0777 & ~umask.  Under the daemon's
	 * umask (022 at best, 0 under some supervisors) it would be open to
	 * others until a chmod: connecting needs only write permission, so a
	 * local user could slip a command in.  Bind under umask 0117 instead:
	 * the file is 0660 from its first instant.  (The daemons are single
	 * threaded: nothing else creates a file while the mask is changed.) */
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

json_t *ctl_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

json_t *ctl_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}
