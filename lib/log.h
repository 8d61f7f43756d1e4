/*
 * log.h - logging for every Tandem program.
 * log_warn/fatal append strerror(errno); the *x variants do not.
 * Messages go to stderr with the program name (set by log_init), or to
 * syslog when log_init(..., 1).  fatal*() exit(1).
 */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

#include <stddef.h>
#include <stdnoreturn.h>

void log_init(const char *progname, int use_syslog, int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
