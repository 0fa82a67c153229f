/*
 * casevault rm: remove a file or folder. Its history stays, and so do its
 * versions: removing is not shredding. With -r, a folder and all under it,
 * after a question on the terminal (or --yes).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char usage[] =
	N_("usage: casevault rm [-r [--yes]] CODE/PATH\n"
	"\n"
	"Remove a file or folder from its case. Its history stays verifiable and\n"
	"an admin can still see that it existed.\n"
	"\n"
	"  -r, --recursive  a folder and everything in it, deepest first: each\n"
	"                   file and folder is its own `delete` event. On a\n"
	"                   failure, those removed before it stay removed\n"
	"  -y, --yes        do not ask (scripts): without a terminal, rm -r of a\n"
	"                   folder is refused unless --yes is given\n");

static int remove_one(vault *v, const char *path)
{
	cli_error_on(CLI_ON_PATH, path);
	if (vault_remove(v, path) < 0)
		return cli_fail_vault("cannot remove '%s'", path);
	return CLI_EXIT_OK;
}

static int remove_tree(cli_ctx *ctx, const char *path, int yes)
{
	/* The names are read to remove them, never shown: no `list` event;
	 * each removal is a `delete` event of its own. */
	vault_list_options lopts = VAULT_LIST_OPTIONS_INIT;
	cli_tree t = { NULL, 0, 0 };
	size_t files, folders, i, done = 0;
	int rc;

	lopts.flags = VAULT_LIST_NO_EVENT;
	if ((rc = cli_tree_list(&t, ctx->v, path, &lopts)) != 0)
		goto done;
	files = cli_tree_count(&t, 0);
	folders = cli_tree_count(&t, 1);
	if ((rc = cli_confirm(yes, CLI_CONFIRM_ALWAYS, "remove '%s' and the %zu files and %zu folders in it",
		    path, files, folders)) != 0)
		goto done;
	/* Depth first backwards: what a folder holds goes before the folder. */
	for (i = t.n; i > 0 && rc == 0; i--)
		if ((rc = remove_one(ctx->v, t.items[i - 1].path)) == 0)
			done++;
	if (rc == 0)
		rc = remove_one(ctx->v, path);
	if (rc != 0 && done > 0)
		cli_batch_note("%zu of %zu files and folders were removed before it",
			done, t.n + 1);
done:
	cli_tree_dispose(&t);
	return rc;
}

int cmd_rm(cli_ctx *ctx, int argc, char **argv)
{
	int recursive = 0, yes = 0;
	const cli_opt opts[] = {
		{ "recursive", 'r', &recursive, NULL },
		{ "yes", 'y', &yes, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "rm", usage, opts, 1, 1 };
	vault_stat_info st;
	char *args[1], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	path = cli_path(args[0]);
	if (recursive && strchr(path, '/') == NULL)
		return cli_error(CLI_EXIT_USAGE, "name a folder inside the case: CODE/PATH",
			"cannot remove case '%s': rm -r removes folders, not cases", path);
	cli_error_on(CLI_ON_PATH, path);
	if (recursive && vault_stat(&st, ctx->v, path) == 0 && st.is_dir)
		return remove_tree(ctx, path, yes);
	return remove_one(ctx->v, path);
}
