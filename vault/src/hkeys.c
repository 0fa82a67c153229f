/*
 * hkeys — the index key and the generations of the history key: made at
 * the genesis, sealed to each active user, unsealed at unlock, checked
 * against the signed history before anything is written under them,
 * handed to a pending user through their enrolment code, and rotated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkeys.h"

#define HK_PLAIN (VCRYPTO_KEYBYTES + 32)      /* key ‖ binding */
#define HK_SUM 16
#define HK_SEALED (1 + HK_PLAIN + VCRYPTO_SEALBYTES + HK_SUM)

/*
 * A sealed copy ends with an unkeyed BLAKE2b-128 of the bytes before it, so
 * that `audit verify`, which cannot open anyone's copy, still tells a
 * damaged one (a forged one is the check values' to refuse, at unlock).
 */
static void sum_of(unsigned char out[HK_SUM], const unsigned char *rec)
{
	crypto_generichash(out, HK_SUM, rec, HK_SEALED - HK_SUM,
		(const unsigned char *)"cv-hkeys-sum", 12);
}

static int sum_ok(const MDB_val *val)
{
	unsigned char sum[HK_SUM];

	if (val->mv_size != HK_SEALED || ((const unsigned char *)val->mv_data)[0] != REC_FORMAT)
		return 0;
	sum_of(sum, val->mv_data);
	return sodium_memcmp(sum, (const unsigned char *)val->mv_data + HK_SEALED - HK_SUM, HK_SUM) == 0;
}

void vault_hkeys__sealed_name(char *out, size_t n, uint32_t gen, const char *user)
{
	if (gen)
		snprintf(out, n, "@history/%08x/%s", gen, user);
	else
		snprintf(out, n, "@index/%s", user);
}

unsigned char *vault_hkeys__gen(const vault_hkeys *hk, uint32_t gen)
{
	return hk->keys + (size_t)(gen - 1) * VCRYPTO_KEYBYTES;
}

static void kcv_of(unsigned char out[KCV_SIZE], const vault *v, uint32_t gen, const unsigned char *key)
{
	vault_vcrypto__kcv(out, v->id, gen ? "@history" : "@index", gen, key);
}

static int hk_alloc(vault_hkeys *hk)
{
	int error;

	if (!hk->keys &&
	    (error = vault_vcrypto__secret_alloc(&hk->keys, (size_t)VAULT_HGEN_MAX * VCRYPTO_KEYBYTES)) < 0)
		return error;
	if (!hk->index && (error = vault_vcrypto__secret_alloc(&hk->index, VCRYPTO_KEYBYTES)) < 0)
		return error;
	return 0;
}

void vault_hkeys__clear(vault_hkeys *hk)
{
	vault_vcrypto__key_free(hk->keys);
	vault_vcrypto__key_free(hk->index);
	memset(hk, 0, sizeof *hk);
}

int vault_hkeys__held_by(MDB_txn *txn, vault *v, const char *name)
{
	char skey[VAULT_NAME_MAX + 32];
	MDB_val rec, val;
	uint32_t gens;
	int error;

	if ((error = vault_meta__history_kcv(&rec, &gens, txn, v)) < 0)
		return error;
	for (int i = 0; i < 2; i++) {
		uint32_t g = i ? gens : 0;

		vault_hkeys__sealed_name(skey, sizeof skey, g, name);
		error = vault_rec__get(txn, v, v->st->sealed, skey, &val);
		if (error == VAULT_ENOTFOUND)
			return g ? vault_error_set(VAULT_ECORRUPT,
					"active user '%s' holds no sealed copy of generation %u of the history key", name, g) :
				vault_error_set(VAULT_ECORRUPT,
					"active user '%s' holds no sealed copy of the history's index key", name);
		if (error == 0 && !sum_ok(&val))
			return g ? vault_error_set(VAULT_ECORRUPT, "active user '%s' holds a damaged sealed copy "
					"of generation %u of the history key", name, g) :
				vault_error_set(VAULT_ECORRUPT,
					"active user '%s' holds a damaged sealed copy of the history's index key", name);
		if (error < 0)
			return error;
	}
	return 0;
}

