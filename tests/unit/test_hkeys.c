/*
 * The history at rest (hkeys.c, odb_lmdb.c): someone who can write the
 * vault file but holds no key of the history plants a key of their own for
 * a user, and the user's next session refuses it and writes nothing under
 * it; a user shut out by a rotation reads nothing written after it with
 * the keys they kept; an object moved to another place, or damaged, fails
 * as the damage it is; the rotation verifies, and only as the one step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkeys.h"
#include "policy.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

static char work[512];
static int ncopies;

static vault *session(const char *dir, const char *user)
{
	return support_session(dir, user, NULL);
}

/* vault_unlock's result for `user` (the session closed). */
static int unlock_rc(const char *dir, const char *user)
{
	int rc;

	vault_close(support_session(dir, user, &rc));
	return rc;
}

static const char *copy_of(const char *from)
{
	static char dir[600];

	snprintf(dir, sizeof dir, "%s/c%02d", work, ncopies++);
	CHECK(rawdb_copy_dir(from, dir) == 0);
	return dir;
}

static void head_of(char out[VAULT_OID_SIZE], const char *dir)
{
	rawdb db;
	MDB_val val;
	git_oid id;

	out[0] = '\0';
	if (rawdb_open(&db, dir) != 0)
		return;
	if (rawdb_get(&db, "meta", "head", 4, &val) == 0 && val.mv_size == 21) {
		git_oid_fromraw(&id, (unsigned char *)val.mv_data + 1);
		git_oid_tostr(out, VAULT_OID_SIZE, &id);
	}
	rawdb_close(&db, 0);
}

/*
 * An attacker who holds no key of the history seals a key of their own to
 * alice, with the binding of its place (which is no secret): her session
 * refuses it (exit 3), and nothing is written under it.
 */
static void test_planted(const char *base, const char *sealed_name, uint32_t gen, int forge_record)
{
	const char *dir = copy_of(base);
	unsigned char plain[64], rec[1 + 64 + VCRYPTO_SEALBYTES + 16], pk[32];
	char before[VAULT_OID_SIZE], after[VAULT_OID_SIZE];
	vault *v = NULL;
	MDB_val val;
	rawdb db;

	/* What the attacker reads from the file: alice's public key, the vault id. */
	CHECK_RC(vault_open(&v, dir), 0);
	if (!v)
		return;
	CHECK(rawdb_open(&db, dir) == 0);
	CHECK(rawdb_get(&db, "users", "alice", 5, &val) == 0);
	memcpy(pk, (unsigned char *)val.mv_data + 3, 32);
	rawdb_close(&db, 0);
	randombytes_buf(plain, 32);
	vault_keys__binding(plain + 32, v, gen ? "@history" : "@index", gen, "alice");
	rec[0] = REC_FORMAT;
	CHECK_RC(vault_vcrypto__seal_to(rec + 1, plain, 64, pk), 0);
	/* Its checksum (unkeyed, against damage): the attacker makes it too. */
	crypto_generichash(rec + sizeof rec - 16, 16, rec, sizeof rec - 16,
		(const unsigned char *)"cv-hkeys-sum", 12);
	CHECK(rawdb_set(dir, "sealed", sealed_name, strlen(sealed_name), rec, sizeof rec) == 0);
	/* The vault's (unsigned) record of the check values made to match it:
	 * only the signed one, after the gate, tells. */
	if (forge_record) {
		unsigned char *kcvs;
		size_t len;

		kcvs = rawdb_fetch(dir, "meta", "history-kcv", 11, &len);
		CHECK(kcvs != NULL && len >= 1 + (gen + 1) * KCV_SIZE);
		if (kcvs) {
			vault_keys__kcv(kcvs + 1 + gen * KCV_SIZE, v, gen ? "@history" : "@index", gen, plain);
			CHECK(rawdb_set(dir, "meta", "history-kcv", 11, kcvs, len) == 0);
			free(kcvs);
		}
	}
	vault_close(v);

	head_of(before, dir);
	CHECK_RC(unlock_rc(dir, "alice"), VAULT_ECORRUPT);
	fprintf(stderr, "planted %s: %s\n", sealed_name, vault_error_last()->message);
	head_of(after, dir);
	CHECK(before[0] && !strcmp(before, after));
	/* Others are not affected (unless the record was changed too). */
	if (!forge_record)
		CHECK_RC(unlock_rc(dir, "bob"), 0);
}

