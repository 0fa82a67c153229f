/*
 * casevault audit: read and verify the signed history. The history is
 * encrypted: every view of it needs a user (--user) and their passphrase.
 * `audit verify` only opens the history's keys (vault_open_history: it
 * verifies everything itself, a damaged history included); the others
 * unlock a session, which verifies what was appended first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"


static const char usage[] =
	"usage: " AUDIT_LOG_SYNOPSIS "\n"
	"   or: " AUDIT_SHOW_SYNOPSIS "\n"
	"   or: " AUDIT_REPORT_SYNOPSIS "\n"
	"   or: " AUDIT_VERIFY_SYNOPSIS "\n"
	"   or: " AUDIT_EXPORT_SYNOPSIS "\n"
	"   or: " AUDIT_PUSH_SYNOPSIS "\n"
	"\n"
	"Every change and every read is a signed event in a hash chain.\n";

static const char log_usage[] =
	"usage: " AUDIT_LOG_SYNOPSIS "\n"
	"\n"
	"Print the events, oldest first: COMMIT TIME ACTOR ACTION CASE NODE vN\n"
	"PURPOSE ('-' where empty), then the TARGET of an event about a user or\n"
	"key, and for a grant or revoke the access (ro or rw). COMMIT is the first\n"
	"12 hex digits of the event's id ('audit show' takes it). With --json, one\n"
	"object per line: commit, time, actor, action, case, node, version,\n"
	"purpose, via, subject, target, access (and note, with --notes).\n"
	"\n"
	"  --case CODE   events of this case only\n"
	"  --user NAME   events by this user only\n"
	"                (a case or user the history never names is an error)\n"
	"  --action A    events of these actions only (read, write, grant, ...);\n"
	"                repeat it or give a comma list: --action grant,revoke\n"
	"  --node NODE   events of this file or folder (node id) only\n"
	"  --notes       show the notes of purpose, decrypted: for an admin or\n"
	"                auditor (--user, with a passphrase)\n"
	"  --since T, --until T\n"
	"                T is local time (2026-11-28T10:00), with a zone (...Z,\n"
	"                ...+07:00), a date (its 00:00) or seconds since 1970\n";

static const char show_usage[] =
	"usage: " AUDIT_SHOW_SYNOPSIS "\n"
	"\n"
	"Show one event: EVENT is its commit id, a unique prefix of at least 7\n"
	"hex digits, or #N, its number in the chain (1 is the genesis; 'audit\n"
	"verify' names a failing event 'event N'; quote it in a shell: '#N').\n"
	"Prints its fields, its subject, who signed it, and the paths\n"
	"of the history tree it added (A), changed (M) or removed (D). --notes\n"
	"opens its note of purpose (admins and auditors).\n";

static const char report_usage[] =
	"usage: " AUDIT_REPORT_SYNOPSIS "\n"
	"\n"
	"Reports for admins and auditors (--user NAME with a passphrase):\n"
	"  --case CODE           who read and who changed the case's documents:\n"
	"                        TIME read|write ACTOR ACTION NODE vN PURPOSE\n"
	"  --user NAME           what NAME did (by) and what was done about them\n"
	"                        (about): grants, revokes, failed unlocks\n"
	"  --revoked NAME --case CODE\n"
	"                        NAME's spans of membership (member ...), their\n"
	"                        reads (read ...), and every version they could\n"
	"                        read with the keys they held (exposed ...)\n"
	"  --anomalies           bulk reads, reads outside working hours, reads\n"
	"                        soon after a membership change, bursts of failed\n"
	"                        unlocks; thresholds: 'casevault settings show'\n"
	"  --notes               add the notes of purpose, decrypted\n"
	"  --since T, --until T  only events in this time (as in 'audit log')\n"
	"  --json                one object per line, with \"kind\"\n"
	"\n"
	"See docs/audit.md for the exact rules.\n";

static const char *dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static void json_event_fields(cli_json *j, const vault_event_info *ev)
{
	cli_json_str(j, "commit", ev->commit);
	cli_json_time(j, "time", ev->time);
	cli_json_str(j, "actor", ev->actor);
	cli_json_str(j, "action", ev->action);
	cli_json_str_or_null(j, "case", ev->case_code);
	cli_json_str_or_null(j, "node", ev->node);
	cli_json_uint_or_null(j, "version", ev->version);
	cli_json_str_or_null(j, "purpose", ev->purpose);
	cli_json_str_or_null(j, "via", ev->via);
	cli_json_str(j, "subject", ev->subject);
	cli_json_str_or_null(j, "target", ev->target);
	cli_json_str_or_null(j, "access", ev->access);
}

/* Commit ids in text are shortened to this many hex digits ('audit show' takes them). */
#define SHORT_ID 12

