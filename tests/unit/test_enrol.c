/*
 * Users make their own keys: pending users, one-time enrolment codes, and
 * a passwd that makes a new key pair, against an attacker who keeps an
 * old copy of the user's record and knows its passphrase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

#define PASS(s) s, strlen(s)

static vault *as(const char *dir, const char *user, const char *pass)
{
	vault *v = NULL;

	if (vault_open(&v, dir) < 0 || vault_unlock(v, user, pass, strlen(pass)) < 0) {
		fprintf(stderr, "cannot unlock %s: %s\n", user, vault_error_last()->message);
		exit(1);
	}
	return v;
}

static void head_of(char out[VAULT_OID_SIZE], const char *dir)
{
	vault *v = NULL;

	out[0] = '\0';
	if (vault_open(&v, dir) == 0)
		CHECK_RC(vault_head(out, v), 0);
	vault_close(v);
}

/* The sealed entries of `user`: keys ending in "/USER". */
static int enrol(const char *dir, const char *name, const char *code, const char *pass)
{
	vault *v = NULL;
	int error;

	if ((error = vault_open(&v, dir)) == 0)
		error = vault_user_enrol(v, name, code, strlen(code), pass, strlen(pass));
	vault_close(v);
	return error;
}

static void verify_ok(const char *dir)
{
	vault_verify_result res;
	vault *v = as(dir, "dpo", "dpo-pass-1");

	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	vault_close(v);
}

/*
 * A pending user holds no key: they cannot unlock, get no grant and no
 * sealed key. A wrong code, a used one and an expired one are refused,
 * and write nothing.
 */
