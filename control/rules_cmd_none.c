/*
 * rules_cmd_none.c - `ferryctl rules` in a build without the policy rules component (meson
 * picks this file instead of rules_cmd.c and says why in its summary). Main thread only.
 */
#include <stdio.h>

#include "ferryctl.h"

int
ferryctl_rules(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ferryctl rules: not built (%s)\n", FERRY_RULES_REASON);
	return 1;
}
