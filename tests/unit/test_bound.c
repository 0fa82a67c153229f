/*
 * Keys bound to their place, tried as someone who can write the vault file
 * would: a sealed case key moved to another case, a user record brought
 * from another vault (or another name), a damaged key-check value. Each
 * edits the raw records of a closed vault (rawdb), then runs the honest
 * member's next session, and counts what was sealed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

#define PASS(s) s, strlen(s)
#define UPASS(u) support_pass(u), strlen(support_pass(u))

static int said(const char *a, const char *b)
{
	const char *m = vault_error_last()->message;
	int ok = strstr(m, a) && (!b || strstr(m, b));

	if (!ok)
		fprintf(stderr, "  the error says: %s\n", m);
	return ok;
}

static int put_str(vault *v, const char *path, const char *text)
{
	return support_put(v, path, text, strlen(text), NULL);
}

static int no_entry(const vault_stat_info *e, void *p)
{
	return 0;
}

static size_t sealed_count(const char *dir)
{
	rawdb db;
	size_t n = (size_t)-1;

	if (rawdb_open(&db, dir) == 0) {
		n = rawdb_count(&db, "sealed");
		rawdb_close(&db, 0);
	}
	return n;
}

static int has_sealed(const char *dir, const char *code, uint32_t epoch, const char *user)
{
	char name[64];
	size_t len;
	unsigned char *val;

	vault_rec__sealed_name(name, sizeof name, code, epoch, user);
	val = rawdb_fetch(dir, "sealed", name, strlen(name), &len);
	free(val);
	return val != NULL;
}

/* Copy record `from` of `db` in vault `src` over record `to` in `dst`. */
static int copy_record(const char *src, const char *dst, const char *db, const char *from, const char *to)
{
	size_t len;
	unsigned char *val = rawdb_fetch(src, db, from, strlen(from), &len);
	int rc = val ? rawdb_set(dst, db, to, strlen(to), val, len) : -1;

	free(val);
	return rc;
}

static vault *reopen(const char *dir)
{
	vault *v = NULL;

	CHECK_RC(vault_open(&v, dir), 0);
	return v;
}

static void verify_ok(const char *dir)
{
	vault_verify_result res;
	vault *v = support_open_as(dir, "dpo", support_pass("dpo"));

	if (v)
		CHECK_RC(support_verify(&res, v, NULL), 0);
	vault_close(v);
}

/* A vault in DIR/NAME (its path in `vdir`) with the usual users, where
 * alice made case `a` holding a.txt: alice's session, or NULL. */
static vault *vault_with_case(char vdir[512], const char *dir, const char *name,
	char a[VAULT_CODE_SIZE])
{
	char path[64];
	vault *v;

	snprintf(vdir, 512, "%s/%s", dir, name);
	if ((v = support_vault_with_users(vdir)) == NULL)
		return NULL;
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), 0);
	CHECK_RC(vault_case_create(a, v, "A"), 0);
	snprintf(path, sizeof path, "%s/a.txt", a);
	CHECK_RC(put_str(v, path, "in A"), 0);
	rawdb_names_from(v);       /* the records below are edited by name */
	return v;
}

/*
 * (a) alice, a member of cases A and B, puts her sealed key of A where her
 * key of B is. Case B's file in the history commits to its sealed keys as
 * stored: her next command on B, and every session that would seal "B's
 * key" onward (to a new member, or into a new epoch after a revoke), stops
 * with VAULT_ECORRUPT naming B's record; nothing is sealed, A's key
 * reaches no member of B, and verify names the record.
 */
