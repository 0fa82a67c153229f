/*
 * The trust gate against someone who can write the vault file: a forged
 * head never gets a case key sealed to anyone, whether the member's session
 * starts after the forgery or was already running (another process forged
 * it); a head put back (the whole vault, or only the head record, to drop
 * recent reads) is caught by the next session of a user who saw the newer
 * one; an accepted restore is an event; a checkpoint is its user's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "policy.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

#define PURPOSE "care"

static char base[512];                 /* dpo, alice, bob, carol, aud; case A */
static char code_a[VAULT_CODE_SIZE];
static char doc[64];

/* A vault handle of `user`, keeping its checkpoint file in `state` (NULL:
 * none); NULL with the error left when unlocking fails. */
static vault *session(const char *dir, const char *user, const char *state, int restored)
{
	const char *pass = support_pass(user);
	vault *v = NULL;
	int error;

	if (vault_open(&v, dir) < 0) {
		fprintf(stderr, "cannot open %s: %s\n", dir, vault_error_last()->message);
		harness_failures++;
		return NULL;
	}
	vault_set_state_dir(v, state ? state : "");
	error = (restored ? vault_unlock_restored : vault_unlock)(v, user, pass, strlen(pass));
	if (error < 0) {
		char msg[512];
		/* Keep the message past vault_close. */
		snprintf(msg, sizeof msg, "%s", vault_error_last()->message);
		vault_close(v);
		vault_error_set(error, "%s", msg);
		return NULL;
	}
	return v;
}

static int read_doc(vault *v)
{
	mem_sink s = { 0 };
	int error = support_get(v, doc, PURPOSE, NULL, &s);

	mem_sink_free(&s);
	return error;
}

static void build_base(const char *dir)
{
	vault *v;
	uint32_t ver;

	snprintf(base, sizeof base, "%s/base", dir);
	if ((v = support_vault_with_users(base)) == NULL)
		return;
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	CHECK_RC(vault_case_create(code_a, v, "case A"), 0);
	snprintf(doc, sizeof doc, "%s/intake.txt", code_a);
	CHECK_RC(support_put(v, doc, "intake of case A", 16, &ver), 0);
	rawdb_names_from(v);       /* for the raw edits of its copies, by name */
	CHECK_RC(vault_unlock(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))), 0);
	CHECK_RC(vault_case_grant(v, code_a, "bob", 0), 0);
	vault_close(v);
	/* alice's next session seals A's key to bob. */
	vault_close(session(base, "alice", NULL, 0));
	CHECK(rawdb_sealed_to(base, "bob") == 1);
	vault_close(session(base, "bob", NULL, 0));
}

static const char *copy_of(const char *dir, const char *name)
{
	static char out[4][512];
	static int n;
	char *p = out[n++ % 4];

	snprintf(p, sizeof out[0], "%s/%s", dir, name);
	CHECK(rawdb_copy_dir(base, p) == 0);
	return p;
}

/* carol (no member of A) writes herself into A's record and an event whose
 * tree agrees, signed by her own key, or unsigned; the head moves to it. */
static int forge(vault *v, MDB_txn *txn, int signed_by_carol)
{
	vault_event ev;
	case_rec c;
	git_oid id;
	int error;

	vault_event__init(&ev, signed_by_carol ? "grant" : "unlock-failed");
	vault_store__cur = txn;
	if ((error = vault_case__get(&c, txn, v, code_a)) < 0)
		return error;
	snprintf(c.members[c.nmembers].user, sizeof c.members[0].user, "carol");
	c.members[c.nmembers++].read_only = 0;
	error = vault_case__put(txn, v, &c);
	vault_case__dispose(&c);
	snprintf(ev.case_code, sizeof ev.case_code, "%s", code_a);
	snprintf(ev.target, sizeof ev.target, "carol");
	if (error == 0)
		error = vault_event__touch_case(&ev, v, txn, code_a);
	if (error == 0)
		error = vault_event__append(&id, &ev, v, txn, vault_time__now());
	vault_event__dispose(&ev);
	return error;
}

static void forge_in(const char *dir, int signed_by_carol, char out[VAULT_OID_SIZE])
{
	vault *v = signed_by_carol ? session(dir, "carol", NULL, 0) : NULL;
	MDB_txn *txn = NULL;

	/* Unsigned: an insider holding the history's keys (carol), no session. */
	if (!signed_by_carol)
		v = support_insider(dir, "carol", support_pass("carol"));
	if (!v) {
		harness_failures++;
		return;
	}
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	CHECK_RC(forge(v, txn, signed_by_carol), 0);
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	CHECK_RC(vault_head(out, v), 0);
	vault_close(v);
}

