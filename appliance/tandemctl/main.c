/*
 * tandemctl - operator CLI for tandem-lbd: sends one control request
 * (doc/control.md) and prints the reply for a human, or as JSON.
 *
 * Exit status: 0 ok; 1 the daemon answered ok:false; 2 usage error;
 * 3 the daemon cannot be reached (or its reply is not a protocol reply).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "setup.h"
#include "upgrade.h"
#include "lib/ctl.h"
#include "lib/log.h"

#define DEFAULT_SOCKET "/run/tandem/lbd.sock"
#define DEFAULT_TIMEOUT_MS 5000
#define HANDOFF_TIMEOUT_MS 20000	/* default for "handoff" */
#define LEAVE_TIMEOUT_MS 65000	/* default for "leave": lbd gives up after 60 s */

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tandemctl [-s SOCKET] [--json] [-T TIMEOUT_MS] [-v] COMMAND [ARGS]\n"
		"\n"
		"Options (also accepted after COMMAND):\n"
		"  -s, --socket PATH    tandem-lbd control socket (default: $TANDEM_LBD_SOCK,\n"
		"                       else " DEFAULT_SOCKET ")\n"
		"  -j, --json           print the daemon's reply object as JSON\n"
		"  -T, --timeout MS     wait at most MS milliseconds for the reply\n"
		"                       (default %d; handoff: 20000)\n"
		"  -v, --verbose        log the request sent to stderr\n"
		"  -h, --help           this text\n"
		"\n", DEFAULT_TIMEOUT_MS);
	commands_usage(f);
	fprintf(f,
		"\n"
		"Exit status: 0 ok, 1 the daemon refused the request, 2 usage error,\n"
		"3 the daemon cannot be reached.  Manual: tandemctl(1).\n");
}

/* Parse a decimal integer in [min, max]; 0 or -1. */
static int parse_long(const char *s, long min, long max, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return (!*s || *end || errno || *v < min || *v > max) ? -1 : 0;
}

/* Print "tandemctl: <message>" and the usage to stderr; EXIT_USAGE. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tandemctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	usage(stderr);
	return EXIT_USAGE;
}

static const char *const opt_names[] = { "--vip", "--node", "--limit", "--to", "--proto", "-a",
					   "--repoint" };

/*
 * Options are parsed in one pass over the whole command line (GNU getopt
 * permutes), so "tandemctl flows --json --vip web" works; the command then
 * refuses options that are not its own.  Returns -1 to go on, or an exit code.
 */
