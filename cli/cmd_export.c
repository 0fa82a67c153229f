/*
 * casevault audit export and audit push: the history for stock git and for
 * a witness. Need the vault opened, not unlocked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char export_usage[] =
	"usage: " AUDIT_EXPORT_SYNOPSIS "\n"
	"\n"
	"Write the history to a bare git repository DIR (made if missing or empty)\n"
	"on the branch 'audit', with DIR/allowed_signers and the config that lets\n"
	"stock git check every signature:\n"
	"    git -C DIR log --show-signature audit\n"
	"    git -C DIR verify-commit COMMIT\n"
	"Run it again to add what is new: each run adds one pack of the new\n"
	"objects (nothing when there is none). If DIR holds a history that is\n"
	"not a beginning of this vault's (a rollback or a rewrite), nothing is\n"
	"written and the exit code is 3. Failed unlocks are the only unsigned\n"
	"events.\n";

int cmd_audit_export(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "audit export", export_usage, NULL, 1, 1 };
	vault_export_result res;
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_AUDIT, args[0]);
	if (vault_audit_export(&res, ctx->v, args[0]) < 0)
		return cli_fail_vault("cannot export the history to '%s'", args[0]);
	if (res.changed)
		printf("exported %" PRIu64 " events (%" PRIu64 " objects) to %s, audit at %s\n",
			res.commits, res.objects, args[0], res.head);
	else
		printf("%s is up to date, audit at %s\n", args[0], res.head);
	return 0;
}

static const char push_usage[] =
	"usage: " AUDIT_PUSH_SYNOPSIS "\n"
	"\n"
	"Push the history to a witness: any git remote (a path, file://, ssh://),\n"
	"on its branch 'audit', from the vault's encrypted history (VAULT/audit.git\n"
	"keeps only the branch's commit id, no history in plain). The\n"
	"witness must hold a beginning of this history; if it holds anything else\n"
	"(a rollback or a rewrite on either side), nothing is pushed, the commit\n"
	"it holds is named, and the exit code is 3.\n";

int cmd_audit_push(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "audit push", push_usage, NULL, 1, 1 };
	vault_push_result res;
	char *args[1], cache[4200];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	snprintf(cache, sizeof cache, "%s/audit.git", ctx->dir);
	cli_error_on(CLI_ON_WITNESS, args[0]);
	if (vault_audit_push(&res, ctx->v, cache, args[0]) < 0)
		return cli_fail_vault("cannot push the history to '%s'", args[0]);
	if (res.pushed)
		printf("pushed audit %s to %s\n", res.head, args[0]);
	else
		printf("%s is up to date, audit at %s\n", args[0], res.head);
	return 0;
}

