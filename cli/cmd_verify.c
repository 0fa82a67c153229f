/*
 * casevault audit verify: replay the whole history. Needs the vault opened,
 * not unlocked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

static const char verify_usage[] =
	"usage: " AUDIT_VERIFY_SYNOPSIS "\n"
	"\n"
	"Replay the whole history: every signature against the actor's key in the\n"
	"policy before it, every action against the actor's role and membership,\n"
	"every change against its action, then the state against the last event\n"
	"and every version against its manifest: every stored byte of its blocks\n"
	"against the hashes the manifest commits to.\n"
	"\n"
	"  --anchor OID    the history must contain OID (the genesis printed at\n"
	"                  init, or a head you kept elsewhere); a unique prefix of\n"
	"                  7 or more hex digits names an event of this history\n"
	"  --against WHERE a witness (a git URL or a repository directory, see\n"
	"                  'audit push'): the commit its branch 'audit' names\n"
	"                  must be an event of this history\n"
	"  --json          one JSON object on stdout: ok, events, versions,\n"
	"                  records, head, and on failure bad_commit, bad_index, error\n"
	"  --quick         do not hash the stored blocks (only that each is there):\n"
	"                  the chain, the state and the block lists are checked\n"
	"  --threads N     threads that check signatures and hash blocks (default:\n"
	"                  one per core)\n"
	"\n"
	"Prints 'ok: N events, M versions verified, head OID', or names the first\n"
	"event that fails and exits with 3. On a terminal, a progress bar goes to\n"
	"stderr (not under -q).\n";

static void bar(uint64_t done, uint64_t total, void *payload)
{
	int width = 40, fill = total ? (int)(done * (uint64_t)width / total) : 0;

	(void)payload;
	fprintf(stderr, "\rverifying [%.*s%*s] %3d%%", fill,
		"########################################", width - fill, "",
		total ? (int)(done * 100 / total) : 0);
	fflush(stderr);
}

/* While the blocks are hashed: bytes, percent, rate. */
static void content_bar(uint64_t done, uint64_t total, void *payload)
{
	struct timespec *start = payload, now;
	double secs, gb = 1e9;
	int width = 30, pct;

	if (start->tv_sec == 0 && start->tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, start);
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
	if (done > total)
		total = done;
	pct = total ? (int)(done * 100 / total) : 100;
	fprintf(stderr, "\rchecking content [%.*s%*s] %3d%% %.2f of %.2f GB, %.2f GB/s ",
		pct * width / 100, "##############################", width - pct * width / 100, "",
		pct, (double)done / gb, (double)total / gb, secs > 0 ? (double)done / gb / secs : 0.0);
	fflush(stderr);
}

static void bar_clear(void)
{
	fprintf(stderr, "\r%*s\r", 90, "");
	fflush(stderr);
}

static void print_json(const vault_verify_result *res, int ok, const char *error,
	const char *anchor, const char *against, const vault_witness_result *wr)
{
	cli_json j;

	cli_json_begin(&j, stdout);
	cli_json_bool(&j, "ok", ok);
	cli_json_uint(&j, "events", res->events);
	cli_json_uint(&j, "versions", res->versions);
	cli_json_uint(&j, "records", res->records);
	cli_json_str_or_null(&j, "head", res->head);
	cli_json_str_or_null(&j, "anchor", anchor);
	if (against) {
		cli_json_str(&j, "against", against);
		cli_json_str_or_null(&j, "witness_head", wr->witness);
		cli_json_uint(&j, "witness_behind", wr->behind);
	}
	if (!ok) {
		cli_json_str_or_null(&j, "bad_commit", res->bad_commit);
		cli_json_uint_or_null(&j, "bad_index", res->bad_index);
		cli_json_str(&j, "error", error);
	}
	cli_json_end(&j);
}

static int take_commit(const vault_event_detail *d, void *payload)
{
	memcpy(payload, d->info->commit, VAULT_OID_SIZE);
	return 0;
}

/*
 * --anchor: a full commit id goes to verify as it is, for a history that
 * lacks it is what verify is there to report (exit 3). A shorter one is a
 * prefix, as 'audit show' takes: it must name one event of the history,
 * and a prefix that names none or several is a mistake of the caller.
 */
