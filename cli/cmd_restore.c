/*
 * casevault restore: make an old version of a file current again, as a
 * new version (nothing in the history is rewritten); or, given a backup
 * and a new directory, make a working vault from the backup.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"

static const char usage[] =
	"usage: casevault restore CODE/PATH --version N\n"
	"       casevault restore BACKUP DIR\n"
	"\n"
	"With --version: store version N of CODE/PATH again as its newest version\n"
	"(see history). Prints nothing.\n"
	"\n"
	"Without it: make a working vault in DIR (missing or an empty directory)\n"
	"from BACKUP, a directory 'casevault backup' made; its data file is\n"
	"checked against the manifest's size and hash (run 'casevault backup\n"
	"verify BACKUP' for the whole check). Needs no user. The first session on\n"
	"the new vault says from which event it was restored, and records it; a\n"
	"user whose last session saw a later event must give --restored.\n";

/* restore BACKUP DIR: a new vault from a snapshot. */
static int restore_snapshot(char **args)
{
	vault_backup_info b;
	char when[CLI_TIME_SIZE];

	cli_error_on(CLI_ON_RESTORE, args[1]);
	if (vault_restore_snapshot(&b, args[0], args[1]) < 0)
		return cli_fail_vault("cannot restore backup '%s' into '%s'", args[0], args[1]);
	printf("restored vault %s into %s: %" PRIu64 " events up to %s (backup made %s)\n",
		b.vault_id, args[1], b.events, b.head, cli_time_rfc3339(when, b.time));
	return CLI_EXIT_OK;
}

int cmd_restore(cli_ctx *ctx, int argc, char **argv)
{
	const char *version_arg = NULL;
	const cli_opt opts[] = {
		{ "version", 0, NULL, &version_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "restore", usage, opts, 1, 2 };
	uint32_t version, restored;
	char *args[2], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (version_arg == NULL && args[1] != NULL)
		return restore_snapshot(args);
	if (version_arg == NULL)
		return cli_usage_error("missing option '--version N' (or a directory for a vault made "
			"from backup '%s')", args[0]);
	if (args[1] != NULL)
		return cli_usage_error("'--version' restores a version of one file: give CODE/PATH only");
	if ((rc = cli_parse_version(&version, "version", version_arg)) != 0)
		return rc;

	path = args[0];   /* a trailing '/' names a folder: the library says so */
	cli_error_on(CLI_ON_VERSION, path);
	if (vault_restore(&restored, ctx->v, path, version) < 0)
		return cli_fail_vault("cannot restore version %" PRIu32 " of '%s'", version, path);
	return CLI_EXIT_OK;
}
