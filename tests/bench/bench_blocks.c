/*
 * Benchmark of `audit verify`'s content check: every stored block hashed
 * and compared with the signed block lists.
 *
 *   bench_blocks DIR [GIB] [RUNS]      (default 10 GiB, 2 runs)
 *
 * DIR must not exist yet (or hold a vault this made: it is reused). A
 * caseworker puts GIB GiB in files of 64 MiB, then a second version of
 * each with one block changed (the other blocks shared: hashed once).
 * Then, RUNS times, `vault_audit_verify` with VAULT_VERIFY_QUICK (no
 * block hashed) and in full: seconds, and the bytes hashed over the full
 * check's time, and over the difference; beside BLAKE2b's own speed on one
 * core, in the same run, as the peer to compare with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <sodium.h>

#include "vault.h"
#include "support.h"

#define FILE_MIB 64

static void build(const char *dir, unsigned gib)
{
	size_t len = (size_t)FILE_MIB << 20;
	unsigned char *buf = malloc(len);
	char code[VAULT_CODE_SIZE], path[128];
	unsigned files = gib * 1024 / FILE_MIB;
	vault *v;
	double t0 = support_now();

	if (!buf)
		support_die("bench_blocks", "memory");
	if (vault_init(&v, dir, "dpo", "bench-pass", 10, 0) < 0 ||
	    support_user_add(v, "w", VAULT_ROLE_CASEWORKER, "bench-pass", 10) < 0 ||
	    vault_unlock(v, "w", "bench-pass", 10) < 0 || vault_case_create(code, v, "bench") < 0)
		support_die("bench_blocks", "init");
	for (unsigned i = 0; i < files; i++) {
		snprintf(path, sizeof path, "%s/f%04u.bin", code, i);
		fill_pattern(buf, len, i);
		if (support_put(v, path, buf, len, NULL) < 0)
			support_die("bench_blocks", "put");
		/* A second version: one block changed, the rest shared. */
		buf[len / 2] ^= 0xff;
		if (support_put(v, path, buf, len, NULL) < 0)
			support_die("bench_blocks", "put");
	}
	vault_close(v);
	printf("built: %u files of %d MiB, 2 versions each, in %.1f s\n", files, FILE_MIB, support_now() - t0);
	free(buf);
}

/* BLAKE2b-256 of 64 KiB buffers on one core, for about a second: GB/s. */
static double blake2b_speed(void)
{
	static unsigned char buf[65536 + 45];
	unsigned char out[32];
	double t0 = support_now(), t;
	uint64_t bytes = 0;

	randombytes_buf(buf, sizeof buf);
	do {
		for (int i = 0; i < 256; i++) {
			crypto_generichash(out, sizeof out, buf, sizeof buf, NULL, 0);
			buf[i] ^= out[0];
		}
		bytes += 256 * sizeof buf;
	} while ((t = support_now() - t0) < 1.0);
	return (double)bytes / t / 1e9;
}

static void content_seen(uint64_t done, uint64_t total, void *payload)
{
	(void)total;
	*(uint64_t *)payload = done;
}

static double verify(vault *v, unsigned int flags, uint64_t *bytes)
{
	vault_verify_options o = VAULT_VERIFY_OPTIONS_INIT;
	vault_verify_result res;
	double t0 = support_now();

	*bytes = 0;
	o.flags = flags;
	o.content_progress = content_seen;
	o.payload = bytes;
	if (vault_audit_verify(&res, v, &o) < 0)
		support_die("bench_blocks", "verify");
	return support_now() - t0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	unsigned gib = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
	int runs = argc > 3 ? atoi(argv[3]) : 2;
	struct stat sb;
	vault *v = NULL;

	if (!dir || gib == 0) {
		fprintf(stderr, "usage: bench_blocks DIR [GIB] [RUNS]\n");
		return 2;
	}
	setenv("CASEVAULT_KDF", "test", 1);
	if (sodium_init() < 0)
		return 1;
	if (stat(dir, &sb) != 0)
		build(dir, gib);
	if (vault_open(&v, dir) < 0)
		support_die("bench_blocks", "open");
	for (int r = 0; r < runs; r++) {
		uint64_t bytes, none;
		double quick = verify(v, VAULT_VERIFY_QUICK, &none);
		double full = verify(v, 0, &bytes);
		double peer = blake2b_speed();
		printf("run %d: verify --quick %.2f s, full %.2f s; %.2f GB hashed: %.2f GB/s over the full check, "
			"%.2f GB/s over its extra time; BLAKE2b on one core %.2f GB/s (full check %.2f of it)\n",
			r + 1, quick, full, (double)bytes / 1e9, (double)bytes / 1e9 / full,
			full > quick ? (double)bytes / 1e9 / (full - quick) : 0.0, peer,
			(double)bytes / 1e9 / full / peer);
	}
	vault_close(v);
	return 0;
}
