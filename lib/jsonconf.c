#include "jsonconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jconf_perr(struct jconf *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->where[0])
		snprintf(p->err, p->errlen, "%s: %s", p->where, msg);
	else
		snprintf(p->err, p->errlen, "%s", msg);
	return -1;
}

int jconf_check_keys(struct jconf *p, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(*a, key);
		if (!ok)
			return jconf_perr(p, "unknown key \"%s\"", key);
	}
	return 0;
}

static int get_str(struct jconf *p, json_t *obj, const char *key, char *out, size_t outlen,
		   const char *def, int empty_ok)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		if (!def)
			return jconf_perr(p, "\"%s\" is required", key);
		snprintf(out, outlen, "%s", def);
		return 0;
	}
	if (!json_is_string(v))
		return jconf_perr(p, "\"%s\" must be a string", key);
	if (json_string_length(v) == 0 && !empty_ok)
		return jconf_perr(p, "\"%s\" must not be empty", key);
	if (json_string_length(v) >= outlen || strlen(json_string_value(v)) != json_string_length(v))
		return jconf_perr(p, "\"%s\" is too long (max %zu) or holds a NUL", key, outlen - 1);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int jconf_get_str(struct jconf *p, json_t *obj, const char *key, char *out, size_t outlen,
		  const char *def)
{
	return get_str(p, obj, key, out, outlen, def, 0);
}

int jconf_get_str_empty(struct jconf *p, json_t *obj, const char *key, char *out, size_t outlen,
			const char *def)
{
	return get_str(p, obj, key, out, outlen, def, 1);
}

int jconf_get_uint(struct jconf *p, json_t *obj, const char *key, uint32_t *out,
		    uint32_t def, uint32_t lo, uint32_t hi)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return jconf_perr(p, "\"%s\" must be an integer", key);
	json_int_t i = json_integer_value(v);
	if (i < lo || i > hi)
		return jconf_perr(p, "\"%s\" is %lld, must be %u..%u", key, (long long)i, lo, hi);
	*out = (uint32_t)i;
	return 0;
}

int jconf_get_bool(struct jconf *p, json_t *obj, const char *key, int *out, int def)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return jconf_perr(p, "\"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int valid_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

int jconf_get_name(struct jconf *p, json_t *obj, const char *key, char *out, const char *def)
{
	if (jconf_get_str(p, obj, key, out, 33, def) < 0)
		return -1;
	if (!valid_name(out))
		return jconf_perr(p, "\"%s\" \"%s\": use letters, digits, '-' and '_' only", key, out);
	return 0;
}

int jconf_get_addr(struct jconf *p, json_t *obj, const char *key, struct taddr *out)
{
	char s[64];

	if (jconf_get_str(p, obj, key, s, sizeof(s), NULL) < 0)
		return -1;
	if (taddr_parse(s, out) < 0)
		return jconf_perr(p, "\"%s\" \"%s\" is not an IPv4 or IPv6 address", key, s);
	return 0;
}


int jconf_get_u64(struct jconf *p, json_t *obj, const char *key, uint64_t *out, uint64_t def,
		   uint64_t min, uint64_t max)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max)
		return jconf_perr(p, "\"%s\" must be an integer in [%llu, %llu]", key,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int jconf_read_file(const char *path, size_t max, char **out, size_t *outlen, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const char *why = NULL;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				why = "out of memory";
				break;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > max) {
			snprintf(err, errlen, "%s: larger than %zu MiB", path, max >> 20);
			why = "";
			break;
		}
		if (n == 0) {
			if (ferror(f))
				why = "read error";
			break;
		}
	}
	fclose(f);
	if (why) {
		if (*why)
			snprintf(err, errlen, "%s: %s", path, why);
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}
