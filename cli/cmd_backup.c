/*
 * casevault backup DEST: a signed snapshot of the vault; backup verify
 * DEST: the restore drill's check of one (and restore SNAPSHOT DIR, in
 * cmd_restore.c, makes a vault from it). See docs/backup.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char backup_usage[] =
	"usage: casevault backup DEST\n"
	"       casevault backup verify DEST [--read [--purpose P[:NOTE]]] [--json] [--quick]\n"
	"                                     [--threads N]\n"
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
	"  --read          also decrypt every version of every document you are a\n"
	"                  member of, each block against its signed hash: from a\n"
	"                  private copy of the snapshot (as encrypted as the vault)\n"
	"                  in $TMPDIR (default /var/tmp), removed afterwards; its\n"
	"                  reads are recorded in that copy only\n"
	"  --purpose P     the purpose of those reads, if the vault requires one\n"
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

/* What --read went through (below). */
typedef struct {
	vault *v;
	vault_get_options go;
	uint64_t docs, versions, bytes;
	char path[4096];
	size_t len;
	char (*codes)[VAULT_CODE_SIZE];
	size_t ncodes;
} reader;

static void print_check(const vault_backup_check *r, const char *dest, const char *live, int json,
	const reader *rd)
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
		if (rd) {
			cli_json_uint(&j, "read_documents", rd->docs);
			cli_json_uint(&j, "read_versions", rd->versions);
			cli_json_uint(&j, "read_bytes", rd->bytes);
		}
		cli_json_end(&j);
		return;
	}
	printf("ok: backup %s of vault %s, made %s, signed by %s\n", dest, r->manifest.vault_id,
		cli_time_rfc3339(when, r->manifest.time), r->signer);
	printf("%" PRIu64 " events up to %s, %" PRIu64 " versions verified, %" PRIu64 " bytes\n",
		r->verify.events, r->manifest.head, r->verify.versions, r->manifest.size);
	if (r->live)
		printf("the vault at %s holds %" PRIu64 " %s after it (head %s)%s\n", live, r->behind,
			r->behind == 1 ? "event" : "events", r->live_head, r->event_found ? ", its backup event among them" : "");
	if (rd)
		printf("read back: %" PRIu64 " documents, %" PRIu64 " versions, %" PRIu64 " bytes, "
			"each block as committed\n", rd->docs, rd->versions, rd->bytes);
}

/* ---- --read: every version of the member's documents, decrypted ---------- */

static int count_bytes(void *payload, const void *buf, size_t len)
{
	(void) buf;
	((reader *) payload)->bytes += len;
	return 0;
}

static int read_version(const vault_version_info *info, void *payload)
{
	reader *r = payload;

	r->go.doc_version = info->version;
	if (vault_get(r->v, r->path, &r->go, count_bytes, r) < 0)
		return -1;
	r->versions++;
	return 0;
}

static int read_folder(reader *r);

static int read_entry(const vault_stat_info *e, void *payload)
{
	reader *r = payload;
	size_t len = r->len, n = strlen(e->name);
	int error;

	if (len + 1 + n >= sizeof r->path)
		return -1;
	r->path[len] = '/';
	memcpy(r->path + len + 1, e->name, n + 1);
	r->len = len + 1 + n;
	if (e->is_dir) {
		error = read_folder(r);
	} else {
		r->docs++;
		error = vault_history(r->v, r->path, read_version, r);
	}
	explicit_bzero(r->path + len, r->len - len);
	r->len = len;
	return error;
}

/* The entries are listed first (a folder's listing is one event), then
 * each is read: no read runs inside a listing's callback. */
typedef struct {
	vault_stat_info *e;
	char **names;
	size_t n;
} entries;

static int keep_entry(const vault_stat_info *e, void *payload)
{
	entries *l = payload;
	vault_stat_info *ne = realloc(l->e, (l->n + 1) * sizeof *ne);
	char **nn = realloc(l->names, (l->n + 1) * sizeof *nn);

	if (ne)
		l->e = ne;
	if (nn)
		l->names = nn;
	if (!ne || !nn || (l->names[l->n] = strdup(e->name)) == NULL)
		return -1;
	l->e[l->n] = *e;
	l->e[l->n].name = l->names[l->n];
	l->n++;
	return 0;
}

