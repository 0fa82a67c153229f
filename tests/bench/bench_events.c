/*
 * Library benchmark: read events/s and small (4 KiB) writes/s, each a
 * signed commit in its own LMDB transaction (one fsync each), and the
 * speed of `audit verify` over a long history.
 *
 *   bench_events DIR [WRITES] [READS] [HISTORY]
 *
 * DIR must be on the disk being measured and must not exist yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vault.h"
#include "support.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, vault_error_last()->message);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	long writes = argc > 2 ? atol(argv[2]) : 2000;
	long reads = argc > 3 ? atol(argv[3]) : 4000;
	long history = argc > 4 ? atol(argv[4]) : 100000;
	unsigned char data[4096];
	char code[VAULT_CODE_SIZE], path[128];
	vault *v;
	vault_verify_result res;
	double t0, t;
	vault_get_options o = VAULT_GET_OPTIONS_INIT;
	size_t got = 0;

	o.purpose = "bench";     /* a new vault requires one */
	if (!dir) {
		fprintf(stderr, "usage: bench_events DIR [WRITES] [READS] [HISTORY]\n");
		return 2;
	}
	setenv("CASEVAULT_KDF", "test", 1);
	if (vault_init(&v, dir, "dpo", "bench-pass", 10, 0) < 0)
		die("init");
	if (support_user_add(v, "cw", VAULT_ROLE_CASEWORKER, "bench-pass", 10) < 0 ||
	    vault_unlock(v, "cw", "bench-pass", 10) < 0)
		die("caseworker");
	if (vault_case_create(code, v, "bench") < 0)
		die("case create");
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)rand();

	t0 = now();
	for (long i = 0; i < writes; i++) {
		mem_src s = { data, sizeof data, 0 };
		uint32_t ver;
		snprintf(path, sizeof path, "%s/f%05ld.txt", code, i % 1000);
		if (vault_put(&ver, v, path, mem_src_read, &s) < 0)
			die("put");
	}
	t = now() - t0;
	printf("small writes (4 KiB, one signed event + fsync each): %ld in %.2f s = %.0f /s\n",
		writes, t, writes / t);

	t0 = now();
	for (long i = 0; i < reads; i++) {
		snprintf(path, sizeof path, "%s/f%05ld.txt", code, i % (writes < 1000 ? writes : 1000));
		if (vault_get(v, path, &o, count_sink_write, &got) < 0)
			die("get");
	}
	t = now() - t0;
	printf("read events (4 KiB, one signed event + fsync each): %ld in %.2f s = %.0f /s\n",
		reads, t, reads / t);

	/* Grow the history to HISTORY events with reads, then verify it. */
	for (long i = writes + reads; i < history; i++) {
		snprintf(path, sizeof path, "%s/f%05ld.txt", code, i % (writes < 1000 ? writes : 1000));
		if (vault_get(v, path, &o, count_sink_write, &got) < 0)
			die("get");
	}
	t0 = now();
	if (vault_audit_verify(&res, v, NULL) < 0)
		die("verify");
	t = now() - t0;
	printf("audit verify: %llu events, %llu versions in %.2f s = %.0f events/s\n",
		(unsigned long long)res.events, (unsigned long long)res.versions, t, res.events / t);
	vault_close(v);
	return 0;
}