int vault_hkeys__require(vault *v)
{
	if (!v->hk.index || !v->hk.held)
		return vault_error_set(VAULT_EAUTH, "the history is encrypted: no user is unlocked to read it");
	return 0;
}

/* The drop box of a generation: failed unlocks are sealed to its public
 * half. The secret half (and the seed it comes from) only in secret memory. */
int vault_hkeys__drop_keypair(unsigned char pk[32], unsigned char **sk_out, const unsigned char *key)
{
	unsigned char *sk;
	int error;

	*sk_out = NULL;
	if ((error = vault_vcrypto__secret_alloc(&sk, 64)) < 0)
		return error;
	crypto_generichash(sk + 32, 32, (const unsigned char *)"cv-drop", 7, key, VCRYPTO_KEYBYTES);
	crypto_box_seed_keypair(pk, sk, sk + 32);
	sodium_memzero(sk + 32, 32);
	*sk_out = sk;
	return 0;
}

/* The newest generation `gen` (held) becomes the vault's: its check value
 * appended, its drop box published. */
int vault_hkeys__record_gen(MDB_txn *txn, vault *v, uint32_t gen)
{
	vault_hkeys *hk = &v->hk;
	unsigned char rec[(VAULT_HGEN_MAX + 1) * KCV_SIZE], pk[32], *sk;
	int error;

	kcv_of(rec, v, 0, hk->index);
	for (uint32_t g = 1; g <= gen; g++)
		kcv_of(rec + (size_t)g * KCV_SIZE, v, g, vault_hkeys__gen(hk, g));
	if ((error = vault_hkeys__drop_keypair(pk, &sk, vault_hkeys__gen(hk, gen))) < 0)
		return error;
	vault_vcrypto__key_free(sk);
	if ((error = vault_meta__put(txn, v, "history-kcv", rec, (size_t)(gen + 1) * KCV_SIZE)) < 0)
		return error;
	return vault_meta__put(txn, v, "history-pk", pk, 32);
}

int vault_hkeys__create(vault *v, MDB_txn *txn)
{
	vault_hkeys *hk = &v->hk;
	int error;

	if ((error = hk_alloc(hk)) < 0)
		return error;
	randombytes_buf(hk->index, VCRYPTO_KEYBYTES);
	randombytes_buf(vault_hkeys__gen(hk, 1), VCRYPTO_KEYBYTES);
	hk->held = hk->checked = 1;
	return vault_hkeys__record_gen(txn, v, 1);
}

int vault_hkeys__seal_one(MDB_txn *txn, vault *v, const char *name, const unsigned char pk[32],
	uint32_t gen, const unsigned char *key)
{
	unsigned char *plain = NULL, out[HK_SEALED];
	char skey[VAULT_NAME_MAX + 32];
	int error;

	if ((error = vault_vcrypto__secret_alloc(&plain, HK_PLAIN)) < 0)
		return error;
	memcpy(plain, key, VCRYPTO_KEYBYTES);
	vault_vcrypto__binding(plain + VCRYPTO_KEYBYTES, v->id, gen ? "@history" : "@index", gen, name);
	out[0] = REC_FORMAT;
	error = vault_vcrypto__seal_to(out + 1, plain, HK_PLAIN, pk);
	vault_vcrypto__key_free(plain);
	if (error < 0)
		return error;
	sum_of(out + HK_SEALED - HK_SUM, out);
	vault_hkeys__sealed_name(skey, sizeof skey, gen, name);
	return vault_rec__put(txn, v, v->st->sealed, skey, out, sizeof out);
}

