/*
 * blake2b — BLAKE2b of a stream, unkeyed (a backup's snapshot hash).
 */
#ifndef VAULT_BLAKE2B_H
#define VAULT_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t h[8];
	uint64_t t[2];               /* bytes hashed, the last block's included */
	unsigned char buf[128];
	size_t fill;
	size_t outlen;
} vault_blake2b_ctx;

/* `outlen` is 1 to 64 bytes. */
void vault_blake2b__init(vault_blake2b_ctx *c, size_t outlen);
void vault_blake2b__update(vault_blake2b_ctx *c, const void *data, size_t n);
void vault_blake2b__final(unsigned char *out, vault_blake2b_ctx *c);

#endif
