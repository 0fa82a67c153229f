/*
 * casevault rm: remove a file or folder. Its history stays, and so do its
 * versions: removing is not shredding.
 */
#include "cmd.h"

static const char usage[] =
	N_("usage: casevault rm CODE/PATH\n"
	"\n"
	"Remove a file or folder from its case. Its history stays verifiable and\n"
	"an admin can still see that it existed.\n");

int cmd_rm(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "rm", usage, NULL, 1, 1 };
	char *args[1], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	path = cli_path(args[0]);
	cli_error_on(CLI_ON_PATH, path);
	if (vault_remove(ctx->v, path) < 0)
		return cli_fail_vault("cannot remove '%s'", path);
	return CLI_EXIT_OK;
}
