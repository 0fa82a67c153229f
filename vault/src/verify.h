/*
 * verify.h — what verify.c (the replay of the chain) and verify_state.c
 * (the state against the head) share.
 */
#ifndef VAULT_VERIFY_H
#define VAULT_VERIFY_H

#include "internal.h"
#include "history.h"

/* The progress callback, if any: `done` of 1000. */
void vault_verify__progress(const vault_verify_options *o, uint64_t done);
/* Every record of the state generates the head tree's file, whole, and
 * nothing more; the folder entries. *records: how many were checked. */
int vault_verify__state(vault *v, MDB_txn *txn, git_tree *head, uint64_t *records);
/* Every version's blocks against its record; `total` versions, for the
 * progress. */
int vault_verify__versions(vault_verify_result *res, vault *v, MDB_txn *txn,
	const vault_verify_options *opts, uint64_t total);

#endif