int vault_hkeys__seal_to(MDB_txn *txn, vault *v, const char *name, const unsigned char pk[32])
{
	vault_hkeys *hk = &v->hk;
	int error;

	if (!hk->index || hk->checked == 0)
		return vault_error_set(VAULT_ECORRUPT,
			"no history key checked against the signed history is held: none is sealed to '%s'", name);
	if ((error = vault_hkeys__seal_one(txn, v, name, pk, 0, hk->index)) < 0)
		return error;
	return vault_hkeys__seal_one(txn, v, name, pk, hk->checked, vault_hkeys__gen(hk, hk->checked));
}

/* The key of generation `gen` (0: the index key) sealed to `user`, whose
 * key pair is `pk`, `sk`, into `out`. */
static int unseal_for(unsigned char *out, MDB_txn *txn, vault *v, uint32_t gen, const char *user,
	const unsigned char pk[32], const unsigned char *sk)
{
	unsigned char *plain = NULL, bind[32];
	char skey[VAULT_NAME_MAX + 32];
	MDB_val val;
	int error;

	vault_hkeys__sealed_name(skey, sizeof skey, gen, user);
	if ((error = vault_rec__get(txn, v, v->st->sealed, skey, &val)) < 0)
		return error;
	if ((error = vault_vcrypto__secret_alloc(&plain, HK_PLAIN)) < 0)
		return error;
	vault_vcrypto__binding(bind, v->id, gen ? "@history" : "@index", gen, user);
	if (!sum_ok(&val) ||
	    vault_vcrypto__unseal(plain, (unsigned char *)val.mv_data + 1, HK_SEALED - 1 - HK_SUM, pk, sk) < 0)
		error = gen ?
			vault_error_set(VAULT_ECORRUPT,
				"the sealed copy of generation %u of the history key for '%s' is damaged", gen, user) :
			vault_error_set(VAULT_ECORRUPT,
				"the sealed copy of the history's index key for '%s' is damaged", user);
	else if (sodium_memcmp(plain + VCRYPTO_KEYBYTES, bind, 32) != 0)
		error = gen ?
			vault_error_set(VAULT_ECORRUPT, "the sealed copy of generation %u of the history key "
				"for '%s' was sealed for another generation, user or vault", gen, user) :
			vault_error_set(VAULT_ECORRUPT, "the sealed copy of the history's index key "
				"for '%s' was sealed for another generation, user or vault", user);
	else
		memcpy(out, plain, VCRYPTO_KEYBYTES);
	vault_vcrypto__key_free(plain);
	return error;
}

/* This user's key of generation `gen` (0: the index key) into `out`. */
static int unseal_one(unsigned char *out, MDB_txn *txn, vault *v, uint32_t gen)
{
	return unseal_for(out, txn, v, gen, v->user, v->pk, v->sk);
}

void vault_hkeys__chain_ad(char ad[64], const vault *v, uint32_t gen)
{
	snprintf(ad, 64, "cv-hchain:%s:%u", v->id, gen);
}

void vault_hkeys__chain_name(char out[32], uint32_t gen)
{
	snprintf(out, 32, "@hchain/%08x", gen);
}

/* Generations from-1 down to stop+1, each from the chain entry of the one above. */
static int chain_down(vault *v, MDB_txn *txn, uint32_t from, uint32_t stop)
{
	char skey[32], ad[64];
	MDB_val val;
	int error;

	for (uint32_t g = from; g > stop + 1; g--) {
		vault_hkeys__chain_name(skey, g);
		vault_hkeys__chain_ad(ad, v, g);
		error = vault_rec__get(txn, v, v->st->sealed, skey, &val);
		if (error == 0 && (val.mv_size != 1 + VCRYPTO_KEYBYTES + VCRYPTO_OVERHEAD ||
		    vault_vcrypto__open(vault_hkeys__gen(&v->hk, g - 1), (unsigned char *)val.mv_data + 1, val.mv_size - 1,
				(unsigned char *)ad, strlen(ad), vault_hkeys__gen(&v->hk, g)) < 0))
			error = VAULT_ECORRUPT;
		if (error < 0)
			return vault_error_set(VAULT_ECORRUPT,
				"the chain entry of generation %u of the history key is missing or damaged", g);
	}
	return 0;
}

