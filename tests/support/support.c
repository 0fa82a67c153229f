/*
 * tests/support — see support.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support.h"

ssize_t mem_src_read(void *payload, void *buf, size_t len)
{
	mem_src *s = payload;
	size_t n = s->len - s->off < len ? s->len - s->off : len;

	if (n)
		memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

int mem_sink_write(void *payload, const void *buf, size_t len)
{
	mem_sink *s = payload;
	unsigned char *p = realloc(s->data, s->len + len + 1);

	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	s->data = p;
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	s->calls++;
	return 0;
}

void mem_sink_free(mem_sink *s)
{
	free(s->data);
	memset(s, 0, sizeof *s);
}

void fill_pattern(unsigned char *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 7);
	}
}

int count_sink_write(void *payload, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)payload += len;
	return 0;
}

vault *support_open_as(const char *dir, const char *user, const char *pass)
{
	vault *v = NULL;

	if (vault_open(&v, dir) != 0) {
		fprintf(stderr, "cannot open %s: %s\n", dir, vault_error_last()->message);
		harness_failures++;
		return NULL;
	}
	if (user && vault_unlock(v, user, pass, strlen(pass)) != 0) {
		fprintf(stderr, "cannot unlock %s as %s: %s\n", dir, user, vault_error_last()->message);
		harness_failures++;
		vault_close(v);
		return NULL;
	}
	return v;
}

int support_put(vault *v, const char *path, const void *data, size_t len, uint32_t *ver)
{
	mem_src s = { data, len, 0 };
	uint32_t dummy;

	return vault_put(ver ? ver : &dummy, v, path, mem_src_read, &s);
}

int support_verify(vault_verify_result *res, vault *v, const char *anchor)
{
	vault_verify_options o = VAULT_VERIFY_OPTIONS_INIT;

	o.anchor = anchor;
	return vault_audit_verify(res, v, &o);
}