/*
 * COMMIT TIME ACTOR ACTION CASE NODE vN PURPOSE [TARGET [ro|rw]], without
 * the newline. The target is printed whenever the event has one, also when
 * it is the actor (an admin who grants themselves).
 */
static void print_event_text(const vault_event_info *ev)
{
	char t[CLI_TIME_SIZE];

	printf("%.*s %s %s %s %s %s ", SHORT_ID, ev->commit, cli_time_rfc3339(t, ev->time),
		dash(ev->actor), dash(ev->action), dash(ev->case_code), dash(ev->node));
	if (ev->version != 0)
		printf("v%" PRIu32, ev->version);
	else
		putchar('-');
	printf(" %s", dash(ev->purpose));
	if (ev->target && *ev->target)
		printf(" %s", ev->target);
	if (ev->access && *ev->access)
		printf(" %s", ev->access);
}

/* A note is text a reader typed: one line, control characters as '?'. */
static void print_note(const char *note)
{
	fputs(" note: ", stdout);
	cli_print_text(stdout, note);
}

typedef struct {
	int json;
	int notes;
} out_opts;

static int print_event(const vault_event_info *ev, const char *note, void *payload)
{
	const out_opts *o = payload;
	cli_json j;

	if (o->json) {
		cli_json_begin(&j, stdout);
		json_event_fields(&j, ev);
		if (o->notes)
			cli_json_str(&j, "note", note);
		cli_json_end(&j);
		return 0;
	}
	print_event_text(ev);
	if (note)
		print_note(note);
	putchar('\n');
	return 0;
}

static int parse_time_option(int64_t *out, const char *option, const char *s)
{
	if (s == NULL)
		return 0;
	if (cli_parse_time(out, s) < 0)
		return cli_usage_error("option '--%s' needs a time: 2026-11-28T10:00 (local), 2026-11-28T10:00:00Z, "
			"2026-11-28 or seconds since 1970", option);
	return 0;
}

/* The library's refusal, with a hint that names the roles. */
static int fail_view(const char *what, const char *object)
{
	const vault_error *err = vault_error_last();

	const char *q = *object ? "'" : "";

	if (err->code == VAULT_EACCES)
		return cli_error(CLI_EXIT_ACCESS,
			"ask an admin (DPO) or an auditor; they may run it with --user NAME",
			"%s%s%s%s: %s", what, q, object, q, err->message);
	return cli_fail_vault("%s%s%s%s", what, q, object, q);
}

/*
 * A filter the library refused: a name the history never had (the hint
 * says where the names are), or a bad value.
 */
static const char *filter_hint(const char *command)
{
	static char hint[128];
	const char *m = vault_error_last()->message;

	if (strstr(m, "is not in the history") && !strncmp(m, "user '", 6))
		return "check the name: 'casevault user list' shows the users";
	if (strstr(m, "is not in the history"))
		return "check the code: 'casevault case list' shows the cases";
	snprintf(hint, sizeof hint, "run 'casevault %s --help' for usage", command);
	return hint;
}

#define MAX_ACTIONS 32

/*
 * --action may be repeated and may hold a comma list; cli_parse keeps
 * only the last value, so collect them all from argv first.
 */