static int read_folder(reader *r)
{
	vault_list_options lo = VAULT_LIST_OPTIONS_INIT;
	entries l = { NULL, NULL, 0 };
	int error;

	lo.purpose = r->go.purpose;
	lo.note = r->go.note;
	error = vault_list(r->v, r->path, &lo, keep_entry, &l);
	for (size_t i = 0; i < l.n && error == 0; i++)
		error = read_entry(&l.e[i], r);
	for (size_t i = 0; i < l.n; i++) {
		explicit_bzero(l.names[i], strlen(l.names[i]));
		free(l.names[i]);
	}
	free(l.names);
	free(l.e);
	return error;
}

static int keep_case(const vault_case_info *info, void *payload)
{
	reader *r = payload;
	void *codes;

	if (info->label == NULL)      /* not a member holding its key */
		return 0;
	if ((codes = realloc(r->codes, (r->ncodes + 1) * sizeof *r->codes)) == NULL)
		return -1;
	r->codes = codes;
	snprintf(r->codes[r->ncodes++], VAULT_CODE_SIZE, "%s", info->code);
	return 0;
}

static int read_cases(reader *r)
{
	vault_list_options lo = VAULT_LIST_OPTIONS_INIT;
	int error;

	lo.purpose = r->go.purpose;
	lo.note = r->go.note;
	if ((error = vault_case_foreach(r->v, &lo, keep_case, r)) < 0)
		return error;
	for (size_t i = 0; i < r->ncodes && error == 0; i++) {
		r->len = (size_t) snprintf(r->path, sizeof r->path, "%s", r->codes[i]);
		error = read_folder(r);
	}
	return error;
}

/* A private copy of the snapshot, removed whatever happens. */
static void drop_copy(const char *dir)
{
	static const char *const names[] = { "data.mdb", "lock.mdb", "restored", NULL };
	char path[4200];

	for (const char *const *n = names; *n; n++) {
		snprintf(path, sizeof path, "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
}

static int read_documents(reader *r, cli_ctx *ctx, const cli_secret *pass, const char *dest)
{
	const char *tmp = getenv("TMPDIR");
	char base[4000], dir[4096];
	vault_backup_info b;
	int rc = 0;

	snprintf(base, sizeof base, "%s/casevault-read.XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
	if (mkdtemp(base) == NULL)
		return cli_error_os("set TMPDIR to a directory with room for a copy of the backup",
			"backup verify --read: cannot make a directory in '%s'", tmp && *tmp ? tmp : "/var/tmp");
	snprintf(dir, sizeof dir, "%s/vault", base);
	cli_error_on(CLI_ON_BACKUP, dest);
	if (vault_restore_snapshot(&b, dest, dir) < 0 || vault_open(&r->v, dir) < 0) {
		rc = cli_fail_vault("backup verify --read: cannot copy backup '%s'", dest);
		goto done;
	}
	vault_set_state_dir(r->v, "");     /* the copy is not the user's vault */
	if (vault_unlock(r->v, ctx->user, pass->buf, pass->len) < 0) {
		rc = cli_fail_vault("backup verify --read: cannot unlock the copy of '%s' as '%s'", dest,
			ctx->user);
		goto done;
	}
	cli_error_on(CLI_ON_BACKUP, dest);
	if (read_cases(r) < 0)
		rc = cli_fail_vault("backup verify --read: cannot read back the documents of backup '%s'",
			dest);
done:
	vault_close(r->v);
	r->v = NULL;
	drop_copy(dir);
	rmdir(base);
	free(r->codes);
	return rc;
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
	const char *threads = NULL, *purpose_arg = NULL;
	int json = 0, quick = 0, do_read = 0;
	const cli_opt opts[] = {
		{ "read", 0, &do_read, NULL },
		{ "purpose", 0, NULL, &purpose_arg },
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
	reader r;
	char *args[1], *purpose = NULL;
	int rc;

	memset(&r, 0, sizeof r);
	r.go = (vault_get_options) VAULT_GET_OPTIONS_INIT;
	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (purpose_arg != NULL && !do_read)
		return cli_usage_error("'--purpose' is for the reads of '--read'");
	if (purpose_arg != NULL &&
	    (rc = cli_purpose_split(&r.go.purpose, &r.go.note, &purpose, purpose_arg)) != 0)
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
	cli_error_on(CLI_ON_BACKUP, args[0]);
	if (vault_backup_verify(&res, snap, live, &vo) < 0) {
		rc = cli_fail_vault("backup '%s' does not verify", args[0]);
		goto done;
	}
	if (do_read && (rc = read_documents(&r, ctx, &pass, args[0])) != 0)
		goto done;
	print_check(&res, args[0], ctx->dir, json, do_read ? &r : NULL);
done:
	cli_purpose_free(purpose, purpose_arg);
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