static void test_codes(const char *vdir)
{
	char code[VAULT_ENROL_CODE_SIZE], aud_code[VAULT_ENROL_CODE_SIZE], old_code[VAULT_ENROL_CODE_SIZE];
	char before[VAULT_OID_SIZE], after[VAULT_OID_SIZE], cc[VAULT_CODE_SIZE];
	vault *v;

	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(vault_user_add(v, "pat", VAULT_ROLE_CASEWORKER, code), 0);
	CHECK(strlen(code) == VAULT_ENROL_CODE_LEN);
	CHECK_RC(vault_user_add(v, "aud", VAULT_ROLE_AUDITOR, aud_code), 0);
	vault_close(v);

	/* Pending: no unlock, no grant, nothing sealed, no audit key. */
	CHECK_RC(vault_open(&v, vdir), 0);
	CHECK_RC(vault_unlock(v, "pat", PASS("any-passphrase")), VAULT_EAUTH);
	CHECK(strstr(vault_error_last()->message, "has not enrolled yet") != NULL);
	vault_close(v);
	v = as(vdir, "alice", "alice-pass");
	CHECK_RC(vault_case_create(cc, v, "for pat"), 0);
	rawdb_names_from(v);
	vault_close(v);
	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(vault_case_grant(v, cc, "pat", 0), VAULT_EREFUSED);
	CHECK(strstr(vault_error_last()->message, "pending") != NULL);
	vault_close(v);
	vault_close(as(vdir, "alice", "alice-pass"));
	CHECK(rawdb_sealed_to(vdir, "pat") == 0);
	CHECK(rawdb_sealed_to(vdir, "aud") == 0);

	/* Wrong codes: another user's, one character changed, empty. */
	head_of(before, vdir);
	CHECK_RC(enrol(vdir, "pat", aud_code, "pat-pass-1"), VAULT_EAUTH);
	CHECK(strstr(vault_error_last()->message, "wrong enrolment code for user 'pat'") != NULL);
	snprintf(old_code, sizeof old_code, "%s", code);
	old_code[3] = old_code[3] == 'A' ? 'B' : 'A';
	CHECK_RC(enrol(vdir, "pat", old_code, "pat-pass-1"), VAULT_EAUTH);
	CHECK_RC(enrol(vdir, "pat", "", "pat-pass-1"), VAULT_EAUTH);
	CHECK_RC(enrol(vdir, "nobody", code, "pat-pass-1"), VAULT_EAUTH);
	CHECK(strstr(vault_error_last()->message, "does not exist") != NULL);
	head_of(after, vdir);
	CHECK(!strcmp(before, after));

	/* The code works once. */
	CHECK_RC(enrol(vdir, "pat", code, "pat-pass-1"), 0);
	head_of(before, vdir);
	CHECK_RC(enrol(vdir, "pat", code, "pat-pass-2"), VAULT_EAUTH);
	CHECK(strstr(vault_error_last()->message, "has enrolled already") != NULL);
	head_of(after, vdir);
	CHECK(!strcmp(before, after));
	vault_close(as(vdir, "pat", "pat-pass-1"));

	/* The auditor enrolled gets the audit key from the next admin session. */
	CHECK_RC(enrol(vdir, "aud", aud_code, "aud-pass-1"), 0);
	CHECK(rawdb_sealed_to(vdir, "aud") == 0);
	vault_close(as(vdir, "dpo", "dpo-pass-1"));
	CHECK(rawdb_sealed_to(vdir, "aud") == 1);

	/* An expired code: refused, nothing written. */
	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(vault_setting_set(v, "enrol-code-ttl", "1"), 0);
	CHECK_RC(vault_user_add(v, "late", VAULT_ROLE_CASEWORKER, code), 0);
	vault_close(v);
	sleep(2);
	head_of(before, vdir);
	CHECK_RC(enrol(vdir, "late", code, "late-pass-1"), VAULT_EAUTH);
	CHECK(strstr(vault_error_last()->message, "the enrolment code of user 'late' has expired") != NULL);
	head_of(after, vdir);
	CHECK(!strcmp(before, after));

	/* The expiry is stored encrypted (XORed), not authenticated: flipping a
	 * high bit of it moves it 2^56 seconds on. Enrolment still refuses,
	 * the record not being the one the signed history holds. */
	CHECK(rawdb_flip(vdir, "users", "late", 4, 203, 0x01) == 0);
	CHECK_RC(enrol(vdir, "late", code, "late-pass-1"), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "late") != NULL);
	head_of(after, vdir);
	CHECK(!strcmp(before, after));
	CHECK(rawdb_flip(vdir, "users", "late", 4, 203, 0x01) == 0);
	verify_ok(vdir);
}

/*
 * Someone who knows alice's first passphrase and kept a copy of her
 * record (the record is all that passphrase opens) reads nothing she
 * writes after her passwd: the new epochs are sealed to her new key only.
 */