/* The stored value of the history's object `id`, raw (encrypted). */
static int stored(unsigned char **out, size_t *len, const char *dir, vault *keys, const git_oid *id)
{
	unsigned char loc[20];

	vault_odb__locator(loc, &keys->hk, id->id);
	*out = rawdb_fetch(dir, "git", loc, 20, len);
	return *out ? 0 : -1;
}

/*
 * An object put where another one lies (its value copied over), or with a
 * byte flipped: verify fails with exit 3, naming the object.
 */
static void test_moved(const char *base)
{
	vault *keys = support_keyring(base, "dpo");
	const char *dir;
	unsigned char *a = NULL, la[20], lb[20];
	size_t alen;
	git_oid head, parent;
	vault_verify_result res;
	vault *v;
	char hex[VAULT_OID_SIZE];

	if (!keys)
		return;
	head_of(hex, base);
	git_oid_fromstr(&head, hex);
	{
		git_commit *c = NULL;
		CHECK(git_commit_lookup(&c, keys->repo, &head) == 0);
		if (!c)
			return;
		git_oid_cpy(&parent, git_commit_parent_id(c, 0));
		git_commit_free(c);
	}
	/* The parent commit's value under the head's locator. */
	dir = copy_of(base);
	CHECK(stored(&a, &alen, dir, keys, &parent) == 0);
	vault_odb__locator(lb, &keys->hk, head.id);
	CHECK(a && rawdb_set(dir, "git", lb, 20, a, alen) == 0);
	free(a);
	/* dpo's gate (his checkpoint is older) refuses; with the keys and no
	 * session, verify names the object. */
	CHECK_RC(unlock_rc(dir, "dpo"), VAULT_ECORRUPT);
	fprintf(stderr, "moved: %s\n", vault_error_last()->message);
	CHECK(strstr(vault_error_last()->message, hex) != NULL);
	if (vault_open(&v, dir) == 0 && support_take_keys(v, base, "dpo") == 0) {
		memset(&res, 0, sizeof res);
		CHECK_RC(vault_audit_verify(&res, v, NULL), VAULT_ECORRUPT);
		fprintf(stderr, "moved, verify: %s\n", vault_error_last()->message);
		CHECK(!strcmp(res.bad_commit, hex));
	}
	vault_close(v);
	/* A byte of the head commit's ciphertext flipped: alice's gate (her
	 * checkpoint is older) refuses before her session starts. */
	dir = copy_of(base);
	vault_odb__locator(la, &keys->hk, head.id);
	CHECK(rawdb_flip(dir, "git", la, 20, -2, 0x01) == 0);
	CHECK_RC(unlock_rc(dir, "alice"), VAULT_ECORRUPT);
	fprintf(stderr, "flipped: %s\n", vault_error_last()->message);
}

/* An object written after the rotation, opened with bob's keys (kept). */
static int open_with(const vault_hkeys *hk, const char *dir, vault *keys, const git_oid *id)
{
	unsigned char *val = NULL, *plain;
	size_t len, plen;
	MDB_val v;
	int rc;

	if (stored(&val, &len, dir, keys, id) < 0)
		return -100;
	plain = malloc(len);
	v.mv_data = val;
	v.mv_size = len;
	rc = vault_odb__open(plain, &plen, hk, keys->id, id->id, &v);
	free(plain);
	free(val);
	return rc;
}

/*
 * bob keeps his keys (as his own build would), is disabled, and an admin
 * rotates the history key: what is written afterwards does not open with
 * what bob kept, not even taking his key for the new generation's. The
 * rotation verifies; its check value is in the signed history.
 */
