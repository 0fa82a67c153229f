/*
 * hkeys — the keys of the history (keys.md, "The history"): the index key,
 * which says where each object lies, and the history key of each
 * generation, which encrypts the objects written under it. Every active
 * user holds both, sealed to their own key; a newer generation seals the
 * one before it (the chain), so the newest opens the whole history.
 */
#ifndef VAULT_HKEYS_H
#define VAULT_HKEYS_H

#include "internal.h"

/* The genesis: a new index key and generation 1, held by the session,
 * their key-check values recorded (meta `history-kcv`). */
int vault_hkeys__create(vault *v, MDB_txn *txn);
/* Seal the index key and the newest checked generation to `name`. */
int vault_hkeys__seal_to(MDB_txn *txn, vault *v, const char *name, const unsigned char pk[32]);
/* The unlocked user's keys, unsealed with their key pair (not yet checked). */
int vault_hkeys__load(vault *v, MDB_txn *txn);
/* Before the trust gate, and before a session reads the history outside
 * an event (the mount's opens): generations newer than those held (a
 * rotation by another process), unsealed so that what was written under
 * them reads and verifies. 0 when a user is not unlocked. */
int vault_hkeys__refresh(vault *v, MDB_txn *txn);
/*
 * After the trust gate, in `txn`: the keys held against the key-check
 * values of the verified head's tree (newer generations are unsealed
 * first). Until this succeeds nothing is written. VAULT_ECORRUPT.
 */
int vault_hkeys__check(vault *v, MDB_txn *txn);
void vault_hkeys__clear(vault_hkeys *hk);
/* The `sealed` key of `user`'s copy of generation `gen` (0: the index key). */
void vault_hkeys__sealed_name(char *out, size_t n, uint32_t gen, const char *user);
/* Active user `name` holds a sealed copy of the index key and of the
 * newest generation (verify); VAULT_ECORRUPT naming what is missing. */
int vault_hkeys__held_by(MDB_txn *txn, vault *v, const char *name);
/* VAULT_EAUTH unless the session holds the history's keys (a user is
 * unlocked): the history cannot be read without them. */
int vault_hkeys__require(vault *v);

/*
 * A pending user's enrolment key pair (Ed25519), derived from the one-time
 * code: the public half is the user record's `enrol` (what a code is
 * checked against, in the user's signed file); a rotation seals its new
 * generation to it, and enrol opens that with the code.
 */
int vault_hkeys__enrol_keypair(unsigned char pk[32], unsigned char **sk_out, const vault *v,
	const char *name, const char *code, size_t codelen) VAULT_WARN_UNUSED;
/*
 * The proof an `enrol` carries that its author knew the code: the code's
 * key pair signs the vault, the user and the new key `newpk` the enrol
 * installs (128 hex digits and NUL into `hex`). `proven` checks one
 * against `enrol`, the pending record's public half: 0, or -1.
 */
#define VAULT_ENROL_PROOF_HEX (2 * 64 + 1)
int vault_hkeys__enrol_prove(char hex[VAULT_ENROL_PROOF_HEX], const vault *v, const char *name,
	const char *code, size_t codelen, const unsigned char newpk[32]) VAULT_WARN_UNUSED;
int vault_hkeys__enrol_proven(const vault *v, const char *name, const unsigned char enrol[32],
	const unsigned char newpk[32], const char *hex) VAULT_WARN_UNUSED;
/* `user add`: the keys for a pending user, under a key derived from the
 * one-time enrolment code. */
int vault_hkeys__enrol_seal(MDB_txn *txn, vault *v, const char *name, const char *code, size_t codelen);
/* `enrol`: the keys the admin left for `name`, into the session. */
int vault_hkeys__enrol_open(vault *v, const char *name, const char *code, size_t codelen);
/* The enrolment keys of `name` are used up (enrol) or void (disable): its
 * `@enrol/` record, and the generations below `below` sealed to its code
 * (enrol: the newest is sealed to the user's own key by then). */
int vault_hkeys__enrol_drop(MDB_txn *txn, vault *v, const char *name, uint32_t below);

/* A failed unlock, sealed to the newest generation's drop box (meta
 * `history-pk`) under `sealed` VAULT_HKEYS_FAILED + 24 random hex digits
 * (the time is sealed with the name), until a session records it
 * (hevents.c). */
#define VAULT_HKEYS_FAILED "@failed/"
int vault_hkeys__note_failure(vault *v, const char *name);

/* What hevents.c builds on. */
unsigned char *vault_hkeys__gen(const vault_hkeys *hk, uint32_t gen);
/* The key pair of a generation's drop box, derived from its key. */
int vault_hkeys__drop_keypair(unsigned char pk[32], unsigned char **sk_out, const unsigned char *key)
	VAULT_WARN_UNUSED;
/* Generation `gen` (held) is the newest: the check values of the index
 * key and of generations 1..gen recorded, its drop box published. */
int vault_hkeys__record_gen(MDB_txn *txn, vault *v, uint32_t gen);
/* Seal `key` of generation `gen` (0: the index key) to `name`. */
int vault_hkeys__seal_one(MDB_txn *txn, vault *v, const char *name, const unsigned char pk[32],
	uint32_t gen, const unsigned char *key);
/* The chain entry of `gen` (generation gen-1's key under gen's): its
 * associated data, its `sealed` key. */
void vault_hkeys__chain_ad(char ad[64], const vault *v, uint32_t gen);
void vault_hkeys__chain_name(char out[32], uint32_t gen);

/* hevents.c: record the failed unlocks noted since (unlocked sessions). */
int vault_hkeys__drain(vault *v);

#endif