/* The newest generation sealed to this user, at most `gens`, and the ones below it. */
static int load_from(vault *v, MDB_txn *txn, uint32_t gens)
{
	vault_hkeys *hk = &v->hk;
	uint32_t g;
	int error = VAULT_ENOTFOUND;

	for (g = gens; g > hk->held && (error = unseal_one(vault_hkeys__gen(hk, g), txn, v, g)) == VAULT_ENOTFOUND; g--)
		;
	/* Each generation is sealed to every active user: at their enrolment
	 * (the newest), at each rotation after it. An active user's copies
	 * missing, all of them, is damage (or a deletion), not access. */
	if (error == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: no sealed copy of generation %u of the history key "
			"for user '%s', who is active (each generation is sealed to every active user)",
			gens, v->user);
	if (error < 0 || (error = chain_down(v, txn, g, hk->held)) < 0)
		return error;
	__atomic_store_n(&hk->held, g, __ATOMIC_RELEASE);
	return 0;
}

/* load_from, by one thread at a time (the mount's readers and its events). */
static int load_newer(vault *v, MDB_txn *txn, uint32_t gens)
{
	int error = 0;

	pthread_mutex_lock(&v->hk_lock);
	if (gens > v->hk.held)
		error = load_from(v, txn, gens);
	pthread_mutex_unlock(&v->hk_lock);
	return error;
}

int vault_hkeys__refresh(vault *v, MDB_txn *txn)
{
	MDB_val val;
	uint32_t gens;
	int error;

	if (!v->unlocked || !v->hk.index || (error = vault_meta__history_kcv(&val, &gens, txn, v)) < 0 ||
	    gens <= __atomic_load_n(&v->hk.held, __ATOMIC_ACQUIRE))
		return 0;       /* the check after the gate says what is wrong, if anything */
	return load_newer(v, txn, gens);
}

/*
 * The keys against the vault's record of their check values: not yet the
 * signed one (vault_hkeys__check is, after the gate), but a key planted
 * for the user is named here rather than as the damage it makes later.
 */
static int record_matches(vault *v, const MDB_val *rec, uint32_t gens)
{
	unsigned char kcv[KCV_SIZE];

	kcv_of(kcv, v, 0, v->hk.index);
	if (sodium_memcmp(kcv, rec->mv_data, KCV_SIZE) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"the history's index key sealed to '%s' is not the vault's: it was planted or damaged",
			v->user);
	for (uint32_t g = 1; g <= v->hk.held && g <= gens; g++) {
		kcv_of(kcv, v, g, vault_hkeys__gen(&v->hk, g));
		if (sodium_memcmp(kcv, (const unsigned char *)rec->mv_data + (size_t)g * KCV_SIZE, KCV_SIZE))
			return vault_error_set(VAULT_ECORRUPT,
				"generation %u of the history key sealed to '%s' is not the vault's: "
				"it was planted or damaged", g, v->user);
	}
	return 0;
}

int vault_hkeys__load(vault *v, MDB_txn *txn)
{
	MDB_val val;
	uint32_t gens;
	int error;

	if ((error = vault_meta__history_kcv(&val, &gens, txn, v)) < 0 || (error = hk_alloc(&v->hk)) < 0)
		return error;
	error = unseal_one(v->hk.index, txn, v, 0);
	/* Every active user is sealed the index key at enrolment, and it never
	 * rotates: one missing is damage (verify names it too). */
	if (error == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_ECORRUPT,
			"the history's index key sealed to user '%s' is missing", v->user);
	if (error < 0 || (error = load_from(v, txn, gens)) < 0)
		return error;
	return record_matches(v, &val, gens);
}

