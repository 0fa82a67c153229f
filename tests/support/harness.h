/*
 * A small test harness: CHECK records a failure and goes on; tests return
 * the number of failures from main via harness_done().
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdio.h>

extern int harness_failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		harness_failures++; \
	} \
} while (0)

#define CHECK_RC(expr, want) do { \
	int rc_ = (expr); \
	if (rc_ != (want)) { \
		fprintf(stderr, "%s:%d: %s returned %d, want %d (%s)\n", __FILE__, __LINE__, \
			#expr, rc_, (want), vault_error_last()->message); \
		harness_failures++; \
	} \
} while (0)

/* A fresh empty directory under $TMPDIR; removed by harness_cleanup(). */
const char *harness_tmpdir(void);
void harness_cleanup(void);
int harness_done(const char *name);

#endif
