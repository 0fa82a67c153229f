/*
 * casevault audit: read and verify the signed history. Needs the vault
 * opened, not unlocked: no user, no passphrase, no case key.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define LOG_SYNOPSIS    "casevault audit log [--json] [--case CODE] [--user NAME] [--since T] [--until T]"
#define VERIFY_SYNOPSIS "casevault audit verify [--anchor OID]"
#define EXPORT_SYNOPSIS "casevault audit export DIR"
#define PUSH_SYNOPSIS   "casevault audit push URL"

static const char usage[] =
	"usage: " LOG_SYNOPSIS "\n"
	"   or: " VERIFY_SYNOPSIS "\n"
	"   or: " EXPORT_SYNOPSIS "\n"
	"   or: " PUSH_SYNOPSIS "\n"
	"\n"
	"Every change and every read is a signed event in a hash chain.\n";

static const char log_usage[] =
	"usage: " LOG_SYNOPSIS "\n"
	"\n"
	"Print the events, oldest first: TIME ACTOR ACTION CASE NODE vN PURPOSE\n"
	"('-' where empty). With --json, one object per line: commit, time,\n"
	"actor, action, case, node, version, purpose, via, subject, target.\n"
	"\n"
	"  --case CODE   events of this case only\n"
	"  --user NAME   events by this user only\n"
	"  --since T, --until T\n"
	"                T is RFC 3339 (2026-11-28T10:00:00Z), a date (2026-11-28,\n"
	"                at 00:00 UTC) or seconds since 1970\n";

static const char verify_usage[] =
	"usage: " VERIFY_SYNOPSIS "\n"
	"\n"
	"Replay the whole history: every signature, every action against the\n"
	"actor's role, the state against the last event, every version against\n"
	"its manifest. With --anchor, the history must contain OID (the genesis\n"
	"printed at init, or a head pushed to a witness).\n"
	"\n"
	"Prints 'ok: N events, M versions verified, head OID', or names the first\n"
	"event that fails and exits with 3.\n";

static const char *dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static void print_event_json(const vault_event_info *ev)
{
	cli_json j;

	cli_json_begin(&j, stdout);
	cli_json_str(&j, "commit", ev->commit);
	cli_json_time(&j, "time", ev->time);
	cli_json_str(&j, "actor", ev->actor);
	cli_json_str(&j, "action", ev->action);
	cli_json_str_or_null(&j, "case", ev->case_code);
	cli_json_str_or_null(&j, "node", ev->node);
	cli_json_uint_or_null(&j, "version", ev->version);
	cli_json_str_or_null(&j, "purpose", ev->purpose);
	cli_json_str_or_null(&j, "via", ev->via);
	cli_json_str(&j, "subject", ev->subject);
	cli_json_str_or_null(&j, "target", ev->target);
	cli_json_end(&j);
}

static int print_event(const vault_event_info *ev, void *payload)
{
	const int *json = payload;
	char t[CLI_TIME_SIZE];

	if (*json) {
		print_event_json(ev);
		return 0;
	}
	printf("%s %s %s %s %s ", cli_time_rfc3339(t, ev->time), dash(ev->actor),
		dash(ev->action), dash(ev->case_code), dash(ev->node));
	if (ev->version != 0)
		printf("v%" PRIu32, ev->version);
	else
		putchar('-');
	printf(" %s", dash(ev->purpose));
	if (ev->target && *ev->target && strcmp(ev->target, ev->actor))
		printf(" %s", ev->target);
	putchar('\n');
	return 0;
}

static int parse_time_option(int64_t *out, const char *option, const char *s)
{
	if (s == NULL)
		return 0;
	if (cli_parse_time(out, s) < 0)
		return cli_usage_error("option '--%s' needs a time: 2026-11-28T10:00:00Z, "
			"2026-11-28 or seconds since 1970", option);
	return 0;
}

static int audit_log(cli_ctx *ctx, int argc, char **argv)
{
	const char *since = NULL, *until = NULL;
	vault_log_filter filter = { NULL, NULL, 0, 0 };
	int json = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ "case", 0, NULL, &filter.case_code },
		{ "user", 0, NULL, &filter.user },
		{ "since", 0, NULL, &since },
		{ "until", 0, NULL, &until },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "audit log", log_usage, opts, 0, 0 };

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if ((rc = parse_time_option(&filter.since, "since", since)) != 0 ||
	    (rc = parse_time_option(&filter.until, "until", until)) != 0)
		return rc;

	cli_error_on(CLI_ON_NONE, NULL);
	if (vault_audit_log(ctx->v, &filter, print_event, &json) < 0)
		return cli_fail_vault("cannot read the audit log");
	return CLI_EXIT_OK;
}

static int audit_verify(cli_ctx *ctx, int argc, char **argv)
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

static const char export_usage[] =
	"usage: " EXPORT_SYNOPSIS "\n"
	"\n"
	"Write the history to a bare git repository DIR (made if missing or empty)\n"
	"on the branch 'audit', with DIR/allowed_signers and the config that lets\n"
	"stock git check every signature:\n"
	"    git -C DIR log --show-signature audit\n"
	"    git -C DIR verify-commit COMMIT\n"
	"Run it again to add what is new. If DIR holds a history that is not a\n"
	"beginning of this vault's (a rollback or a rewrite), nothing is written\n"
	"and the exit code is 3. Failed unlocks are the only unsigned events.\n";

static int audit_export(cli_ctx *ctx, int argc, char **argv)
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
	"usage: " PUSH_SYNOPSIS "\n"
	"\n"
	"Push the history to a witness: any git remote (a path, file://, ssh://),\n"
	"on its branch 'audit', through the export kept in VAULT/audit.git. The\n"
	"witness must hold a beginning of this history; if it holds anything else\n"
	"(a rollback or a rewrite on either side), nothing is pushed, the commit\n"
	"it holds is named, and the exit code is 3.\n";

static int audit_push(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "audit push", push_usage, NULL, 1, 1 };
	vault_push_result res;
	char *args[1], cache[4200];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	snprintf(cache, sizeof cache, "%s/audit.git", ctx->dir);
	cli_error_on(CLI_ON_AUDIT, args[0]);
	if (vault_audit_push(&res, ctx->v, cache, args[0]) < 0)
		return cli_fail_vault("cannot push the history to '%s'", args[0]);
	if (res.pushed)
		printf("pushed audit %s to %s\n", res.head, args[0]);
	else
		printf("%s is up to date, audit at %s\n", args[0], res.head);
	return 0;
}

static const cli_subcmd subcmds[] = {
	{ "export", audit_export },
	{ "log",    audit_log },
	{ "push",   audit_push },
	{ "verify", audit_verify },
	{ NULL, NULL }
};

int cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "audit", usage, subcmds, argc, argv);
}
