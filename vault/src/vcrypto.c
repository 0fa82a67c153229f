#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vcrypto.h"
#include "store.h"
#include "util/errors.h"

/*
 * Secrets of up to SLOT bytes come from one sodium_malloc'd region. Each
 * sodium_malloc maps, locks and guards pages of its own, and each
 * sodium_free unmaps them, which interrupts every core running the process
 * (the mount's threads): several times per event otherwise. The region is
 * locked and guarded once; a slot is wiped when it is given back. Larger
 * secrets, or more than the region holds at once, get their own.
 */
#define SLOT  64
#define SLOTS 256

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *pool;             /* SLOTS * SLOT bytes, never freed */
static uint64_t pool_used[SLOTS / 64];

static unsigned char *pool_take(void)
{
	unsigned char *k = NULL;

	pthread_mutex_lock(&pool_lock);
	if (!pool)
		pool = sodium_malloc(SLOTS * SLOT);
	for (size_t i = 0; pool && i < SLOTS / 64 && !k; i++) {
		if (pool_used[i] == UINT64_MAX)
			continue;
		for (unsigned b = 0; b < 64; b++)
			if (!(pool_used[i] & (UINT64_C(1) << b))) {
				pool_used[i] |= UINT64_C(1) << b;
				k = pool + (i * 64 + b) * SLOT;
				break;
			}
	}
	pthread_mutex_unlock(&pool_lock);
	return k;
}

static int pool_give(unsigned char *k)
{
	size_t i;

	if (!pool || k < pool || k >= pool + SLOTS * SLOT)
		return 0;
	i = (size_t)(k - pool) / SLOT;
	sodium_memzero(k, SLOT);
	pthread_mutex_lock(&pool_lock);
	pool_used[i / 64] &= ~(UINT64_C(1) << (i % 64));
	pthread_mutex_unlock(&pool_lock);
	return 1;
}

int vault_vcrypto__secret_alloc(unsigned char **out, size_t len)
{
	unsigned char *k = len <= SLOT ? pool_take() : NULL;

	*out = NULL;
	if (k == NULL && (k = sodium_malloc(len)) == NULL)
		return vault_error_set_oom();
	*out = k;
	return 0;
}

int vault_vcrypto__key_new(unsigned char **out)
{
	int error = vault_vcrypto__secret_alloc(out, VCRYPTO_KEYBYTES);

	if (error == 0)
		randombytes_buf(*out, VCRYPTO_KEYBYTES);
	return error;
}

int vault_vcrypto__key_dup(unsigned char **out, const unsigned char *key)
{
	int error = vault_vcrypto__secret_alloc(out, VCRYPTO_KEYBYTES);

	if (error == 0)
		memcpy(*out, key, VCRYPTO_KEYBYTES);
	return error;
}

void vault_vcrypto__key_free(unsigned char *k)
{
	if (k && !pool_give(k))
		sodium_free(k);
}

void vault_vcrypto__seal(unsigned char *out, const unsigned char *m, size_t mlen,
	const unsigned char *ad, size_t adlen, const unsigned char *key)
{
	randombytes_buf(out, VCRYPTO_NONCEBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + VCRYPTO_NONCEBYTES, NULL,
		m, mlen, ad, adlen, NULL, out, key);
}

int vault_vcrypto__open(unsigned char *m, const unsigned char *c, size_t clen,
	const unsigned char *ad, size_t adlen, const unsigned char *key)
{
	if (clen < VCRYPTO_OVERHEAD)
		return VAULT_ECORRUPT;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL, NULL,
			c + VCRYPTO_NONCEBYTES, clen - VCRYPTO_NONCEBYTES,
			ad, adlen, c, key) != 0)
		return VAULT_ECORRUPT;
	return 0;
}

int vault_vcrypto__open_inplace(unsigned char *buf, size_t len, const unsigned char *nonce,
	const unsigned char *tag, const unsigned char *ad, size_t adlen, const unsigned char *key)
{
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len, tag,
			ad, adlen, nonce, key) != 0)
		return VAULT_ECORRUPT;
	return 0;
}

/*
 * The test profile (libsodium's minimum, for test suites) exists only in a
 * build configured with -DCASEVAULT_TEST_KDF=ON; such a build also opens
 * keys made under it. A release build refuses CASEVAULT_KDF=test, and keys
 * whose parameters are below VCRYPTO_KDF_FLOOR_*.
 */
int vault_vcrypto__kdf_profile(int *is_test)
{
	const char *profile = getenv("CASEVAULT_KDF");

	*is_test = 0;
	if (profile == NULL || *profile == '\0')
		return 0;
	if (strcmp(profile, "test") != 0)
		return vault_error_set(VAULT_EUSAGE,
			"CASEVAULT_KDF='%.32s' is not a passphrase profile of casevault (only 'test')", profile);
#ifdef CASEVAULT_TEST_KDF
	*is_test = 1;
	return 0;
#else
	return vault_error_set(VAULT_EUSAGE,
		"CASEVAULT_KDF=test: this is a release build, without the weak test profile");
#endif
}

int vault_vcrypto__kdf_new(vcrypto_kdf *p, uint64_t min_passes, uint64_t min_memory)
{
	int error, is_test;

	if ((error = vault_vcrypto__kdf_profile(&is_test)) < 0)
		return error;
	p->opslimit = is_test ? crypto_pwhash_OPSLIMIT_MIN : VCRYPTO_KDF_PASSES;
	p->memlimit = is_test ? crypto_pwhash_MEMLIMIT_MIN : VCRYPTO_KDF_MEMORY;
	if (p->opslimit < min_passes)
		p->opslimit = min_passes;
	if (p->memlimit < min_memory)
		p->memlimit = min_memory;
	randombytes_buf(p->salt, sizeof p->salt);
	return 0;
}

