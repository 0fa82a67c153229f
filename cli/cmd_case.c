/*
 * casevault case: create and list cases, grant and revoke members.
 *
 * A case label is sensitive (it may name a person): we print it only in
 * listings, to the member who could decrypt it, and never in a message.
 */
#include <stdio.h>

#include "cmd.h"

#define CREATE_SYNOPSIS "casevault case create [--label TEXT]"
#define LIST_SYNOPSIS   "casevault case list [--purpose P[:NOTE]] [--json]"
#define GRANT_SYNOPSIS  "casevault case grant CODE USER [--read-only]"
#define LABEL_SYNOPSIS  "casevault case label CODE TEXT"
#define REVOKE_SYNOPSIS "casevault case revoke CODE USER [--yes]"

static const char usage[] =
	"usage: " CREATE_SYNOPSIS "\n"
	"   or: " LIST_SYNOPSIS "\n"
	"   or: " GRANT_SYNOPSIS "\n"
	"   or: " LABEL_SYNOPSIS "\n"
	"   or: " REVOKE_SYNOPSIS "\n"
	"\n"
	"Cases hold the documents of one person or family, under a random code.\n";

static const char create_usage[] =
	"usage: " CREATE_SYNOPSIS "\n"
	"\n"
	"Create a case and print its new code alone. You become its first member.\n"
	"The label is encrypted: only members can read it.\n";

static const char list_usage[] =
	"usage: " LIST_SYNOPSIS "\n"
	"\n"
	"List the cases you may see: CODE  LABEL (\"-\" when you cannot read it),\n"
	"then one line per member: USER rw|ro, \"(disabled)\" for a disabled user,\n"
	"\"(key pending)\" for one the case key has not reached yet. With --json,\n"
	"one object per line: {\"code\", \"label\", \"epoch\", \"retired\",\n"
	"\"members\": [{\"user\", \"access\", \"key\", \"status\": \"active\"|\"disabled\"}]}\n"
	"A label is personal data: each case whose label you see is a recorded\n"
	"'list' event.\n"
	"\n"
	"  --purpose P[:NOTE]  why you look, as for 'casevault get'\n";

static const char grant_usage[] =
	"usage: " GRANT_SYNOPSIS "\n"
	"\n"
	"Make USER a member of case CODE, read-write unless --read-only. The case\n"
	"key reaches them with the next session of a member who holds it.\n";

static const char label_usage[] =
	"usage: " LABEL_SYNOPSIS "\n"
	"\n"
	"Give case CODE the label TEXT (\"\" removes it): read-write members. It is\n"
	"sealed under the case key, as at 'case create --label': only members\n"
	"read it. A 'case-label' event.\n";

static const char revoke_usage[] =
	"usage: " REVOKE_SYNOPSIS "\n"
	"\n"
	"Remove USER from case CODE. What is written afterwards is under a new key.\n"
	"At a terminal, asks first; --yes (-y) does not ask.\n";

static int case_create(cli_ctx *ctx, int argc, char **argv)
{
	const char *label = NULL;
	const cli_opt opts[] = {
		{ "label", 0, NULL, &label },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "case create", create_usage, opts, 0, 0 };
	char code[VAULT_CODE_SIZE];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_CASE, NULL);
	if (vault_case_create(code, ctx->v, label) < 0)
		return cli_fail_vault("cannot create a case");
	printf("%s\n", code);
	return CLI_EXIT_OK;
}

static void print_case_text(const vault_case_info *c)
{
	size_t i;

	printf("%s  ", c->code);
	cli_print_text(stdout, c->label != NULL ? c->label : "-");
	putchar('\n');
	for (i = 0; i < c->nmembers; i++) {
		const vault_member *m = &c->members[i];

		printf("  %s %s%s\n", m->user, m->read_only ? "ro" : "rw",
			m->disabled ? " (disabled)" : m->has_key ? "" : " (key pending)");
	}
}

