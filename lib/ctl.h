/*
 * ctl.h - the control-socket protocol (doc/control.md): newline-delimited
 * JSON requests and replies over a UNIX stream socket.
 *
 * Client side: ctl_request() connects, sends one request, reads one reply.
 * Server side: see ctl_server_* (used by the daemons' control modules).
 */
#ifndef TANDEM_CTL_H
#define TANDEM_CTL_H

#include <jansson.h>
#include <stddef.h>

#define CTL_MAX_LINE (64 * 1024)	/* requests longer than this are refused */
#define CTL_MAX_REPLY (64 * 1024 * 1024)

/*
 * Send `req` to the daemon at `path` and wait up to timeout_ms for its reply.
 * Returns the reply (caller owns it, json_decref) or NULL with a message in
 * err (errlen bytes) when the socket cannot be reached or the reply is not JSON.
 * `req` is not consumed.
 */
json_t *ctl_request(const char *path, const json_t *req, int timeout_ms,
		    char *err, size_t errlen);

/*
 * lbd's flows command is paged (doc/control.md): at most CTL_FLOWS_PAGE_MAX
 * rows per request, CTL_FLOWS_DEFAULT when the request names no limit.
 * ctl_flows_request() sends the flows request req ("vip", "node" and
 * "limit" as the command takes them, but "limit" may be any count) page by
 * page and returns one reply as the command once gave it: "flows" (up to
 * "limit" rows), "total" (entries matching), "truncated" (total > rows);
 * or lbd's error reply as is; or NULL with a message in err.  timeout_ms
 * is for each page.
 */
#define CTL_FLOWS_PAGE_MAX 10000
#define CTL_FLOWS_DEFAULT 1000
json_t *ctl_flows_request(const char *path, const json_t *req, int timeout_ms,
			  char *err, size_t errlen);

/* Open a listening UNIX socket at path (removing a stale one), mode 0660
 * from its creation on (never reachable by others, whatever the umask).
 * Returns the fd (non-blocking, close-on-exec) or -1 with errno set. */
int ctl_listen(const char *path);

/* Make a reply {"ok":false,"error":msg}. */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Make a reply {"ok":true} to which fields are added. */
json_t *ctl_ok(void);

#endif
