/*
 * A key planted in a running session's cache never wraps its later writes.
 * Someone with write access to data.mdb and no key of case A's epoch 2,
 * while alice's session runs (a mount), edits three raw records (the case
 * record is sealed under the index key, which every active user holds:
 * the attacker is one of them, bob, with his history keys only):
 *   - case A: epoch 2, a junk chain entry, kcv[2] = kcv(X) (X: their key)
 *   - sealed "A/00000002/alice" = seal(X || binding) to alice's public key
 *     (the binding hashes only public data)
 *   - the epoch byte of one node-key record: 2
 * then alice's session lists the case folder, and every record is put
 * back. Later, the admin revokes carol and bob's session starts the real
 * epoch 2. alice writes: the write must not be under X (a key the session
 * holds is checked against the case record on every use), bob must read
 * it, and `audit verify` must pass.
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

static char base[512];
static char code_a[VAULT_CODE_SIZE];
static char doc[64];
static unsigned char X[32];                 /* the attacker's key */

static vault *session(const char *dir, const char *user)
{
	const char *pass = support_pass(user);
	vault *v = NULL;

	if (vault_open(&v, dir) < 0)
		return NULL;
	vault_set_state_dir(v, "");
	if (vault_unlock(v, user, pass, strlen(pass)) < 0) {
		fprintf(stderr, "unlock %s: %s\n", user, vault_error_last()->message);
		vault_close(v);
		return NULL;
	}
	return v;
}

static void hash_str(crypto_generichash_state *st, const char *s)
{
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s) + 1);
}

/* keys.c's seal_binding: public data only. */
static void binding(unsigned char out[32], const char *id, const char *code, uint32_t epoch,
	const char *user)
{
	crypto_generichash_state st;
	unsigned char e[4];

	be32_put(e, epoch);
	crypto_generichash_init(&st, NULL, 0, 32);
	hash_str(&st, "cv-sealed");
	hash_str(&st, id);
	hash_str(&st, code);
	crypto_generichash_update(&st, e, 4);
	hash_str(&st, user);
	crypto_generichash_final(&st, out, 32);
}

/* The attacker's handle: the vault file, opened with bob's history keys
 * (which locate and open the case record), no session. */
static vault *attacker(const char *dir)
{
	vault *v = NULL;

	if (vault_open(&v, dir) < 0 ||
	    vault_open_history(v, "bob", support_pass("bob"), strlen(support_pass("bob"))) < 0) {
		vault_close(v);
		return NULL;
	}
	return v;
}

/* The attacker, in its own process: raw record edits only (no case key). */
static int poison(const char *dir, uint64_t node)
{
	vault *v = NULL;
	MDB_txn *txn = NULL;
	case_rec c;
	user_rec u;
	MDB_val val;
	unsigned char plain[64], sealed[1 + 64 + VCRYPTO_SEALBYTES], nk[12], rec[256];
	char skey[64];
	int error;

	if ((v = attacker(dir)) == NULL || vault_store__begin(&txn, v->st, 1) < 0)
		return -1;
	if ((error = vault_case__get(&c, txn, v, code_a)) < 0)
		return error;
	c.chain = realloc(c.chain, CHAIN_SIZE);
	randombytes_buf(c.chain, CHAIN_SIZE);
	c.nchain = 1;
	c.kcv = realloc(c.kcv, 2 * KCV_SIZE);
	vault_keys__kcv(c.kcv[1], v, code_a, 2, X);
	c.epoch = 2;
	if ((error = vault_case__put(txn, v, &c)) < 0)
		return error;
	vault_case__dispose(&c);
	if ((error = vault_user__get(&u, txn, v, "alice")) < 0)
		return error;
	memcpy(plain, X, 32);
	binding(plain + 32, v->id, code_a, 2, "alice");
	sealed[0] = REC_FORMAT;
	if (vault_vcrypto__seal_to(sealed + 1, plain, 64, u.pk) < 0)
		return -1;
	vault_rec__sealed_name(skey, sizeof skey, code_a, 2, "alice");
	if ((error = vault_rec__put(txn, v, v->st->sealed, skey, sealed, sizeof sealed)) < 0)
		return error;
	be64_put(nk, node);
	be32_put(nk + 8, 1);
	if ((error = vault_store__get(txn, v->st->nodekeys, nk, 12, &val)) < 0 || val.mv_size > sizeof rec)
		return -1;
	memcpy(rec, val.mv_data, val.mv_size);
	be32_put(rec + 1, 2);
	if ((error = vault_store__put(txn, v->st->nodekeys, nk, 12, rec, val.mv_size, 0)) < 0)
		return error;
	if ((error = vault_store__commit(v->st, txn)) < 0)
		return error;
	vault_close(v);
	return 0;
}

