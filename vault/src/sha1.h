/*
 * sha1 — SHA-1 of a stream (export's pack and index checksums).
 */
#ifndef VAULT_SHA1_H
#define VAULT_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t h[5];
	uint64_t len;
	unsigned char buf[64];
	size_t fill;
} vault_sha1_ctx;

void vault_sha1__init(vault_sha1_ctx *c);
void vault_sha1__update(vault_sha1_ctx *c, const void *data, size_t n);
void vault_sha1__final(unsigned char out[20], vault_sha1_ctx *c);

#endif
