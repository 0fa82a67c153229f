#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "buf.h"
#include "errors.h"

static int grow(vault_buf *b, size_t need)
{
	size_t n;
	char *p;

	if (b->oom)
		return -1;
	if (b->size + need + 1 <= b->asize)
		return 0;
	n = b->asize ? b->asize : 64;
	while (n < b->size + need + 1)
		n *= 2;
	if ((p = realloc(b->ptr, n)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->ptr = p;
	b->asize = n;
	return 0;
}

void vault_buf_put(vault_buf *b, const void *data, size_t len)
{
	if (grow(b, len) < 0)
		return;
	if (len)
		memcpy(b->ptr + b->size, data, len);
	b->size += len;
	b->ptr[b->size] = '\0';
}

void vault_buf_printf(vault_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->size, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->size += (size_t)n;
}

void vault_buf_clear(vault_buf *b)
{
	b->size = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void vault_buf_dispose(vault_buf *b)
{
	if (b->ptr) {
		sodium_memzero(b->ptr, b->asize);
		free(b->ptr);
	}
	b->ptr = NULL;
	b->size = b->asize = 0;
	b->oom = 0;
}

int vault_array_grow(void *items, size_t *cap, size_t n, size_t size, size_t first)
{
	void **p = items, *grown;
	size_t want = *cap ? *cap : first;

	if (n < *cap)
		return 0;
	while (want <= n) {
		if (want > SIZE_MAX / 2 / size)
			return vault_error_set_oom();
		want *= 2;
	}
	if ((grown = realloc(*p, want * size)) == NULL)
		return vault_error_set_oom();
	*p = grown;
	*cap = want;
	return 0;
}
