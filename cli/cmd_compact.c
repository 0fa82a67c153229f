/*
 * casevault compact: the vault file rewritten without its free pages,
 * while no other process has the vault open.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"

static const char usage[] =
	"usage: casevault compact\n"
	"\n"
	"Rewrite the vault file without its free pages (the room that removed\n"
	"and replaced content left inside it), and print what it gained. Offline:\n"
	"refused while a mount or another command has the vault open (unmount it\n"
	"first); a command started meanwhile waits. What interrupted writes left\n"
	"is collected too. A crash leaves the old file or the new one, whole.\n"
	"Needs no user, and records no event: nothing signed changes ('audit\n"
	"verify' passes as before). Needs free disk space for a copy of what the\n"
	"vault holds.\n";

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

int cmd_compact(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "compact", usage, NULL, 0, 0 };
	vault_compact_info c;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_VAULT, ctx->dir);
	if (vault_compact(&c, ctx->dir) < 0)
		return cli_fail_vault("cannot compact vault '%s'", ctx->dir);
	if (c.writes)
		printf("collected %" PRIu64 " blocks of %" PRIu64 " interrupted writes\n", c.blocks, c.writes);
	printf("compacted: %.1f MiB -> %.1f MiB, %.1f MiB freed\n", mib(c.before), mib(c.after),
		c.before > c.after ? mib(c.before - c.after) : 0.0);
	return CLI_EXIT_OK;
}