static int collect_actions(const char **list, char *buf, size_t bufsize, int argc, char **argv)
{
	size_t n = 0, used = 0;

	for (int i = 1; i < argc; i++) {
		const char *val = NULL;

		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--action") && i + 1 < argc)
			val = argv[++i];
		else if (!strncmp(argv[i], "--action=", 9))
			val = argv[i] + 9;
		if (val == NULL)
			continue;
		if (used + strlen(val) + 1 > bufsize)
			return cli_usage_error("option '--action': too many actions");
		strcpy(buf + used, val);
		for (char *s = buf + used, *tok; (tok = strsep(&s, ",")) != NULL; ) {
			if (*tok == '\0')
				return cli_usage_error("option '--action' needs action names, such as read,write");
			if (n == MAX_ACTIONS)
				return cli_usage_error("option '--action': too many actions");
			list[n++] = tok;
		}
		used += strlen(val) + 1;
	}
	list[n] = NULL;
	return 0;
}

static int audit_log(cli_ctx *ctx, int argc, char **argv)
{
	const char *since = NULL, *until = NULL, *action = NULL;
	const char *actions[MAX_ACTIONS + 1];
	char action_buf[1024];
	vault_log_options q = VAULT_LOG_OPTIONS_INIT;
	out_opts o = { 0, 0 };
	int rc;
	const cli_opt opts[] = {
		{ "json", 0, &o.json, NULL },
		{ "notes", 0, &o.notes, NULL },
		{ "case", 0, NULL, &q.case_code },
		{ "user", 0, NULL, &q.user },
		{ "action", 0, NULL, &action },
		{ "node", 0, NULL, &q.node },
		{ "since", 0, NULL, &since },
		{ "until", 0, NULL, &until },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "audit log", log_usage, opts, 0, 0 };

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if ((rc = parse_time_option(&q.since, "since", since)) != 0 ||
	    (rc = parse_time_option(&q.until, "until", until)) != 0)
		return rc;
	if (action && (rc = collect_actions(actions, action_buf, sizeof action_buf, argc, argv)) != 0)
		return rc;
	q.actions = action ? actions : NULL;
	q.notes = o.notes;

	cli_error_on(CLI_ON_NONE, NULL);
	if (vault_audit_query(ctx->v, &q, print_event, &o) < 0) {
		if (vault_error_last()->code == VAULT_EUSAGE)
			return cli_error(CLI_EXIT_USAGE, filter_hint("audit log"),
				"audit log: %s", vault_error_last()->message);
		return fail_view("cannot read the audit log", "");
	}
	return CLI_EXIT_OK;
}

static const char *sig_name(vault_sig_t s)
{
	switch (s) {
	case VAULT_SIG_GOOD:
		return "good";
	case VAULT_SIG_UNSIGNED:
		return "unsigned";
	default:
		return "bad";
	}
}

static const char *change_name(char c)
{
	return c == 'A' ? "added" : c == 'D' ? "removed" : "changed";
}

