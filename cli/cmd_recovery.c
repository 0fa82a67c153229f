/*
 * casevault recovery: the organisation's recovery of a case whose members
 * are gone, by a threshold of custodians; no master key (docs/keys.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define SETUP_SYNOPSIS  "casevault recovery setup --custodians A,B,C --threshold M"
#define STATUS_SYNOPSIS "casevault recovery status [--json]"
#define REQUEST_SYNOPSIS "casevault recovery request CODE USER --reason TEXT"
#define APPROVE_SYNOPSIS "casevault recovery approve REQUEST"
#define LIST_SYNOPSIS   "casevault recovery list [--all] [--json]"
#define CANCEL_SYNOPSIS "casevault recovery cancel REQUEST"

static const char usage[] =
	"usage: " SETUP_SYNOPSIS "\n"
	"   or: " STATUS_SYNOPSIS "\n"
	"   or: " REQUEST_SYNOPSIS "\n"
	"   or: " APPROVE_SYNOPSIS "\n"
	"   or: " LIST_SYNOPSIS "\n"
	"   or: " CANCEL_SYNOPSIS "\n"
	"\n"
	"Recover a case whose members are gone (a lost passphrase, someone who\n"
	"left): the key of every case is split into one share per custodian, and\n"
	"M of them together can give it to a caseworker. No one custodian, and no\n"
	"admin, can open a case alone.\n";

static const char setup_usage[] =
	"usage: " SETUP_SYNOPSIS "\n"
	"\n"
	"Name the custodians (enrolled, active users of any role, 2 to 32) and\n"
	"the threshold M of them (2 to their number) that together recover a\n"
	"case (admins). A signed event. Members' next sessions split the key of\n"
	"each of their cases for these custodians; 'recovery status' tells\n"
	"which cases are not covered yet. Run again to change the custodians.\n";

static const char status_usage[] =
	"usage: " STATUS_SYNOPSIS "\n"
	"\n"
	"Each case: 'covered' when its key's shares are there for the custodians\n"
	"of now, else why not (a member's next command covers it); then the\n"
	"threshold and the custodians. Admins and auditors. With --json, one\n"
	"object per case.\n";

static const char request_usage[] =
	"usage: " REQUEST_SYNOPSIS "\n"
	"\n"
	"Ask the custodians to recover case CODE for caseworker USER (admins),\n"
	"for a reason that admins and auditors can read. Prints the request's\n"
	"id. The case must be covered ('casevault recovery status').\n";

static const char approve_usage[] =
	"usage: " APPROVE_SYNOPSIS "\n"
	"\n"
	"Approve a recovery request as a custodian: your share of the case's key\n"
	"goes to the caseworker, sealed to them. Once the threshold of custodians\n"
	"approved, the caseworker's next command makes them a member of the case.\n";

static const char cancel_usage[] =
	"usage: " CANCEL_SYNOPSIS "\n"
	"\n"
	"Cancel an open recovery request (admins): a signed event. The shares\n"
	"approved for it are wiped, no custodian can approve it any more, and\n"
	"the caseworker is not made a member.\n";

static const char list_usage[] =
	"usage: " LIST_SYNOPSIS "\n"
	"\n"
	"The open recovery requests (--all: granted and cancelled ones too): id, case, the\n"
	"caseworker, approvals of the threshold, and who approved. Admins,\n"
	"auditors and custodians.\n";

#define MAX_NAMES VAULT_RECOVERY_MAX

/* "A,B,C" into names[] (pointers into `list`, which is changed). */
static int split_names(char *list, const char **names, size_t *n)
{
	*n = 0;
	for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
		if (*n == MAX_NAMES)
			return cli_usage_error("more than %d custodians", MAX_NAMES);
		names[(*n)++] = s;
	}
	return *n ? 0 : cli_usage_error("give the custodians: --custodians A,B,C");
}