static void test_rotation(const char *base)
{
	const char *dir = copy_of(base);
	vault_hkeys kept = { 0 };
	vault_verify_result res;
	char head[VAULT_OID_SIZE];
	uint32_t gen = 0;
	git_oid id;
	vault *v, *keys;

	if ((v = session(dir, "bob")) == NULL) {
		CHECK(!"bob's session");
		return;
	}
	CHECK_RC(vault_vcrypto__secret_alloc(&kept.keys, (size_t)VAULT_HGEN_MAX * 32), 0);
	CHECK_RC(vault_vcrypto__key_dup(&kept.index, v->hk.index), 0);
	memcpy(kept.keys, v->hk.keys, (size_t)VAULT_HGEN_MAX * 32);
	kept.held = kept.checked = v->hk.held;
	vault_close(v);

	v = session(dir, "dpo");
	CHECK(v != NULL);
	if (!v)
		return;
	CHECK_RC(vault_user_disable(v, "bob"), 0);
	CHECK_RC(vault_history_rotate_key(v, &gen), 0);
	CHECK(gen == kept.held + 1);
	vault_close(v);
	v = session(dir, "alice");
	CHECK(v != NULL);
	if (v) {
		CHECK_RC(support_put(v, "C-XXXXXXXX/x", "x", 1, NULL), VAULT_ENOTFOUND);
		vault_close(v);
	}
	head_of(head, dir);
	git_oid_fromstr(&id, head);
	keys = session(dir, "dpo");
	CHECK(keys != NULL);
	if (!keys)
		return;
	CHECK(keys->hk.held == gen && keys->hk.checked == gen);
	/* The newest object opens with the current keys only. */
	CHECK_RC(open_with(&keys->hk, dir, keys, &id), 0);
	CHECK_RC(open_with(&kept, dir, keys, &id), VAULT_EAUTH);
	memcpy(kept.keys + (size_t)(gen - 1) * 32, kept.keys + (size_t)(gen - 2) * 32, 32);
	kept.held = gen;
	CHECK_RC(open_with(&kept, dir, keys, &id), VAULT_ECORRUPT);
	/* The rotation verifies; an alice who unlocks now gets the new generation. */
	memset(&res, 0, sizeof res);
	CHECK_RC(vault_audit_verify(&res, keys, NULL), 0);
	vault_close(keys);
	v = session(dir, "alice");
	CHECK(v != NULL);
	if (v) {
		CHECK(v->hk.held == gen && v->hk.checked == gen);
		vault_close(v);
	}
	/* bob, disabled, was sealed nothing of it. */
	{
		char name[64];
		MDB_val val;
		rawdb db;

		snprintf(name, sizeof name, "@history/%08x/bob", gen);
		CHECK(rawdb_open(&db, dir) == 0);
		CHECK(rawdb_get(&db, "sealed", name, strlen(name), &val) != 0);
		snprintf(name, sizeof name, "@history/%08x/alice", gen);
		CHECK(rawdb_get(&db, "sealed", name, strlen(name), &val) == 0);
		rawdb_close(&db, 0);
	}
	vault_hkeys__clear(&kept);

	/* An active user's copy of the newest generation dropped: verify names it. */
	{
		char from[600], name[64];
		const char *cut;

		snprintf(from, sizeof from, "%s", dir);
		cut = copy_of(from);

		snprintf(name, sizeof name, "@history/%08x/alice", gen);
		CHECK(rawdb_remove(cut, "sealed", name, strlen(name)) == 0);
		v = NULL;
		CHECK_RC(vault_open(&v, cut), 0);
		if (v && vault_open_history(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))) == 0) {
			memset(&res, 0, sizeof res);
			CHECK_RC(vault_audit_verify(&res, v, NULL), VAULT_ECORRUPT);
			CHECK(strstr(vault_error_last()->message, "'alice' holds no sealed copy of generation") != NULL);
		} else {
			CHECK(!"open the history as dpo");
		}
		vault_close(v);
	}

	/* A byte of alice's copy of the index key flipped: her unlock says it is
	 * damaged, and verify, which cannot open her copy, names it too. */
	{
		char from[600];
		const char *cut;
		unsigned char *rec;
		size_t len;

		snprintf(from, sizeof from, "%s", dir);
		cut = copy_of(from);
		rec = rawdb_fetch(cut, "sealed", "@index/alice", 12, &len);
		CHECK(rec != NULL && len > 40);
		if (rec) {
			rec[40] ^= 0x10;
			CHECK(rawdb_set(cut, "sealed", "@index/alice", 12, rec, len) == 0);
			free(rec);
		}
		CHECK_RC(unlock_rc(cut, "alice"), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, "copy of the history's index key for 'alice' is damaged") != NULL);
		v = NULL;
		CHECK_RC(vault_open(&v, cut), 0);
		if (v && vault_open_history(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))) == 0) {
			memset(&res, 0, sizeof res);
			CHECK_RC(vault_audit_verify(&res, v, NULL), VAULT_ECORRUPT);
			CHECK(strstr(vault_error_last()->message,
				"'alice' holds a damaged sealed copy of the history's index key") != NULL);
		} else {
			CHECK(!"open the history as dpo");
		}
		vault_close(v);
	}
}

