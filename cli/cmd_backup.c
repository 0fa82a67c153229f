/*
 * casevault backup DEST: a signed snapshot of the vault; backup verify
 * DEST: the restore drill's check of one (and restore SNAPSHOT DIR, in
 * cmd_restore.c, makes a vault from it). See docs/backup.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char backup_usage[] =
	"usage: casevault backup DEST\n"
	"       casevault backup verify DEST [--json] [--quick] [--threads N]\n"
	"\n"
	"backup DEST (an admin or an auditor; DEST must be missing or an empty\n"
	"directory) writes a consistent snapshot of the vault while mounts and\n"
	"other commands go on: DEST/data.mdb, LMDB's compacting copy of the vault\n"
	"file (as encrypted as the vault), and DEST/manifest, what it holds (vault\n"
	"id, head, events, size, BLAKE2b-256 of data.mdb) signed with your key.\n"
	"The backup is recorded as a 'backup' event, after the events the snapshot\n"
	"holds. Prints the head, the events and the size.\n"
	"\n"
	"backup verify DEST (any user, no case key needed) opens the snapshot\n"
	"read-only and checks its manifest against its data file, the signature\n"
	"(an admin or auditor active at its head), the whole history and every\n"
	"stored block, as 'audit verify' does. With --vault DIR (or CASEVAULT_DIR)\n"
	"it also says how many events that vault holds after the snapshot. Exit 3\n"
	"on any defect.\n"
	"\n"
	"  --json          one JSON object on stdout\n"
	"  --quick         do not hash the stored blocks (only that each is there)\n"
	"  --threads N     threads that check signatures and hash blocks\n"
	"\n"
	"To make a working vault from a snapshot: casevault restore DEST DIR.\n";

static int backup_make(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "backup", backup_usage, NULL, 1, 1 };
	vault_backup_info b;
	char *args[1], when[CLI_TIME_SIZE];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_BACKUP, args[0]);
	if (vault_backup(&b, ctx->v, args[0]) < 0)
		return cli_fail_vault("cannot back up vault '%s' into '%s'", ctx->dir, args[0]);
	printf("backup %s: vault %s, %" PRIu64 " events up to %s, %" PRIu64 " bytes, made %s\n"
		"blake2b %s\nrecorded as event %s\n", args[0], b.vault_id, b.events, b.head, b.size,
		cli_time_rfc3339(when, b.time), b.blake2b, b.event);
	return CLI_EXIT_OK;
}

static void print_check(const vault_backup_check *r, const char *dest, const char *live, int json)
{
	char when[CLI_TIME_SIZE];
	cli_json j;

	if (json) {
		cli_json_begin(&j, stdout);
		cli_json_bool(&j, "ok", 1);
		cli_json_str(&j, "vault", r->manifest.vault_id);
		cli_json_str(&j, "head", r->manifest.head);
		cli_json_uint(&j, "events", r->verify.events);
		cli_json_uint(&j, "versions", r->verify.versions);
		cli_json_uint(&j, "bytes", r->manifest.size);
		cli_json_time(&j, "time", r->manifest.time);
		cli_json_str(&j, "signer", r->signer);
		cli_json_str(&j, "event", r->manifest.event);
		if (r->live) {
			cli_json_str(&j, "live_head", r->live_head);
			cli_json_uint(&j, "behind", r->behind);
			cli_json_bool(&j, "event_found", r->event_found);
		}
		cli_json_end(&j);
		return;
	}
	printf("ok: backup %s of vault %s, made %s, signed by %s\n", dest, r->manifest.vault_id,
		cli_time_rfc3339(when, r->manifest.time), r->signer);
	printf("%" PRIu64 " events up to %s, %" PRIu64 " versions verified, %" PRIu64 " bytes\n",
		r->verify.events, r->manifest.head, r->verify.versions, r->manifest.size);
	if (r->live)
		printf("the vault at %s holds %" PRIu64 " events after it (head %s)%s\n", live, r->behind,
			r->live_head, r->event_found ? ", its backup event among them" : "");
}

/* The history's keys of `v`, from the user's key pair: no session. */
static int open_keys(vault *v, cli_ctx *ctx, const cli_secret *pass, const char *what)
{
	cli_error_on(CLI_ON_VAULT, what);
	if (vault_open_history(v, ctx->user, pass->buf, pass->len) < 0)
		return cli_fail_vault("cannot open the history of '%s' as '%s'", what, ctx->user);
	return 0;
}

static int backup_verify(cli_ctx *ctx, int argc, char **argv)
{
	const char *threads = NULL;
	int json = 0, quick = 0;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ "quick", 0, &quick, NULL },
		{ "threads", 0, NULL, &threads },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "backup verify", backup_usage, opts, 1, 1 };
	vault_verify_options vo = VAULT_VERIFY_OPTIONS_INIT;
	vault_backup_check res;
	cli_secret pass = { NULL, 0 };
	vault *snap = NULL, *live = NULL;
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (threads != NULL && (rc = cli_parse_threads(&vo.threads, threads)) != 0)
		return rc;
	if (quick)
		vo.flags |= VAULT_VERIFY_QUICK;
	if (ctx->user == NULL)
		return cli_error(CLI_EXIT_ACCESS, "pass --user NAME of a user of the vault (or set CASEVAULT_USER)",
			"the history is encrypted: no user given to read it with");
	if ((rc = cli_passphrase_get(&pass, ctx->passphrase_file, ctx->user)) != 0)
		return rc;
	cli_error_on(CLI_ON_BACKUP, args[0]);
	if (vault_open_snapshot(&snap, args[0]) < 0) {
		rc = cli_fail_vault("cannot open backup '%s'", args[0]);
		goto done;
	}
	if ((rc = open_keys(snap, ctx, &pass, args[0])) != 0)
		goto done;
	if (ctx->dir != NULL) {
		cli_error_on(CLI_ON_VAULT, ctx->dir);
		if (vault_open(&live, ctx->dir) < 0) {
			rc = cli_fail_vault("cannot open vault '%s'", ctx->dir);
			goto done;
		}
		if ((rc = open_keys(live, ctx, &pass, ctx->dir)) != 0)
			goto done;
	}
	cli_secret_dispose(&pass);
	cli_error_on(CLI_ON_BACKUP, args[0]);
	if (vault_backup_verify(&res, snap, live, &vo) < 0) {
		rc = cli_fail_vault("backup '%s' does not verify", args[0]);
		goto done;
	}
	print_check(&res, args[0], ctx->dir, json);
done:
	cli_secret_dispose(&pass);
	vault_close(live);
	vault_close(snap);
	return rc;
}

int cmd_backup(cli_ctx *ctx, int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "verify"))
		return backup_verify(ctx, argc - 1, argv + 1);
	return backup_make(ctx, argc, argv);
}