static void test_passwd_old_copy(const char *vdir)
{
	char cc[VAULT_CODE_SIZE], before_txt[64], after_txt[64];
	unsigned char *old_user;
	size_t old_len;
	mem_sink s = { 0 };
	vault *v;

	v = as(vdir, "alice", "alice-pass");
	CHECK_RC(vault_case_create(cc, v, "passwd"), 0);
	snprintf(before_txt, sizeof before_txt, "%s/before.txt", cc);
	snprintf(after_txt, sizeof after_txt, "%s/after.txt", cc);
	CHECK_RC(support_put(v, before_txt, "before", 6, NULL), 0);
	rawdb_names_from(v);
	vault_close(v);
	old_user = rawdb_fetch(vdir, "users", "alice", 5, &old_len);
	CHECK(old_user != NULL);

	v = as(vdir, "alice", "alice-pass");
	CHECK_RC(vault_user_passwd(v, PASS("alice-pass-2")), 0);
	/* The session goes on under the new key. */
	CHECK_RC(support_put(v, after_txt, "after", 5, NULL), 0);
	vault_close(v);
	verify_ok(vdir);

	/* The old passphrase opens nothing now; the new one all. */
	CHECK_RC(vault_open(&v, vdir), 0);
	CHECK_RC(vault_unlock(v, "alice", PASS("alice-pass")), VAULT_EAUTH);
	vault_close(v);
	v = as(vdir, "alice", "alice-pass-2");
	CHECK_RC(support_get(v, before_txt, "care", NULL, &s), 0);
	mem_sink_free(&s);
	CHECK_RC(support_get(v, after_txt, "care", NULL, &s), 0);
	CHECK(s.len == 5 && !memcmp(s.data, "after", 5));
	mem_sink_free(&s);
	vault_close(v);
	if (!old_user)
		return;

	/* The old record put back, and the checkpoints that would betray it
	 * gone: the old key unseals nothing of what came after. */
	CHECK(rawdb_set(vdir, "users", "alice", 5, old_user, old_len) == 0);
	CHECK(rawdb_remove(vdir, "meta", "checkpoint/alice", 16) == 0);
	CHECK_RC(vault_open(&v, vdir), 0);
	if (v) {
		int rc;

		vault_set_state_dir(v, "");
		rc = vault_unlock(v, "alice", PASS("alice-pass"));
		if (rc == 0) {
			rc = support_get(v, after_txt, "care", NULL, &s);
			CHECK(s.len == 0);
		}
		if (rc == 0)
			fprintf(stderr, "the old key read what came after the passwd\n");
		if (rc < 0) fprintf(stderr, "old copy: %s\n", vault_error_last()->message);
		CHECK(rc < 0);
		mem_sink_free(&s);
	}
	vault_close(v);
	free(old_user);
}

/*
 * A passwd by a member of more cases than one event may change (each case
 * gets a new epoch, and the user's record changes too) goes on in further
 * passwd events: verify replays them, an honest one passes, every case
 * moves to a new epoch, and the session reads on under the new key.
 */
#define MANY_CASES 40

static void test_passwd_many_cases(const char *dir)
{
	char cc[MANY_CASES][VAULT_CODE_SIZE], vdir[512], path[600];
	mem_sink s = { 0 };
	MDB_txn *txn = NULL;
	case_rec c;
	vault *v;

	snprintf(vdir, sizeof vdir, "%s/many", dir);
	CHECK_RC(vault_init(&v, vdir, "dpo", PASS("dpo-pass-1"), 0), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, PASS("alice-pass")), 0);
	vault_close(v);
	v = as(vdir, "alice", "alice-pass");
	for (int i = 0; i < MANY_CASES; i++) {
		CHECK_RC(vault_case_create(cc[i], v, "many"), 0);
		snprintf(path, sizeof path, "%s/f.txt", cc[i]);
		CHECK_RC(support_put(v, path, "before", 6, NULL), 0);
	}
	CHECK_RC(vault_user_passwd(v, PASS("alice-pass-2")), 0);
	snprintf(path, sizeof path, "%s/f.txt", cc[MANY_CASES - 1]);
	CHECK_RC(support_get(v, path, "care", NULL, &s), 0);
	mem_sink_free(&s);
	vault_close(v);
	verify_ok(vdir);
	v = as(vdir, "alice", "alice-pass-2");
	CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
	for (int i = 0; i < MANY_CASES; i++) {
		CHECK_RC(vault_case__get(&c, txn, v, cc[i]), 0);
		CHECK(c.epoch == 2);
		vault_case__dispose(&c);
	}
	vault_store__abort(v->st, txn);
	CHECK_RC(support_get(v, path, "care", NULL, &s), 0);
	CHECK(s.len == 6);
	mem_sink_free(&s);
	vault_close(v);
}

int main(void)
{
	const char *dir = harness_tmpdir();
	char vdir[512];
	vault *v;

	vault_global_init();
	snprintf(vdir, sizeof vdir, "%s/v", dir);
	CHECK_RC(vault_init(&v, vdir, "dpo", PASS("dpo-pass-1"), 0), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, PASS("alice-pass")), 0);
	vault_close(v);
	test_codes(vdir);
	test_passwd_old_copy(vdir);
	test_passwd_many_cases(dir);
	return harness_done("test_enrol");
}
