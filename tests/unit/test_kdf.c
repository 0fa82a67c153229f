/*
 * The vault's minimum for passphrase hashing (settings kdf-min-memory and
 * kdf-min-passes): new keys (enrol, passwd) are made with at least it, a
 * key below it is reported (vault_kdf_status), and it decides only as the
 * signed history has it: a raw edit of `meta/settings` that lowers or
 * raises it makes the next passwd refuse (VAULT_ECORRUPT), writing nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "records.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

/* `name`'s stored parameters. */
static void params_of(vcrypto_kdf *out, vault *v, const char *name)
{
	MDB_txn *txn = NULL;
	user_rec u;

	memset(out, 0, sizeof *out);
	CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
	if (txn && vault_user__get(&u, txn, v, name) == 0)
		*out = u.kdf;
	vault_store__abort(v->st, txn);
}

static void test_values(vault *v)
{
	static const char *const bad[][2] = {
		{ "kdf-min-memory", "0M" }, { "kdf-min-memory", "4097M" }, { "kdf-min-memory", "5G" },
		{ "kdf-min-memory", "16" }, { "kdf-min-memory", "512K" }, { "kdf-min-memory", "-1M" },
		{ "kdf-min-passes", "0" }, { "kdf-min-passes", "65" }, { "kdf-min-passes", "2x" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_RC(vault_setting_set(v, bad[i][0], bad[i][1]), VAULT_EUSAGE);
}

/* The settings record rewritten by someone who can write the file and
 * holds the history's keys (carol, a caseworker): sealed as casevault
 * seals it, with text `text`. */
static void edit_settings(const char *dir, const char *text)
{
	vault *v = support_insider(dir, "carol", support_pass("carol"));
	MDB_txn *txn = NULL;

	if (!v)
		return;
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	CHECK_RC(vault_meta__sealed_put(txn, v, "settings", text, strlen(text)), 0);
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	vault_close(v);
}

int main(void)
{
	const char *dir = harness_tmpdir();
	char base[512];
	vault *v;
	vault_kdf_info k;
	vault_verify_result res;
	vcrypto_kdf before, after;
	MDB_val val;
	rawdb db;
	unsigned char *saved = NULL;
	size_t savedlen = 0;

	vault_global_init();
	snprintf(base, sizeof base, "%s/base", dir);
	if ((v = support_vault_with_users(base)) == NULL)
		return harness_done("test_kdf");

	/* No minimum set: the build's profile is the minimum, no key is below. */
	CHECK_RC(vault_kdf_status(&k, v), 0);
	CHECK(k.below == 0 && k.min_passes == k.passes && k.min_memory == k.memory);

	test_values(v);
	CHECK_RC(vault_setting_set(v, "kdf-min-memory", "16M"), 0);
	CHECK_RC(vault_setting_set(v, "kdf-min-passes", "2"), 0);
	CHECK_RC(vault_kdf_status(&k, v), 0);
	CHECK(k.below == 1 && k.min_passes == 2 && k.min_memory == (16ULL << 20));

	/* A user enrolled now gets at least the minimum. */
	CHECK_RC(support_user_add(v, "dave", VAULT_ROLE_CASEWORKER, support_pass("dave"),
		strlen(support_pass("dave"))), 0);
	params_of(&after, v, "dave");
	CHECK(after.opslimit >= 2 && after.memlimit >= (16ULL << 20));
	vault_close(v);

	/* alice is below it, and told; passwd makes her key again above it. */
	if ((v = support_open_as(base, "alice", support_pass("alice"))) == NULL)
		return harness_done("test_kdf");
	CHECK_RC(vault_kdf_status(&k, v), 0);
	CHECK(k.below == 1);
	CHECK_RC(vault_user_passwd(v, "alice-new", 9), 0);
	params_of(&after, v, "alice");
	CHECK(after.opslimit == 2 && after.memlimit == (16ULL << 20));
	CHECK_RC(vault_kdf_status(&k, v), 0);
	CHECK(k.below == 0);
	CHECK_RC(support_verify(&res, v, NULL), 0);
	params_of(&before, v, "bob");
	vault_close(v);

	/* The attack: the minimum dropped from the settings record (no
	 * event). bob's passwd refuses, his record stays as it was. */
	CHECK_RC(rawdb_open(&db, base), 0);
	if (rawdb_get(&db, "meta", "settings", 8, &val) == 0 && (saved = malloc(val.mv_size + 1))) {
		memcpy(saved, val.mv_data, val.mv_size);
		saved[val.mv_size] = '\0';
		savedlen = val.mv_size;
	}
	rawdb_close(&db, 0);
	CHECK(saved != NULL && savedlen > 0);
	edit_settings(base, "bulk-read-count 20\n");
	if ((v = support_open_as(base, "bob", support_pass("bob"))) == NULL)
		return harness_done("test_kdf");
	CHECK_RC(vault_user_passwd(v, "bob-new", 7), VAULT_ECORRUPT);
	CHECK_RC(vault_kdf_status(&k, v), VAULT_ECORRUPT);
	params_of(&after, v, "bob");
	CHECK(!memcmp(&before, &after, sizeof before));
	vault_close(v);

	/* Raised past what the admin set (memory for nothing): refused too. */
	edit_settings(base, "kdf-min-memory 4096M\nkdf-min-passes 64\n");
	if ((v = support_open_as(base, "bob", support_pass("bob"))) == NULL)
		return harness_done("test_kdf");
	CHECK_RC(vault_user_passwd(v, "bob-new", 7), VAULT_ECORRUPT);
	vault_close(v);

	/* Put back, bob's passwd goes through with the minimum. */
	if (saved)
		CHECK_RC(rawdb_set(base, "meta", "settings", 8, saved, savedlen), 0);
	if ((v = support_open_as(base, "bob", support_pass("bob"))) == NULL)
		return harness_done("test_kdf");
	CHECK_RC(vault_user_passwd(v, "bob-new", 7), 0);
	params_of(&after, v, "bob");
	CHECK(after.opslimit == 2 && after.memlimit == (16ULL << 20));
	vault_close(v);
	free(saved);
	return harness_done("test_kdf");
}
