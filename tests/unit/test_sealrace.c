/*
 * A user record edited while a session is open. The session checked its
 * own record against the signed head when it unlocked; anyone who writes
 * the vault file can change that record afterwards (a mount stays open
 * for hours; a command runs for seconds). A case key sealed to the
 * session's user must still go only to the key the head vouches for: a
 * public key swapped in meanwhile (carol's, here) gets nothing from a new
 * case (case-create) or from a recovery taken up (recovery-grant); the
 * event is refused as damage. The edits are made by another process, as
 * an attacker's would be.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recovery.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

static const char *work;

static vault *session(const char *dir, const char *user)
{
	vault *v = support_session(dir, user, NULL);

	CHECK(v != NULL);
	return v;
}

/* In a child: `before` (a custodian's approval, or nothing), then carol's
 * public key written into `user`'s record. */
static void swap_pk(const char *dir, const char *user, void (*before)(const char *dir))
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		int failed = harness_failures;

		if (before)
			before(dir);
		_exit(rawdb_splice(dir, "users", "carol", 5, user, strlen(user), 3, 32) == 0 &&
			harness_failures == failed ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void create_after_swap(void)
{
	char dir[600], code[VAULT_CODE_SIZE];
	vault *v;

	snprintf(dir, sizeof dir, "%s/create", work);
	if ((v = support_vault_with_users(dir)) == NULL)
		return;
	vault_close(v);
	if ((v = session(dir, "alice")) == NULL)
		return;
	swap_pk(dir, "alice", NULL);
	CHECK_RC(vault_case_create(code, v, "made after the swap"), VAULT_ECORRUPT);
	vault_close(v);
}

static char req[VAULT_RECOVERY_ID_SIZE];

static void aud_approves(const char *dir)
{
	vault *v = support_session(dir, "aud", NULL);

	CHECK(v != NULL);
	if (v)
		CHECK_RC(vault_recovery_approve(v, req), 0);
	vault_close(v);
}

static void grant_after_swap(void)
{
	static const char *const custodians[] = { "aud", "dpo" };
	char dir[600], code[VAULT_CODE_SIZE];
	vault *v;

	snprintf(dir, sizeof dir, "%s/grant", work);
	if ((v = support_vault_with_users(dir)) == NULL)
		return;
	CHECK_RC(vault_recovery_setup(v, custodians, 2, 2), 0);
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	CHECK_RC(vault_case_create(code, v, "recovered"), 0);
	vault_close(v);
	if ((v = session(dir, "alice")) == NULL)       /* the split */
		return;
	vault_close(v);
	if ((v = session(dir, "dpo")) == NULL)
		return;
	CHECK_RC(vault_recovery_request(v, code, "bob", "a test", req), 0);
	CHECK_RC(vault_recovery_approve(v, req), 0);
	vault_close(v);
	/* bob's session is open; the second approval comes, and carol's key
	 * is put in bob's record; bob's session then takes the case up. */
	if ((v = session(dir, "bob")) == NULL)
		return;
	swap_pk(dir, "bob", aud_approves);
	CHECK_RC(vault_recover__maintain(v), VAULT_ECORRUPT);
	vault_close(v);
}

/* The honest path the checks lie on: a passwd of a member of more cases
 * than one event may change goes on in further events, each case checked
 * against the head there; every case reads under the new key. */
static void passwd_many_cases(void)
{
	char dir[600], codes[20][VAULT_CODE_SIZE], path[256];
	vault_verify_result res;
	mem_sink out = { 0 };
	vault *v;

	snprintf(dir, sizeof dir, "%s/passwd", work);
	if ((v = support_vault_with_users(dir)) == NULL)
		return;
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	for (size_t i = 0; i < 20; i++) {
		CHECK_RC(vault_case_create(codes[i], v, "one of many"), 0);
		snprintf(path, sizeof path, "%s/a.txt", codes[i]);
		CHECK_RC(support_put(v, path, "text", 4, NULL), 0);
	}
	CHECK_RC(vault_user_passwd(v, "alice-pass-2", 12), 0);
	vault_close(v);
	if ((v = support_open_as(dir, "alice", "alice-pass-2")) == NULL)
		return;
	for (size_t i = 0; i < 20; i++) {
		snprintf(path, sizeof path, "%s/a.txt", codes[i]);
		CHECK_RC(support_get(v, path, "care", NULL, &out), 0);
	}
	CHECK(out.len == 80);
	CHECK_RC(support_verify(&res, v, NULL), 0);
	mem_sink_free(&out);
	vault_close(v);
}

int main(void)
{
	vault_global_init();
	work = harness_tmpdir();
	create_after_swap();
	grant_after_swap();
	passwd_many_cases();
	return harness_done("test_sealrace");
}
