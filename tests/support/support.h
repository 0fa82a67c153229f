/*
 * tests/support — what the unit tests and the benchmarks share: in-memory
 * streams for vault_put and vault_get, opening a vault as a user, storing
 * bytes, deterministic test data.
 */
#ifndef TESTS_SUPPORT_H
#define TESTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vault.h"

/* ---- in-memory streams for vault_put / vault_get ------------------------ */

typedef struct {
	const unsigned char *data;
	size_t len, off;
} mem_src;
/* A vault_read_fn; reads from `data` (mem_src *). */
ssize_t mem_src_read(void *payload, void *buf, size_t len);

typedef struct {
	unsigned char *data;     /* malloc'd; free with mem_sink_free */
	size_t len;
	size_t calls;            /* number of writes received */
} mem_sink;
/* A vault_write_fn; appends to a mem_sink. */
int mem_sink_write(void *payload, const void *buf, size_t len);
void mem_sink_free(mem_sink *s);

/* Deterministic pseudo-random bytes. */
void fill_pattern(unsigned char *p, size_t len, uint32_t seed);

/* A vault_write_fn that keeps nothing and counts the bytes (size_t *). */
int count_sink_write(void *payload, const void *buf, size_t len);

/* ---- vaults ---------------------------------------------------------------- */

/*
 * Open the vault at `dir` and, with `user`, unlock it with `pass`. NULL on
 * failure, said on stderr and counted as a test failure.
 */
vault *support_open_as(const char *dir, const char *user, const char *pass);
/* vault_audit_verify with `anchor` (or NULL) as its only option. */
int support_verify(vault_verify_result *res, vault *v, const char *anchor);
/* Store `len` bytes at `path` (vault_put); `ver` (or NULL) the version. */
int support_put(vault *v, const char *path, const void *data, size_t len, uint32_t *ver);

#endif
