/*
 * casevault mkdir: create a folder in a case; with -p, its parents too.
 */
#include "cmd.h"

static const char usage[] =
	N_("usage: casevault mkdir [-p] CODE/PATH\n"
	"\n"
	"Create the folder PATH in case CODE. Its parent must exist.\n"
	"\n"
	"  -p, --parents  make the missing parents too; a folder that exists\n"
	"                 already is no error\n");

int cmd_mkdir(cli_ctx *ctx, int argc, char **argv)
{
	int parents = 0;
	const cli_opt opts[] = {
		{ "parents", 'p', &parents, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "mkdir", usage, opts, 1, 1 };
	char *args[1], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	path = cli_path(args[0]);
	if (parents)
		return cli_mkdir_p(ctx->v, path, NULL);
	cli_error_on(CLI_ON_PATH, path);
	if (vault_mkdir(ctx->v, path) < 0)
		return cli_fail_vault("cannot create folder '%s'", path);
	return CLI_EXIT_OK;
}
