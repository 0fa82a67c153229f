/*
 * casevault audit verify: replay the whole history. Needs the vault opened,
 * not unlocked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char verify_usage[] =
	"usage: " AUDIT_VERIFY_SYNOPSIS "\n"
	"\n"
	"Replay the whole history: every signature, every action against the\n"
	"actor's role, the state against the last event, every version against\n"
	"its manifest. With --anchor, the history must contain OID (the genesis\n"
	"printed at init, or a head pushed to a witness).\n"
	"\n"
	"Prints 'ok: N events, M versions verified, head OID', or names the first\n"
	"event that fails and exits with 3.\n";

int cmd_audit_verify(cli_ctx *ctx, int argc, char **argv)
{
	const char *anchor = NULL;
	const cli_opt opts[] = {
		{ "anchor", 0, NULL, &anchor },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "audit verify", verify_usage, opts, 0, 0 };
	vault_verify_result res;
	char head[VAULT_OID_SIZE];
	const char *message;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;

	memset(&res, 0, sizeof res);
	cli_error_on(CLI_ON_AUDIT, anchor);
	if (vault_audit_verify(&res, ctx->v, anchor) < 0) {
		message = vault_error_last()->message;
		res.bad_commit[VAULT_OID_SIZE - 1] = '\0';
		/* Name the event, unless the library's message already does. */
		if (res.bad_commit[0] != '\0' &&
		    (message == NULL || strstr(message, res.bad_commit) == NULL))
			return cli_fail_vault("audit verify failed at event %s", res.bad_commit);
		return cli_fail_vault("audit verify failed");
	}
	if (vault_head(head, ctx->v) < 0)
		return cli_fail_vault("the history verifies, but its head cannot be read");
	printf("ok: %" PRIu64 " events, %" PRIu64 " versions verified, head %s\n",
		res.events, res.versions, head);
	return CLI_EXIT_OK;
}

