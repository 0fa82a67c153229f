/*
 * blake2b — BLAKE2b (RFC 7693), unkeyed, for a backup's snapshot: the
 * manifest's `blake2b` is BLAKE2b-256 of the whole file, which `backup
 * verify` and `b2sum -l 256` check. It hashes every byte of a vault of
 * many gigabytes on one core (BLAKE2b is sequential: the work cannot be
 * split and still give the same hash); libsodium's crypto_generichash
 * gives the same hash at half this code's speed on the machines measured
 * (docs/benchmarks.md). libsodium stays for every keyed or short hash.
 */
#include <string.h>

#include "blake2b.h"

static const uint64_t iv[8] = {
	0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
	0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

/* The message words' order in each round (rounds 10 and 11 take 0's and 1's). */
static const unsigned char sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static uint64_t load_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
#else
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
		(uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
#endif
}

static uint64_t ror64(uint64_t x, int n)
{
	return (x >> n) | (x << (64 - n));
}

#define B2_G(r, i, a, b, c, d) do { \
	a += b + m[sigma[(r) % 10][2 * (i)]]; \
	d = ror64(d ^ a, 32); \
	c += d; \
	b = ror64(b ^ c, 24); \
	a += b + m[sigma[(r) % 10][2 * (i) + 1]]; \
	d = ror64(d ^ a, 16); \
	c += d; \
	b = ror64(b ^ c, 63); \
} while (0)
#define B2_ROUND(r) do { \
	B2_G(r, 0, v[0], v[4], v[8], v[12]); \
	B2_G(r, 1, v[1], v[5], v[9], v[13]); \
	B2_G(r, 2, v[2], v[6], v[10], v[14]); \
	B2_G(r, 3, v[3], v[7], v[11], v[15]); \
	B2_G(r, 4, v[0], v[5], v[10], v[15]); \
	B2_G(r, 5, v[1], v[6], v[11], v[12]); \
	B2_G(r, 6, v[2], v[7], v[8], v[13]); \
	B2_G(r, 7, v[3], v[4], v[9], v[14]); \
} while (0)

/* One block; the rounds unrolled so that each word's index is a constant. */
static void compress(vault_blake2b_ctx *c, const unsigned char *block, int last)
{
	uint64_t m[16], v[16];

	for (int i = 0; i < 16; i++)
		m[i] = load_le64(block + 8 * i);
	for (int i = 0; i < 8; i++) {
		v[i] = c->h[i];
		v[i + 8] = iv[i];
	}
	v[12] ^= c->t[0];
	v[13] ^= c->t[1];
	if (last)
		v[14] = ~v[14];
	B2_ROUND(0); B2_ROUND(1); B2_ROUND(2); B2_ROUND(3);
	B2_ROUND(4); B2_ROUND(5); B2_ROUND(6); B2_ROUND(7);
	B2_ROUND(8); B2_ROUND(9); B2_ROUND(10); B2_ROUND(11);
	for (int i = 0; i < 8; i++)
		c->h[i] ^= v[i] ^ v[i + 8];
}

static void count(vault_blake2b_ctx *c, size_t n)
{
	c->t[0] += n;
	c->t[1] += c->t[0] < n;
}

void vault_blake2b__init(vault_blake2b_ctx *c, size_t outlen)
{
	memset(c, 0, sizeof *c);
	memcpy(c->h, iv, sizeof c->h);
	c->h[0] ^= 0x01010000ULL ^ outlen;    /* depth 1, fanout 1, no key */
	c->outlen = outlen;
}

/* A full buffer is hashed only when more follows: the last block is
 * hashed by final, marked as the last. */
void vault_blake2b__update(vault_blake2b_ctx *c, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t take;

	if (n == 0)
		return;
	if (c->fill + n <= sizeof c->buf) {
		memcpy(c->buf + c->fill, p, n);
		c->fill += n;
		return;
	}
	take = sizeof c->buf - c->fill;
	memcpy(c->buf + c->fill, p, take);
	p += take;
	n -= take;
	count(c, sizeof c->buf);
	compress(c, c->buf, 0);
	for (; n > sizeof c->buf; p += sizeof c->buf, n -= sizeof c->buf) {
		count(c, sizeof c->buf);
		compress(c, p, 0);
	}
	memcpy(c->buf, p, n);
	c->fill = n;
}

void vault_blake2b__final(unsigned char *out, vault_blake2b_ctx *c)
{
	unsigned char h[64];

	count(c, c->fill);
	memset(c->buf + c->fill, 0, sizeof c->buf - c->fill);
	compress(c, c->buf, 1);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 8; j++)
			h[8 * i + j] = (unsigned char)(c->h[i] >> (8 * j));
	memcpy(out, h, c->outlen);
	memset(c, 0, sizeof *c);
}
