/*
 * vcrypto — libsodium wrappers and the key hierarchy.
 *
 * Keys live only in sodium_malloc memory (guarded, locked, wiped on free).
 * Sealed values are nonce ‖ ciphertext ‖ tag, XChaCha20-Poly1305 (IETF).
 */
#ifndef VAULT_VCRYPTO_H
#define VAULT_VCRYPTO_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include "vault/common.h"

#define VCRYPTO_KEYBYTES   32
#define VCRYPTO_NONCEBYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  /* 24 */
#define VCRYPTO_TAGBYTES   crypto_aead_xchacha20poly1305_ietf_ABYTES     /* 16 */
#define VCRYPTO_OVERHEAD   (VCRYPTO_NONCEBYTES + VCRYPTO_TAGBYTES)
#define VCRYPTO_SEALBYTES  crypto_box_SEALBYTES                           /* 48 */
#define VCRYPTO_SALTBYTES  crypto_pwhash_SALTBYTES                        /* 16 */
#define VCRYPTO_SIGN_PKBYTES 32
#define VCRYPTO_SIGN_SKBYTES 64

/* Allocate `len` bytes of locked secret memory (uninitialised); free it
 * with vault_vcrypto__key_free, never sodium_free. */
int vault_vcrypto__secret_alloc(unsigned char **out, size_t len);
/* A fresh random 32-byte key in secret memory. */
int vault_vcrypto__key_new(unsigned char **out);
/* A copy of a 32-byte key in secret memory. */
int vault_vcrypto__key_dup(unsigned char **out, const unsigned char *key);
/* Wipe and free secret memory of vault_vcrypto__secret_alloc. NULL-safe. */
void vault_vcrypto__key_free(unsigned char *k);

/* out (mlen + VCRYPTO_OVERHEAD bytes) = nonce ‖ AEAD(m, ad, key). */
void vault_vcrypto__seal(unsigned char *out, const unsigned char *m, size_t mlen,
	const unsigned char *ad, size_t adlen, const unsigned char *key);
/* m (clen - VCRYPTO_OVERHEAD bytes) from nonce ‖ ct ‖ tag; VAULT_ECORRUPT if
 * it does not authenticate (no error message is set: the caller names the object). */
int vault_vcrypto__open(unsigned char *m, const unsigned char *c, size_t clen,
	const unsigned char *ad, size_t adlen, const unsigned char *key) VAULT_WARN_UNUSED;
/* The same in place: `buf` holds the ciphertext (len bytes) and gets the
 * plaintext; the nonce and tag are apart. */
int vault_vcrypto__open_inplace(unsigned char *buf, size_t len, const unsigned char *nonce,
	const unsigned char *tag, const unsigned char *ad, size_t adlen, const unsigned char *key);

/* Argon2id parameters stored with each wrapped user key. */
typedef struct {
	uint64_t opslimit;
	uint64_t memlimit;
	unsigned char salt[VCRYPTO_SALTBYTES];
} vcrypto_kdf;

/*
 * The default parameters of a new passphrase: Argon2id, 6 passes over
 * 256 MiB (0.6 s on the reference machine). A release build refuses
 * stored parameters below them: every key an honest release build of this
 * format made has at least these (the admin's minimum only raises them).
 */
#define VCRYPTO_KDF_PASSES        6
#define VCRYPTO_KDF_MEBIBYTES     256
#define VCRYPTO_KDF_MEMORY        ((uint64_t)VCRYPTO_KDF_MEBIBYTES << 20)
#define VCRYPTO_KDF_FLOOR_PASSES  VCRYPTO_KDF_PASSES
#define VCRYPTO_KDF_FLOOR_MEMORY  VCRYPTO_KDF_MEMORY
#define VCRYPTO_KDF_MEMORY_MAX    (4ULL << 30)

/* The profile CASEVAULT_KDF asks for: *is_test 1 for "test", which only a
 * build with CASEVAULT_TEST_KDF has; VAULT_EUSAGE for any other value, or
 * for "test" in a release build. */
int vault_vcrypto__kdf_profile(int *is_test) VAULT_WARN_UNUSED;
/* Parameters for a new passphrase with a fresh salt: the profile's, raised
 * to at least min_passes and min_memory (the vault's minimum; 0 for none). */
int vault_vcrypto__kdf_new(vcrypto_kdf *p, uint64_t min_passes, uint64_t min_memory) VAULT_WARN_UNUSED;
/* 1 if a release build refuses to derive a key with `p` (a test build
 * refuses nothing that vault_vcrypto__kdf_derive accepts). */
int vault_vcrypto__kdf_below_floor(const vcrypto_kdf *p);
int vault_vcrypto__kdf_derive(unsigned char **key_out, const char *pass, size_t passlen,
	const vcrypto_kdf *p) VAULT_WARN_UNUSED;

/* Ed25519 key pair; sk in secret memory. */
int vault_vcrypto__sign_keypair(unsigned char pk[32], unsigned char **sk_out);
/* X25519 (sealing) forms of an Ed25519 key. */
int vault_vcrypto__box_pk(unsigned char out[32], const unsigned char ed_pk[32]);
int vault_vcrypto__box_sk(unsigned char **out, const unsigned char *ed_sk);

/* out (len + VCRYPTO_SEALBYTES) = crypto_box_seal to an Ed25519 public key. */
int vault_vcrypto__seal_to(unsigned char *out, const unsigned char *m, size_t len,
	const unsigned char ed_pk[32]);
/* Open a sealed box with the recipient's Ed25519 key pair; VAULT_ECORRUPT. */
int vault_vcrypto__unseal(unsigned char *m, const unsigned char *c, size_t clen,
	const unsigned char ed_pk[32], const unsigned char *ed_sk) VAULT_WARN_UNUSED;

/* A key's binding to its place: BLAKE2b-256 of "cv-sealed", the vault id,
 * `code` (a case, or "@history", "@index"), `epoch` and the recipient. */
void vault_vcrypto__binding(unsigned char out[32], const char *vid, const char *code,
	uint32_t epoch, const char *user);
/* A key-check value: BLAKE2b-128 keyed with `key` of "cv-kcv", the vault
 * id, `code` and `epoch`. */
void vault_vcrypto__kcv(unsigned char out[16], const char *vid, const char *code, uint32_t epoch,
	const unsigned char *key);

/* Keyed 16-byte hash for directory lookups. */
void vault_vcrypto__lookup_hash(unsigned char out[16], const unsigned char *lookup_key,
	uint64_t parent, const char *name, size_t len);
/* Derive a 32-byte subkey into secret memory. */
int vault_vcrypto__subkey(unsigned char **out, const unsigned char *key, uint64_t id, const char ctx[8]);

/* `n` (at most 32) random characters of Crockford's base 32, NUL-ended
 * (case codes, vault ids). */
void vault_vcrypto__random_code(char *out, size_t n);

#endif
