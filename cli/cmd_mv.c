/*
 * casevault mv: move or rename a file or folder within its case.
 */
#include "cmd.h"

static const char usage[] =
	N_("usage: casevault mv CODE/A CODE/B\n"
	"\n"
	"Move or rename A to B in the same case. The history moves with it.\n");

int cmd_mv(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "mv", usage, NULL, 2, 2 };
	char *args[2], *from, *to;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	from = cli_path(args[0]);
	to = cli_path(args[1]);
	cli_error_on(CLI_ON_PATH, from);
	if (vault_move(ctx->v, from, to) < 0)
		return cli_fail_vault("cannot move '%s' to '%s'", from, to);
	return CLI_EXIT_OK;
}
