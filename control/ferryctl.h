/*
 * ferryctl.h - subcommands of ferryctl, the operator CLI. Each returns the
 * process exit status (0 ok, 1 failure, 2 usage error). Main thread only.
 */
#ifndef FERRY_FERRYCTL_H
#define FERRY_FERRYCTL_H

#include <stddef.h>

int ferryctl_demo(int argc, char **argv);
int ferryctl_fetch(int argc, char **argv);
int ferryctl_produce(int argc, char **argv);
int ferryctl_decode(int argc, char **argv);
int ferryctl_mock(int argc, char **argv);
int ferryctl_api_versions(int argc, char **argv);
/* rules_cmd.c (or rules_cmd_none.c when built without libyaml/Hyperscan) */
int ferryctl_rules(int argc, char **argv);
/* conf_cmd.c */
int ferryctl_config(int argc, char **argv);
/* mm2_cmd.c */
int ferryctl_status(int argc, char **argv);
int ferryctl_translate(int argc, char **argv);
int ferryctl_failover(int argc, char **argv);
int ferryctl_failback(int argc, char **argv);
/* mm2_cmd_rules.c (or mm2_cmd_rules_none.c): a flow's topic decisions for status */
struct ferry_status_rules;
/** Compile the rules source ("FILE" or "pack:NAME"). 0, or -errno with a message. */
int ferry_status_rules_open(const char *source, struct ferry_status_rules **out, char *err,
			    size_t errlen);
/** "permit", "inspect" or "deny" (NULL when not built). */
const char *ferry_status_rules_decide(struct ferry_status_rules *r, const char *topic);
void ferry_status_rules_close(struct ferry_status_rules *r);
/* verify.c */
int ferryctl_verify(int argc, char **argv);

#endif