static int recovery_setup(cli_ctx *ctx, int argc, char **argv)
{
	const char *custodians = NULL, *threshold = NULL, *names[MAX_NAMES];
	const cli_opt opts[] = {
		{ "custodians", 0, NULL, &custodians },
		{ "threshold", 0, NULL, &threshold },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "recovery setup", setup_usage, opts, 0, 0 };
	const vault_error *err;
	char *list = NULL, *end = NULL;
	unsigned long m;
	size_t n;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if (!custodians || !threshold)
		return cli_usage_error("give --custodians A,B,C and --threshold M");
	m = strtoul(threshold, &end, 10);
	if (!*threshold || *end || m > 255)
		return cli_usage_error("--threshold '%s' is not a number of custodians", threshold);
	if ((list = strdup(custodians)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory", "out of memory");
	if ((rc = split_names(list, names, &n)) != 0)
		goto done;
	cli_error_on(CLI_ON_USER, NULL);
	if (vault_recovery_setup(ctx->v, names, n, (unsigned int)m) == 0) {
		printf("custodians %s, threshold %lu: each case is covered at its next member's session "
			"('casevault recovery status')\n", custodians, m);
		rc = CLI_EXIT_OK;
		goto done;
	}
	err = vault_error_last();
	if (err->code == VAULT_EUSAGE)
		rc = cli_error(CLI_EXIT_USAGE,
			"name 2 to 32 enrolled, active users ('casevault user list') and a threshold from 2 to their number",
			"cannot set up the recovery: %s", err->message);
	else if (err->code == VAULT_EACCES)
		rc = cli_error(CLI_EXIT_ACCESS, "ask an admin (DPO) to set up the recovery",
			"cannot set up the recovery: %s", err->message);
	else
		rc = cli_fail_vault("cannot set up the recovery");
done:
	free(list);
	return rc;
}

typedef struct {
	int json;
	size_t uncovered;
} status_out;

static int print_case(const vault_recovery_case *c, void *payload)
{
	status_out *o = payload;
	cli_json j;

	o->uncovered += !c->covered;
	if (o->json) {
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "case", c->code);
		cli_json_bool(&j, "covered", c->covered);
		if (!c->covered)
			cli_json_str(&j, "why", c->why);
		cli_json_end(&j);
	} else {
		printf("%s  %s%s\n", c->code, c->covered ? "covered" : "not covered: ", c->covered ? "" : c->why);
	}
	return 0;
}

static int recovery_status(cli_ctx *ctx, int argc, char **argv)
{
	status_out o = { 0, 0 };
	const cli_opt opts[] = {
		{ "json", 0, &o.json, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "recovery status", status_usage, opts, 0, 0 };
	vault_recovery_info info;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_NONE, NULL);
	if (vault_recovery_status(ctx->v, &info, print_case, &o) < 0) {
		if (vault_error_last()->code == VAULT_EACCES)
			return cli_error(CLI_EXIT_ACCESS, "ask an admin (DPO) or an auditor",
				"cannot show the recovery's status: %s", vault_error_last()->message);
		return cli_fail_vault("cannot show the recovery's status");
	}
	if (o.json)
		return CLI_EXIT_OK;
	if (!info.threshold) {
		printf("no recovery: an admin names custodians with '" SETUP_SYNOPSIS "'\n");
		return CLI_EXIT_OK;
	}
	printf("threshold %u of %zu custodians:", info.threshold, info.ncustodians);
	for (size_t i = 0; i < info.ncustodians; i++)
		printf(" %s%s", info.custodians[i], info.active[i] ? "" : " (disabled: set up again)");
	printf("\n%zu case%s not covered\n", o.uncovered, o.uncovered == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

static int recovery_request(cli_ctx *ctx, int argc, char **argv)
{
	const char *reason = NULL;
	const cli_opt opts[] = {
		{ "reason", 0, NULL, &reason },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "recovery request", request_usage, opts, 2, 2 };
	char *args[2], id[VAULT_RECOVERY_ID_SIZE];
	const vault_error *err;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (args[1] == NULL)
		return cli_usage_error("give the case CODE and the caseworker USER");
	if (!reason || !*reason)
		return cli_usage_error("give the reason: --reason TEXT (admins and auditors read it)");
	cli_error_on(CLI_ON_CASE, args[0]);
	if (vault_recovery_request(ctx->v, args[0], args[1], reason, id) == 0) {
		printf("%s\n", id);
		return CLI_EXIT_OK;
	}
	err = vault_error_last();
	if (err->code == VAULT_EREFUSED && strstr(err->message, "not covered"))
		return cli_error(CLI_EXIT_ERROR,
			"a member's next command covers it ('casevault recovery status'); a case with no member left "
			"and not covered cannot be recovered",
			"cannot ask to recover case '%s': %s", args[0], err->message);
	if (err->code == VAULT_EUSAGE)
		return cli_error(CLI_EXIT_USAGE, "name an active caseworker who is not a member of the case "
			"('casevault user list')", "cannot ask to recover case '%s': %s", args[0], err->message);
	return cli_fail_vault("cannot ask to recover case '%s'", args[0]);
}

/* `fn` on the request the command names, `done` and its id printed: an
 * exit code, or -1 when `fn` failed (the error is the caller's to say). */
static int on_request(char **id, cli_ctx *ctx, int argc, char **argv, const cli_syntax *syn,
	int (*fn)(vault *, const char *), const char *done)
{
	int rc;

	if ((rc = cli_parse(syn, argc, argv, id)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_NONE, NULL);
	if (fn(ctx->v, id[0]) < 0)
		return -1;
	printf("%s %s\n", done, id[0]);
	return CLI_EXIT_OK;
}

static int recovery_approve(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "recovery approve", approve_usage, NULL, 1, 1 };
	const vault_error *err;
	char *args[1];
	int rc;

	if ((rc = on_request(args, ctx, argc, argv, &syn, vault_recovery_approve, "approved")) != -1)
		return rc;
	err = vault_error_last();
	if (err->code == VAULT_EACCES)
		return cli_error(CLI_EXIT_ACCESS, "only custodians holding a share of the case's key approve "
			"('casevault recovery status' names them)", "cannot approve %s: %s", args[0], err->message);
	if (err->code == VAULT_ENOTFOUND || err->code == VAULT_EUSAGE)
		return cli_error(err->code == VAULT_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_ERROR,
			"'casevault recovery list' shows the open requests", "cannot approve %s: %s", args[0], err->message);
	if (err->code == VAULT_EREFUSED && strstr(err->message, "outside a grant"))
		return cli_error(CLI_EXIT_ACCESS, "the custodians who approved the cancelled requests approve this one "
			"first ('casevault recovery list --all' names them); nothing was recorded",
			"cannot approve %s: %s", args[0], err->message);
	if (err->code == VAULT_EREFUSED && strstr(err->message, "cancelled"))
		return cli_error(CLI_EXIT_ACCESS, "an admin cancelled it; nothing was recorded; an admin may ask "
			"again ('casevault recovery request')", "cannot approve %s: %s", args[0], err->message);
	if (err->code == VAULT_EREFUSED)
		return cli_error(CLI_EXIT_ERROR, "nothing was recorded; 'casevault recovery list' shows the open requests",
			"cannot approve %s: %s", args[0], err->message);
	return cli_fail_vault("cannot approve %s", args[0]);
}

static int recovery_cancel(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "recovery cancel", cancel_usage, NULL, 1, 1 };
	const vault_error *err;
	char *args[1];
	int rc;

	if ((rc = on_request(args, ctx, argc, argv, &syn, vault_recovery_cancel, "cancelled")) != -1)
		return rc;
	err = vault_error_last();
	if (err->code == VAULT_EACCES)
		return cli_error(CLI_EXIT_ACCESS, "ask an admin (DPO) to cancel it", "cannot cancel %s: %s", args[0],
			err->message);
	if (err->code == VAULT_ENOTFOUND || err->code == VAULT_EUSAGE || err->code == VAULT_EREFUSED)
		return cli_error(err->code == VAULT_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_ERROR,
			"nothing was recorded; 'casevault recovery list --all' shows the requests",
			"cannot cancel %s: %s", args[0], err->message);
	return cli_fail_vault("cannot cancel %s", args[0]);
}

static int print_request(const vault_recovery_entry *q, void *payload)
{
	const int *json = payload;
	cli_json j;

	if (*json) {
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "id", q->id);
		cli_json_str(&j, "case", q->code);
		cli_json_str(&j, "user", q->user);
		cli_json_bool(&j, "granted", q->granted);
		cli_json_bool(&j, "cancelled", q->cancelled);
		cli_json_uint(&j, "approvals", q->napproved);
		cli_json_uint(&j, "threshold", q->threshold);
		cli_json_end(&j);
		return 0;
	}
	printf("%s  %s  for %s  %zu of %u approvals%s%s", q->id, q->code, q->user, q->napproved, q->threshold,
		q->granted ? "  granted" : q->cancelled ? "  cancelled" : "", q->stale ? "  (split again since: ask again)" : "");
	for (size_t k = 0; k < q->napproved; k++)
		printf("%s%s", k ? "," : "  by ", q->approved[k]);
	printf("\n");
	return 0;
}

static int recovery_list(cli_ctx *ctx, int argc, char **argv)
{
	int all = 0, json = 0, rc;
	const cli_opt opts[] = {
		{ "all", 0, &all, NULL },
		{ "json", 0, &json, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "recovery list", list_usage, opts, 0, 0 };

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_NONE, NULL);
	if (vault_recovery_list(ctx->v, all, print_request, &json) == 0)
		return CLI_EXIT_OK;
	if (vault_error_last()->code == VAULT_EACCES)
		return cli_error(CLI_EXIT_ACCESS, "ask an admin (DPO), an auditor or a custodian",
			"cannot list the recovery requests: %s", vault_error_last()->message);
	return cli_fail_vault("cannot list the recovery requests");
}

static const cli_subcmd subcmds[] = {
	{ "approve", recovery_approve },
	{ "cancel", recovery_cancel },
	{ "list",   recovery_list },
	{ "request", recovery_request },
	{ "setup",  recovery_setup },
	{ "status", recovery_status },
	{ NULL, NULL }
};

int cmd_recovery(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "recovery", usage, subcmds, argc, argv);
}
