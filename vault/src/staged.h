/*
 * staged — the registry of writes in progress: what a large write stored
 * ahead of its version (blocks.c), so that a write that never reaches its
 * version leaves nothing behind.
 *
 * A write that stores a chunk in a transaction of its own records, in the
 * same transaction, a `meta` record `staged/TOKEN` (TOKEN: 16 hex digits,
 * random per file handle): its node, the ranges of block ids it stored,
 * the generation whose node key it stored (0 none), and who wrote it (the
 * process id and a hash of the boot id, the process id, the process's
 * start time and the vault file's device and inode). The version's event deletes it in its own transaction. A
 * record left behind is a write that died (the process was killed, or its
 * version failed and the handle closed): the blocks and key it names are
 * named by no version, and are collected. A record whose process still
 * runs is a write in progress (a mount writing a large file) and is kept.
 */
#ifndef VAULT_STAGED_H
#define VAULT_STAGED_H

#include "store.h"

#define VAULT_STAGED_TOKEN 8

/* In `txn`, which stored blocks `first` to `next` - 1 of `node` (and the
 * key of generation `key_gen`, if not 0) for the write `token`. */
int vault_staged__note(MDB_txn *txn, vault_store *st, const unsigned char token[VAULT_STAGED_TOKEN],
	uint64_t node, uint32_t key_gen, uint64_t first, uint64_t next);
/* In the version's transaction: the write's blocks are named now, those
 * in `keep` (the version's block ids, `nkeep` of them; sorted here); the
 * others it stored were replaced by later writes of the same blocks, and
 * go. */
int vault_staged__done(MDB_txn *txn, vault_store *st, const unsigned char token[VAULT_STAGED_TOKEN],
	uint64_t *keep, size_t nkeep);
/* A handle closes with blocks staged that no version names: they go now,
 * in a transaction of their own (best effort: left to the next open). */
void vault_staged__drop(vault_store *st, const unsigned char token[VAULT_STAGED_TOKEN]);

typedef struct {
	uint64_t writes;                 /* records of dead writes collected */
	uint64_t blocks;                 /* block records deleted */
	uint64_t bytes;                  /* their bytes */
	uint64_t keys;                   /* node keys deleted */
	uint64_t live;                   /* records of writes still running, kept */
} vault_staged__result;

/*
 * Collect what dead writes left: every record whose process is gone, or
 * every record with `all` (no other process has the vault open). Nothing
 * is written when there is nothing to collect. `res` may be NULL.
 */
int vault_staged__collect(vault_staged__result *res, vault_store *st, int all);

#endif