static int resolve_anchor(char out[VAULT_OID_SIZE], vault *v, const char *anchor)
{
	const vault_error *err;

	if (strlen(anchor) == VAULT_OID_SIZE - 1) {
		memcpy(out, anchor, VAULT_OID_SIZE);
		return 0;
	}
	if (vault_audit_show(v, anchor, 0, take_commit, out) == 0)
		return 0;
	err = vault_error_last();
	if (err->code == VAULT_EUSAGE || err->code == VAULT_ENOTFOUND)
		return cli_error(CLI_EXIT_USAGE, strstr(err->message, "ambiguous") ?
				"give more hex digits of the commit id" :
				"give the commit id you kept (the genesis printed at init, or a head), or 7 or more of its first hex digits",
			"audit verify: --anchor: %s", err->message);
	return cli_fail_vault("audit verify: cannot look up the anchor '%s'", anchor);
}

int cmd_audit_verify(cli_ctx *ctx, int argc, char **argv)
{
	const char *anchor = NULL, *threads = NULL, *against = NULL;
	int json = 0, quick = 0;
	struct timespec started = { 0, 0 };
	const cli_opt opts[] = {
		{ "anchor", 0, NULL, &anchor },
		{ "against", 0, NULL, &against },
		{ "json", 0, &json, NULL },
		{ "quick", 0, &quick, NULL },
		{ "threads", 0, NULL, &threads },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "audit verify", verify_usage, opts, 0, 0 };
	vault_verify_options vo = VAULT_VERIFY_OPTIONS_INIT;
	vault_verify_result res;
	vault_witness_result wr;
	const char *message;
	char anchor_id[VAULT_OID_SIZE];
	int rc, error, witness_stage = 0;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if (threads != NULL && (rc = cli_parse_threads(&vo.threads, threads)) != 0)
		return rc;
	cli_error_on(CLI_ON_AUDIT, anchor);
	if (anchor != NULL && (rc = resolve_anchor(anchor_id, ctx->v, anchor)) != 0)
		return rc;
	vo.anchor = anchor != NULL ? anchor_id : NULL;
	if (quick)
		vo.flags |= VAULT_VERIFY_QUICK;
	if (!json && isatty(STDERR_FILENO) && cli_verbosity() > CLI_QUIET) {
		vo.progress = bar;
		vo.content_progress = content_bar;
		vo.payload = &started;
	}

	memset(&res, 0, sizeof res);
	memset(&wr, 0, sizeof wr);
	error = vault_audit_verify(&res, ctx->v, &vo);
	if (vo.progress)
		bar_clear();
	/* Then the witness: its head must be one of our events. */
	if (error == 0 && against) {
		witness_stage = 1;
		cli_error_on(CLI_ON_WITNESS, against);
		error = vault_audit_witness(&wr, ctx->v, against);
		if (error == 0 && !wr.found) {
			char hint[300];
			if (json)
				print_json(&res, 0, "the witness holds no audit history", anchor, against, &wr);
			snprintf(hint, sizeof hint, "push the history to it first: casevault audit push %s", against);
			return cli_error(CLI_EXIT_ERROR, hint, "witness '%s' holds no audit history", against);
		}
	}
	if (error < 0 && witness_stage) {
		if (json)
			print_json(&res, 0, vault_error_last()->message, anchor, against, &wr);
		return cli_fail_vault("the history verifies, but not against witness '%s'", against);
	}
	if (error < 0 && vault_error_last()->code == VAULT_EUSAGE)
		return cli_error(CLI_EXIT_USAGE, "give the full commit id, or a prefix of 7 or more hex digits",
			"audit verify: --anchor: %s", vault_error_last()->message);
	if (error < 0) {
		message = vault_error_last()->message;
		res.bad_commit[VAULT_OID_SIZE - 1] = '\0';
		if (json)
			print_json(&res, 0, message, anchor, against, &wr);
		/* Name the event, unless the library's message already does. */
		if (res.bad_commit[0] != '\0' &&
		    (message == NULL || strstr(message, res.bad_commit) == NULL))
			return cli_fail_vault("audit verify failed at event %s", res.bad_commit);
		return cli_fail_vault("audit verify failed");
	}
	if (json) {
		print_json(&res, 1, NULL, anchor, against, &wr);
	} else {
		printf("ok: %" PRIu64 " events, %" PRIu64 " versions verified, head %s\n",
			res.events, res.versions, res.head);
		if (against)
			printf("witness %s holds %s, an event of this history (%" PRIu64 " events behind)\n",
				against, wr.witness, wr.behind);
	}
	return CLI_EXIT_OK;
}
