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

/*
 * The message is formatted twice: in English (`message`), and from the
 * format's translation in the "casevault" catalog, if the program bound
 * one and it has the format (`text`). po/make-pot.sh extracts the formats
 * of vault_error_set, vault_error_wrap and vault_error_git.
 */

/*
 * Record an error that says what failed, then why: "FMT...: the last
 * error", each language with its own. Returns `code`.
 */
int vault_error_wrap(int code, const char *fmt, ...) VAULT_PRINTF(2, 3);

/* The same, where what failed is a plain string (no format) its caller
 * chose: "what: the last error", `what` translated. make-pot.sh extracts
 * the strings the callers of vault_store__error pass. */
int vault_error_prefix(int code, const char *what);

/* The last error of this thread, kept to be set again later or on another
 * thread (whose last error it then becomes) with both its languages. */
typedef struct {
	char message[1024];
	char text[2048];
} vault_error_kept;

void vault_error_keep(vault_error_kept *k);
/* The kept error, with `code`, which it returns. */
int vault_error_put(int code, const vault_error_kept *k);

/* Out of memory; never allocates. Returns VAULT_ERROR. */
int vault_error_set_oom(void);

/* libgit2's last error, after `what`: "what: message". Returns VAULT_ERROR,
 * or the code the object database gave its failure (below). */
int vault_error_git(const char *what);

/* Set by the history's object database (odb_lmdb.c) with the failure it
 * hands libgit2, so that a damaged or unreadable object keeps its code
 * (VAULT_ECORRUPT, VAULT_EAUTH) through libgit2; vault_error_git clears it. */
extern _Thread_local int vault_error__git_code;

#endif