/* The attacker puts the records back as they were. */
static int unpoison(const char *dir, const void *caserec, size_t caselen, const void *nkrec,
	size_t nklen, uint64_t node)
{
	vault *v = NULL;
	MDB_txn *txn = NULL;
	unsigned char nk[12];
	char skey[64];
	int error;

	if ((v = attacker(dir)) == NULL || vault_store__begin(&txn, v->st, 1) < 0)
		return -1;
	be64_put(nk, node);
	be32_put(nk + 8, 1);
	vault_rec__sealed_name(skey, sizeof skey, code_a, 2, "alice");
	if ((error = vault_rec__put(txn, v, v->st->cases, code_a, caserec, caselen)) < 0 ||
	    (error = vault_store__put(txn, v->st->nodekeys, nk, 12, nkrec, nklen, 0)) < 0 ||
	    (error = vault_rec__del(txn, v, v->st->sealed, skey)) < 0)
		return error;
	if ((error = vault_store__commit(v->st, txn)) < 0)
		return error;
	vault_close(v);
	return 0;
}

static int in_child(int (*fn)(void *), void *arg)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg) == 0 ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uint64_t g_node;
static unsigned char *g_case, *g_nk;
static size_t g_caselen, g_nklen;

static int do_poison(void *a) { (void)a; return poison(base, g_node); }
static int do_unpoison(void *a) { (void)a; return unpoison(base, g_case, g_caselen, g_nk, g_nklen, g_node); }
static int do_revoke(void *a)
{
	vault *v = session(base, "dpo");
	int error;
	(void)a;
	if (!v)
		return -1;
	error = vault_case_revoke(v, code_a, "carol");
	if (error < 0)
		fprintf(stderr, "revoke: %s\n", vault_error_last()->message);
	vault_close(v);
	return error;
}
static int do_bob_session(void *a)
{
	vault *v = session(base, "bob");     /* settles epoch 2 (vault_keys__maintain) */
	(void)a;
	if (!v)
		return -1;
	vault_close(v);
	return 0;
}
static int do_bob_reads(void *a)
{
	vault *v = session(base, "bob");
	mem_sink s = { 0 };
	int error;
	(void)a;
	if (!v)
		return -1;
	error = support_get(v, doc, "care", NULL, &s);
	if (error < 0)
		fprintf(stderr, "bob cannot read alice's new version: %s\n", vault_error_last()->message);
	else
		fprintf(stderr, "bob reads: %.*s\n", (int)s.len, (char *)s.data);
	mem_sink_free(&s);
	vault_close(v);
	return error < 0 ? 1 : 0;
}
static int do_verify(void *a)
{
	vault *v = session(base, "aud");
	vault_verify_result res;
	int error;
	(void)a;
	if (!v)
		return -1;
	error = vault_audit_verify(&res, v, NULL);
	if (error < 0)
		fprintf(stderr, "verify: %s\n", vault_error_last()->message);
	vault_close(v);
	return error < 0 ? 1 : 0;
}

static int noop_cb(const vault_stat_info *e, void *p) { (void)e; (void)p; return 0; }