/*
 * A long session (as the mount's) while another process rotates the key
 * and writes under the new generation: its next open of that file, which
 * reads the history outside any event, takes up the new generation.
 */
static void test_rotation_elsewhere(const char *base)
{
	char dir[600], path[VAULT_CODE_SIZE + 16];
	vault_file_options o = VAULT_FILE_OPTIONS_INIT;
	vault_file *f = NULL;
	uint32_t gen;
	vault *a, *other;

	snprintf(dir, sizeof dir, "%s", copy_of(base));
	if ((a = session(dir, "alice")) == NULL) {
		CHECK(!"alice's session");
		return;
	}
	{
		char code[VAULT_CODE_SIZE];
		CHECK_RC(vault_case_create(code, a, "long session"), 0);
		snprintf(path, sizeof path, "%s/f.txt", code);
	}
	CHECK_RC(support_put(a, path, "one", 3, NULL), 0);
	if ((other = session(dir, "dpo")) != NULL) {
		CHECK_RC(vault_history_rotate_key(other, &gen), 0);
		vault_close(other);
	}
	if ((other = session(dir, "alice")) != NULL) {
		CHECK_RC(support_put(other, path, "two", 3, NULL), 0);
		vault_close(other);
	}
	CHECK(a->hk.held == 1);
	o.flags = VAULT_FILE_WRITE;
	CHECK_RC(vault_file_open(&f, a, path, &o), 0);
	vault_file_close(f);
	CHECK(a->hk.held == 2);
	vault_close(a);
}

/* Is the `sealed` record `name` in the vault at `dir`? */
static int has_sealed(const char *dir, const char *name)
{
	size_t len;
	unsigned char *rec = rawdb_fetch(dir, "sealed", name, strlen(name), &len);

	free(rec);
	return rec != NULL;
}

/*
 * A user added before two rotations enrols: each rotation sealed its
 * generation to the key pair of their code (the record's `enrol`). They
 * then read and verify the whole history, and the copies sealed to the
 * used code are gone.
 */
static void test_pending(const char *base)
{
	const char *dir = copy_of(base);
	char code[VAULT_ENROL_CODE_SIZE], before[VAULT_OID_SIZE], after[VAULT_OID_SIZE];
	vault_verify_result res;
	uint32_t gen = 0;
	vault *v;

	if ((v = session(dir, "dpo")) == NULL) {
		CHECK(!"dpo's session");
		return;
	}
	CHECK_RC(vault_user_add(v, "pam", VAULT_ROLE_AUDITOR, code), 0);
	CHECK_RC(vault_history_rotate_key(v, &gen), 0);
	CHECK_RC(vault_history_rotate_key(v, &gen), 0);
	vault_close(v);
	CHECK(gen == 3);
	CHECK(has_sealed(dir, "@history/00000002/pam") && has_sealed(dir, "@history/00000003/pam"));
	CHECK(!has_sealed(dir, "@index/pam"));

	v = NULL;
	CHECK_RC(vault_open(&v, dir), 0);
	if (v)
		CHECK_RC(vault_user_enrol(v, "pam", code, strlen(code), support_pass("pam"),
			strlen(support_pass("pam"))), 0);
	vault_close(v);
	CHECK(!has_sealed(dir, "@history/00000002/pam") && has_sealed(dir, "@history/00000003/pam"));
	CHECK(has_sealed(dir, "@index/pam") && !has_sealed(dir, "@enrol/pam"));
	if ((v = session(dir, "pam")) != NULL) {
		CHECK_RC(support_verify(&res, v, NULL), 0);
		CHECK(v->hk.held == 3);
		vault_close(v);
	}

	/* The copy a rotation sealed to a pending user dropped from the file:
	 * their enrolment is refused, naming why, and writes nothing. */
	if ((v = session(dir, "dpo")) == NULL)
		return;
	CHECK_RC(vault_user_add(v, "quin", VAULT_ROLE_CASEWORKER, code), 0);
	CHECK_RC(vault_history_rotate_key(v, &gen), 0);
	vault_close(v);
	CHECK(rawdb_remove(dir, "sealed", "@history/00000004/quin", 22) == 0);
	head_of(before, dir);
	v = NULL;
	CHECK_RC(vault_open(&v, dir), 0);
	if (v)
		CHECK_RC(vault_user_enrol(v, "quin", code, strlen(code), support_pass("quin"),
			strlen(support_pass("quin"))), VAULT_EACCES);
	CHECK(strstr(vault_error_last()->message, "no copy sealed to their enrolment key") != NULL);
	CHECK(strstr(vault_error_last()->message, "the enrolment code opens no key of it") != NULL);
	vault_close(v);
	head_of(after, dir);
	CHECK(before[0] && !strcmp(before, after));
}

