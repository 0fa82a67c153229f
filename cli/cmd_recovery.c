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

static const char usage[] =
	"usage: " SETUP_SYNOPSIS "\n"
	"   or: " STATUS_SYNOPSIS "\n"
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

static const cli_subcmd subcmds[] = {
	{ "setup",  recovery_setup },
	{ "status", recovery_status },
	{ NULL, NULL }
};

int cmd_recovery(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "recovery", usage, subcmds, argc, argv);
}
