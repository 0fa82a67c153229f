/*
 * casevault ls: the cases you see, or the entries of a folder.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"

static const char usage[] =
	N_("usage: casevault ls [CODE[/PATH]] [--purpose P[:NOTE]] [--json]\n"
	"       casevault ls CODE[/PATH] --at TIME [--purpose P[:NOTE]] [--json]\n"
	"\n"
	"Without an argument, list your cases as 'case list' does. Otherwise list\n"
	"the folder: type (d or -), size, modified (local time), version, name; folders\n"
	"end with '/'. A listing is a recorded 'list' event. With --json, one\n"
	"object per line:\n"
	"{\"name\", \"type\": \"file\"|\"dir\", \"size\", \"mtime\", \"version\", \"node\"}\n"
	"\n"
	"  --at TIME           the folder as it was then (a recorded read):\n"
	"                      local time (2026-11-28T10:00), with a zone (...Z,\n"
	"                      ...+07:00), a date (its first second) or seconds\n"
	"  --purpose P[:NOTE]  why you look, as for 'casevault get'\n");

static int print_entry(const vault_stat_info *e, void *payload)
{
	const int *json = payload;
	char t[CLI_TIME_SIZE];
	cli_json j;

	if (*json) {
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "name", e->name);
		cli_json_str(&j, "type", e->is_dir ? "dir" : "file");
		cli_json_uint(&j, "size", e->size);
		cli_json_time(&j, "mtime", e->mtime.sec);
		cli_json_uint(&j, "version", e->version);
		cli_json_str(&j, "node", e->node);
		cli_json_end(&j);
		return 0;
	}
	printf("%c %10" PRIu64 " %s v%" PRIu32 " ", e->is_dir ? 'd' : '-', e->size,
		cli_time_short(t, e->mtime.sec), e->version);
	cli_print_text(stdout, e->name);
	fputs(e->is_dir ? "/\n" : "\n", stdout);
	return 0;
}

/* `ls CODE[/PATH] --at TIME`: a read event, then the entries of then. */
static int list_at(cli_ctx *ctx, const char *path, const char *at_arg, const char *purpose_arg,
	int *json)
{
	vault_at_options o = { VAULT_AT_OPTIONS_VERSION, 0, NULL, NULL };
	char *purpose = NULL;
	int rc;

	if ((rc = cli_parse_at(&o.at, at_arg)) != 0)
		return rc;
	if (purpose_arg != NULL &&
	    (rc = cli_purpose_split(&o.purpose, &o.note, &purpose, purpose_arg)) != 0)
		goto done;
	if ((rc = cli_check_at_purpose(ctx->v, o.purpose, 1, path)) != 0)
		goto done;
	cli_error_on(CLI_ON_READ, path);
	if (vault_list_at(ctx->v, path, &o, print_entry, json) < 0)
		rc = cli_fail_at(1, path, at_arg);
done:
	cli_purpose_free(purpose, purpose_arg);
	return rc;
}

int cmd_ls(cli_ctx *ctx, int argc, char **argv)
{
	const char *at_arg = NULL, *purpose_arg = NULL;
	int json = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ "at", 0, NULL, &at_arg },
		{ "purpose", 0, NULL, &purpose_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "ls", usage, opts, 0, 1 };
	vault_list_options o = VAULT_LIST_OPTIONS_INIT;
	char *args[1], *path, *purpose = NULL;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (args[0] == NULL && at_arg != NULL)
		return cli_usage_error("--at needs a case: casevault ls CODE[/PATH] --at TIME");
	if (args[0] == NULL)
		return cli_print_cases(ctx->v, json, purpose_arg);

	path = cli_path(args[0]);
	if (at_arg != NULL)
		return list_at(ctx, path, at_arg, purpose_arg, &json);
	rc = CLI_EXIT_OK;
	if (purpose_arg != NULL &&
	    (rc = cli_purpose_split(&o.purpose, &o.note, &purpose, purpose_arg)) != 0)
		goto done;
	cli_error_on(CLI_ON_PATH, path);
	if (vault_list(ctx->v, path, &o, print_entry, &json) < 0)
		rc = cli_fail_vault("cannot list '%s'", path);
done:
	cli_purpose_free(purpose, purpose_arg);
	return rc;
}
