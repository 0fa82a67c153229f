/*
 * casevault audit: read and verify the signed history. Needs the vault
 * opened, not unlocked: no user, no passphrase, no case key.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"


static const char usage[] =
	"usage: " AUDIT_LOG_SYNOPSIS "\n"
	"   or: " AUDIT_VERIFY_SYNOPSIS "\n"
	"   or: " AUDIT_EXPORT_SYNOPSIS "\n"
	"   or: " AUDIT_PUSH_SYNOPSIS "\n"
	"\n"
	"Every change and every read is a signed event in a hash chain.\n";

static const char log_usage[] =
	"usage: " AUDIT_LOG_SYNOPSIS "\n"
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

static const cli_subcmd subcmds[] = {
	{ "export", cmd_audit_export },
	{ "log",    audit_log },
	{ "push",   cmd_audit_push },
	{ "verify", cmd_audit_verify },
	{ NULL, NULL }
};

int cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "audit", usage, subcmds, argc, argv);
}
