/*
 * casevault restore: make an old version of a file current again, as a
 * new version; nothing in the history is rewritten.
 */
#include <inttypes.h>

#include "cmd.h"

static const char usage[] =
	"usage: casevault restore CODE/PATH --version N\n"
	"\n"
	"Store version N of CODE/PATH again as its newest version (see history).\n"
	"Prints nothing.\n";

int cmd_restore(cli_ctx *ctx, int argc, char **argv)
{
	const char *version_arg = NULL;
	const cli_opt opts[] = {
		{ "version", 0, NULL, &version_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "restore", usage, opts, 1, 1 };
	uint32_t version, restored;
	char *args[1], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (version_arg == NULL)
		return cli_usage_error("missing option '--version N'");
	if ((rc = cli_parse_version(&version, "version", version_arg)) != 0)
		return rc;

	path = args[0];   /* a trailing '/' names a folder: the library says so */
	cli_error_on(CLI_ON_VERSION, path);
	if (vault_restore(&restored, ctx->v, path, version) < 0)
		return cli_fail_vault("cannot restore version %" PRIu32 " of '%s'", version, path);
	return CLI_EXIT_OK;
}