static void test_moved_sealed_key(const char *dir)
{
	char vdir[512], a[VAULT_CODE_SIZE], b[VAULT_CODE_SIZE], path[64], ka[64], kb[64], kbob[64];
	unsigned char *bob_entry, *now;
	vault_verify_result res;
	size_t n, len, len2;
	mem_sink s = { 0 };
	vault *v;

	if ((v = vault_with_case(vdir, dir, "moved", a)) == NULL)
		return;
	CHECK_RC(vault_case_create(b, v, "B"), 0);
	snprintf(path, sizeof path, "%s/b.txt", b);
	CHECK_RC(put_str(v, path, "in B"), 0);
	CHECK_RC(vault_unlock(v, "dpo", UPASS("dpo")), 0);
	CHECK_RC(vault_case_grant(v, b, "bob", 0), 0);
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), 0);   /* delivers B to bob */
	vault_close(v);
	verify_ok(vdir);

	vault_rec__sealed_name(ka, sizeof ka, a, 1, "alice");
	vault_rec__sealed_name(kb, sizeof kb, b, 1, "alice");
	vault_rec__sealed_name(kbob, sizeof kbob, b, 1, "bob");
	CHECK((bob_entry = rawdb_fetch(vdir, "sealed", kbob, strlen(kbob), &len)) != NULL);
	CHECK(copy_record(vdir, vdir, "sealed", ka, kb) == 0);
	n = sealed_count(vdir);

	/* Her next command on B: nothing of B opens under A's key. */
	v = reopen(vdir);
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), 0);
	CHECK_RC(vault_list(v, b, &support_list, no_entry, NULL), VAULT_ECORRUPT);
	CHECK(said(b, "does not match the signed history"));
	snprintf(path, sizeof path, "%s/b.txt", b);
	CHECK_RC(support_get(v, path, "test", NULL, &s), VAULT_ECORRUPT);
	snprintf(path, sizeof path, "%s/new.txt", b);
	CHECK_RC(put_str(v, path, "more"), VAULT_ECORRUPT);
	snprintf(path, sizeof path, "%s/a.txt", a);
	CHECK_RC(support_get(v, path, "test", NULL, &s), 0);     /* A is untouched */
	mem_sink_free(&s);

	/* A new member of B: refused while B's keys are not the history's. */
	CHECK_RC(vault_unlock(v, "dpo", UPASS("dpo")), 0);
	CHECK_RC(vault_case_grant(v, b, "carol", 0), VAULT_ECORRUPT);
	CHECK(said(b, "does not match the signed history"));
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), 0);
	vault_close(v);
	CHECK(sealed_count(vdir) == n);
	CHECK(!has_sealed(vdir, b, 1, "carol"));
	CHECK((now = rawdb_fetch(vdir, "sealed", kbob, strlen(kbob), &len2)) != NULL);
	CHECK(now && bob_entry && len2 == len && !memcmp(now, bob_entry, len));
	free(now);
	free(bob_entry);

	/* A revoke is refused too: no epoch 2 is started under A's key. */
	v = reopen(vdir);
	CHECK_RC(vault_unlock(v, "dpo", UPASS("dpo")), 0);
	CHECK_RC(vault_case_revoke(v, b, "bob"), VAULT_ECORRUPT);
	vault_close(v);
	CHECK(sealed_count(vdir) == n);
	CHECK(!has_sealed(vdir, b, 2, "alice") && !has_sealed(vdir, b, 2, "carol"));

	/* Verify, with the history's keys only, names B's record. */
	if ((v = reopen(vdir)) != NULL) {
		CHECK_RC(vault_open_history(v, "dpo", UPASS("dpo")), 0);
		CHECK_RC(support_verify(&res, v, NULL), VAULT_ECORRUPT);
		CHECK(said(b, "differs from the head event"));
	}
	vault_close(v);
}

/*
 * (b) eve's record made in a vault of her own (same name, a passphrase she
 * knows), copied in with a forged membership of A: it does not unlock, and
 * alice's session seals nothing to it. Nor does a record copied to another
 * name open under that name.
 */
static void test_foreign_user(const char *dir)
{
	char home[512], other[512], a[VAULT_CODE_SIZE];
	MDB_txn *txn = NULL;
	case_rec c;
	size_t n;
	vault *v, *w = NULL;

	snprintf(other, sizeof other, "%s/other", dir);
	if ((v = vault_with_case(home, dir, "home", a)) == NULL)
		return;
	vault_close(v);
	CHECK_RC(vault_init(&w, other, "eve", PASS("eve-pass-1"), 0), 0);
	CHECK_RC(support_user_add(w, "alice", VAULT_ROLE_CASEWORKER, PASS("eve-pass-2")), 0);
	vault_close(w);

	/* eve's admin record, and her "alice", copied in; eve made a member
	 * (by an insider: the case record is sealed under the index key). */
	CHECK(copy_record(other, home, "users", "eve", "eve") == 0);
	v = reopen(home);
	CHECK_RC(vault_open_history(v, "bob", UPASS("bob")), 0);
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	CHECK_RC(vault_case__get(&c, txn, v, a), 0);
	snprintf(c.members[c.nmembers++].user, sizeof c.members[0].user, "eve");
	CHECK_RC(vault_case__put(txn, v, &c), 0);
	vault_case__dispose(&c);
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	vault_close(v);
	n = sealed_count(home);

	v = reopen(home);
	CHECK_RC(vault_unlock(v, "eve", PASS("eve-pass-1")), VAULT_EAUTH);
	/* alice's session would deliver A's key to eve, and must not. */
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), VAULT_ECORRUPT);
	vault_close(v);
	CHECK(sealed_count(home) == n + 0);
	CHECK(!has_sealed(home, a, 1, "eve"));

	/* The other vault's alice over this one's: her maker's passphrase
	 * opens nothing here. */
	CHECK(copy_record(other, home, "users", "alice", "alice") == 0);
	v = reopen(home);
	CHECK_RC(vault_unlock(v, "alice", PASS("eve-pass-2")), VAULT_EAUTH);
	vault_close(v);
	/* bob's record under another name does not open with bob's passphrase. */
	CHECK(copy_record(home, home, "users", "bob", "bobby") == 0);
	v = reopen(home);
	CHECK_RC(vault_unlock(v, "bobby", UPASS("bob")), VAULT_EAUTH);
	CHECK_RC(vault_unlock(v, "bob", UPASS("bob")), 0);
	vault_close(v);
	CHECK(sealed_count(home) == n + 0);
	/* In its own vault the record opens (the test's control). */
	w = reopen(other);
	CHECK_RC(vault_unlock(w, "eve", PASS("eve-pass-1")), 0);
	vault_close(w);
}

