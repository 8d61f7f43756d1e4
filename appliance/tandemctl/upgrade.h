/*
 * upgrade.h - `tandemctl upgrade`: install a release from an upgrade
 * bundle (bundle.h) into the root slot that is not running and make it the
 * next boot's, on trial (doc/appliance.md "Upgrades").
 */
#ifndef TANDEMCTL_UPGRADE_H
#define TANDEMCTL_UPGRADE_H

/* The command, argv[0] = "upgrade".  Exit code: 0 written; 1 refused or
 * failed (message on stderr; see the contract in upgrade.c); 2 usage. */
int upgrade_main(int argc, char **argv);

#endif