/* The id of the head's policy/settings (the head verified by the gate). */
static int head_settings(git_oid *out, vault *v, MDB_txn *txn)
{
	MDB_val val;
	git_oid head, tree;
	unsigned int mode;
	int error;

	if ((error = vault_meta__get(&val, txn, v, "head")) < 0 || val.mv_size != 20)
		return error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "the head record is damaged");
	git_oid_fromraw(&head, val.mv_data);
	if ((error = vault_trees__commit_tree(&tree, v, &head)) < 0)
		return error;
	return vault_trees__entry(out, &mode, v, &tree, "policy/settings");
}

/* The key-check values of the tree file: index first, then generations 1.. */
static int tree_kcvs(unsigned char out[(VAULT_HGEN_MAX + 1) * KCV_SIZE], uint32_t *gens,
	vault *v, const git_oid *file)
{
	vault_buf b = VAULT_BUF_INIT;
	git_odb_object *obj = NULL;
	int error = 0, index = 0;

	*gens = 0;
	if (git_odb_read(&obj, v->odb, file) < 0 || git_odb_object_type(obj) != GIT_OBJECT_BLOB) {
		error = vault_error_set(VAULT_ECORRUPT, "history object 'policy/settings' cannot be read");
		goto done;
	}
	vault_buf_put(&b, git_odb_object_data(obj), git_odb_object_size(obj));
	vault_buf_put(&b, "", 0);
	if (b.oom) {
		error = vault_error_set_oom();
		goto done;
	}
	for (char *s = b.ptr, *e; s && *s; s = e ? e + 1 : NULL) {
		unsigned g = 0;
		char hex[2 * KCV_SIZE + 1];
		unsigned char *to = NULL;

		e = strchr(s, '\n');
		if (sscanf(s, "history-index %32[0-9a-f]", hex) == 1) {
			to = out;
			index = 1;
		} else if (sscanf(s, "history-kcv %u %32[0-9a-f]", &g, hex) == 2) {
			if (g != *gens + 1 || g > VAULT_HGEN_MAX)
				break;
			to = out + (size_t)g * KCV_SIZE;
			*gens = g;
		}
		if (to && sodium_hex2bin(to, KCV_SIZE, hex, strlen(hex), NULL, NULL, NULL) < 0)
			break;
	}
	if (!index || *gens == 0)
		error = vault_error_set(VAULT_ECORRUPT,
			"the signed history holds no key-check value of the history keys");
done:
	git_odb_object_free(obj);
	vault_buf_dispose(&b);
	return error;
}

int vault_hkeys__check(vault *v, MDB_txn *txn)
{
	vault_hkeys *hk = &v->hk;
	unsigned char want[(VAULT_HGEN_MAX + 1) * KCV_SIZE], kcv[KCV_SIZE];
	git_oid file;
	uint32_t gens;
	int error;

	if ((error = head_settings(&file, v, txn)) < 0)
		return error;
	/* The same file as last checked, and no key held since: nothing new. */
	if (hk->checked && hk->checked == hk->held && git_oid_equal(&file, &hk->checked_file))
		return 0;
	if ((error = tree_kcvs(want, &gens, v, &file)) < 0)
		return error;
	/* A generation held beyond the signed ones (a rotation undone) is dropped. */
	if (hk->held > gens)
		__atomic_store_n(&hk->held, gens, __ATOMIC_RELEASE);
	if (gens > hk->held && (error = load_newer(v, txn, gens)) < 0)
		return error;
	kcv_of(kcv, v, 0, hk->index);
	if (sodium_memcmp(kcv, want, KCV_SIZE) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"the history's index key sealed to '%s' fails the signed history's key-check value",
			v->user);
	for (uint32_t g = 1; g <= gens; g++) {
		kcv_of(kcv, v, g, vault_hkeys__gen(hk, g));
		if (sodium_memcmp(kcv, want + (size_t)g * KCV_SIZE, KCV_SIZE) != 0)
			return vault_error_set(VAULT_ECORRUPT,
				"generation %u of the history key held by '%s' fails the signed history's key-check value",
				g, v->user);
	}
	hk->checked = gens;
	git_oid_cpy(&hk->checked_file, &file);
	return 0;
}

