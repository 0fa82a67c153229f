/*
 * verify.h — what the three files of `audit verify` share: verify.c (the
 * walk of the chain and its checker threads), verify_event.c (the replay
 * of one event) and verify_state.c (the state against the head).
 */
#ifndef VAULT_VERIFY_H
#define VAULT_VERIFY_H

#include "internal.h"
#include "history.h"

/* Threads to check with: the options' number, or one per core
 * (verify_blocks.c, the lowest of the three). */
unsigned int vault_verify__threads(const vault_verify_options *o);
/* The progress callback, if any: `done` of 1000. */
void vault_verify__progress(const vault_verify_options *o, uint64_t done);
/* Every record of the state generates the head tree's file, whole, and
 * nothing more; the folder entries. *records: how many were checked. */
int vault_verify__state(vault *v, MDB_txn *txn, git_tree *head, uint64_t *records);
/* Every version's blocks against its record; `total` versions, for the
 * progress. */
int vault_verify__versions(vault_verify_result *res, vault *v, MDB_txn *txn,
	const vault_verify_options *opts, uint64_t total);

/*
 * The stored blocks of versions against their hashes (verify_blocks.c), on
 * the options' number of threads of its own; their content progress goes
 * to the options' callback, from the calling thread. `txn` is the walk's:
 * the records queued are read in it. Finish it even when starting fails.
 */
typedef struct vault_verify__blocks vault_verify__blocks;
int vault_verify__blocks_start(vault_verify__blocks **out, vault *v, MDB_txn *txn,
	const vault_verify_options *opts);
/* Check block `index` (id `id`, record `rec`) of version `version` of `node`
 * against `want`; a block already queued for an earlier version of the
 * node is compared with the hash that version listed instead. The walk
 * queues node after node. */
int vault_verify__blocks_add(vault_verify__blocks *b, uint64_t node, uint32_t version,
	size_t index, uint64_t id, const MDB_val *rec, const unsigned char want[BLOCK_HASHBYTES]);
/* Wait for the hashers and stop them: VAULT_ECORRUPT naming the first
 * block that does not match (and `bad_commit` the event that made its
 * version), or 0. NULL-safe; frees `b`. */
int vault_verify__blocks_finish(vault_verify__blocks *b, char bad_commit[VAULT_OID_SIZE]);

/* What the policy at some point says of an actor in a case. */
typedef struct {
	int valid;
	char actor[VAULT_NAME_MAX + 1];
	char case_code[VAULT_CODE_SIZE];
	vault_policy_user pu;
	int member;
} vault_verify__actor;

#define VAULT_VERIFY_SLOTS 512

/*
 * What one checker thread replays events with: its own read transaction
 * and object database over the vault's store (libgit2 objects are not
 * shared between threads), and its own cache of the policy, kept per
 * `policy` subtree, which changes only with policy events, so runs of
 * reads and writes look it up once. The thread reads `view`, `txn` and
 * `version_events`; the rest is verify_event.c's.
 */
typedef struct {
	struct vault view;               /* the vault's store and id, with a
	                                    repository of its own */
	MDB_txn *txn;
	git_oid policy_id;
	git_tree *users, *cases;         /* policy/users and policy/cases of it */
	vault_history__memo memo;        /* folders the last diff read */
	vault_verify__actor slot[VAULT_VERIFY_SLOTS];
	uint64_t version_events;         /* events that made a version */
} vault_verify__replay;

/* A replay over `v`'s store; dispose of it even when this fails. */
int vault_verify__replay_init(vault_verify__replay *r, vault *v);
void vault_verify__replay_dispose(vault_verify__replay *r);
/*
 * Check one event against the state before it, `parent_tree` (NULL for
 * the genesis, which is checked against its own policy). VAULT_ECORRUPT
 * is a finding, its message saying what is wrong; any other error is not.
 */
/* verify_recovery.c: a recovery event (trailers `t`) from `parent` to
 * `tree`, past the action table's check. VAULT_ECORRUPT naming what is
 * wrong. */
int vault_verify__recovery(vault *v, const vault_trailers *t, git_tree *parent, git_tree *tree);
int vault_verify__event(vault_verify__replay *r, git_commit *c, git_tree *tree,
	git_tree *parent_tree);

/* What vault_verify__since found. */
typedef struct {
	uint64_t events;                 /* events checked */
	int reached;                     /* the walk met `stop` */
	int failed;                      /* an event does not verify: */
	git_oid bad;                     /* the oldest such */
	uint64_t bad_depth;              /* its distance from the head */
	vault_error_kept why;            /* why, in both languages */
} vault_verify_since;

/*
 * Check every event from `head` back to `stop` (not included: it was
 * checked before), or back to the root when `stop` is NULL, which must
 * then be `genesis`. `txn` is the caller's current transaction. A few
 * events are checked in this thread, many by checker threads. Findings
 * go in `out`; an error is returned only when the check itself fails.
 */
int vault_verify__since(vault_verify_since *out, vault *v, MDB_txn *txn, const git_oid *head,
	const git_oid *stop, const git_oid *genesis);

#endif
