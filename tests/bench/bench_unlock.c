/*
 * Benchmark of the trust gate at unlock: how long a session takes to start
 * when other users appended N events since its user's checkpoint, each of
 * which it verifies before anything else (trust.h).
 *
 *   bench_unlock DIR [N[,N...]]      (default 0,1000,100000)
 *
 * DIR must not exist yet. A caseworker `w` records N read events, then
 * `r` (a member of the same case) unlocks: the time of vault_open plus
 * vault_unlock, with the test profile of the passphrase hash so that the
 * figure is the verification's. Each N is counted from r's last unlock.
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

static vault *as(const char *dir, const char *user)
{
	vault *v = NULL;

	if (vault_open(&v, dir) < 0 || vault_unlock(v, user, "bench-pass", 10) < 0)
		die(user);
	return v;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	char list[256], code[VAULT_CODE_SIZE], path[128];
	vault_get_options o = VAULT_GET_OPTIONS_INIT;
	vault *v;
	size_t got = 0;

	if (!dir) {
		fprintf(stderr, "usage: bench_unlock DIR [N[,N...]]\n");
		return 2;
	}
	snprintf(list, sizeof list, "%s", argc > 2 ? argv[2] : "0,1000,100000");
	setenv("CASEVAULT_KDF", "test", 1);
	if (vault_init(&v, dir, "dpo", "bench-pass", 10, 0) < 0 ||
	    support_user_add(v, "w", VAULT_ROLE_CASEWORKER, "bench-pass", 10) < 0 ||
	    support_user_add(v, "r", VAULT_ROLE_CASEWORKER, "bench-pass", 10) < 0 ||
	    vault_unlock(v, "w", "bench-pass", 10) < 0 || vault_case_create(code, v, "bench") < 0)
		die("init");
	snprintf(path, sizeof path, "%s/f.txt", code);
	if (support_put(v, path, "some content", 12, NULL) < 0 ||
	    vault_unlock(v, "dpo", "bench-pass", 10) < 0 || vault_case_grant(v, code, "r", 0) < 0)
		die("case");
	vault_close(v);
	vault_close(as(dir, "w"));     /* seals the key to r */
	vault_close(as(dir, "r"));     /* r's checkpoint */
	o.purpose = "bench";
	for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
		long n = atol(s);
		double t0;

		v = as(dir, "w");
		for (long i = 0; i < n; i++)
			if (vault_get(v, path, &o, count_sink_write, &got) < 0)
				die("get");
		vault_close(v);
		t0 = now();
		v = as(dir, "r");
		printf("unlock with %ld unverified events since the checkpoint: %.3f s\n", n, now() - t0);
		vault_close(v);
	}
	return 0;
}