/*
 * (c) A damaged key-check value (changed by an insider, who can seal the
 * case record again): the key it checks is not used. Epoch 2's
 * value stops the member's reads; epoch 1's stops un-chaining it from
 * epoch 2's key. Verify finds the record differs from the head's.
 */
static void test_damaged_kcv(const char *dir)
{
	char vdir[512], a[VAULT_CODE_SIZE], path[64], copy[600];
	mem_sink s = { 0 };
	vault_verify_result res;
	vault *v;

	snprintf(copy, sizeof copy, "%s/kcv2", dir);
	if ((v = vault_with_case(vdir, dir, "kcv", a)) == NULL)
		return;
	CHECK_RC(vault_unlock(v, "dpo", UPASS("dpo")), 0);
	CHECK_RC(vault_case_grant(v, a, "bob", 0), 0);
	CHECK_RC(vault_case_revoke(v, a, "bob"), 0);
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), 0);   /* epoch 2 */
	snprintf(path, sizeof path, "%s/b.txt", a);
	CHECK_RC(put_str(v, path, "epoch 2"), 0);
	vault_close(v);
	CHECK(rawdb_copy_dir(vdir, copy) == 0);

	/* The last byte of epoch 2's value (the recovery's epoch, set,
	 * threshold and request count follow it). */
	CHECK(rawdb_flip_sealed(vdir, "cases", a, strlen(a), -1 - 4 - RECOVERY_SET_SIZE - 2, 0x01) == 0);
	v = reopen(vdir);
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), 0);
	/* A listing outside any event (the mount's) checks the key itself... */
	CHECK_RC(vault_list(v, a, &support_list_quiet, no_entry, NULL), VAULT_ECORRUPT);
	CHECK(said(a, "key-check value"));
	/* ... an event finds the record is not the signed history's first. */
	snprintf(path, sizeof path, "%s/b.txt", a);
	CHECK_RC(support_get(v, path, "test", NULL, &s), VAULT_ECORRUPT);
	CHECK(said(a, "does not match the signed history"));
	CHECK_RC(support_verify(&res, v, NULL), VAULT_ECORRUPT);
	vault_close(v);

	/* Epoch 1's value: its key comes down the chain, and is refused. */
	CHECK(rawdb_flip_sealed(copy, "cases", a, strlen(a), -1 - KCV_SIZE - 4 - RECOVERY_SET_SIZE - 2, 0x01) == 0);
	v = reopen(copy);
	CHECK_RC(vault_unlock(v, "alice", UPASS("alice")), 0);
	CHECK_RC(vault_list(v, a, &support_list_quiet, no_entry, NULL), VAULT_ECORRUPT);
	CHECK(said(a, "epoch 1"));
	snprintf(path, sizeof path, "%s/a.txt", a);
	CHECK_RC(support_get(v, path, "test", NULL, &s), VAULT_ECORRUPT);
	CHECK(said(a, "does not match the signed history"));
	vault_close(v);
	mem_sink_free(&s);
}

int main(void)
{
	const char *dir = harness_tmpdir();

	if (vault_global_init() < 0)
		return 1;
	test_moved_sealed_key(dir);
	test_foreign_user(dir);
	test_damaged_kcv(dir);
	return harness_done("test_bound");
}
