/*
 * casevault mkdir: create a folder in a case.
 */
#include "cmd.h"

static const char usage[] =
	N_("usage: casevault mkdir CODE/PATH\n"
	"\n"
	"Create the folder PATH in case CODE. Its parent must exist.\n");

int cmd_mkdir(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "mkdir", usage, NULL, 1, 1 };
	char *args[1], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	path = cli_path(args[0]);
	cli_error_on(CLI_ON_PATH, path);
	if (vault_mkdir(ctx->v, path) < 0)
		return cli_fail_vault("cannot create folder '%s'", path);
	return CLI_EXIT_OK;
}