/* ---- a pending user's keys ---------------------------------------------- */

/*
 * The code is 26 random characters of base 32 (130 bits): a keyed hash
 * derives the key; no passphrase hash is needed against guessing.
 */
static void code_derive(unsigned char out[32], const char *domain, const vault *v, const char *name,
	const char *code, size_t codelen)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, (const unsigned char *)code, codelen, 32);
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	crypto_generichash_update(&st, (const unsigned char *)v->id, strlen(v->id) + 1);
	crypto_generichash_update(&st, (const unsigned char *)name, strlen(name) + 1);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof st);
}

static void enrol_key(unsigned char out[32], const vault *v, const char *name, const char *code,
	size_t codelen)
{
	code_derive(out, "cv-enrol-keys", v, name, code, codelen);
}

int vault_hkeys__enrol_keypair(unsigned char pk[32], unsigned char **sk_out, const vault *v,
	const char *name, const char *code, size_t codelen)
{
	unsigned char *seed = NULL, *sk = NULL;
	int error;

	*sk_out = NULL;
	if ((error = vault_vcrypto__secret_alloc(&seed, 32)) < 0 ||
	    (error = vault_vcrypto__secret_alloc(&sk, VCRYPTO_SIGN_SKBYTES)) < 0) {
		vault_vcrypto__key_free(seed);
		return error;
	}
	code_derive(seed, "cv-enrol-box", v, name, code, codelen);
	crypto_sign_seed_keypair(pk, sk, seed);
	vault_vcrypto__key_free(seed);
	*sk_out = sk;
	return 0;
}

/* What the proof signs: domain, vault, user, the key installed. */
static size_t proof_msg(unsigned char *m, size_t n, const vault *v, const char *name,
	const unsigned char newpk[32])
{
	int len = snprintf((char *)m, n, "cv-enrol-proof%c%s%c%s%c", 0, v->id, 0, name, 0);

	if (len < 0 || (size_t)len + 32 > n)
		return 0;
	memcpy(m + len, newpk, 32);
	return (size_t)len + 32;
}

int vault_hkeys__enrol_prove(char hex[VAULT_ENROL_PROOF_HEX], const vault *v, const char *name,
	const char *code, size_t codelen, const unsigned char newpk[32])
{
	unsigned char pk[32], *sk = NULL, m[VAULT_NAME_MAX + 160], sig[crypto_sign_BYTES];
	size_t mlen = proof_msg(m, sizeof m, v, name, newpk);
	int error;

	if (mlen == 0)
		return vault_error_set(VAULT_ERROR, "the enrolment proof of '%s' does not fit", name);
	if ((error = vault_hkeys__enrol_keypair(pk, &sk, v, name, code, codelen)) < 0)
		return error;
	crypto_sign_detached(sig, NULL, m, mlen, sk);
	vault_vcrypto__key_free(sk);
	sodium_bin2hex(hex, VAULT_ENROL_PROOF_HEX, sig, sizeof sig);
	return 0;
}

int vault_hkeys__enrol_proven(const vault *v, const char *name, const unsigned char enrol[32],
	const unsigned char newpk[32], const char *hex)
{
	unsigned char m[VAULT_NAME_MAX + 160], sig[crypto_sign_BYTES];
	size_t mlen = proof_msg(m, sizeof m, v, name, newpk), siglen = 0;
	const char *end = NULL;

	if (mlen == 0 || strlen(hex) != 2 * sizeof sig ||
	    sodium_hex2bin(sig, sizeof sig, hex, strlen(hex), NULL, &siglen, &end) != 0 ||
	    siglen != sizeof sig || *end)
		return -1;
	return crypto_sign_verify_detached(sig, m, mlen, enrol) == 0 ? 0 : -1;
}

