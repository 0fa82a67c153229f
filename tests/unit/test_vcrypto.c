/*
 * Tests for vault/src/vcrypto.c: AEAD seal/open, passphrase KDF and its
 * test profile, sealed boxes to Ed25519 keys, lookup hashes and subkeys.
 */
#define _GNU_SOURCE   /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"
#include "vcrypto.h"
#include "harness.h"

static void test_seal_open(void)
{
	static const char msg[] = "intake notes: never in plaintext on disk";
	const size_t mlen = sizeof msg - 1, clen = mlen + VCRYPTO_OVERHEAD;
	static const unsigned char ad[] = "node-1|block-0|gen-1", ad2[] = "node-1|block-1|gen-1";
	unsigned char *key = NULL, *key2 = NULL, c[256], c2[256], m[256];

	CHECK_RC(vault_vcrypto__key_new(&key), 0);
	CHECK_RC(vault_vcrypto__key_new(&key2), 0);
	if (!key || !key2)
		goto out;
	CHECK(sodium_memcmp(key, key2, VCRYPTO_KEYBYTES) != 0);

	vault_vcrypto__seal(c, (const unsigned char *)msg, mlen, ad, sizeof ad, key);
	/* Not the plaintext, and a fresh nonce each time. */
	CHECK(memmem(c, clen, msg, 8) == NULL);
	vault_vcrypto__seal(c2, (const unsigned char *)msg, mlen, ad, sizeof ad, key);
	CHECK(memcmp(c, c2, VCRYPTO_NONCEBYTES) != 0);
	CHECK(memcmp(c, c2, clen) != 0);

	memset(m, 0, sizeof m);
	CHECK_RC(vault_vcrypto__open(m, c, clen, ad, sizeof ad, key), 0);
	CHECK(!memcmp(m, msg, mlen));
	memset(m, 0, sizeof m);
	CHECK_RC(vault_vcrypto__open(m, c2, clen, ad, sizeof ad, key), 0);
	CHECK(!memcmp(m, msg, mlen));

	/* Wrong key, wrong AD, no AD: refused, and no plaintext comes out. */
	memset(m, 0xAA, sizeof m);
	CHECK_RC(vault_vcrypto__open(m, c, clen, ad, sizeof ad, key2), VAULT_ECORRUPT);
	CHECK(memcmp(m, msg, mlen) != 0);
	CHECK_RC(vault_vcrypto__open(m, c, clen, ad2, sizeof ad2, key), VAULT_ECORRUPT);
	CHECK_RC(vault_vcrypto__open(m, c, clen, NULL, 0, key), VAULT_ECORRUPT);
	CHECK_RC(vault_vcrypto__open(m, c, clen, ad, sizeof ad - 1, key), VAULT_ECORRUPT);
	CHECK(memcmp(m, msg, mlen) != 0);

	/* Any flipped byte: nonce, ciphertext or tag. */
	{
		size_t bad = 0;
		for (size_t i = 0; i < clen; i++) {
			memcpy(c2, c, clen);
			c2[i] ^= 0x01;
			memset(m, 0xAA, sizeof m);
			if (vault_vcrypto__open(m, c2, clen, ad, sizeof ad, key) != VAULT_ECORRUPT ||
			    !memcmp(m, msg, mlen))
				bad++;
		}
		CHECK(bad == 0);
	}

	/* Truncated: by one byte, to the bare overhead, below it, empty. */
	CHECK_RC(vault_vcrypto__open(m, c, clen - 1, ad, sizeof ad, key), VAULT_ECORRUPT);
	CHECK_RC(vault_vcrypto__open(m, c, VCRYPTO_OVERHEAD, ad, sizeof ad, key), VAULT_ECORRUPT);
	CHECK_RC(vault_vcrypto__open(m, c, VCRYPTO_OVERHEAD - 1, ad, sizeof ad, key), VAULT_ECORRUPT);
	CHECK_RC(vault_vcrypto__open(m, c, 0, ad, sizeof ad, key), VAULT_ECORRUPT);
	/* Extended by one byte. */
	memcpy(c2, c, clen);
	c2[clen] = 0;
	CHECK_RC(vault_vcrypto__open(m, c2, clen + 1, ad, sizeof ad, key), VAULT_ECORRUPT);

	/* An empty message seals to exactly the overhead and opens. */
	vault_vcrypto__seal(c2, (const unsigned char *)"", 0, ad, sizeof ad, key);
	CHECK_RC(vault_vcrypto__open(m, c2, VCRYPTO_OVERHEAD, ad, sizeof ad, key), 0);
	CHECK_RC(vault_vcrypto__open(m, c2, VCRYPTO_OVERHEAD, ad, sizeof ad, key2), VAULT_ECORRUPT);

	/* key_dup: an equal copy in other memory. */
	{
		unsigned char *d = NULL;
		CHECK_RC(vault_vcrypto__key_dup(&d, key), 0);
		CHECK(d && d != key && !sodium_memcmp(d, key, VCRYPTO_KEYBYTES));
		memset(m, 0, sizeof m);
		CHECK_RC(vault_vcrypto__open(m, c, clen, ad, sizeof ad, d), 0);
		CHECK(!memcmp(m, msg, mlen));
		vault_vcrypto__key_free(d);
	}
out:
	vault_vcrypto__key_free(key);
	vault_vcrypto__key_free(key2);
}

