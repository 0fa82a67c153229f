/*
 * The views of the history of an unlocked session (the audit log, the
 * reports, `audit show`, the export and the witness push) verify what was
 * appended since the session's trusted point first: an unsigned event
 * appended by anyone with file access after the unlock (here a 'read' of
 * case A by bob, which bob never made) is refused, not shown as genuine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

static char base[512];
static char code_a[VAULT_CODE_SIZE];

static vault *session(const char *dir, const char *user)
{
	const char *pass = support_pass(user);
	vault *v = NULL;

	if (vault_open(&v, dir) < 0)
		return NULL;
	vault_set_state_dir(v, "");
	if (vault_unlock(v, user, pass, strlen(pass)) < 0) {
		vault_close(v);
		return NULL;
	}
	return v;
}

/* Anyone with file access, no key: an unsigned 'read' by bob on the head. */
static int forge_read(void)
{
	vault *v = NULL;
	MDB_txn *txn = NULL;
	MDB_val val;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_buf raw = { NULL, 0, 0 };
	git_oid head, id;
	char msg[512], email[128];

	/* bob holds the history's keys: an insider forging reads of his own */
	if ((v = support_insider(base, "bob", support_pass("bob"))) == NULL ||
	    vault_store__begin(&txn, v->st, 1) < 0)
		return 1;
	vault_store__cur = txn;
	if (vault_meta__get(&val, txn, v, "head") < 0)
		return 1;
	git_oid_fromraw(&head, val.mv_data);
	if (git_commit_lookup(&parent, v->repo, &head) < 0 || git_commit_tree(&tree, parent) < 0)
		return 1;
	snprintf(msg, sizeof msg, "read %s\n\nAction: read\nActor: bob\nCase: %s\nPurpose: care\nVia: cli\n",
		code_a, code_a);
	snprintf(email, sizeof email, "bob@%s", v->id);
	if (git_signature_new(&sig, "bob", email, (git_time_t)vault_time__now(), 0) < 0 ||
	    git_commit_create_buffer(&raw, v->repo, sig, sig, NULL, msg, tree, 1,
		    (const git_commit **)&parent) < 0 ||
	    git_odb_write(&id, v->odb, raw.ptr, raw.size, GIT_OBJECT_COMMIT) < 0)
		return 1;
	if (vault_meta__put(txn, v, "head", id.id, 20) < 0 || vault_store__commit(v->st, txn) < 0)
		return 1;
	vault_close(v);
	return 0;
}

typedef struct {
	int forged_reads;
} seen;

static int log_cb(const vault_event_info *e, const char *note, void *payload)
{
	seen *s = payload;
	(void)note;
	if (!strcmp(e->action, "read") && !strcmp(e->actor, "bob"))
		s->forged_reads++;
	return 0;
}

int main(void)
{
	const char *dir = harness_tmpdir();
	vault *v, *aud;
	uint32_t ver;
	seen s = { 0 };
	pid_t pid;
	int status = -1, error;

	vault_global_init();
	snprintf(base, sizeof base, "%s/base", dir);
	if ((v = support_vault_with_users(base)) == NULL)
		return harness_done("test_gate_log");
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	CHECK_RC(vault_case_create(code_a, v, "case A"), 0);
	(void)ver;
	CHECK_RC(vault_unlock(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))), 0);
	CHECK_RC(vault_case_grant(v, code_a, "bob", 0), 0);
	vault_close(v);

	/* The auditor's session: unlocked (the gate verified the head). */
	if ((aud = session(base, "aud")) == NULL)
		return harness_done("test_gate_log");
	if ((pid = fork()) == 0)
		_exit(forge_read());
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	error = vault_audit_query(aud, NULL, log_cb, &s);
	fprintf(stderr, "audit log: %d, forged reads by bob shown: %d\n", error, s.forged_reads);
	CHECK(error < 0 || s.forged_reads == 0);     /* fails while the bug is there */
	vault_close(aud);
	return harness_done("test_gate_log");
}
