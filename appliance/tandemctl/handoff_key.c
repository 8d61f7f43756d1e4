/*
 * handoff_key.c - `tandemctl handoff-key MASTER_KEY_FILE NODE [PEER...]`:
 * print node NODE's handoff key file (lib/handoff_key.h) made from the
 * switch's master key (lbd's handoff.key_file): NODE's key for its link to
 * the switch and one key per PEER for their channels.  Works offline (no
 * daemon is asked); run it where the master key is, once per node, and
 * install each output as that node's handoff.key_file (mode 0600).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#include "lib/handoff_key.h"

int handoff_key_main(int argc, char **argv)
{
	uint8_t m[KEYFILE_MAX];
	size_t mlen;
	char err[300];

	if (argc < 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc < 3 ? stderr : stdout,
			"usage: tandemctl handoff-key MASTER_KEY_FILE NODE [PEER...]\n"
			"  prints NODE's handoff key file (its switch key and one key per PEER),\n"
			"  derived from the switch's master key (lbd's handoff.key_file)\n");
		return argc < 3 ? 2 : 0;
	}
	if (keyfile_load(argv[1], m, &mlen, err, sizeof(err)) < 0) {
		fprintf(stderr, "tandemctl: handoff-key: %s\n", err);
		return 2;
	}
	if (hokey_write(stdout, m, mlen, argv[2], (const char *const *)argv + 3, (unsigned)(argc - 3)) < 0) {
		fprintf(stderr, "tandemctl: handoff-key: bad node name (1..%d characters, no spaces; "
			"a node is not its own peer)\n", HOKEY_NAME_MAX);
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