int vault_vcrypto__kdf_below_floor(const vcrypto_kdf *p)
{
#ifdef CASEVAULT_TEST_KDF
	(void)p;
	return 0;
#else
	return p->opslimit < VCRYPTO_KDF_FLOOR_PASSES || p->memlimit < VCRYPTO_KDF_FLOOR_MEMORY;
#endif
}

int vault_vcrypto__kdf_derive(unsigned char **key_out, const char *pass, size_t passlen,
	const vcrypto_kdf *p)
{
	unsigned char *k = NULL;
	int error;

	*key_out = NULL;
	if (p->opslimit < crypto_pwhash_OPSLIMIT_MIN || p->opslimit > crypto_pwhash_OPSLIMIT_MAX ||
	    p->memlimit < crypto_pwhash_MEMLIMIT_MIN || p->memlimit > VCRYPTO_KDF_MEMORY_MAX)
		return vault_error_set(VAULT_ECORRUPT, "passphrase parameters are out of range");
	if ((error = vault_vcrypto__secret_alloc(&k, VCRYPTO_KEYBYTES)) < 0)
		return error;
	if (crypto_pwhash(k, VCRYPTO_KEYBYTES, pass, passlen, p->salt,
			p->opslimit, (size_t)p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		vault_vcrypto__key_free(k);
		return vault_error_set(VAULT_ERROR, "passphrase key derivation ran out of memory");
	}
	*key_out = k;
	return 0;
}

int vault_vcrypto__sign_keypair(unsigned char pk[32], unsigned char **sk_out)
{
	int error = vault_vcrypto__secret_alloc(sk_out, VCRYPTO_SIGN_SKBYTES);

	if (error == 0)
		crypto_sign_keypair(pk, *sk_out);
	return error;
}

int vault_vcrypto__box_pk(unsigned char out[32], const unsigned char ed_pk[32])
{
	if (crypto_sign_ed25519_pk_to_curve25519(out, ed_pk) != 0)
		return vault_error_set(VAULT_ECORRUPT, "public key is not a valid Ed25519 key");
	return 0;
}

int vault_vcrypto__box_sk(unsigned char **out, const unsigned char *ed_sk)
{
	int error = vault_vcrypto__secret_alloc(out, 32);

	if (error == 0)
		crypto_sign_ed25519_sk_to_curve25519(*out, ed_sk);
	return error;
}

int vault_vcrypto__seal_to(unsigned char *out, const unsigned char *m, size_t len,
	const unsigned char ed_pk[32])
{
	unsigned char xpk[32];
	int error;

	if ((error = vault_vcrypto__box_pk(xpk, ed_pk)) < 0)
		return error;
	if (crypto_box_seal(out, m, len, xpk) != 0)
		return vault_error_set(VAULT_ERROR, "sealing a key failed");
	return 0;
}

int vault_vcrypto__unseal(unsigned char *m, const unsigned char *c, size_t clen,
	const unsigned char ed_pk[32], const unsigned char *ed_sk)
{
	unsigned char xpk[32], *xsk = NULL;
	int error;

	if (clen < VCRYPTO_SEALBYTES)
		return VAULT_ECORRUPT;
	if ((error = vault_vcrypto__box_pk(xpk, ed_pk)) < 0)
		return error;
	if ((error = vault_vcrypto__box_sk(&xsk, ed_sk)) < 0)
		return error;
	error = crypto_box_seal_open(m, c, clen, xpk, xsk) == 0 ? 0 : VAULT_ECORRUPT;
	vault_vcrypto__key_free(xsk);
	return error;
}

void vault_vcrypto__lookup_hash(unsigned char out[16], const unsigned char *lookup_key,
	uint64_t parent, const char *name, size_t len)
{
	crypto_generichash_state st;
	unsigned char p[8];

	be64_put(p, parent);
	crypto_generichash_init(&st, lookup_key, VCRYPTO_KEYBYTES, 16);
	crypto_generichash_update(&st, p, sizeof p);
	crypto_generichash_update(&st, (const unsigned char *)name, len);
	crypto_generichash_final(&st, out, 16);
	sodium_memzero(&st, sizeof st);
}

int vault_vcrypto__subkey(unsigned char **out, const unsigned char *key, uint64_t id, const char ctx[8])
{
	int error = vault_vcrypto__secret_alloc(out, VCRYPTO_KEYBYTES);

	if (error == 0)
		crypto_kdf_derive_from_key(*out, VCRYPTO_KEYBYTES, id, ctx, key);
	return error;
}

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void vault_vcrypto__random_code(char *out, size_t n)
{
	unsigned char r[32];

	randombytes_buf(r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = b32[r[i] & 31];
	out[n] = '\0';
}

static void hash_str(crypto_generichash_state *st, const char *s)
{
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s) + 1);
}

static void hash_u32(crypto_generichash_state *st, uint32_t n)
{
	unsigned char e[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
		(unsigned char)(n >> 8), (unsigned char)n };

	crypto_generichash_update(st, e, 4);
}

void vault_vcrypto__binding(unsigned char out[32], const char *vid, const char *code,
	uint32_t epoch, const char *user)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	hash_str(&st, "cv-sealed");
	hash_str(&st, vid);
	hash_str(&st, code);
	hash_u32(&st, epoch);
	hash_str(&st, user);
	crypto_generichash_final(&st, out, 32);
}

void vault_vcrypto__kcv(unsigned char out[16], const char *vid, const char *code, uint32_t epoch,
	const unsigned char *key)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, VCRYPTO_KEYBYTES, 16);
	hash_str(&st, "cv-kcv");
	hash_str(&st, vid);
	hash_str(&st, code);
	hash_u32(&st, epoch);
	crypto_generichash_final(&st, out, 16);
}
