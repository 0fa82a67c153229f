/*
 * The settings decide only as the signed history has them: a raw edit of
 * the `meta/settings` record, with no event, neither points the automatic
 * witness push at a place of the editor's choosing nor changes the anomaly
 * thresholds; the push and the report refuse (exit 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

static char base[512], evil[600];

static int redirect(void)
{
	vault *v = NULL;
	MDB_txn *txn = NULL;
	char text[800];

	git_repository *r = NULL;

	/* The attacker's own (empty, bare) repository, somewhere alice can write. */
	if (git_repository_init(&r, evil, 1) < 0)
		return 1;
	git_repository_free(r);
	/* An insider (bob holds the history's keys) seals the settings anew. */
	if ((v = support_insider(base, "bob", support_pass("bob"))) == NULL ||
	    vault_store__begin(&txn, v->st, 1) < 0)
		return 1;
	snprintf(text, sizeof text, "witness %s\nwitness-every 1\nbulk-read-count 1000000\n", evil);
	if (vault_meta__sealed_put(txn, v, "settings", text, strlen(text)) < 0 ||
	    vault_store__commit(v->st, txn) < 0)
		return 1;
	vault_close(v);
	return 0;
}

int main(void)
{
	const char *dir = harness_tmpdir();
	vault *v;
	vault_push_result res;
	struct stat st;
	pid_t pid;
	int status = -1, error;
	char code[VAULT_CODE_SIZE];

	vault_global_init();
	snprintf(base, sizeof base, "%s/base", dir);
	snprintf(evil, sizeof evil, "%s/attacker-witness.git", dir);
	if ((v = support_vault_with_users(base)) == NULL)
		return harness_done("test_gate_settings");
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	CHECK_RC(vault_case_create(code, v, "case A"), 0);
	vault_close(v);

	if ((v = support_open_as(base, "alice", support_pass("alice"))) == NULL)
		return harness_done("test_gate_settings");
	if ((pid = fork()) == 0)
		_exit(redirect());
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* What cli/main.c does after every command (force 0), or at unmount (1). */
	error = vault_witness_auto(&res, v, 0);
	fprintf(stderr, "witness_auto: %d pushed %d (%s)\n", error, res.pushed, error ? vault_error_last()->message : "");
	{
		char ref[700];
		snprintf(ref, sizeof ref, "%s/refs/heads/audit", evil);
		fprintf(stderr, "history pushed to the attacker's place: %s\n", stat(ref, &st) == 0 ? "YES" : "no");
		CHECK(stat(ref, &st) != 0);          /* fails while the bug is there */
	}
	vault_close(v);
	return harness_done("test_gate_settings");
}