int main(void)
{
	const char *dir = harness_tmpdir();
	vault *v, *alice;
	vault_stat_info st;
	MDB_txn *txn = NULL;
	MDB_val val;
	unsigned char nk[12], ad[24], plain[32];
	uint32_t ver;
	int error;

	vault_global_init();
	randombytes_buf(X, sizeof X);
	snprintf(base, sizeof base, "%s/base", dir);
	if ((v = support_vault_with_users(base)) == NULL)
		return harness_done("test_gate_keycache");
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	CHECK_RC(vault_case_create(code_a, v, "case A"), 0);
	snprintf(doc, sizeof doc, "%s/intake.txt", code_a);
	CHECK_RC(support_put(v, doc, "intake of case A", 16, &ver), 0);
	CHECK_RC(vault_unlock(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))), 0);
	CHECK_RC(vault_case_grant(v, code_a, "bob", 0), 0);
	CHECK_RC(vault_case_grant(v, code_a, "carol", 0), 0);
	vault_close(v);
	vault_close(session(base, "alice"));       /* seals A's key to bob and carol */

	/* alice's long session (a mount). */
	if ((alice = session(base, "alice")) == NULL)
		return harness_done("test_gate_keycache");
	CHECK_RC(vault_stat(&st, alice, doc), 0);
	g_node = strtoull(st.node, NULL, 16);
	/* the originals, to put back (the attacker reads them from the file) */
	CHECK_RC(vault_store__begin(&txn, alice->st, 0), 0);
	CHECK_RC(vault_rec__get(txn, alice, alice->st->cases, code_a, &val), 0);
	g_case = malloc(val.mv_size);
	memcpy(g_case, val.mv_data, g_caselen = val.mv_size);
	be64_put(nk, g_node);
	be32_put(nk + 8, 1);
	CHECK_RC(vault_store__get(txn, alice->st->nodekeys, nk, 12, &val), 0);
	g_nk = malloc(val.mv_size);
	memcpy(g_nk, val.mv_data, g_nklen = val.mv_size);
	vault_store__abort(alice->st, txn);

	/* 1. the attacker edits raw records; alice's mount lists the folder. */
	CHECK(in_child(do_poison, NULL) == 0);
	error = vault_list(alice, code_a, &support_list, noop_cb, NULL);
	fprintf(stderr, "alice's listing while poisoned: %d (%s)\n", error, error ? vault_error_last()->message : "");
	/* 2. the attacker puts everything back: no trace in the file. */
	CHECK(in_child(do_unpoison, NULL) == 0);
	CHECK_RC(vault_list(alice, code_a, &support_list, noop_cb, NULL), 0);

	/* 3. honest work: the admin revokes carol; bob's session starts epoch 2. */
	CHECK(in_child(do_revoke, NULL) == 0);
	CHECK(in_child(do_bob_session, NULL) == 0);

	/* 4. alice (same session) writes a new version of the document. */
	CHECK_RC(support_put(alice, doc, "the victim's new address", 24, &ver), 0);

	/* The attacker unwraps alice's new node key with X. */
	be32_put(nk + 8, 2);
	CHECK_RC(vault_store__begin(&txn, alice->st, 0), 0);
	if (vault_store__get(txn, alice->st->nodekeys, nk, 12, &val) == 0) {
		memcpy(ad, "cv-node:", 8);
		be64_put(ad + 8, g_node);
		be32_put(ad + 16, 2);
		be32_put(ad + 20, be32_get((unsigned char *)val.mv_data + 1));
		error = vault_vcrypto__open(plain, (unsigned char *)val.mv_data + 5, val.mv_size - 5, ad, 24, X);
		fprintf(stderr, "attacker unwraps alice's new node key with X: %s\n", error == 0 ? "YES (leak)" : "no");
		CHECK(error != 0);       /* fails while the bug is there */
	} else {
		fprintf(stderr, "no node key of generation 2\n");
	}
	vault_store__abort(alice->st, txn);
	vault_close(alice);

	/* bob, a member, cannot read it; verify passes. */
	CHECK(in_child(do_bob_reads, NULL) == 0);
	CHECK(in_child(do_verify, NULL) == 0);
	free(g_case);
	free(g_nk);
	return harness_done("test_gate_keycache");
}
