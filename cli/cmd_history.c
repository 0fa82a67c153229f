/*
 * casevault history: the versions of a file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char usage[] =
	N_("usage: casevault history CODE/PATH [--json]\n"
	"       casevault history rotate-key\n"
	"\n"
	"List the versions of a file, oldest first: vN  TIME  ACTOR  SIZE (local time).\n"
	"With --json, one object per line:\n"
	"{\"version\", \"time\", \"actor\", \"size\", \"commit\"}\n"
	"\n"
	"rotate-key (admins): a new generation of the key the history is encrypted\n"
	"under, sealed to every active user; what is recorded afterwards is closed\n"
	"to anyone who held only older ones (a disabled user with a copy of the file).\n");

static const char rotate_usage[] =
	"usage: casevault history rotate-key\n"
	"\n"
	"A new generation of the history key (admins), sealed to every active user\n"
	"and recorded as a signed 'history-rekey' event. Prints its number.\n";

static int rotate_key(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "history rotate-key", rotate_usage, NULL, 0, 0 };
	uint32_t gen;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if (vault_history_rotate_key(ctx->v, &gen) < 0)
		return cli_fail_vault("cannot rotate the history key of vault '%s'", ctx->dir);
	printf("generation %" PRIu32 "\n", gen);
	return CLI_EXIT_OK;
}

static int print_version(const vault_version_info *info, void *payload)
{
	const int *json = payload;
	char t[CLI_TIME_SIZE];
	cli_json j;

	if (!*json) {
		printf("v%" PRIu32 "  %s  %s  %" PRIu64 "\n", info->version,
			cli_time_rfc3339(t, info->time), info->actor, info->size);
		return 0;
	}
	cli_json_begin(&j, stdout);
	cli_json_uint(&j, "version", info->version);
	cli_json_time(&j, "time", info->time);
	cli_json_str(&j, "actor", info->actor);
	cli_json_uint(&j, "size", info->size);
	cli_json_str(&j, "commit", info->commit);
	cli_json_end(&j);
	return 0;
}

int cmd_history(cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "history", usage, opts, 1, 1 };
	char *args[1], *path;

	if (argc > 1 && !strcmp(argv[1], "rotate-key"))
		return rotate_key(ctx, argc - 1, argv + 1);
	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	path = args[0];   /* a trailing '/' names a folder: the library says so */
	cli_error_on(CLI_ON_PATH, path);
	if (vault_history(ctx->v, path, print_version, &json) < 0)
		return cli_fail_vault("cannot show the history of '%s'", path);
	return CLI_EXIT_OK;
}
