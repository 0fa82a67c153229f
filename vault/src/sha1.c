/*
 * sha1 — SHA-1, which git's formats are made of: the export's check that
 * each object it writes still hashes to its id, and the pack's and the
 * index's checksums. libsodium has no SHA-1, and libgit2's streaming
 * hash is private (git_odb_hash takes one whole object, not a pack that
 * is written as it goes).
 */
#include <string.h>

#include "sha1.h"

static uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t rol32(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

/* 80 rounds over a 16-word ring, unrolled: the export hashes every byte. */
#define SHA1_W(i) (w[(i) & 15] = rol32(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ \
	w[((i) + 2) & 15] ^ w[(i) & 15], 1))
#define SHA1_R(a, b, c, d, e, f, k, x) do { \
	e += rol32(a, 5) + (f) + (k) + (x); \
	b = rol32(b, 30); \
} while (0)
#define SHA1_F1(b, c, d) (d ^ (b & (c ^ d)))
#define SHA1_F2(b, c, d) (b ^ c ^ d)
#define SHA1_F3(b, c, d) ((b & c) | (d & (b | c)))
#define SHA1_5(i, F, k, X) do { \
	SHA1_R(a, b, c, d, e, F(b, c, d), k, X(i)); \
	SHA1_R(e, a, b, c, d, F(a, b, c), k, X((i) + 1)); \
	SHA1_R(d, e, a, b, c, F(e, a, b), k, X((i) + 2)); \
	SHA1_R(c, d, e, a, b, F(d, e, a), k, X((i) + 3)); \
	SHA1_R(b, c, d, e, a, F(c, d, e), k, X((i) + 4)); \
} while (0)
#define SHA1_20(i, F, k) do { \
	SHA1_5(i, F, k, SHA1_W); SHA1_5((i) + 5, F, k, SHA1_W); \
	SHA1_5((i) + 10, F, k, SHA1_W); SHA1_5((i) + 15, F, k, SHA1_W); \
} while (0)
#define SHA1_IN(i) (w[i])

static void sha1_block(vault_sha1_ctx *ctx, const unsigned char *p)
{
	uint32_t w[16], a, b, c, d, e;

	for (int i = 0; i < 16; i++)
		w[i] = load_be32(p + 4 * i);
	a = ctx->h[0]; b = ctx->h[1]; c = ctx->h[2]; d = ctx->h[3]; e = ctx->h[4];
	SHA1_5(0, SHA1_F1, 0x5a827999, SHA1_IN);
	SHA1_5(5, SHA1_F1, 0x5a827999, SHA1_IN);
	SHA1_5(10, SHA1_F1, 0x5a827999, SHA1_IN);
	SHA1_R(a, b, c, d, e, SHA1_F1(b, c, d), 0x5a827999, w[15]);
	SHA1_R(e, a, b, c, d, SHA1_F1(a, b, c), 0x5a827999, SHA1_W(16));
	SHA1_R(d, e, a, b, c, SHA1_F1(e, a, b), 0x5a827999, SHA1_W(17));
	SHA1_R(c, d, e, a, b, SHA1_F1(d, e, a), 0x5a827999, SHA1_W(18));
	SHA1_R(b, c, d, e, a, SHA1_F1(c, d, e), 0x5a827999, SHA1_W(19));
	SHA1_20(20, SHA1_F2, 0x6ed9eba1);
	SHA1_20(40, SHA1_F3, 0x8f1bbcdc);
	SHA1_20(60, SHA1_F2, 0xca62c1d6);
	ctx->h[0] += a; ctx->h[1] += b; ctx->h[2] += c; ctx->h[3] += d; ctx->h[4] += e;
}

void vault_sha1__init(vault_sha1_ctx *c)
{
	static const uint32_t iv[5] = {
		0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0
	};

	memcpy(c->h, iv, sizeof iv);
	c->len = 0;
	c->fill = 0;
}

void vault_sha1__update(vault_sha1_ctx *c, const void *data, size_t n)
{
	const unsigned char *p = data;

	c->len += n;
	if (c->fill) {
		size_t take = 64 - c->fill < n ? 64 - c->fill : n;
		memcpy(c->buf + c->fill, p, take);
		c->fill += take;
		p += take;
		n -= take;
		if (c->fill < 64)
			return;
		sha1_block(c, c->buf);
		c->fill = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sha1_block(c, p);
	memcpy(c->buf, p, n);
	c->fill = n;
}

void vault_sha1__final(unsigned char out[20], vault_sha1_ctx *c)
{
	uint64_t bits = c->len * 8;
	unsigned char pad[72] = { 0x80 };
	size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	vault_sha1__update(c, pad, padlen + 8);
	for (int i = 0; i < 5; i++)
		store_be32(out + 4 * i, c->h[i]);
}