/*
 * The key a rotation seals to, swapped in a user's record for one the
 * attacker holds (at byte `at` of the record: an active user's public key,
 * a pending user's enrolment key, made from a code the attacker chose).
 * The rotation refuses, seals nothing and records nothing; verify names
 * the record.
 */
static void test_swapped_key(const char *base, const char *user, size_t at)
{
	static const char attacker_code[] = "ATTACKERSCHOSENCODE0123456";
	const char *dir = copy_of(base);
	char code[VAULT_ENROL_CODE_SIZE], before[VAULT_OID_SIZE], after[VAULT_OID_SIZE], name[64];
	unsigned char pk[32], *sk = NULL, *rec;
	vault_verify_result res;
	uint32_t gen = 0;
	size_t len;
	vault *v;

	if ((v = session(dir, "dpo")) == NULL) {
		CHECK(!"dpo's session");
		return;
	}
	if (strcmp(user, "alice") != 0)
		CHECK_RC(vault_user_add(v, user, VAULT_ROLE_CASEWORKER, code), 0);
	CHECK_RC(vault_hkeys__enrol_keypair(pk, &sk, v, user, attacker_code, strlen(attacker_code)), 0);
	vault_vcrypto__key_free(sk);
	vault_close(v);
	rec = rawdb_fetch(dir, "users", user, strlen(user), &len);
	CHECK(rec && len > at + 32);
	if (rec && len > at + 32) {
		memcpy(rec + at, pk, 32);
		CHECK(rawdb_set(dir, "users", user, strlen(user), rec, len) == 0);
	}
	free(rec);

	head_of(before, dir);
	if ((v = session(dir, "dpo")) != NULL) {
		CHECK_RC(vault_history_rotate_key(v, &gen), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, user) != NULL);
		fprintf(stderr, "rotation over %s's swapped key: %s\n", user, vault_error_last()->message);
		vault_close(v);
	}
	head_of(after, dir);
	CHECK(before[0] && !strcmp(before, after));
	snprintf(name, sizeof name, "@history/00000002/%s", user);
	CHECK(!has_sealed(dir, name));
	if ((v = session(dir, "aud")) != NULL) {
		CHECK_RC(support_verify(&res, v, NULL), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, user) != NULL);
		vault_close(v);
	}
}

int main(void)
{
	char base[600];
	vault *v;

	vault_global_init();
	snprintf(work, sizeof work, "%s", harness_tmpdir());
	snprintf(base, sizeof base, "%s/base", work);
	if ((v = support_vault_with_users(base)) == NULL)
		return harness_done("test_hkeys");
	vault_close(v);
	/* Every user's checkpoint is older than the head. */
	if ((v = session(base, "dpo")) != NULL) {
		char code[VAULT_CODE_SIZE];
		CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
		CHECK_RC(vault_case_create(code, v, "a case"), 0);
		vault_close(v);
	}
	test_planted(base, "@history/00000001/alice", 1, 0);
	test_planted(base, "@index/alice", 0, 0);
	test_planted(base, "@history/00000001/alice", 1, 1);
	test_planted(base, "@index/alice", 0, 1);
	test_moved(base);
	test_rotation(base);
	test_rotation_elsewhere(base);
	test_pending(base);
	test_swapped_key(base, "pat", 171);
	test_swapped_key(base, "alice", 3);
	return harness_done("test_hkeys");
}
