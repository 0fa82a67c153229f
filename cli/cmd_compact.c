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

/* "123.4 MiB", or KiB below one MiB. */
static const char *size_text(char *buf, size_t len, uint64_t bytes)
{
	if (bytes < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", (double)bytes / 1024.0);
	else
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
	return buf;
}

int cmd_compact(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "compact", usage, NULL, 0, 0 };
	vault_compact_info c;
	char a[32], b[32], d[32];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_VAULT, ctx->dir);
	if (vault_compact(&c, ctx->dir) < 0)
		return cli_fail_vault("cannot compact vault '%s'", ctx->dir);
	if (c.writes)
		printf("collected %" PRIu64 " blocks of %" PRIu64 " interrupted writes\n", c.blocks, c.writes);
	printf("compacted: %s -> %s, %s freed\n", size_text(a, sizeof a, c.before),
		size_text(b, sizeof b, c.after), size_text(d, sizeof d, c.before > c.after ? c.before - c.after : 0));
	return CLI_EXIT_OK;
}
