/*
 * The vault handle, and what every module includes (records, time, errors). Not public.
 */
#ifndef VAULT_INTERNAL_H
#define VAULT_INTERNAL_H

#include <git2.h>
#include <pthread.h>
#include "vault/vault.h"
#include "vault/audit.h"
#include "store.h"
#include "odb_lmdb.h"
#include "vcrypto.h"
#include "util/buf.h"
#include "util/errors.h"
#include "util/time.h"
#include "records.h"

#define VAULT_ID_SIZE   17        /* 16 characters + NUL */

/* A case key of one epoch held by this session. */
typedef struct case_key {
	struct case_key *next;
	char code[VAULT_CODE_SIZE];
	uint32_t epoch;
	unsigned char *key;          /* sodium_malloc'd */
	unsigned char *lookup;       /* epoch 1 only: the folder lookup key, or NULL */
} case_key;

/* A tree of the history whose content is known to match its id (trees.c). */
#define VAULT_TREE_MEMO 64
typedef struct {
	git_oid id;
	unsigned char *data;         /* malloc'd, NULL: empty slot */
	size_t len;
	/* The stored record it was read from or written as: its header
	 * (generation, nonce) and tag, and its size (odb_lmdb.h). */
	unsigned char seal[VAULT_ODB_HEAD + 16];
	size_t stored;
} vault_tree_memo;

/* An event this session verified (or wrote), and the events up to it. */
typedef struct {
	int set;
	git_oid head;
	uint64_t events;
} vault_trust_point;

/* The events of the verified chain a session walked, for older versions
 * (trust.c): from `top`, a trusted event, down to `bottom`. */
typedef struct {
	git_oid *slot;               /* open addressing; an all-zero id is empty */
	size_t n, cap;
	git_oid top, bottom;
	int set, complete;           /* complete: `bottom` is the genesis */
} vault_chain_memo;

struct vault {
	vault_store *st;
	git_repository *repo;
	git_odb *odb;
	char dir[4096];
	char id[VAULT_ID_SIZE];
	unsigned char genesis[20];   /* the genesis event's id: wrapped user keys are bound to it */
	vault_via_t via;

	/* The unlocked user. */
	int unlocked;
	char user[VAULT_NAME_MAX + 1];
	vault_role_t role;
	unsigned char pk[32];
	unsigned char *sk;           /* Ed25519 secret key, sodium_malloc'd */
	case_key *keys;              /* case keys unsealed so far */
	vault_hkeys hk;              /* the history's keys (hkeys.c) */
	pthread_mutex_t hk_lock;     /* one thread at a time adds a generation to `hk` */
	pthread_mutex_t key_lock;    /* guards `keys` (the mount is threaded) */

	/* What this session verified of the history (trust.c). */
	pthread_mutex_t trust_lock;  /* guards `trusted` */
	vault_trust_point trusted;
	vault_trust_point committed; /* the trusted point as last committed */
	unsigned char *ckpt_key;     /* MAC key of the user's checkpoints, sodium_malloc'd */
	uint64_t file_events;        /* the checkpoint file's, as last written */
	int ckpt_reset;              /* a rollback was accepted: older points win */
	uint64_t ckpt_seen;          /* then: the events the user had seen before */
	pthread_mutex_t chain_lock;  /* guards `chain` */
	vault_chain_memo chain;
	char state_dir[4096];        /* the user's state directory; "" for none */
	char dir_key[33];            /* names the vault directory's checkpoints there */

	/* Group commit of this process's events (event.c). */
	pthread_mutex_t gc_lock;
	pthread_cond_t gc_cond;
	struct vault_event_job *gc_head, *gc_tail;
	int gc_leading;

	/* Trees read or written lately, by id (trees.c). */
	pthread_mutex_t memo_lock;
	vault_tree_memo memo[VAULT_TREE_MEMO];
};

/* trees.c: folders of the history tree, through the memo of trees. */
void vault_trees__init(vault *v);
void vault_trees__dispose(vault *v);
/* Tree `base` with the files of `u` set (upserts only); `out` gets its id. */
int vault_trees__update(git_oid *out, vault *v, const git_oid *base,
	const git_tree_update *u, size_t n);
/* The id and mode of `path` in tree `tree`; VAULT_ENOTFOUND if absent. */
int vault_trees__entry(git_oid *out, unsigned int *mode, vault *v, const git_oid *tree,
	const char *path);
/* The tree of event `commit`. */
int vault_trees__commit_tree(git_oid *out, vault *v, const git_oid *commit);
/* The file at `path` in event `commit`'s tree, NUL-terminated. */
int vault_trees__blob(vault_buf *out, vault *v, const git_oid *commit, const char *path);

#endif