static void test_kdf(void)
{
	const char *saved = getenv("CASEVAULT_KDF");
	char *saved_copy = saved ? strdup(saved) : NULL;
	vcrypto_kdf p, q;
	unsigned char *k1 = NULL, *k2 = NULL, *k3 = NULL, *k4 = NULL;

	/* The test profile (a test build's only): libsodium's minimum, and
	 * below no floor of this build. */
	CHECK(setenv("CASEVAULT_KDF", "test", 1) == 0);
	CHECK_RC(vault_vcrypto__kdf_new(&p, 0, 0), 0);
	CHECK(p.opslimit == crypto_pwhash_OPSLIMIT_MIN && p.memlimit == crypto_pwhash_MEMLIMIT_MIN);
	CHECK(!vault_vcrypto__kdf_below_floor(&p));
	CHECK(vault_kdf_is_test_profile() == 1);
	CHECK_RC(vault_kdf_check_profile(), 0);
	/* The vault's minimum raises it. */
	CHECK_RC(vault_vcrypto__kdf_new(&q, 2, 16ULL << 20), 0);
	CHECK(q.opslimit == 2 && q.memlimit == (16ULL << 20));
	/* Any other value is refused, not taken for the default. */
	CHECK(setenv("CASEVAULT_KDF", "fast", 1) == 0);
	CHECK_RC(vault_vcrypto__kdf_new(&q, 0, 0), VAULT_EUSAGE);
	CHECK_RC(vault_kdf_check_profile(), VAULT_EUSAGE);
	CHECK(vault_kdf_is_test_profile() == 0);
	/* Unset: the default profile, 6 passes over 256 MiB, which a minimum
	 * below it does not lower. */
	CHECK(unsetenv("CASEVAULT_KDF") == 0);
	CHECK_RC(vault_vcrypto__kdf_new(&q, 1, 8ULL << 20), 0);
	CHECK(q.opslimit == 6 && q.memlimit == (256ULL << 20));
	CHECK(vault_kdf_is_test_profile() == 0);
	/* Fresh salts. */
	CHECK(memcmp(p.salt, q.salt, VCRYPTO_SALTBYTES) != 0);
	CHECK(setenv("CASEVAULT_KDF", "test", 1) == 0);

	/* Deterministic for the same passphrase and parameters. */
	CHECK_RC(vault_vcrypto__kdf_derive(&k1, "correct horse", 13, &p), 0);
	CHECK_RC(vault_vcrypto__kdf_derive(&k2, "correct horse", 13, &p), 0);
	CHECK(k1 && k2 && !sodium_memcmp(k1, k2, VCRYPTO_KEYBYTES));
	/* Another passphrase (also one byte longer), another salt. */
	CHECK_RC(vault_vcrypto__kdf_derive(&k3, "correct horsf", 13, &p), 0);
	CHECK(k1 && k3 && sodium_memcmp(k1, k3, VCRYPTO_KEYBYTES) != 0);
	vault_vcrypto__key_free(k3);
	k3 = NULL;
	CHECK_RC(vault_vcrypto__kdf_derive(&k3, "correct horse!", 14, &p), 0);
	CHECK(k1 && k3 && sodium_memcmp(k1, k3, VCRYPTO_KEYBYTES) != 0);
	q = p;
	q.salt[0] ^= 1;
	CHECK_RC(vault_vcrypto__kdf_derive(&k4, "correct horse", 13, &q), 0);
	CHECK(k1 && k4 && sodium_memcmp(k1, k4, VCRYPTO_KEYBYTES) != 0);
	vault_vcrypto__key_free(k4);
	k4 = NULL;
	/* Another cost is another key. */
	q = p;
	q.opslimit++;
	CHECK_RC(vault_vcrypto__kdf_derive(&k4, "correct horse", 13, &q), 0);
	CHECK(k1 && k4 && sodium_memcmp(k1, k4, VCRYPTO_KEYBYTES) != 0);
	vault_vcrypto__key_free(k4);
	k4 = NULL;

	/* Parameters out of range (a damaged record) are refused. */
	q = p;
	q.opslimit = 0;
	CHECK_RC(vault_vcrypto__kdf_derive(&k4, "x", 1, &q), VAULT_ECORRUPT);
	CHECK(k4 == NULL);
	q = p;
	q.memlimit = 1ULL << 40;
	CHECK_RC(vault_vcrypto__kdf_derive(&k4, "x", 1, &q), VAULT_ECORRUPT);
	CHECK(k4 == NULL);

	vault_vcrypto__key_free(k1);
	vault_vcrypto__key_free(k2);
	vault_vcrypto__key_free(k3);
	if (saved_copy)
		setenv("CASEVAULT_KDF", saved_copy, 1);
	else
		unsetenv("CASEVAULT_KDF");
	free(saved_copy);
}

