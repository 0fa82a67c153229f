/*
 * Tests for vault/src/blake2b.c: the same hash as libsodium's BLAKE2b
 * (crypto_generichash, unkeyed) for every length around a block's edges,
 * in pieces of any size, at every output length; RFC 7693's example.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"
#include "blake2b.h"
#include "harness.h"

static void ours(unsigned char *out, size_t outlen, const unsigned char *in, size_t n, size_t piece)
{
	vault_blake2b_ctx c;

	vault_blake2b__init(&c, outlen);
	for (size_t off = 0; off < n; off += piece)
		vault_blake2b__update(&c, in + off, piece < n - off ? piece : n - off);
	vault_blake2b__final(out, &c);
}

static int same(const unsigned char *in, size_t n, size_t outlen, size_t piece)
{
	unsigned char a[64], b[64];

	ours(a, outlen, in, n, piece);
	crypto_generichash(b, outlen, in, n, NULL, 0);
	return memcmp(a, b, outlen) == 0;
}

static void test_rfc7693(void)
{
	static const unsigned char want[64] = {
		0xba, 0x80, 0xa5, 0x3f, 0x98, 0x1c, 0x4d, 0x0d, 0x6a, 0x27, 0x97, 0xb6, 0x9f, 0x12, 0xf6, 0xe9,
		0x4c, 0x21, 0x2f, 0x14, 0x68, 0x5a, 0xc4, 0xb7, 0x4b, 0x12, 0xbb, 0x6f, 0xdb, 0xff, 0xa2, 0xd1,
		0x7d, 0x87, 0xc5, 0x39, 0x2a, 0xab, 0x79, 0x2d, 0xc2, 0x52, 0xd5, 0xde, 0x45, 0x33, 0xcc, 0x95,
		0x18, 0xd3, 0x8a, 0xa8, 0xdb, 0xf1, 0x92, 0x5a, 0xb9, 0x23, 0x86, 0xed, 0xd4, 0x00, 0x99, 0x23,
	};
	unsigned char h[64];

	ours(h, 64, (const unsigned char *)"abc", 3, 3);
	CHECK(memcmp(h, want, 64) == 0);
}

static void test_lengths(void)
{
	size_t max = 3 * 128 + 2;
	unsigned char *in = malloc(1 << 20);
	int bad = 0;

	if (!in) {
		CHECK(in != NULL);
		return;
	}
	randombytes_buf(in, 1 << 20);
	/* Every length to three blocks past the edges, whole, by bytes, by
	 * odd pieces and by blocks. */
	for (size_t n = 0; n <= max; n++) {
		bad += !same(in, n, 32, n ? n : 1);
		bad += !same(in, n, 32, 1);
		bad += !same(in, n, 32, 7);
		bad += !same(in, n, 32, 128);
	}
	for (size_t outlen = 1; outlen <= 64; outlen++)
		bad += !same(in, 1000, outlen, 333);
	/* Long, in the backup's way (large pieces), and in pieces that are not. */
	CHECK(same(in, 1 << 20, 32, 1 << 18));
	CHECK(same(in, 1 << 20, 32, 4097));
	CHECK(same(in, (1 << 20) - 5, 32, 65536));
	CHECK(bad == 0);
	free(in);
}

int main(void)
{
	CHECK_RC(vault_global_init(), 0);
	test_rfc7693();
	test_lengths();
	return harness_done("test_blake2b");
}
