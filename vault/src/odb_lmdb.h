/*
 * odb_lmdb — a libgit2 object database backend on the `git` sub-database,
 * encrypted at rest.
 *
 * An object is stored under its locator, a BLAKE2b-160 of its id keyed
 * with the vault's index key, as REC_FORMAT ‖ generation (u32) ‖ nonce ‖
 * XChaCha20-Poly1305 under that generation's history key of (type ‖ raw
 * object), with associated data naming the vault and the object id.
 * Reads and writes go through the store's current transaction when one is
 * set, so the history is written in the same LMDB transaction as the state.
 * Without the keys (vault_hkeys) nothing of the history can be read.
 */
#ifndef VAULT_ODB_LMDB_H
#define VAULT_ODB_LMDB_H

#include <git2.h>
#include "store.h"

/* Generations of the history key a session may hold. */
#define VAULT_HGEN_MAX 1024

/*
 * The history keys a session holds (hkeys.c fills them). `held` only
 * grows while a session lives, after its key is in place, so readers in
 * other threads need no lock.
 */
typedef struct {
	unsigned char *keys;         /* sodium_malloc'd: generation g at (g - 1) * 32 */
	unsigned char *index;        /* sodium_malloc'd: the index key; NULL: none held */
	uint32_t held;               /* generations 1..held are in `keys` */
	uint32_t checked;            /* the newest generation checked against the
	                                verified head's key-check values: new
	                                objects are written under it; 0: none yet */
	git_oid checked_file;        /* the policy/settings those values came from */
} vault_hkeys;

/* REC_FORMAT ‖ generation ‖ nonce, before the ciphertext. */
#define VAULT_ODB_HEAD (1 + 4 + 24)
#define VAULT_ODB_OVERHEAD (VAULT_ODB_HEAD + 16)

int vault_odb_lmdb__new(git_odb_backend **out, vault_store *st, const vault_hkeys *hk,
	const char *vid);

/* The locator of object `id`: where the `git` sub-database keeps it. */
void vault_odb__locator(unsigned char out[20], const vault_hkeys *hk, const unsigned char id[20]);

/*
 * The stored value of object `id` in `txn`: 0, VAULT_ENOTFOUND, or an
 * error (no index key held: VAULT_EAUTH).
 */
int vault_odb__get(MDB_val *val, MDB_txn *txn, vault_store *st, const vault_hkeys *hk,
	const unsigned char id[20]);

/*
 * Decrypt stored value `val` of object `id` into `plain` (at least
 * val->mv_size - VAULT_ODB_OVERHEAD bytes): its type byte, then the raw
 * object; *len gets that size. VAULT_ECORRUPT (message set, naming the
 * object) if it does not authenticate here, VAULT_EAUTH if its generation
 * is not held.
 */
int vault_odb__open(unsigned char *plain, size_t *len, const vault_hkeys *hk, const char *vid,
	const unsigned char id[20], const MDB_val *val);

/* The stored value (VAULT_ODB_OVERHEAD + 1 + len bytes at `out`) of object
 * `id` of `type`, content `data`, under held generation `gen`. */
void vault_odb__seal(unsigned char *out, const vault_hkeys *hk, const char *vid,
	const unsigned char id[20], int type, const void *data, size_t len, uint32_t gen);

#endif