static void test_seal_to(void)
{
	unsigned char pk[32], pk2[32], *sk = NULL, *sk2 = NULL;
	unsigned char secret[32], c[32 + VCRYPTO_SEALBYTES], c2[sizeof c], m[32];
	unsigned char zero_pk[32] = { 0 };

	randombytes_buf(secret, sizeof secret);
	CHECK_RC(vault_vcrypto__sign_keypair(pk, &sk), 0);
	CHECK_RC(vault_vcrypto__sign_keypair(pk2, &sk2), 0);
	if (!sk || !sk2)
		goto out;
	CHECK(memcmp(pk, pk2, 32) != 0);
	/* The Ed25519 secret key ends with its public key. */
	CHECK(!memcmp(sk + 32, pk, 32));

	CHECK_RC(vault_vcrypto__seal_to(c, secret, sizeof secret, pk), 0);
	CHECK(memmem(c, sizeof c, secret, 8) == NULL);
	memset(m, 0, sizeof m);
	CHECK_RC(vault_vcrypto__unseal(m, c, sizeof c, pk, sk), 0);
	CHECK(!memcmp(m, secret, sizeof secret));

	/* Another recipient's key, or our key with their public half. */
	memset(m, 0, sizeof m);
	CHECK_RC(vault_vcrypto__unseal(m, c, sizeof c, pk2, sk2), VAULT_ECORRUPT);
	CHECK(memcmp(m, secret, sizeof secret) != 0);
	CHECK_RC(vault_vcrypto__unseal(m, c, sizeof c, pk2, sk), VAULT_ECORRUPT);
	/* Flipped and truncated. */
	memcpy(c2, c, sizeof c);
	c2[VCRYPTO_SEALBYTES / 2] ^= 0x80;
	CHECK_RC(vault_vcrypto__unseal(m, c2, sizeof c2, pk, sk), VAULT_ECORRUPT);
	memcpy(c2, c, sizeof c);
	c2[sizeof c2 - 1] ^= 0x01;
	CHECK_RC(vault_vcrypto__unseal(m, c2, sizeof c2, pk, sk), VAULT_ECORRUPT);
	CHECK_RC(vault_vcrypto__unseal(m, c, sizeof c - 1, pk, sk), VAULT_ECORRUPT);
	CHECK_RC(vault_vcrypto__unseal(m, c, VCRYPTO_SEALBYTES - 1, pk, sk), VAULT_ECORRUPT);

	/* A public key that is not a usable Ed25519 point. */
	CHECK_RC(vault_vcrypto__seal_to(c2, secret, sizeof secret, zero_pk), VAULT_ECORRUPT);
out:
	vault_vcrypto__key_free(sk);
	vault_vcrypto__key_free(sk2);
}

