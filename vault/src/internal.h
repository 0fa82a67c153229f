/*
 * The vault handle and the functions the modules share. Not public.
 */
#ifndef VAULT_INTERNAL_H
#define VAULT_INTERNAL_H

#include <git2.h>
#include <pthread.h>
#include "vault/vault.h"
#include "vault/audit.h"
#include "store.h"
#include "vcrypto.h"
#include "util/buf.h"
#include "util/errors.h"

#define VAULT_ID_SIZE   17        /* 16 characters + NUL */
#define VAULT_BLOCK_SIZE 65536
#define REC_FORMAT      1         /* first byte of every stored record */
#define BLOCK_HOLE      UINT64_MAX /* a block id for zeros never written: no record */

/* Node types and states, as stored. */
enum { NODE_DIR = 1, NODE_FILE = 2 };
enum { NODE_LIVE = 1, NODE_DELETED = 2, NODE_SHREDDED = 3 };
enum { USER_ACTIVE = 0, USER_DISABLED = 1 };
#define NODE_FILE_MODE 0600      /* permission bits of a new file ... */
#define NODE_DIR_MODE  0700      /* ... and folder */

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
} vault_tree_memo;

struct vault {
	vault_store *st;
	git_repository *repo;
	git_odb *odb;
	char dir[4096];
	char id[VAULT_ID_SIZE];
	vault_via_t via;

	/* The unlocked user. */
	int unlocked;
	char user[VAULT_NAME_MAX + 1];
	vault_role_t role;
	unsigned char pk[32];
	unsigned char *sk;           /* Ed25519 secret key, sodium_malloc'd */
	case_key *keys;              /* case keys unsealed so far */
	pthread_mutex_t key_lock;    /* guards `keys` (the mount is threaded) */

	/* Group commit of this process's events (event.c). */
	pthread_mutex_t gc_lock;
	pthread_cond_t gc_cond;
	struct vault_event_job *gc_head, *gc_tail;
	int gc_leading;

	/* Trees read or written lately, by id (trees.c). */
	pthread_mutex_t memo_lock;
	vault_tree_memo memo[VAULT_TREE_MEMO];
};

/* ---- records ------------------------------------------------------------ */

typedef struct {
	vault_role_t role;
	int status;
	unsigned char pk[32];
	vcrypto_kdf kdf;
	unsigned char wrapped[VCRYPTO_OVERHEAD + VCRYPTO_SIGN_SKBYTES];
} user_rec;

#define CASE_MAX_MEMBERS 64
typedef struct {
	char user[VAULT_NAME_MAX + 1];
	int read_only;
} member_rec;

typedef struct {
	char code[VAULT_CODE_SIZE];
	uint32_t epoch;
	int retired;
	uint64_t root;               /* root folder node */
	uint32_t label_epoch;        /* 0: no label */
	size_t label_len;            /* sealed length */
	unsigned char label[VCRYPTO_OVERHEAD + 256];
	size_t nmembers;
	member_rec members[CASE_MAX_MEMBERS];
	/* chain[e] (e >= 2): key of epoch e-1 sealed under key of epoch e */
	size_t nchain;
	unsigned char (*chain)[VCRYPTO_OVERHEAD + VCRYPTO_KEYBYTES];
} case_rec;

typedef struct {
	uint64_t id;
	int type, state;
	char code[VAULT_CODE_SIZE];
	uint64_t parent;
	uint32_t version;
	uint64_t size;
	int64_t mtime, ctime, atime; /* nanoseconds since 1970 (UTC) */
	uint32_t generation;         /* current node key generation */
	uint64_t next_block;
	uint32_t name_gen;           /* generation the name is sealed under */
	size_t name_len;             /* sealed length, 0 for a case root */
	unsigned char name[VCRYPTO_OVERHEAD + VAULT_FILENAME_MAX];
	unsigned char commitment[32];/* of the current version */
	uint32_t mode;               /* permission bits (07777) */
	uint32_t folders;            /* a folder's live subfolders (st_nlink - 2) */
} node_rec;

typedef struct {
	uint64_t id;
	unsigned char tag[VCRYPTO_TAGBYTES];
} block_ref;

typedef struct {
	uint64_t size;
	int64_t mtime;
	uint32_t generation;
	unsigned char commit[20];
	size_t nblocks;
	block_ref *blocks;           /* malloc'd */
} version_rec;

