/*
 * config_check.h - the configuration tests' helpers (header-only, like
 * check.h): one parsed config, parse() of a JSON string into it, and bad(),
 * the check that a text is refused with a message containing `want`.
 */
#ifndef TANDEM_CONFIG_CHECK_H
#define TANDEM_CONFIG_CHECK_H

#include <string.h>

#include "check.h"
#include "lib/config.h"

static struct config cfg;

static int parse(const char *s, char *err, size_t n)
{
	return config_parse(s, strlen(s), &cfg, err, n);
}

static void bad(const char *json, const char *want)
{
	char err[300] = "";
	int rc = parse(json, err, sizeof(err));

	CHECK(rc < 0 && strstr(err, want), "rejects with \"%s\" (got: %s)", want, err);
}

#endif
