/*
 * docs — what the node module shares with file handles (file.c, blocks.c,
 * stream.c).
 */
#ifndef VAULT_DOCS_H
#define VAULT_DOCS_H

#include "policy.h"


/* "CODE/a/b" split; the components point into `nfc`, the path in NFC. */
typedef struct {
	char code[VAULT_CODE_SIZE];
	size_t n;                        /* components after the code */
	const char *name[PATH_MAX_DEPTH];
	size_t len[PATH_MAX_DEPTH];
	char nfc[VAULT_PATH_MAX + 1];
} vpath;

/* A case as seen by the unlocked member. */
typedef struct {
	case_rec c;
	int access;                      /* 2 rw, 1 ro */
	const unsigned char *lookup;     /* per-case lookup key (borrowed) */
} case_ctx;

int vault_docs__path_parse(vpath *p, const char *path);

/* Load a case for the unlocked user, who must be a member holding the key;
 * VAULT_EACCES otherwise (and for ro members with VAULT_CASE_RW). With
 * VAULT_CASE_RW or VAULT_CASE_EVENT (an event's function, after the trust
 * gate), the case record must be the head event's (VAULT_ECORRUPT). */
#define VAULT_CASE_RW    0x01
#define VAULT_CASE_EVENT 0x02
int vault_docs__case_load(case_ctx *cc, MDB_txn *txn, vault *v, const char *code, unsigned int flags);
void vault_docs__case_dispose(case_ctx *cc);

/* A node a record links to; its record missing is VAULT_ECORRUPT. */
int vault_docs__linked_node(node_rec *out, MDB_txn *txn, vault *v, uint64_t id);
/* Walk `depth` components of `p` from the case root. */
int vault_docs__resolve(node_rec *out, MDB_txn *txn, vault *v, case_ctx *cc, const vpath *p,
	size_t depth, const char *path);
/* Is `name` free in folder `parent`? 0, or VAULT_EEXISTS naming `path`
 * ("created by someone else meanwhile" if the caller checked before), or
 * an error. */
int vault_docs__name_free(MDB_txn *txn, vault *v, case_ctx *cc, uint64_t parent,
	const char *name, size_t len, const char *path, int meanwhile);
/* The folder in which `p`'s last name is to be made, a free name there
 * (VAULT_EEXISTS naming `path` if not). */
int vault_docs__new_in(node_rec *parent, MDB_txn *txn, vault *v, case_ctx *cc, const vpath *p,
	const char *path);
/*
 * A read of `path` outside any event: its node `n`, in read transaction
 * `*txn` (a walk: the history reads through it too), with its case loaded
 * in `cc`. With `need_name`, a case folder itself is VAULT_EUSAGE. Ends
 * with vault_docs__read_end(); on error there is nothing to end.
 */
int vault_docs__read_begin(node_rec *n, MDB_txn **txn, case_ctx *cc, vault *v, const char *path,
	int need_name);
void vault_docs__read_end(MDB_txn *txn, case_ctx *cc, vault *v);
/* The event is about node `n` (and its version, if `version`): it says so
 * in its trailers, and the node's file goes in its tree. */
int vault_docs__about(vault_event *ev, vault *v, MDB_txn *txn, const node_rec *n, int version);
/* Child `name` of `parent`; VAULT_ENOTFOUND (no message) if absent. */
int vault_docs__child_lookup(uint64_t *out, MDB_txn *txn, vault *v, case_ctx *cc,
	uint64_t parent, const char *name, size_t len);
/* A folder gained or lost an entry: its mtime and ctime are now, its count
 * of entries changes by `entries` (-1, 1) and of subfolders by `folders`
 * (-1, 0, 1), and the event records its manifest too. */
int vault_docs__folder_changed(vault_event *ev, vault *v, MDB_txn *txn, uint64_t folder, int entries,
	int folders);
/*
 * Each entry of folder `dir` (whose path, for messages, is `path`), checked:
 * it points to a live node of the case whose parent is `dir` and whose name
 * hashes to the entry's key, and the folder holds as many entries as its
 * record counts; `cb` (or NULL) gets each node and its name (in key order).
 * Anything else is damage (VAULT_ECORRUPT): a lookup that misses calls
 * this, so that a lost or damaged entry is not taken for a name that does
 * not exist.
 */
