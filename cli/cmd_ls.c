/*
 * casevault ls: the cases you see, or the entries of a folder.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"

static const char usage[] =
	"usage: casevault ls [CODE[/PATH]] [--json]\n"
	"\n"
	"Without an argument, list your cases as 'case list' does. Otherwise list\n"
	"the folder: type (d or -), size, modified (UTC), version, name; folders\n"
	"end with '/'. With --json, one object per line:\n"
	"{\"name\", \"type\": \"file\"|\"dir\", \"size\", \"mtime\", \"version\", \"node\"}\n";

static int print_entry(const vault_entry *e, void *payload)
{
	const int *json = payload;
	char t[CLI_TIME_SIZE];
	cli_json j;

	if (*json) {
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "name", e->name);
		cli_json_str(&j, "type", e->is_dir ? "dir" : "file");
		cli_json_uint(&j, "size", e->size);
		cli_json_time(&j, "mtime", e->mtime);
		cli_json_uint(&j, "version", e->version);
		cli_json_str(&j, "node", e->node);
		cli_json_end(&j);
		return 0;
	}
	printf("%c %10" PRIu64 " %s v%" PRIu32 " ", e->is_dir ? 'd' : '-', e->size,
		cli_time_short(t, e->mtime), e->version);
	cli_print_text(stdout, e->name);
	fputs(e->is_dir ? "/\n" : "\n", stdout);
	return 0;
}

int cmd_ls(cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "ls", usage, opts, 0, 1 };
	char *args[1], *path;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (args[0] == NULL)
		return cli_print_cases(ctx->v, json);

	path = cli_path(args[0]);
	cli_error_on(CLI_ON_PATH, path);
	if (vault_list(ctx->v, path, print_entry, &json) < 0)
		return cli_fail_vault("cannot list '%s'", path);
	return CLI_EXIT_OK;
}