static int parse_args(struct ctl_args *a, int argc, char **argv, const struct command **cmdp)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "vip", required_argument, NULL, 'V' },
		{ "node", required_argument, NULL, 'N' },
		{ "limit", required_argument, NULL, 'L' },
		{ "to", required_argument, NULL, 'O' },
		{ "proto", required_argument, NULL, 'P' },
		{ "all", no_argument, NULL, 'a' },
		{ "repoint", no_argument, NULL, 'R' },
		{ "client", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	opterr = 0;		/* our own messages, followed by the usage */
	while ((c = getopt_long(argc, argv, ":s:jT:vha", longopts, NULL)) != -1) {
		switch (c) {
		case 's': a->socket = optarg; break;
		case 'j': a->json = 1; break;
		case 'T':
			if (parse_long(optarg, 1, 3600 * 1000, &v) < 0)
				return usage_error("bad timeout '%s' (milliseconds, 1..3600000)", optarg);
			a->timeout_ms = (int)v;
			break;
		case 'v': a->verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': a->vip = optarg; a->given |= OPT_VIP; break;
		case 'N': a->node = optarg; a->given |= OPT_NODE; break;
		case 'L':
			if (parse_long(optarg, 0, 1L << 30, &a->limit) < 0)
				return usage_error("bad --limit '%s'", optarg);
			a->given |= OPT_LIMIT;
			break;
		case 'O': a->to = optarg; a->given |= OPT_TO; break;
		case 'P': a->proto = optarg; a->given |= OPT_PROTO; break;
		case 'a': a->all = 1; a->given |= OPT_ALL; break;
		case 'R': a->repoint = 1; a->given |= OPT_REPOINT; break;
		case 'C': a->client = optarg; a->given |= OPT_CLIENT; break;
		case ':': return usage_error("option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt) {
				char o[3] = { '-', (char)optopt, 0 };
				return usage_error("unknown option '%s'", o);
			}
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	*cmdp = command_find(argv[optind]);
	if (!*cmdp)
		return usage_error("unknown command '%s'", argv[optind]);
	for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++)
		if ((a->given & ~(*cmdp)->opts) & (1u << i))
			return usage_error("%s: option %s does not apply", (*cmdp)->name,
					   opt_names[i]);
	a->argc = argc - optind - 1;
	a->argv = argv + optind + 1;
	return -1;
}

/* The daemon's reply to req, or NULL with err.  flows: lbd answers page by
 * page (at most 10000 rows each); ask until --limit rows or the end. */
static json_t *ask(const struct command *cmd, const struct ctl_args *a, const json_t *req,
		   char *err, size_t errlen)
{
	if (!strcmp(cmd->name, "flows"))
		return ctl_flows_request(a->socket, req, a->timeout_ms, err, errlen);
	return ctl_request(a->socket, req, a->timeout_ms, err, errlen);
}

int main(int argc, char **argv)
{
	struct ctl_args a = { .timeout_ms = DEFAULT_TIMEOUT_MS };
	const struct command *cmd = NULL;
	char err[512];
	json_t *req, *reply;
	int rc;

	log_init("tandemctl", 0, 0);
	/* appliance commands: local, no daemon (doc/appliance.md) */
	if (argc >= 2 && !strcmp(argv[1], "upgrade"))
		return upgrade_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "setup"))
		return setup_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "handoff-key"))
		return handoff_key_main(argc - 1, argv + 1);
	a.socket = getenv("TANDEM_LBD_SOCK");
	if (!a.socket || !*a.socket)
		a.socket = DEFAULT_SOCKET;
	rc = parse_args(&a, argc, argv, &cmd);
	if (rc >= 0)
		return rc;
	log_init("tandemctl", 0, a.verbose);
	/* a live handoff may take lbd up to 15 s to confirm (a slow node) */
	if (!strcmp(cmd->name, "handoff") && a.timeout_ms == DEFAULT_TIMEOUT_MS)
		a.timeout_ms = HANDOFF_TIMEOUT_MS;
	if (!strcmp(cmd->name, "leave") && a.timeout_ms == DEFAULT_TIMEOUT_MS)
		a.timeout_ms = LEAVE_TIMEOUT_MS;

	req = json_pack("{s:s}", "cmd", cmd->name);
	if (!req)
		fatalx("out of memory");
	if (cmd->build(&a, req) < 0) {
		json_decref(req);
		fputc('\n', stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a.verbose) {
		char *s = json_dumps(req, JSON_COMPACT);
		log_debug("%s <- %s", a.socket, s ? s : "?");
		free(s);
	}

	reply = ask(cmd, &a, req, err, sizeof(err));
	json_decref(req);
	if (!reply) {
		fprintf(stderr, "tandemctl: %s\n", err);
		return EXIT_UNREACHABLE;
	}

	const json_t *ok = json_object_get(reply, "ok");
	if (!json_is_boolean(ok)) {
		fprintf(stderr, "tandemctl: %s: reply without \"ok\": not a control socket?\n",
			a.socket);
		json_decref(reply);
		return EXIT_UNREACHABLE;
	}
	/* status of a paired switch: add tandem-syncd's status as "sync", so
	 * one command shows the whole switch (one source: the daemons). */
	const char *ssock = json_string_value(json_object_get(reply, "sync_control_socket"));
	if (!strcmp(cmd->name, "status") && ssock && json_is_true(ok)) {
		json_t *sreq = json_pack("{s:s}", "cmd", "status");
		json_t *srep = ctl_request(ssock, sreq, a.timeout_ms, err, sizeof(err));
		json_decref(sreq);
		if (!srep)
			srep = json_pack("{s:b, s:s}", "ok", 0, "error", err);
		json_object_set_new(reply, "sync", srep);
	}
	/* --json: the reply as is, whatever it says; the exit code still tells. */
	if (a.json) {
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	if (json_is_false(ok)) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "tandemctl: %s\n", e ? e : "request failed (no error message)");
		rc = EXIT_REFUSED;
	} else {
		if (!a.json)
			cmd->print(&a, reply, stdout);
		rc = 0;
	}
	json_decref(reply);
	return rc;
}