static int print_detail(const vault_event_detail *d, void *payload)
{
	const out_opts *o = payload;
	const vault_event_info *ev = d->info;
	char t[CLI_TIME_SIZE];
	cli_json j;
	size_t i;

	if (o->json) {
		cli_json_begin(&j, stdout);
		json_event_fields(&j, ev);
		cli_json_uint(&j, "index", d->index);
		cli_json_str_or_null(&j, "parent", d->parent);
		cli_json_str(&j, "tree", d->tree);
		cli_json_str(&j, "signature", sig_name(d->signature));
		cli_json_str_or_null(&j, "signer", d->signer);
		cli_json_bool(&j, "has_note", d->has_note);
		if (o->notes)
			cli_json_str(&j, "note", d->note);
		cli_json_array_begin(&j, "changes");
		for (i = 0; i < d->nchanges; i++) {
			cli_json_object_begin(&j, NULL);
			cli_json_str(&j, "path", d->changes[i].path);
			cli_json_str(&j, "change", change_name(d->changes[i].change));
			cli_json_object_end(&j);
		}
		cli_json_array_end(&j);
		cli_json_end(&j);
		return 0;
	}
	printf("event     %s (event %" PRIu64 " of the chain)\n", ev->commit, d->index);
	printf("parent    %s\n", *d->parent ? d->parent : "none (the genesis)");
	printf("time      %s\n", cli_time_rfc3339(t, ev->time));
	printf("actor     %s\n", dash(ev->actor));
	printf("action    %s\n", dash(ev->action));
	printf("target    %s\n", dash(ev->target));
	printf("case      %s\n", dash(ev->case_code));
	printf("node      %s\n", dash(ev->node));
	if (ev->version)
		printf("version   %" PRIu32 "\n", ev->version);
	else
		printf("version   -\n");
	printf("purpose   %s\n", dash(ev->purpose));
	if (d->note) {
		fputs("note      ", stdout);
		cli_print_text(stdout, d->note);
		putchar('\n');
	} else {
		printf("note      %s\n", d->has_note ? "(sealed; --notes opens it)" : "-");
	}
	printf("via       %s\n", dash(ev->via));
	fputs("subject   ", stdout);
	cli_print_text(stdout, ev->subject);
	putchar('\n');
	switch (d->signature) {
	case VAULT_SIG_GOOD:
		printf("signature good, signed by %s\n", d->signer);
		break;
	case VAULT_SIG_UNSIGNED:
		printf("signature unsigned\n");
		break;
	default:
		printf("signature BAD: does not verify against the key of '%s'\n", d->signer);
		break;
	}
	printf("tree      %s\n", d->tree);
	if (d->nchanges == 0)
		printf("changes   none\n");
	else
		printf("changes   %zu\n", d->nchanges);
	for (i = 0; i < d->nchanges; i++)
		printf("  %c %s\n", d->changes[i].change, d->changes[i].path);
	return 0;
}

