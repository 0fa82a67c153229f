/*
 * casevault purpose: the list of purposes of access a reader gives with
 * `get --purpose`, and whether a read needs one. Admins change it; every
 * user may list it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define ADD_SYNOPSIS     "casevault purpose add CODE"
#define REMOVE_SYNOPSIS  "casevault purpose remove CODE"
#define LIST_SYNOPSIS    "casevault purpose list [--json]"
#define REQUIRE_SYNOPSIS "casevault purpose require on|off"

static const char usage[] =
	"usage: " ADD_SYNOPSIS "\n"
	"   or: " REMOVE_SYNOPSIS "\n"
	"   or: " LIST_SYNOPSIS "\n"
	"   or: " REQUIRE_SYNOPSIS "\n"
	"\n"
	"Each read and listing records a purpose of access from this list\n"
	"(--purpose); a new vault requires one.\n";

static const char add_usage[] =
	"usage: " ADD_SYNOPSIS "\n"
	"\n"
	"Add CODE (e.g. legal-aid, referral) to the purposes of access.\n";

static const char remove_usage[] =
	"usage: " REMOVE_SYNOPSIS "\n"
	"\n"
	"Take CODE off the purposes of access: reads give it no more. Events that\n"
	"gave it keep it. The last purpose is not removed (an empty list would\n"
	"take any code): add its replacement first.\n";

static const char list_usage[] =
	"usage: " LIST_SYNOPSIS "\n"
	"\n"
	"Print the purposes, one per line, then \"required: yes|no\". With --json,\n"
	"one object: {\"required\": BOOL, \"purposes\": [CODE, ...]}.\n";

static const char require_usage[] =
	"usage: " REQUIRE_SYNOPSIS "\n"
	"\n"
	"Whether every read and listing (get, ls, case list, the mount) must give\n"
	"a purpose of access. A new vault requires one; each change is a recorded\n"
	"'purpose-require' event.\n";

/* purpose add|remove CODE: `fn` on it. */
static int purpose_edit(cli_ctx *ctx, int argc, char **argv, const cli_syntax *syn,
	int (*fn)(vault *, const char *), const char *verb)
{
	char *args[1];
	int rc;

	if ((rc = cli_parse(syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_PURPOSE, args[0]);
	if (fn(ctx->v, args[0]) < 0)
		return cli_fail_vault("cannot %s purpose '%s'", verb, args[0]);
	return CLI_EXIT_OK;
}

static int purpose_add(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "purpose add", add_usage, NULL, 1, 1 };

	return purpose_edit(ctx, argc, argv, &syn, vault_purpose_add, "add");
}

static int purpose_remove(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "purpose remove", remove_usage, NULL, 1, 1 };

	return purpose_edit(ctx, argc, argv, &syn, vault_purpose_remove, "remove");
}

/* Collected first: `required` is only known for sure once the walk is over. */
typedef struct {
	char **codes;
	size_t n, cap;
	int oom;
} purpose_list;

static int collect(const char *code, void *payload)
{
	purpose_list *l = payload;
	char **grown;

	if (l->oom)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;

		if ((grown = realloc(l->codes, cap * sizeof *grown)) == NULL) {
			l->oom = 1;
			return 0;
		}
		l->codes = grown;
		l->cap = cap;
	}
	if ((l->codes[l->n] = strdup(code)) == NULL)
		l->oom = 1;
	else
		l->n++;
	return 0;
}

/* JSON: one object, so that every line of the output is of one kind. */
static void print_purposes(const purpose_list *l, int required, int json)
{
	cli_json j;
	size_t i;

	if (!json) {
		for (i = 0; i < l->n; i++)
			printf("%s\n", l->codes[i]);
		printf("required: %s\n", required ? "yes" : "no");
		return;
	}
	cli_json_begin(&j, stdout);
	cli_json_bool(&j, "required", required);
	cli_json_array_begin(&j, "purposes");
	for (i = 0; i < l->n; i++)
		cli_json_str(&j, NULL, l->codes[i]);
	cli_json_array_end(&j);
	cli_json_end(&j);
}

static int purpose_list_cmd(cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, required = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "purpose list", list_usage, opts, 0, 0 };
	purpose_list l = { NULL, 0, 0, 0 };
	size_t i;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	rc = CLI_EXIT_OK;
	cli_error_on(CLI_ON_PURPOSE, NULL);
	if (vault_purpose_foreach(ctx->v, &required, collect, &l) < 0) {
		rc = cli_fail_vault("cannot list purposes");
		goto done;
	}
	if (l.oom) {
		rc = cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
		goto done;
	}
	print_purposes(&l, required, json);
done:
	for (i = 0; i < l.n; i++)
		free(l.codes[i]);
	free(l.codes);
	return rc;
}

static int purpose_require(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "purpose require", require_usage, NULL, 1, 1 };
	char *args[1];
	int on, rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (strcmp(args[0], "on") == 0)
		on = 1;
	else if (strcmp(args[0], "off") == 0)
		on = 0;
	else
		return cli_usage_error("expected 'on' or 'off'");

	cli_error_on(CLI_ON_PURPOSE, NULL);
	if (vault_purpose_require(ctx->v, on) < 0)
		return cli_fail_vault("cannot turn %s the purpose requirement", args[0]);
	return CLI_EXIT_OK;
}

static const cli_subcmd subcmds[] = {
	{ "add",     purpose_add },
	{ "remove",  purpose_remove },
	{ "list",    purpose_list_cmd },
	{ "require", purpose_require },
	{ NULL, NULL }
};

int cmd_purpose(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "purpose", usage, subcmds, argc, argv);
}