static void enrol_ad(char ad[128], const vault *v, const char *name, uint32_t gen)
{
	snprintf(ad, 128, "cv-enrol-keys:%s:%s:%u", v->id, name, gen);
}

#define ENROL_PLAIN (2 * VCRYPTO_KEYBYTES)
#define ENROL_SIZE (1 + 4 + ENROL_PLAIN + VCRYPTO_OVERHEAD)

int vault_hkeys__enrol_seal(MDB_txn *txn, vault *v, const char *name, const char *code, size_t codelen)
{
	vault_hkeys *hk = &v->hk;
	unsigned char *k = NULL, out[ENROL_SIZE];
	char skey[VAULT_NAME_MAX + 16], ad[128];
	int error;

	if (!hk->index || hk->checked == 0)
		return vault_error_set(VAULT_ECORRUPT,
			"no history key checked against the signed history is held: none is left for '%s'", name);
	if ((error = vault_vcrypto__secret_alloc(&k, ENROL_PLAIN + 32)) < 0)
		return error;
	enrol_key(k + ENROL_PLAIN, v, name, code, codelen);
	memcpy(k, hk->index, VCRYPTO_KEYBYTES);
	memcpy(k + VCRYPTO_KEYBYTES, vault_hkeys__gen(hk, hk->checked), VCRYPTO_KEYBYTES);
	out[0] = REC_FORMAT;
	be32_put(out + 1, hk->checked);
	enrol_ad(ad, v, name, hk->checked);
	vault_vcrypto__seal(out + 5, k, ENROL_PLAIN, (unsigned char *)ad, strlen(ad), k + ENROL_PLAIN);
	vault_vcrypto__key_free(k);
	snprintf(skey, sizeof skey, "@enrol/%s", name);
	return vault_rec__put(txn, v, v->st->sealed, skey, out, sizeof out);
}

/* The newest generation above *gen sealed to the key pair of `code`, if
 * any: into the session's keys, and *gen. */
static int enrol_newer(uint32_t *gen, vault *v, MDB_txn *txn, const char *name, const char *code,
	size_t codelen)
{
	unsigned char pk[32], *sk = NULL;
	MDB_val rec;
	uint32_t gens, g;
	int error;

	if ((error = vault_meta__history_kcv(&rec, &gens, txn, v)) < 0 || gens <= *gen)
		return error;
	if ((error = vault_hkeys__enrol_keypair(pk, &sk, v, name, code, codelen)) < 0)
		return error;
	error = VAULT_ENOTFOUND;
	for (g = gens; g > *gen && error == VAULT_ENOTFOUND; g--)
		error = unseal_for(vault_hkeys__gen(&v->hk, g), txn, v, g, name, pk, sk);
	vault_vcrypto__key_free(sk);
	if (error == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_EACCES,
			"the history key was rotated (generation %u) after user '%s' was added, and no copy "
			"sealed to their enrolment key is in the vault: the enrolment code opens no key of it",
			gens, name);
	if (error == 0)
		*gen = g + 1;
	return error;
}

