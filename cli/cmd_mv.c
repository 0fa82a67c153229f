/*
 * casevault mv: move or rename a file or folder within its case, or move
 * several into a folder, as mv(1) does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char usage[] =
	N_("usage: casevault mv CODE/A CODE/B\n"
	"   or: casevault mv CODE/A... CODE/FOLDER\n"
	"\n"
	"Move or rename A to B in the same case. The history moves with it.\n"
	"If the last argument is a folder that exists, each A moves into it\n"
	"under its own name. They move one by one: on a failure, those moved\n"
	"before it stay moved.\n");

static int move_one(vault *v, const char *from, const char *to)
{
	cli_error_on(CLI_ON_PATH, from);
	if (vault_move(v, from, to) < 0)
		return cli_fail_vault("cannot move '%s' to '%s'", from, to);
	return CLI_EXIT_OK;
}

/* FOLDER/basename(from) */
static int move_into(vault *v, const char *from, const char *folder)
{
	const char *slash = strrchr(from, '/');
	char *to;
	int rc;

	if (slash == NULL)
		return cli_error(CLI_EXIT_USAGE, "name a file or folder inside a case: CODE/PATH",
			"cannot move '%s': a case is not moved", from);
	if ((to = cli_join(folder, slash + 1)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	rc = move_one(v, from, to);
	free(to);
	return rc;
}

int cmd_mv(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "mv", usage, NULL, 2, argc > 1 ? (size_t) argc - 1 : 1 };
	vault_stat_info st;
	char **args, *dest;
	size_t n, i;
	int rc, into;

	if ((args = calloc(syn.max_args, sizeof *args)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		goto done;
	for (n = 0; n < syn.max_args && args[n] != NULL; n++)
		cli_path(args[n]);
	dest = args[n - 1];
	cli_error_on(CLI_ON_PATH, dest);
	into = vault_stat(&st, ctx->v, dest) == 0 && st.is_dir;
	if (!into && n > 2) {
		rc = cli_error(CLI_EXIT_ERROR, "create it first (casevault mkdir), or name a folder that exists",
			"cannot move %zu files or folders into '%s': it is not a folder", n - 1, dest);
		goto done;
	}
	if (!into) {
		rc = move_one(ctx->v, args[0], dest);
		goto done;
	}
	for (i = 0, rc = 0; i < n - 1 && rc == 0; i++)
		rc = move_into(ctx->v, args[i], dest);
	if (rc != 0 && i > 1)
		cli_batch_note("%zu of %zu were moved into '%s' before it", i - 1, n - 1, dest);
done:
	free(args);
	return rc;
}