static int audit_show(cli_ctx *ctx, int argc, char **argv)
{
	out_opts o = { 0, 0 };
	const cli_opt opts[] = {
		{ "json", 0, &o.json, NULL },
		{ "notes", 0, &o.notes, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "audit show", show_usage, opts, 1, 1 };
	const vault_error *err;
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (vault_audit_show(ctx->v, args[0], o.notes, print_detail, &o) == 0)
		return CLI_EXIT_OK;
	err = vault_error_last();
	if (err->code == VAULT_EUSAGE)
		return cli_error(CLI_EXIT_USAGE, "give a commit id (or 7 or more of its first hex digits) "
				"from 'casevault audit log', or an event number as '#N'",
			"audit show: %s", err->message);
	if (err->code == VAULT_ENOTFOUND)
		return cli_error(CLI_EXIT_ERROR, strstr(err->message, "ambiguous") ?
				"give more hex digits of the commit id" :
				"check the id: 'casevault audit log --json' lists the commit of every event",
			"cannot show event '%s': %s", args[0], err->message);
	return fail_view("cannot show event ", args[0]);
}

static const char *null_time(char t[CLI_TIME_SIZE], int64_t v)
{
	return v ? cli_time_rfc3339(t, v) : "now";
}

static int print_line(const vault_report_line *l, void *payload)
{
	const out_opts *o = payload;
	char t1[CLI_TIME_SIZE], t2[CLI_TIME_SIZE];
	cli_json j;

	if (o->json) {
		cli_json_begin(&j, stdout);
		switch (l->kind) {
		case VAULT_LINE_EVENT:
			cli_json_str(&j, "kind", l->relation);
			json_event_fields(&j, l->event);
			if (o->notes)
				cli_json_str(&j, "note", l->note);
			break;
		case VAULT_LINE_MEMBERSHIP:
			cli_json_str(&j, "kind", "member");
			cli_json_str(&j, "user", l->user);
			cli_json_str(&j, "case", l->case_code);
			cli_json_str(&j, "access", l->access);
			cli_json_time(&j, "granted", l->from);
			if (l->to)
				cli_json_time(&j, "revoked", l->to);
			else
				cli_json_str(&j, "revoked", NULL);
			cli_json_uint(&j, "epoch", l->epoch);
			break;
		case VAULT_LINE_EXPOSED:
			cli_json_str(&j, "kind", "exposed");
			cli_json_str(&j, "case", l->case_code);
			cli_json_str(&j, "node", l->event->node);
			cli_json_uint(&j, "version", l->event->version);
			cli_json_uint(&j, "epoch", l->epoch);
			cli_json_str(&j, "commit", l->event->commit);
			cli_json_time(&j, "time", l->event->time);
			cli_json_str(&j, "actor", l->event->actor);
			cli_json_str(&j, "action", l->event->action);
			break;
		case VAULT_LINE_FLAG:
			cli_json_str(&j, "kind", "flag");
			cli_json_str(&j, "rule", l->rule);
			cli_json_str(&j, "user", l->user);
			cli_json_str_or_null(&j, "case", l->case_code);
			cli_json_time(&j, "from", l->from);
			cli_json_time(&j, "to", l->to);
			cli_json_uint(&j, "count", l->count);
			cli_json_uint(&j, "limit", l->limit);
			cli_json_uint(&j, "window", (uint64_t) l->window);
			cli_json_str_or_null(&j, "detail", l->detail);
			break;
		}
		cli_json_end(&j);
		return 0;
	}
	switch (l->kind) {
	case VAULT_LINE_EVENT:
		printf("%-5s ", l->relation);
		print_event_text(l->event);
		if (l->note)
			print_note(l->note);
		break;
	case VAULT_LINE_MEMBERSHIP:
		printf("member %s %s %s from %s to %s, keys up to epoch %" PRIu32, l->user,
			l->case_code, l->access, cli_time_rfc3339(t1, l->from), null_time(t2, l->to),
			l->epoch);
		break;
	case VAULT_LINE_EXPOSED:
		printf("exposed %s %s v%" PRIu32 " epoch %" PRIu32 " written %s by %s (%s, event %.12s)",
			l->case_code, l->event->node, l->event->version, l->epoch,
			cli_time_rfc3339(t1, l->event->time), l->event->actor, l->event->action,
			l->event->commit);
		break;
	case VAULT_LINE_FLAG:
		printf("flag %s user %s", l->rule, l->user);
		if (l->case_code && *l->case_code)
			printf(" case %s", l->case_code);
		printf(" from %s to %s: %" PRIu64 " %s", cli_time_rfc3339(t1, l->from),
			cli_time_rfc3339(t2, l->to), l->count,
			!strcmp(l->rule, "failed-unlocks") ? "failed unlocks" :
			!strcmp(l->rule, "grant-after-add") ? "grants" : "reads");
		if (l->limit)
			printf(" (more than %" PRIu64 " in %" PRId64 " s)", l->limit, l->window);
		else if (!strcmp(l->rule, "after-membership-change") || !strcmp(l->rule, "grant-after-add"))
			printf(" (within %" PRId64 " s)", l->window);
		if (l->detail && *l->detail)
			printf(": %s", l->detail);
		break;
	}
	putchar('\n');
	return 0;
}

static int audit_report(cli_ctx *ctx, int argc, char **argv)
{
	const char *since = NULL, *until = NULL, *revoked = NULL, *user = NULL;
	vault_report_options r = VAULT_REPORT_OPTIONS_INIT;
	out_opts o = { 0, 0 };
	int anomalies = 0, recoveries = 0, rc, chosen;
	const cli_opt opts[] = {
		{ "json", 0, &o.json, NULL },
		{ "notes", 0, &o.notes, NULL },
		{ "case", 0, NULL, &r.case_code },
		{ "user", 0, NULL, &user },
		{ "revoked", 0, NULL, &revoked },
		{ "anomalies", 0, &anomalies, NULL },
		{ "recoveries", 0, &recoveries, NULL },
		{ "since", 0, NULL, &since },
		{ "until", 0, NULL, &until },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "audit report", report_usage, opts, 0, 0 };
	const char *what;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if ((rc = parse_time_option(&r.since, "since", since)) != 0 ||
	    (rc = parse_time_option(&r.until, "until", until)) != 0)
		return rc;
	chosen = (user != NULL) + (revoked != NULL) + anomalies + recoveries;
	if (chosen > 1 || (anomalies && r.case_code))
		return cli_usage_error("choose one report: --case, --user, --revoked with --case, --anomalies "
			"or --recoveries");
	if (revoked) {
		if (!r.case_code)
			return cli_usage_error("option '--revoked' needs '--case CODE'");
		r.report = VAULT_REPORT_REVOKED;
		r.user = revoked;
		what = revoked;
	} else if (user) {
		r.report = VAULT_REPORT_USER;
		r.user = user;
		what = user;
	} else if (anomalies) {
		r.report = VAULT_REPORT_ANOMALIES;
		what = "anomalies";
	} else if (recoveries) {
		r.report = VAULT_REPORT_RECOVERIES;
		what = "recoveries";
	} else if (r.case_code) {
		r.report = VAULT_REPORT_CASE;
		what = r.case_code;
	} else {
		return cli_usage_error("choose a report: --case CODE, --user NAME, --revoked NAME --case CODE, --anomalies "
			"or --recoveries");
	}
	r.notes = o.notes;
	if (vault_audit_report(ctx->v, &r, print_line, &o) == 0)
		return CLI_EXIT_OK;
	if (vault_error_last()->code == VAULT_EUSAGE)
		return cli_error(CLI_EXIT_USAGE, filter_hint("audit report"),
			"cannot report on '%s': %s", what, vault_error_last()->message);
	if (vault_error_last()->code == VAULT_ENOTFOUND)
		return cli_error(CLI_EXIT_ERROR,
			"check the case: 'casevault audit log --action grant,revoke --case CODE' shows its members",
			"cannot report on '%s': %s", what, vault_error_last()->message);
	return fail_view("cannot report on ", what);
}

static const cli_subcmd subcmds[] = {
	{ "export", cmd_audit_export },
	{ "log",    audit_log },
	{ "push",   cmd_audit_push },
	{ "report", audit_report },
	{ "show",   audit_show },
	{ "verify", cmd_audit_verify },
	{ NULL, NULL }
};

/*
 * The history's keys, from the user's key pair: a session for every view
 * but `verify`, which only opens the keys. Without a user: exit 4, as the
 * notes and reports always were.
 */
static int open_history(cli_ctx *ctx, const char *sub)
{
	cli_secret pass = { NULL, 0 };
	int rc = 0, verify = !strcmp(sub, "verify"), error;

	if (ctx->user == NULL)
		return cli_error(CLI_EXIT_ACCESS,
			"pass --user NAME of a user of the vault before the command (after 'audit log' "
			"and 'audit report', --user names whom they are about), or set CASEVAULT_USER; "
			"notes of purpose and reports are for admins and auditors",
			"the history is encrypted: no user given to read it with");
	if ((rc = cli_passphrase_get(&pass, ctx->passphrase_file, ctx->user)) != 0)
		return rc;
	cli_error_on(CLI_ON_VAULT, ctx->dir);
	if (verify)
		error = vault_open_history(ctx->v, ctx->user, pass.buf, pass.len);
	else
		error = (ctx->restored ? vault_unlock_restored : vault_unlock)(ctx->v, ctx->user,
			pass.buf, pass.len);
	if (error < 0)
		rc = cli_fail_vault("cannot unlock vault '%s' as '%s'", ctx->dir, ctx->user);
	cli_secret_dispose(&pass);
	cli_error_on(CLI_ON_NONE, NULL);
	return rc;
}

int cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
	int rc;

	if (argc > 1 && argv[1][0] != '-' && !cli_wants_help(argc - 1, argv + 1)) {
		for (const cli_subcmd *s = subcmds; s->name; s++)
			if (!strcmp(s->name, argv[1]) && (rc = open_history(ctx, argv[1])) != 0)
				return rc;
	}
	return cli_dispatch(ctx, "audit", usage, subcmds, argc, argv);
}