int vault_hkeys__enrol_open(vault *v, const char *name, const char *code, size_t codelen)
{
	vault_hkeys *hk = &v->hk;
	unsigned char *k = NULL;
	char skey[VAULT_NAME_MAX + 16], ad[128];
	MDB_txn *txn = NULL;
	MDB_val val;
	uint32_t gen = 0;
	int error;

	if ((error = hk_alloc(hk)) < 0 || (error = vault_vcrypto__secret_alloc(&k, ENROL_PLAIN + 32)) < 0)
		return error;
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		goto done;
	snprintf(skey, sizeof skey, "@enrol/%s", name);
	error = vault_rec__get(txn, v, v->st->sealed, skey, &val);
	if (error == 0 && (val.mv_size != ENROL_SIZE || ((unsigned char *)val.mv_data)[0] != REC_FORMAT ||
	    (gen = be32_get((unsigned char *)val.mv_data + 1)) == 0 || gen > VAULT_HGEN_MAX))
		error = VAULT_ECORRUPT;
	if (error == 0) {
		enrol_key(k + ENROL_PLAIN, v, name, code, codelen);
		enrol_ad(ad, v, name, gen);
		if (vault_vcrypto__open(k, (unsigned char *)val.mv_data + 5, val.mv_size - 5,
				(unsigned char *)ad, strlen(ad), k + ENROL_PLAIN) < 0)
			error = VAULT_ECORRUPT;
	}
	if (error < 0) {
		error = vault_error_set(VAULT_ECORRUPT,
			"the history keys left for '%s' at 'user add' are missing or damaged", name);
		goto done;
	}
	memcpy(hk->index, k, VCRYPTO_KEYBYTES);
	memcpy(vault_hkeys__gen(hk, gen), k + VCRYPTO_KEYBYTES, VCRYPTO_KEYBYTES);
	/* A rotation since `user add` sealed its generation to the code's key
	 * pair (the pending record's `enrol`): the newest one opens. */
	if ((error = enrol_newer(&gen, v, txn, name, code, codelen)) < 0)
		goto done;
	hk->held = 0;
	if ((error = chain_down(v, txn, gen, 0)) == 0)
		hk->held = gen;
done:
	vault_store__abort(v->st, txn);
	vault_vcrypto__key_free(k);
	return error;
}

int vault_hkeys__enrol_drop(MDB_txn *txn, vault *v, const char *name, uint32_t below)
{
	char skey[VAULT_NAME_MAX + 32];
	int error;

	snprintf(skey, sizeof skey, "@enrol/%s", name);
	error = vault_rec__del(txn, v, v->st->sealed, skey);
	for (uint32_t g = 1; g < below && (error == 0 || error == VAULT_ENOTFOUND); g++) {
		vault_hkeys__sealed_name(skey, sizeof skey, g, name);
		error = vault_rec__del(txn, v, v->st->sealed, skey);
	}
	return error == VAULT_ENOTFOUND ? 0 : error;
}

/* ---- failed unlocks ------------------------------------------------------ */

int vault_hkeys__note_failure(vault *v, const char *name)
{
	unsigned char plain[8 + VAULT_NAME_MAX], out[1 + sizeof plain + VCRYPTO_SEALBYTES], rnd[12];
	char skey[64], hex[2 * sizeof rnd + 1];
	size_t len = strlen(name);
	MDB_txn *txn = NULL;
	MDB_val pk;
	int64_t now = vault_time__now();
	int error;

	if (len > VAULT_NAME_MAX)
		return 0;
	if ((error = vault_store__begin(&txn, v->st, 1)) < 0)
		return error;
	error = vault_meta__get(&pk, txn, v, "history-pk");
	if (error == 0 && pk.mv_size != 32)
		error = vault_error_set(VAULT_ECORRUPT, "the vault's drop box record is damaged");
	if (error < 0)
		goto done;
	be64_put(plain, (uint64_t)now);
	memcpy(plain + 8, name, len);
	out[0] = REC_FORMAT;
	crypto_box_seal(out + 1, plain, 8 + len, pk.mv_data);
	/* Named at random: the time is sealed, not in the key. */
	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
	snprintf(skey, sizeof skey, VAULT_HKEYS_FAILED "%s", hex);
	if ((error = vault_rec__put(txn, v, v->st->sealed, skey, out,
			1 + 8 + len + VCRYPTO_SEALBYTES)) == 0)
		error = vault_store__commit(v->st, txn), txn = NULL;
done:
	vault_store__abort(v->st, txn);
	return error;
}