/* users.c, cases.c, keys.c, purposes.c */
int vault_user__get(user_rec *out, MDB_txn *txn, vault *v, const char *name);
int vault_user__put(MDB_txn *txn, vault *v, const char *name, const user_rec *u);
int vault_user__check_name(const char *name, const char *what);
int vault_case__get(case_rec *out, MDB_txn *txn, vault *v, const char *code);
int vault_case__put(MDB_txn *txn, vault *v, const case_rec *c);
void vault_case__dispose(case_rec *c);
member_rec *vault_case__member(case_rec *c, const char *user);
/* The case key of `epoch` for the unlocked user (cached); VAULT_EACCES. */
int vault_case__key(const unsigned char **out, MDB_txn *txn, vault *v,
	case_rec *c, uint32_t epoch);
/* The per-case key for folder lookups, borrowed from the session's cache. */
int vault_case__lookup_key(const unsigned char **out, MDB_txn *txn, vault *v, case_rec *c);
/* Start a new epoch if retired, seal the key to members who lack it. */
int vault_case__settle(MDB_txn *txn, vault *v, case_rec *c, int *changed);
int vault_policy__maintain(vault *v);
int vault_policy__purpose_check(MDB_txn *txn, vault *v, const char *purpose);

/* settings.c: the anomaly thresholds of the settings, defaults filled in. */
typedef struct {
	uint64_t bulk_count;         /* more than this many reads ... */
	int64_t bulk_window;         /* ... within this many seconds */
	int work_start, work_end;    /* minutes of the UTC day: [start, end) */
	unsigned int work_days;      /* bit n: tm_wday n (0 Sunday) is a working day */
	int64_t membership_window;   /* reads of a case this soon after a grant or revoke */
	uint64_t unlock_count;       /* more than this many failed unlocks ... */
	int64_t unlock_window;       /* ... within this many seconds */
	char work_text[112];         /* "mon,tue,wed,thu,fri 07:00-19:00" */
} vault_anomaly_settings;
int vault_settings__anomaly(vault_anomaly_settings *out, MDB_txn *txn, vault *v);

/* docs.c */
int vault_node__get(node_rec *out, MDB_txn *txn, vault *v, uint64_t id);
int vault_node__put(MDB_txn *txn, vault *v, const node_rec *n);
int vault_version__get(version_rec *out, MDB_txn *txn, vault *v, uint64_t node, uint32_t version);
void vault_version__dispose(version_rec *r);
void vault_version__commitment(unsigned char out[32], const version_rec *r);

/* Text of the tree files, generated from records; used to build events and
 * to check the state against the head tree. */
int vault_blob__user(vault_buf *out, const char *name, const user_rec *u);
int vault_blob__case(vault_buf *out, const case_rec *c);
int vault_blob__node(vault_buf *out, const node_rec *n);
int vault_blob__settings(vault_buf *out, vault *v, MDB_txn *txn);
void vault_node_path(char out[64], uint64_t id);

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

/* vault.c */
int vault__begin(MDB_txn **out, vault *v, int write);
/*
 * A read transaction that the history's object database reads through
 * too (its current transaction), until it ends: for walks of the history
 * outside an event. Events get theirs from vault_event__run().
 */
int vault__begin_walk(MDB_txn **out, vault *v);
int vault__require_unlocked(vault *v);
/* The text of a `meta` record, NUL-ended; empty when absent. */
int vault__meta_text(vault_buf *out, MDB_txn *txn, vault *v, const char *key);
int vault__meta_get(MDB_val *out, MDB_txn *txn, vault *v, const char *key);
int vault__meta_put(MDB_txn *txn, vault *v, const char *key, const void *val, size_t len);
int vault__git_error(const char *what);
int64_t vault__now(void);
/* The time now, in nanoseconds since 1970 (file times). */
#define VAULT_NS 1000000000LL
int64_t vault__now_ns(void);
void vault_time__from_ns(vault_time *out, int64_t ns);
/* Whole seconds of a time in nanoseconds, rounded down (as the manifest's
 * 'mtime SECONDS.NANOSECONDS' says them, also before 1970). */
int64_t vault_time__sec(int64_t ns);
/* The largest |seconds| a time in nanoseconds since 1970 can hold. */
#define VAULT_TIME_SEC_MAX 9223372035LL
/* A time the vault can keep: 0 and *ns set; -1 if its nanoseconds or its
 * seconds are out of range. */
int vault_time__to_ns(int64_t *ns, const vault_time *t);
void vault_random_code(char *out, size_t n);
int vault_user__create(user_rec *u, unsigned char **sk_out, const char *name,
	vault_role_t role, const char *pass, size_t passlen);
int vault_user__rewrap(user_rec *u, const char *name, const unsigned char *sk,
	const char *pass, size_t passlen);

#endif
