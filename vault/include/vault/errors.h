/*
 * casevault — error codes and the last error of the calling thread.
 */
#ifndef VAULT_ERRORS_H
#define VAULT_ERRORS_H

#include "common.h"

/**
 * Return codes of the public API. Raw LMDB, libgit2, libsodium and errno
 * values never cross it: each is translated where it occurs.
 */
typedef enum {
	VAULT_OK        =  0,
	VAULT_ERROR     = -1,  /**< generic; see vault_error_last() */
	VAULT_EUSAGE    = -2,  /**< bad argument: a name, a path, an option */
	VAULT_ENOTFOUND = -3,  /**< no such user, case, node or version */
	VAULT_EEXISTS   = -4,  /**< name or code already taken */
	VAULT_EAUTH     = -5,  /**< wrong passphrase, disabled user */
	VAULT_EACCES    = -6,  /**< role or membership forbids it (incl. read-only) */
	VAULT_ECORRUPT  = -7,  /**< authentication tag, hash chain or format check failed */
	VAULT_EVERSION  = -8,  /**< vault written by a newer format */
	VAULT_ENOSPC    = -9,  /**< disk or LMDB map full */
	VAULT_EBUSY     = -10, /**< another process holds what is needed */
	VAULT_ENOTEMPTY = -11, /**< a folder to remove or replace is not empty */
	VAULT_EREFUSED  = -12, /**< the vault's state forbids it: it would leave no
	                            active admin, or a case with no member */
} vault_error_code;

typedef struct {
	const char *message;   /**< one line, no key material, no plaintext;
	                            in English, for scripts, logs and --json */
	int code;              /**< a vault_error_code */
	const char *text;      /**< the same, in the language of the process's
	                            LC_MESSAGES where the "casevault" catalog has
	                            it (else the English): for people */
} vault_error;

/** The last error set on this thread; never NULL. */
VAULT_EXTERN(const vault_error *) vault_error_last(void);

/** Forget the last error of this thread. */
VAULT_EXTERN(void) vault_error_clear(void);

/** Map a vault_error_code to a positive errno value (for the mount). */
VAULT_EXTERN(int) vault_error_to_errno(int code);

#endif