static void expect_forgery_caught(const char *dir, const char *forged)
{
	vault_verify_result res;
	vault *v;

	CHECK(rawdb_sealed_to(dir, "carol") == 0);
	/* carol reads nothing of A. */
	if ((v = session(dir, "carol", NULL, 0)) != NULL) {
		CHECK(read_doc(v) < 0);
		vault_close(v);
	}
	CHECK(rawdb_sealed_to(dir, "carol") == 0);
	if ((v = session(dir, "aud", NULL, 0)) != NULL) {
		CHECK_RC(vault_audit_verify(&res, v, NULL), VAULT_ECORRUPT);
		CHECK(!strcmp(res.bad_commit, forged));
		vault_close(v);
	}
}

/* A member's next session refuses a forged head, and seals nothing. */
static void test_forged_head(const char *dir, int signed_by_carol)
{
	const char *copy = copy_of(dir, signed_by_carol ? "forged-signed" : "forged-unsigned");
	char forged[VAULT_OID_SIZE] = "";
	vault *v;

	forge_in(copy, signed_by_carol, forged);
	/* alice starts a session: refused before any key work. */
	v = session(copy, "alice", NULL, 0);
	CHECK(v == NULL);
	CHECK_RC(vault_error_last()->code, VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "does not verify") != NULL);
	CHECK(strstr(vault_error_last()->message, "event ") != NULL);
	vault_close(v);
	expect_forgery_caught(copy, forged);
}

/*
 * alice's session is already running (a mount) when another process forges
 * the head: her next event checks what was appended and refuses.
 */
