/*
 * A growable byte buffer, always NUL-terminated.
 */
#ifndef VAULT_UTIL_BUF_H
#define VAULT_UTIL_BUF_H

#include <stddef.h>
#include "vault/common.h"

typedef struct {
	char *ptr;
	size_t size;
	size_t asize;
	int oom;        /* an append failed: the content is incomplete */
} vault_buf;

#define VAULT_BUF_INIT { NULL, 0, 0, 0 }

void vault_buf_printf(vault_buf *b, const char *fmt, ...) VAULT_PRINTF(2, 3);
void vault_buf_put(vault_buf *b, const void *data, size_t len);
void vault_buf_clear(vault_buf *b);
/* Frees the content (wiped first: buffers may hold names in transit). */
void vault_buf_dispose(vault_buf *b);

/*
 * Room in the array `*items` (`*cap` elements of `size` bytes allocated)
 * for element `n`: the allocation doubles, from `first` elements. 0, or
 * VAULT_ERROR when out of memory (the array is kept as it was).
 */
int vault_array_grow(void *items, size_t *cap, size_t n, size_t size, size_t first);

#endif
