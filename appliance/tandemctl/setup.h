/*
 * setup.h - `tandemctl setup`: the appliance's first configuration, asked
 * on the serial console when no config drive gave one (doc/appliance.md).
 */
#ifndef TANDEMCTL_SETUP_H
#define TANDEMCTL_SETUP_H

#include <stdio.h>

/* The command, argv[0] = "setup".  Exit code: 0 configured; 1 the answers
 * ended (EOF) or the written configuration failed its check; 2 usage. */
int setup_main(int argc, char **argv);

#endif
