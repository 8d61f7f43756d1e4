/*
 * commands.h - tandemctl's commands: how each one turns its arguments into a
 * control request (doc/control.md) and prints the daemon's reply.
 */
#ifndef TANDEMCTL_COMMANDS_H
#define TANDEMCTL_COMMANDS_H

#include <jansson.h>
#include <stdio.h>

/* Command options (bits of ctl_args.given and command.opts). */
enum {
	OPT_VIP = 1 << 0,	/* --vip V */
	OPT_NODE = 1 << 1,	/* --node N */
	OPT_LIMIT = 1 << 2,	/* --limit N */
	OPT_TO = 1 << 3,	/* --to TO */
	OPT_PROTO = 1 << 4,	/* --proto tcp|udp */
	OPT_ALL = 1 << 5,	/* -a, --all */
	OPT_REPOINT = 1 << 6,	/* --repoint */
	OPT_CLIENT = 1 << 7,	/* --client ADDR[:PORT] */
};

/* Everything main() parsed: the context every command gets.  Strings point
 * into argv or the environment. */
struct ctl_args {
	const char *socket;
	int timeout_ms;
	int json;		/* --json: print the reply object as is */
	int verbose;
	unsigned given;		/* OPT_* seen on the command line */
	const char *vip, *node, *to, *proto, *client;
	long limit;
	int all;
	int repoint;		/* migrate: re-point only, even a live TCP session */
	int argc;		/* operands after the command name */
	char **argv;
};

struct command {
	const char *name;
	unsigned opts;		/* OPT_* this command accepts */
	/* Usage lines: up to two forms, "ARGS" and what it does. */
	struct {
		const char *args, *help;
	} forms[2];
	/*
	 * Add the command's fields to req (which already has "cmd").  Returns 0,
	 * or -1 after printing "tandemctl: <why>" to stderr: a usage error.
	 */
	int (*build)(const struct ctl_args *a, json_t *req);
	/* Print a successful (ok:true) reply for a human. */
	void (*print)(const struct ctl_args *a, const json_t *reply, FILE *out);
};

/* The command called name, or NULL. */
const struct command *command_find(const char *name);

/* Print the command list for usage: the daemon's commands, then the local
 * ones (handoff-key, upgrade, setup), one aligned list, help text wrapped. */
void commands_usage(FILE *f);

/* handoff_key.c: `tandemctl handoff-key MASTER_KEY_FILE NODE [PEER...]`, run
 * without a daemon (argv[0] is "handoff-key"); the exit status. */
int handoff_key_main(int argc, char **argv);

#endif
