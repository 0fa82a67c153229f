/*
 * policy.h — what users.c, cases.c, keys.c, purposes.c and settings.c
 * share (the records themselves are declared in internal.h).
 */
#ifndef VAULT_POLICY_H
#define VAULT_POLICY_H

#include "event.h"

/* A chain entry of a case record: the key of the epoch before, sealed. */
#define CHAIN_SIZE (VCRYPTO_OVERHEAD + VCRYPTO_KEYBYTES)

/* The caller is unlocked and has `role`; VAULT_EACCES naming both roles. */
int vault_policy__require_role(vault *v, vault_role_t role);
/* A policy event in a transaction of its own; nothing to record is 0. */
int vault_policy__run(vault *v, const char *action, vault_event_fn fn, void *payload);

/* keys.c */
/* The key of `code`'s `epoch`, kept in the session's cache (takes `key`). */
int vault_keys__cache(case_key **out, vault *v, const char *code, uint32_t epoch, unsigned char *key);
/* Seal `key` of `code`'s `epoch` to `user`. */
int vault_keys__seal(MDB_txn *txn, vault *v, const char *code, uint32_t epoch,
	const char *user, const unsigned char *key);
/* Is a key of `code`'s `epoch` sealed to `user`? */
int vault_keys__has_sealed(MDB_txn *txn, vault *v, const char *code, uint32_t epoch, const char *user);
/* The `sealed` key of `code`'s `epoch` for `user`. */
void vault_keys__sealed_name(char *out, size_t n, const char *code, uint32_t epoch, const char *user);
/* The user's record, the case's record and its members' records are those
 * of the head event (VAULT_ECORRUPT naming the record): before a key is
 * sealed to anyone. */
int vault_keys__user_trusted(MDB_txn *txn, vault *v, const char *name);
int vault_keys__case_trusted(MDB_txn *txn, vault *v, const case_rec *c);

/* purposes.c: the purpose codes, newline-separated, and whether one is required. */
int vault_purposes__get(vault_buf *out, int *required, MDB_txn *txn, vault *v);

#endif