static void test_lookup_and_subkeys(void)
{
	unsigned char *k1 = NULL, *k2 = NULL, *s1 = NULL, *s2 = NULL, *s3 = NULL;
	unsigned char h[16], h2[16];

	CHECK_RC(vault_vcrypto__key_new(&k1), 0);
	CHECK_RC(vault_vcrypto__key_new(&k2), 0);
	if (!k1 || !k2)
		goto out;

	vault_vcrypto__lookup_hash(h, k1, 7, "report.pdf", 10);
	vault_vcrypto__lookup_hash(h2, k1, 7, "report.pdf", 10);
	CHECK(!memcmp(h, h2, 16));
	vault_vcrypto__lookup_hash(h2, k1, 8, "report.pdf", 10);          /* parent */
	CHECK(memcmp(h, h2, 16) != 0);
	vault_vcrypto__lookup_hash(h2, k1, 7ULL << 56, "report.pdf", 10); /* high parent bits */
	CHECK(memcmp(h, h2, 16) != 0);
	vault_vcrypto__lookup_hash(h2, k1, 7, "report.pdg", 10);          /* name */
	CHECK(memcmp(h, h2, 16) != 0);
	vault_vcrypto__lookup_hash(h2, k1, 7, "Report.pdf", 10);          /* case matters */
	CHECK(memcmp(h, h2, 16) != 0);
	vault_vcrypto__lookup_hash(h2, k2, 7, "report.pdf", 10);          /* key */
	CHECK(memcmp(h, h2, 16) != 0);
	/* Only `len` bytes of the name count. */
	vault_vcrypto__lookup_hash(h2, k1, 7, "report.pdf.bak", 10);
	CHECK(!memcmp(h, h2, 16));
	vault_vcrypto__lookup_hash(h2, k1, 7, "report.pdf", 9);
	CHECK(memcmp(h, h2, 16) != 0);

	/* Subkeys: deterministic; differ by id, context and key. */
	CHECK_RC(vault_vcrypto__subkey(&s1, k1, 1, "cv-look_"), 0);
	CHECK_RC(vault_vcrypto__subkey(&s2, k1, 1, "cv-look_"), 0);
	CHECK(s1 && s2 && s1 != s2 && !sodium_memcmp(s1, s2, VCRYPTO_KEYBYTES));
	CHECK(s1 && sodium_memcmp(s1, k1, VCRYPTO_KEYBYTES) != 0);
	vault_vcrypto__key_free(s2);
	s2 = NULL;
	CHECK_RC(vault_vcrypto__subkey(&s2, k1, 2, "cv-look_"), 0);
	CHECK(s1 && s2 && sodium_memcmp(s1, s2, VCRYPTO_KEYBYTES) != 0);
	CHECK_RC(vault_vcrypto__subkey(&s3, k1, 1, "cv-othr_"), 0);
	CHECK(s1 && s3 && sodium_memcmp(s1, s3, VCRYPTO_KEYBYTES) != 0);
	vault_vcrypto__key_free(s3);
	s3 = NULL;
	CHECK_RC(vault_vcrypto__subkey(&s3, k2, 1, "cv-look_"), 0);
	CHECK(s1 && s3 && sodium_memcmp(s1, s3, VCRYPTO_KEYBYTES) != 0);
out:
	vault_vcrypto__key_free(k1);
	vault_vcrypto__key_free(k2);
	vault_vcrypto__key_free(s1);
	vault_vcrypto__key_free(s2);
	vault_vcrypto__key_free(s3);
}

static void test_secret_memory(void)
{
	unsigned char *p = NULL;

	/* NULL-safe. */
	vault_vcrypto__key_free(NULL);
	/* Secret allocations of any size are usable and freed with key_free. */
	CHECK_RC(vault_vcrypto__secret_alloc(&p, 1000), 0);
	CHECK(p != NULL);
	if (p) {
		memset(p, 0x5A, 1000);
		CHECK(p[999] == 0x5A);
	}
	vault_vcrypto__key_free(p);
	/* Small secrets share one locked region: each is distinct, and a
	 * freed one is wiped at once, its place used again. More at once
	 * than the region holds still succeed. */
	{
		enum { N = 300 };
		unsigned char *k[N];
		int distinct = 1;

		for (int i = 0; i < N; i++) {
			CHECK_RC(vault_vcrypto__secret_alloc(&k[i], 32), 0);
			if (k[i])
				memset(k[i], i & 0xff, 32);
		}
		for (int i = 1; i < N; i++)
			if (k[i] == k[i - 1] || (k[i] && k[i][0] != (i & 0xff)))
				distinct = 0;
		CHECK(distinct);
		p = k[7];
		vault_vcrypto__key_free(k[7]);
		CHECK(p[0] == 0 && p[31] == 0);       /* the region stays mapped */
		CHECK_RC(vault_vcrypto__secret_alloc(&k[7], 32), 0);
		CHECK(k[7] == p);
		for (int i = 0; i < N; i++)
			vault_vcrypto__key_free(k[i]);
	}
	/* Box secret key from an Ed25519 one: deterministic. */
	{
		unsigned char pk[32], *sk = NULL, *x1 = NULL, *x2 = NULL, xpk[32], xpk2[32];
		CHECK_RC(vault_vcrypto__sign_keypair(pk, &sk), 0);
		CHECK_RC(vault_vcrypto__box_sk(&x1, sk), 0);
		CHECK_RC(vault_vcrypto__box_sk(&x2, sk), 0);
		CHECK(x1 && x2 && !sodium_memcmp(x1, x2, 32));
		CHECK_RC(vault_vcrypto__box_pk(xpk, pk), 0);
		/* The X25519 public key matches the X25519 secret key. */
		if (x1) {
			crypto_scalarmult_base(xpk2, x1);
			CHECK(!memcmp(xpk, xpk2, 32));
		}
		vault_vcrypto__key_free(sk);
		vault_vcrypto__key_free(x1);
		vault_vcrypto__key_free(x2);
	}
}

int main(void)
{
	CHECK_RC(vault_global_init(), 0);
	test_seal_open();
	test_kdf();
	test_seal_to();
	test_lookup_and_subkeys();
	test_secret_memory();
	return harness_done("test_vcrypto");
}