static void test_forged_under_session(const char *dir)
{
	const char *copy = copy_of(dir, "forged-live");
	char forged[VAULT_OID_SIZE] = "";
	vault *v = session(copy, "alice", NULL, 0);
	pid_t pid;
	int status = -1;
	uint32_t ver;

	if (!v)
		return;
	CHECK_RC(read_doc(v), 0);
	if ((pid = fork()) == 0) {
		harness_failures = 0;
		forge_in(copy, 1, forged);
		_exit(harness_failures ? 1 : 0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_RC(support_put(v, doc, "a second version", 16, &ver), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "does not verify") != NULL);
	CHECK_RC(read_doc(v), VAULT_ECORRUPT);
	CHECK_RC(vault_head(forged, v), 0);
	vault_close(v);
	expect_forgery_caught(copy, forged);
}

static void replace_dir(const char *dir, const char *with)
{
	char cmd[2200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", dir, with, dir);
	CHECK(system(cmd) == 0);
}

/*
 * The whole vault put back to an older copy: a user who saw the newer head
 * (their checkpoint file says so) is refused; a restore on purpose is
 * accepted once, as an event; a user who never saw the lost events is not
 * refused (what no one saw can be dropped: docs say so).
 */
static void test_vault_put_back(const char *dir)
{
	const char *copy = copy_of(dir, "put-back");
	char old[600], state[600];
	vault_verify_result res;
	support_log l;
	vault *v;

	snprintf(old, sizeof old, "%s.old", copy);
	snprintf(state, sizeof state, "%s.state", copy);
	if ((v = session(copy, "alice", state, 0)) == NULL)
		return;
	vault_close(v);
	CHECK(rawdb_copy_dir(copy, old) == 0);
	if ((v = session(copy, "alice", state, 0)) == NULL)
		return;
	CHECK_RC(read_doc(v), 0);
	CHECK_RC(read_doc(v), 0);
	vault_close(v);

	replace_dir(copy, old);
	v = session(copy, "alice", state, 0);
	CHECK(v == NULL);
	CHECK_RC(vault_error_last()->code, VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "the history was rolled back") != NULL);
	vault_close(v);
	/* bob's file has nothing newer: his session goes on. */
	vault_close(session(copy, "bob", state, 0));

	/* Restored on purpose: accepted once, as alice's signed event. */
	if ((v = session(copy, "alice", state, 1)) == NULL) {
		harness_failures++;
		return;
	}
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	memset(&l, 0, sizeof l);
	CHECK_RC(support_log_read(&l, v, NULL), 0);
	CHECK(support_log_find(&l, "rollback-accepted", 0) >= 0);
	support_log_free(&l);
	vault_close(v);
	v = session(copy, "alice", state, 0);
	CHECK(v != NULL);
	vault_close(v);
}

static int set_head(const char *dir, const char *hex)
{
	unsigned char val[21];

	val[0] = REC_FORMAT;
	if (rawdb_oid(val + 1, hex) < 0)
		return -1;
	return rawdb_set(dir, "meta", "head", 4, val, sizeof val);
}

/*
 * Reads change no record, so setting the head record back to the last
 * write drops every later read, and the chain still verifies. The reader's
 * own checkpoint catches it: in the vault, and when that too is put back,
 * in the reader's state directory.
 */
static void test_reads_erased(const char *dir)
{
	const char *copy = copy_of(dir, "reads");
	char before[VAULT_OID_SIZE], state[600];
	unsigned char *ckpt;
	size_t ckpt_len;
	vault *v;

	snprintf(state, sizeof state, "%s.state", copy);
	if ((v = session(copy, "bob", state, 0)) == NULL)
		return;
	CHECK_RC(vault_head(before, v), 0);
	vault_close(v);
	ckpt = rawdb_fetch(copy, "meta", "checkpoint/bob", 14, &ckpt_len);
	CHECK(ckpt != NULL);
	if ((v = session(copy, "bob", state, 0)) == NULL)
		return;
	CHECK_RC(read_doc(v), 0);
	CHECK_RC(read_doc(v), 0);
	vault_close(v);

	/* The head record alone put back: the checkpoint in the vault catches it. */
	CHECK(set_head(copy, before) == 0);
	v = session(copy, "bob", NULL, 0);
	CHECK(v == NULL);
	CHECK(strstr(vault_error_last()->message, "the history was rolled back") != NULL);
	vault_close(v);

	/* bob's checkpoint in the vault put back too: his state file catches it. */
	if (ckpt)
		CHECK(rawdb_set(copy, "meta", "checkpoint/bob", 14, ckpt, ckpt_len) == 0);
	v = session(copy, "bob", state, 0);
	CHECK(v == NULL);
	CHECK(strstr(vault_error_last()->message, "the history was rolled back") != NULL);
	vault_close(v);
	free(ckpt);
}

/*
 * A checkpoint is its user's own: another user's (or a damaged one) counts
 * as none, as a deleted one does, and the user's next event writes theirs.
 */
static void test_checkpoint_forged(const char *dir)
{
	const char *copy = copy_of(dir, "ckpt");
	unsigned char *bobs;
	size_t len;
	vault *v;

	vault_close(session(copy, "alice", NULL, 0));
	bobs = rawdb_fetch(copy, "meta", "checkpoint/bob", 14, &len);
	CHECK(bobs != NULL);
	if (bobs)
		CHECK(rawdb_set(copy, "meta", "checkpoint/alice", 16, bobs, len) == 0);
	v = session(copy, "alice", NULL, 0);
	CHECK(v != NULL);
	vault_close(v);
	free(bobs);
	bobs = rawdb_fetch(copy, "meta", "checkpoint/alice", 16, &len);
	CHECK(bobs != NULL && len > 20);
	/* alice's own again: her session wrote it (its head is not bob's). */
	if (bobs) {
		unsigned char *b2 = rawdb_fetch(copy, "meta", "checkpoint/bob", 14, &len);
		CHECK(b2 != NULL && memcmp(bobs, b2, len) != 0);
		free(b2);
	}
	free(bobs);
}

/* Honest use: sessions in turn, each starting from its own checkpoint. */
static void test_honest(const char *dir)
{
	const char *copy = copy_of(dir, "honest");
	char state[600];
	vault_verify_result res;
	uint32_t ver;
	vault *v;

	snprintf(state, sizeof state, "%s.state", copy);
	for (int i = 0; i < 3; i++) {
		const char *who = i == 1 ? "bob" : "alice";
		if ((v = session(copy, who, state, 0)) == NULL) {
			harness_failures++;
			return;
		}
		CHECK_RC(support_put(v, doc, "another version", 15, &ver), 0);
		CHECK_RC(read_doc(v), 0);
		vault_close(v);
	}
	if ((v = session(copy, "aud", state, 0)) != NULL) {
		CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
		vault_close(v);
	}
}

/*
 * A key planted while a session runs: carol makes up a key K, writes its
 * key-check value into A's record and seals K to alice (anyone can seal
 * to a public key). alice's mount lists A outside any event and so takes
 * K into its cache; carol then puts A's record back. alice's next write
 * must not be under K, which carol holds.
 */
static int plant_key(const char *dir, int put_back, unsigned char *saved, size_t *saved_len)
{
	vault *v = session(dir, "carol", NULL, 0);
	unsigned char *k = NULL;
	MDB_txn *txn = NULL;
	case_rec c;
	int error;

	if (!v)
		return -1;
	if ((error = vault_store__begin(&txn, v->st, 1)) == 0 &&
	    (error = vault_case__get(&c, txn, v, code_a)) == 0) {
		if (put_back) {
			error = vault_rec__put(txn, v, v->st->cases, code_a, saved, *saved_len);
		} else if ((error = vault_vcrypto__key_new(&k)) == 0) {
			vault_keys__kcv(c.kcv[0], v, code_a, 1, k);
			if ((error = vault_case__put(txn, v, &c)) == 0)
				error = vault_keys__seal(txn, v, &c, 1, "alice", k);
			vault_vcrypto__key_free(k);
		}
		vault_case__dispose(&c);
	}
	if (error == 0)
		error = vault_store__commit(v->st, txn);
	else
		vault_store__abort(v->st, txn);
	vault_close(v);
	return error;
}

static int no_entry(const vault_stat_info *e, void *p)
{
	(void)e, (void)p;
	return 0;
}

static void test_planted_key(const char *dir)
{
	const char *copy = copy_of(dir, "planted");
	unsigned char *rec;
	size_t len;
	vault *v;
	pid_t pid;
	int status = -1;
	uint32_t ver;
	char path[128];

	rec = rawdb_fetch(copy, "cases", code_a, strlen(code_a), &len);
	if (!rec || (v = session(copy, "alice", NULL, 0)) == NULL) {
		harness_failures++;
		free(rec);
		return;
	}
	for (int step = 0; step < 2; step++) {
		if ((pid = fork()) == 0)
			_exit(plant_key(copy, step, rec, &len) == 0 ? 0 : 1);
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (step == 0)     /* the mount lists A: its names do not open under K */
			CHECK(vault_list(v, code_a, &support_list_quiet, no_entry, NULL) < 0);
	}
	snprintf(path, sizeof path, "%s/later.txt", code_a);
	CHECK_RC(support_put(v, path, "written after the plant", 23, &ver), VAULT_ECORRUPT);
	/* The sealed key carol left is not the one case A's file commits to. */
	CHECK(strstr(vault_error_last()->message, "key-check value") != NULL ||
		strstr(vault_error_last()->message, "does not match the signed history") != NULL);
	vault_close(v);
	free(rec);
}

/*
 * An older version is served only if the event its record names is on the
 * verified chain: a copy of that event with another message (same tree, so
 * the same commitment) written beside the chain vouches for nothing.
 */
static void test_side_commit(const char *dir)
{
	const char *copy = copy_of(dir, "side");
	vault_get_options o = VAULT_GET_OPTIONS_INIT;
	vault_stat_info st;
	mem_sink s = { 0 };
	version_rec r;
	git_commit *c = NULL;
	vault_buf b = VAULT_BUF_INIT;
	git_oid id, side;
	MDB_txn *txn = NULL;
	uint64_t node;
	uint32_t ver;
	vault *v;

	if ((v = session(copy, "alice", NULL, 0)) == NULL)
		return;
	CHECK_RC(support_put(v, doc, "version two", 11, &ver), 0);
	o.purpose = PURPOSE;
	o.doc_version = 1;
	CHECK_RC(vault_get(v, doc, &o, mem_sink_write, &s), 0);     /* honest: served */
	CHECK(s.len == 16);
	mem_sink_free(&s);
	CHECK_RC(vault_stat(&st, v, doc), 0);
	node = strtoull(st.node, NULL, 16);

	/* The record of version 1 made to name a copy of its event. */
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	vault_store__cur = txn;
	CHECK_RC(vault_version__get(&r, txn, v, node, 1), 0);
	git_oid_fromraw(&id, r.commit);
	CHECK(git_commit_lookup(&c, v->repo, &id) == 0);
	if (c) {
		vault_buf_printf(&b, "%s\nread %s v1 (a copy)\n", git_commit_raw_header(c), code_a);
		CHECK(git_odb_write(&side, v->odb, b.ptr, b.size, GIT_OBJECT_COMMIT) == 0);
		memcpy(r.commit, side.id, 20);
		CHECK_RC(vault_version__put(txn, v, node, 1, &r), 0);
	}
	vault_store__cur = NULL;
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	vault_version__dispose(&r);
	vault_buf_dispose(&b);
	git_commit_free(c);

	CHECK_RC(vault_get(v, doc, &o, mem_sink_write, &s), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "not in the verified history") != NULL);
	CHECK(s.len == 0);
	mem_sink_free(&s);
	vault_close(v);
}

int main(void)
{
	const char *dir = harness_tmpdir();

	vault_global_init();
	build_base(dir);
	test_honest(dir);
	test_forged_head(dir, 1);
	test_forged_head(dir, 0);
	test_forged_under_session(dir);
	test_vault_put_back(dir);
	test_reads_erased(dir);
	test_checkpoint_forged(dir);
	test_planted_key(dir);
	test_side_commit(dir);
	return harness_done("test_trust");
}
