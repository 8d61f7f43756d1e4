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

/* Open a listening UNIX socket at path (removing a stale one), mode 0660
 * from its creation on (never reachable by others, whatever the umask).
 * Returns the fd (non-blocking, close-on-exec) or -1 with errno set. */
int ctl_listen(const char *path);

/* Make a reply {"ok":false,"error":msg}. */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Make a reply {"ok":true} to which fields are added. */
json_t *ctl_ok(void);

#endif