int vault_docs__entries_each(MDB_txn *txn, vault *v, case_ctx *cc, const node_rec *dir,
	const char *path, int (*cb)(const node_rec *n, const char *name, void *payload), void *payload);
/* After a name missed in folder `dir`, the first `depth` components of
 * `p`: 0 if its entries are whole (the name does not exist), VAULT_ECORRUPT
 * if not. */
int vault_docs__entries_whole(MDB_txn *txn, vault *v, case_ctx *cc, const node_rec *dir, const vpath *p,
	size_t depth);
int vault_docs__dirent_put(MDB_txn *txn, vault *v, case_ctx *cc, uint64_t parent,
	const char *name, size_t len, uint64_t node);
int vault_docs__dirent_del(MDB_txn *txn, vault *v, case_ctx *cc, uint64_t parent,
	const char *name, size_t len);

/* Node key of one generation (secret memory, caller frees). */
int vault_docs__node_key(unsigned char **out, uint32_t *epoch_out, MDB_txn *txn, vault *v,
	case_rec *c, uint64_t node, uint32_t gen);
/* Store the key of a new generation under the case's current epoch. */
int vault_docs__nodekey_put(MDB_txn *txn, vault *v, case_rec *c, uint64_t node, uint32_t gen,
	const unsigned char *key);
/* The key for new content or a new name of `n`; a new generation (and
 * *fresh = 1) if the case moved to a new epoch since its current one. */
int vault_docs__node_key_for_write(unsigned char **out, int *fresh, MDB_txn *txn, vault *v,
	case_rec *c, node_rec *n);
void vault_docs__name_seal(node_rec *n, const char *name, size_t len, const unsigned char *key);
/* A file or folder name: 1 to VAULT_FILENAME_MAX bytes, no '/', NUL or
 * control character, not "." or "..". VAULT_EUSAGE naming what is wrong. */
int vault_docs__name_check(const char *name, size_t len);
/* Does the node's sealed name open under `key` (its name generation's key) to `name`? */
int vault_docs__name_is(const node_rec *n, const unsigned char *key, const char *name, size_t len);
/* Decrypt the name of `n` (its name generation, sealed name) into `out`
 * (VAULT_FILENAME_MAX + 1); `key` is VCRYPTO_KEYBYTES of secret memory
 * used for the node key, wiped before return. VAULT_ECORRUPT. */
int vault_docs__name_open(char *out, unsigned char *key, MDB_txn *txn, vault *v, case_rec *c,
	const node_rec *n);
/* The listing entry of `n` named `name`; `hex` (17 bytes) holds its id. */
void vault_docs__entry_of(vault_stat_info *e, const node_rec *n, const char *name, int writable);

int vault_version__put(MDB_txn *txn, vault *v, uint64_t node, uint32_t version, const version_rec *r);

typedef int (*doc_fn)(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload);
/* Runs after the event's commit is built, in the same transaction. */
typedef int (*doc_post_fn)(vault *v, MDB_txn *txn, const git_oid *commit, void *payload);

/* One event: load the case, run fn, append the event, run post, in one
 * write transaction that events of other threads may share (group commit:
 * see docs.c); returns once it is committed. If fn returns > 0, nothing is
 * written and that value is returned. */
int vault_docs__event(vault *v, const char *action, const char *code, int need_rw,
	doc_fn fn, doc_post_fn post, void *payload);
/*
 * A listing of case `code` (its folder `p`, whose text is `path`; NULL for
 * only the case's label): a `list` event with the purpose and note of `o`,
 * committed when this returns; nothing with VAULT_LIST_NO_EVENT. The caller
 * checked o's version.
 */
int vault_docs__list_event(vault *v, const char *code, const vpath *p, const char *path,
	const vault_list_options *o);
/* Start a new epoch first if a revocation retired the current one. */
int vault_docs__settle_before_write(vault *v, const char *code);

#endif
