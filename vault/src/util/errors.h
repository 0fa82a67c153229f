#ifndef VAULT_UTIL_ERRORS_H
#define VAULT_UTIL_ERRORS_H

#include "vault/errors.h"

/*
 * Record an error for this thread and return `code`, so a function can fail
 * in one line: return vault_error_set(VAULT_ENOTFOUND, "case '%s' not found", c);
 * Messages: one line, lowercase, the failure first, the subject quoted, and
 * never key material, plaintext or a decrypted name.
 */
int vault_error_set(int code, const char *fmt, ...) VAULT_PRINTF(2, 3);

/* Out of memory; never allocates. Returns VAULT_ERROR. */
int vault_error_set_oom(void);

/* libgit2's last error, after `what`: "what: message". Returns VAULT_ERROR. */
int vault_error_git(const char *what);

#endif
