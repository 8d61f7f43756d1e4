/*
 * err.h - how library code and pure parsers report a failure to their
 * caller: a one-line message into the caller's buffer, and -1.  This is the
 * project's one return convention for fallible functions: 0 (or a count)
 * on success, -1 with the reason in err (and errno where a system call
 * failed).  Daemons log the message; parsers never log.
 */
#ifndef TANDEM_ERR_H
#define TANDEM_ERR_H

#include <stddef.h>

/* Write the message into err[errlen] (if err is given; truncated to fit)
 * and return -1, so a failure branch is `return err_set(err, errlen, ...)`.
 * errno is kept. */
int err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* As err_set, with ": strerror(errno)" appended. */
int err_errno(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