static void print_case_json(const vault_case_info *c)
{
	cli_json j;
	size_t i;

	cli_json_begin(&j, stdout);
	cli_json_str(&j, "code", c->code);
	cli_json_str(&j, "label", c->label);
	cli_json_uint(&j, "epoch", c->epoch);
	cli_json_bool(&j, "retired", c->retired);
	cli_json_array_begin(&j, "members");
	for (i = 0; i < c->nmembers; i++) {
		const vault_member *m = &c->members[i];

		cli_json_object_begin(&j, NULL);
		cli_json_str(&j, "user", m->user);
		cli_json_str(&j, "access", m->read_only ? "ro" : "rw");
		cli_json_bool(&j, "key", m->has_key);
		cli_json_str(&j, "status", m->disabled ? "disabled" : "active");
		cli_json_object_end(&j);
	}
	cli_json_array_end(&j);
	cli_json_end(&j);
}

static int print_case(const vault_case_info *c, void *payload)
{
	const int *json = payload;

	if (*json)
		print_case_json(c);
	else
		print_case_text(c);
	return 0;
}

int cli_print_cases(vault *v, int json, const char *purpose_arg)
{
	vault_list_options o = VAULT_LIST_OPTIONS_INIT;
	char *purpose = NULL;
	int rc = CLI_EXIT_OK;

	if (purpose_arg != NULL &&
	    (rc = cli_purpose_split(&o.purpose, &o.note, &purpose, purpose_arg)) != 0)
		goto done;
	cli_error_on(CLI_ON_CASE, NULL);
	if (vault_case_foreach(v, &o, print_case, &json) < 0)
		rc = cli_fail_vault("cannot list cases");
done:
	cli_purpose_free(purpose, purpose_arg);
	return rc;
}

static int case_list(cli_ctx *ctx, int argc, char **argv)
{
	const char *purpose_arg = NULL;
	int json = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ "purpose", 0, NULL, &purpose_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "case list", list_usage, opts, 0, 0 };

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	return cli_print_cases(ctx->v, json, purpose_arg);
}

static int case_grant(cli_ctx *ctx, int argc, char **argv)
{
	int read_only = 0, rc;
	const cli_opt opts[] = {
		{ "read-only", 0, &read_only, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "case grant", grant_usage, opts, 2, 2 };
	char *args[2];

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_CASE, args[0]);
	if (vault_case_grant(ctx->v, args[0], args[1], read_only) < 0)
		return cli_fail_vault("cannot grant '%s' access to case '%s'", args[1], args[0]);
	return CLI_EXIT_OK;
}

static int case_label(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "case label", label_usage, NULL, 2, 2 };
	char *args[2];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_CASE, args[0]);
	if (vault_case_label(ctx->v, args[0], args[1]) < 0)
		return cli_fail_vault("cannot label case '%s'", args[0]);
	return CLI_EXIT_OK;
}

static int case_revoke(cli_ctx *ctx, int argc, char **argv)
{
	int yes = 0;
	const cli_opt opts[] = {
		{ "yes", 'y', &yes, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "case revoke", revoke_usage, opts, 2, 2 };
	char *args[2];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if ((rc = cli_confirm(yes, CLI_CONFIRM_AT_TTY, "revoke the access of '%s' to case '%s'",
		    args[1], args[0])) != 0)
		return rc;
	cli_error_on(CLI_ON_CASE, args[0]);
	if (vault_case_revoke(ctx->v, args[0], args[1]) < 0)
		return cli_fail_vault("cannot revoke the access of '%s' to case '%s'", args[1], args[0]);
	return CLI_EXIT_OK;
}

static const cli_subcmd subcmds[] = {
	{ "create", case_create },
	{ "list",   case_list },
	{ "grant",  case_grant },
	{ "label",  case_label },
	{ "revoke", case_revoke },
	{ NULL, NULL }
};

int cmd_case(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "case", usage, subcmds, argc, argv);
}
