/*
 * records.h — the vault's stored records, read and written in one place
 * (records.c), and the text of their files in the history tree.
 *
 * Records are LMDB values whose first byte is REC_FORMAT. Every getter
 * checks what it reads and fails with VAULT_ECORRUPT naming the record;
 * none of them decides who may read it or decrypts anything.
 */
#ifndef VAULT_RECORDS_H
#define VAULT_RECORDS_H

#include "vault/vault.h"
#include "store.h"
#include "vcrypto.h"
#include "util/buf.h"
#include "util/errors.h"

#define VAULT_BLOCK_SIZE 65536
#define REC_FORMAT      1         /* first byte of every stored record */
#define BLOCK_HOLE      UINT64_MAX /* a block id for zeros never written: no record */
#define BLOCK_HASHBYTES 32        /* a stored block's hash (vault_block__hash) */
/* A stored block record: format ‖ generation ‖ nonce ‖ ciphertext ‖ tag. */
#define BLOCK_REC_MIN   (1 + 4 + VCRYPTO_OVERHEAD)
#define BLOCK_REC_MAX   (BLOCK_REC_MIN + VAULT_BLOCK_SIZE)

/* Node types and states, as stored. */
enum { NODE_DIR = 1, NODE_FILE = 2 };
enum { NODE_LIVE = 1, NODE_DELETED = 2, NODE_SHREDDED = 3 };
/* A pending user was added and has not enrolled: no key pair yet. */
enum { USER_ACTIVE = 0, USER_DISABLED = 1, USER_PENDING = 2 };
/* Added to the stored status: the wrapped secret key is not in the history
 * (the first admin's, bound to the genesis, until their first passwd). */
#define USER_WRAP_OUTSIDE 0x80
#define NODE_FILE_MODE 0600      /* permission bits of a new file ... */
#define NODE_DIR_MODE  0700      /* ... and folder */
#define PATH_MAX_DEPTH VAULT_DEPTH_MAX   /* folders in a path, below the case */

/* A chain entry of a case record: the key of the epoch before, sealed. */
#define CHAIN_SIZE (VCRYPTO_OVERHEAD + VCRYPTO_KEYBYTES)
/* A key-check value: what an epoch's key must hash to (keys.c). */
#define KCV_SIZE 16
/* The id of a custodian set: BLAKE2b-128 of its lines (recovery.c). */
#define RECOVERY_SET_SIZE 16

typedef struct {
	vault_role_t role;
	int status;
	unsigned char pk[32];
	vcrypto_kdf kdf;
	unsigned char wrapped[VCRYPTO_OVERHEAD + VCRYPTO_SIGN_SKBYTES];
	int wrap_outside;            /* USER_WRAP_OUTSIDE */
	/* Pending only: the hash of the one-time enrolment code (never the
	 * code), and when it expires (seconds since 1970; stored encrypted
	 * under the index key, 0 when read by a session that holds none). */
	unsigned char enrol[32];
	int64_t enrol_expires;
} user_rec;

#define CASE_MAX_MEMBERS 64
/* A recovery request of a case (recovery.c): who asked the key for whom,
 * of which epoch's split, and the custodians who approved. */
#define RECOVERY_ID_SIZE 11          /* "R-" and 8 characters, NUL */
#define RECOVERY_MAX 32              /* custodians (VAULT_RECOVERY_MAX) */
#define CASE_MAX_REQUESTS 64
#define REQ_CANCELLED 2
typedef struct {
	char id[RECOVERY_ID_SIZE];
	char user[VAULT_NAME_MAX + 1];   /* the caseworker it is for */
	uint32_t epoch;                  /* the split it recovers */
	int granted;                     /* 0 open, 1 granted, REQ_CANCELLED */
	size_t napproved;
	char approved[RECOVERY_MAX][VAULT_NAME_MAX + 1];
} recovery_req;

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
	/* kcv[e-1]: the key-check value of epoch e, one per epoch; in the
	 * case's tree file, so the signed history vouches for every key */
	unsigned char (*kcv)[KCV_SIZE];
	/* The organisation's recovery (recovery.c): the epoch whose key was
	 * last split into shares for the custodians (0: never), and the
	 * custodian set it was split for (vault_rec__recovery_set). */
	uint32_t rec_epoch;
	unsigned char rec_set[RECOVERY_SET_SIZE];
	unsigned int rec_threshold;  /* of that set */
	size_t nreq;                 /* requests, malloc'd */
	recovery_req *req;
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
	uint32_t entries;            /* a folder's entries: its live files and folders */
} node_rec;

typedef struct {
	uint64_t id;
	unsigned char hash[BLOCK_HASHBYTES]; /* of its stored record; zeros for a hole */
} block_ref;

typedef struct {
	uint64_t size;
	int64_t mtime;
	uint32_t generation;
	unsigned char commit[20];
	size_t nblocks;
	block_ref *blocks;           /* malloc'd */
} version_rec;

/* ---- locators: where a record named by a user or a case lies ------------
 *
 * The keys of `users`, `cases`, `sealed` and meta `checkpoint/` records
 * that hold a user name or a case code are locators, never the names:
 * BLAKE2b-128, keyed with a `crypto_kdf` subkey (one context per table),
 * over the table's name (NUL-ended) and the record's plain key. User
 * records, and the sealed keys a user opens at unlock (`@index/`,
 * `@history/`, `@enrol/`), are found before any key is held: their subkey
 * comes from the vault id. The rest from the index key. `@failed/` and
 * `@hchain/` entries and the other meta records name no one: plain. */
#define VAULT_LOCATOR_SIZE 16
typedef struct {
	unsigned char b[64];
	size_t len;
} vault_rec_key;
enum { VAULT_LOC_PLAIN, VAULT_LOC_VAULT_ID, VAULT_LOC_INDEX };
/* How record `key` of table `table` ("users", "cases", "sealed", "meta")
 * is located, and the `crypto_kdf` context of its subkey. */
int vault_rec__locator_kind(const char *table, const char *key, const char **ctx);
/* Its locator, under vault `vault_id` and its index key `index` (unused
 * for VAULT_LOC_VAULT_ID). */
/* The name of a sealed case key's record: CODE/EPOCH(8 hex)/USER (stored at
 * its locator). */
void vault_rec__sealed_name(char *out, size_t n, const char *code, uint32_t epoch, const char *user);
/* The name of a recovery share of a case's epoch key sealed to custodian
 * `user`: @share/CODE/EPOCH(8 hex)/USER (stored at its locator). */
void vault_rec__share_name(char *out, size_t n, const char *code, uint32_t epoch, const char *user);
/* The name of an approved share of request `id`, sealed again by custodian
 * `approver` to the caseworker: @rshare/ID/APPROVER (at its locator). */
void vault_rec__handed_name(char *out, size_t n, const char *id, const char *approver);
/* The id of the custodian set that a text of policy/settings names: a
 * BLAKE2b-128 of "cv-recovery-set" (NUL-ended) and its `recovery-` lines,
 * each with its newline, in order; zeros when there is none. */
void vault_rec__recovery_set(unsigned char out[RECOVERY_SET_SIZE], const char *settings);
void vault_rec__locator(unsigned char out[VAULT_LOCATOR_SIZE], const char *vid,
	const unsigned char *index, const char *table, const char *key);
/* The stored key of record `key` of table `dbi`; VAULT_EAUTH when it is
 * located by the index key and none is held. */
int vault_rec__key(vault_rec_key *out, vault *v, MDB_dbi dbi, const char *key);
/* vault_store__get/put/del of record `key` at its locator. */
int vault_rec__get(MDB_txn *txn, vault *v, MDB_dbi dbi, const char *key, MDB_val *out);
int vault_rec__put(MDB_txn *txn, vault *v, MDB_dbi dbi, const char *key, const void *val, size_t len);
int vault_rec__del(MDB_txn *txn, vault *v, MDB_dbi dbi, const char *key);

/*
 * Case and node records are sealed whole under a subkey of the index key
 * (subkey 2, context `cv-meta_`), with associated data naming the vault,
 * the table and the key they are stored at (`at`): format ‖ nonce ‖
 * ciphertext ‖ tag. Seal or open one (VAULT_ECORRUPT, no message, when it
 * does not open at `at`); the plain bytes are malloc'd, vault_rec__free them.
 */
int vault_rec__seal(unsigned char **out, size_t *outlen, const vault *v, const char *table,
	const void *at, size_t atlen, const unsigned char *plain, size_t len);
int vault_rec__open(unsigned char **plain, size_t *plen, const vault *v, const char *table,
	const void *at, size_t atlen, const MDB_val *val);
void vault_rec__free(unsigned char *plain, size_t len);

/* ---- meta: the vault's own values (format, head, audit key, settings) --- */

/* The value of `key`, its format byte checked and skipped; VAULT_ENOTFOUND. */
int vault_meta__get(MDB_val *out, MDB_txn *txn, vault *v, const char *key);
/* A plain meta record holds at most VAULT_META_MAX bytes with its format
 * byte; a sealed one (the purposes, the lists of names) any length. */
#define VAULT_META_MAX 1024
int vault_meta__put(MDB_txn *txn, vault *v, const char *key, const void *val, size_t len);
/* The text of a `meta` record, NUL-ended; empty when absent. */
int vault_meta__text(vault_buf *out, MDB_txn *txn, vault *v, const char *key);
/* The purpose codes, newline-separated, and whether one is required. */
/* A meta record sealed under a subkey of the index key (bound to `key`):
 * the purposes, which name what the vault's work is about. The text is
 * NUL-terminated, "" when absent. */
int vault_meta__sealed_put(MDB_txn *txn, vault *v, const char *key, const void *val, size_t len);
int vault_meta__sealed_text(vault_buf *out, MDB_txn *txn, vault *v, const char *key);
/* The check values of the history's keys (meta `history-kcv`): the index
 * key's, then one per generation; *gens the generations. VAULT_ECORRUPT. */
int vault_meta__history_kcv(MDB_val *val, uint32_t *gens, MDB_txn *txn, vault *v);
int vault_meta__purposes(vault_buf *out, int *required, MDB_txn *txn, vault *v);

/* ---- users and cases ----------------------------------------------------- */

/* VAULT_EUSAGE unless `name` is a user name; `what` (NAME_USER ...) names it
 * in the error. */
enum { NAME_USER, NAME_MEMBER, NAME_CUSTODIAN, NAME_ADMIN };
int vault_user__check_name(const char *name, int what);
int vault_user__get(user_rec *out, MDB_txn *txn, vault *v, const char *name);
/* A user record ends with a checksum (16: BLAKE2b-128, keyed with
 * `cv-user-sum`, of its locator `loc` and the `len` - 16 bytes before
 * it), so that a damaged record is told from a wrong passphrase, and a
 * damaged key from a user that does not exist. Tests that forge a record
 * as an attacker would recompute it with this. */
#define USER_SUM_SIZE 16
#define USER_REC_SIZE (3 + 32 + 8 + 8 + VCRYPTO_SALTBYTES + VCRYPTO_OVERHEAD + VCRYPTO_SIGN_SKBYTES + 32 + 8 + \
	USER_SUM_SIZE)
void vault_user__sum(unsigned char out[USER_SUM_SIZE], const unsigned char *loc, const unsigned char *rec,
	size_t len);
int vault_user__put(MDB_txn *txn, vault *v, const char *name, const user_rec *u);

/*
 * Each user, or each case, in key order; the walk stops at the first
 * non-zero return of `cb`, which it returns. A case's chain is disposed
 * after `cb` returns. A record that does not read is VAULT_ECORRUPT.
 */
int vault_user__each(MDB_txn *txn, vault *v,
	int (*cb)(const char *name, const user_rec *u, void *payload), void *payload);
int vault_case__each(MDB_txn *txn, vault *v, int (*cb)(case_rec *c, void *payload), void *payload);

/* VAULT_EUSAGE unless `code` is a case code (C- and 8 characters). */
int vault_case__check_code(const char *code);
/* A case record; its chain and key-check values are malloc'd:
 * vault_case__dispose() it. */
int vault_case__get(case_rec *out, MDB_txn *txn, vault *v, const char *code);
int vault_case__put(MDB_txn *txn, vault *v, const case_rec *c);
void vault_case__dispose(case_rec *c);
/* The member entry of `user` in `c`, or NULL. */
member_rec *vault_case__member(case_rec *c, const char *user);
/* The recovery request `id` of `c`, or NULL. */
recovery_req *vault_case__request(case_rec *c, const char *id);

/* ---- nodes and versions --------------------------------------------------- */

/* "nodes/AB/CD/ABCD...": where node `id`'s file is in the history tree
 * (its 16 hex digits, under folders of the first two pairs). */
void vault_node__path(char out[64], uint64_t id);
/* A new live node of case `code` in folder `parent` (0 for a case root):
 * a random id, the default mode, every time now; not stored. */
void vault_node__init(node_rec *n, int type, const char *code, uint64_t parent);
int vault_node__get(node_rec *out, MDB_txn *txn, vault *v, uint64_t id);
int vault_node__put(MDB_txn *txn, vault *v, const node_rec *n);

/* A version record; its blocks are malloc'd: vault_version__dispose() it. */
int vault_version__get(version_rec *out, MDB_txn *txn, vault *v, uint64_t node, uint32_t version);
int vault_version__put(MDB_txn *txn, vault *v, uint64_t node, uint32_t version, const version_rec *r);
void vault_version__dispose(version_rec *r);
/* What a version's manifest commits to: its blocks' ids and hashes. */
void vault_version__commitment(unsigned char out[32], const version_rec *r);
struct iovec;
/*
 * The hash of block `id` of `node`, stored as the record whose bytes after
 * the format byte (generation ‖ nonce ‖ ciphertext ‖ tag) `iov` holds, in
 * `n` pieces: BLAKE2b-256 of "cv-block" (NUL-ended), node, block id and
 * those bytes. Unlike the tag it commits to every stored byte without a
 * key, so no key holder can make other bytes that match it.
 */
void vault_block__hash(unsigned char out[BLOCK_HASHBYTES], uint64_t node, uint64_t id,
	const struct iovec *iov, int n);

/* ---- the files of the history tree, made from records -------------------
 * Used to build events (event.c) and to check the state against the head
 * tree (verify_state.c): one function for both. */
/* Where each record's file is in the history tree. */
void vault_user__path(char out[64], const char *name);
void vault_case__path(char out[64], const char *code);
#define VAULT_SETTINGS_PATH "policy/settings"
int vault_blob__user(vault_buf *out, const char *name, const user_rec *u);
/* A case's file ends with "sealed HASH" (its sealed keys, as stored), a
 * node's with "keys HASH" (its node keys), an enrolled user's has
 * "wrapped HASH" (passphrase parameters and wrapped secret key): so that
 * verify, without any key, sees every stored byte a read depends on. */
int vault_blob__case(vault_buf *out, MDB_txn *txn, vault *v, const case_rec *c);
/* The rest of a case file's "handed ID " line when no share is handed
 * over for the request (none yet, or wiped by the grant): 64 hex digits. */
void vault_blob__handed_none(char hex[65]);
int vault_blob__node(vault_buf *out, MDB_txn *txn, vault *v, const node_rec *n);
/* BLAKE2b-256 of `domain` (NUL-ended), then of each record of `dbi` whose
 * key starts with `prefix`, in key order: u32 key length, key, u32 value
 * length, value. */
int vault_records__set_hash(unsigned char out[32], MDB_txn *txn, MDB_dbi dbi, const char *domain,
	const void *prefix, size_t plen);
/* The file of the stored record of user or case `name`, or of node `id`
 * (`kind` VAULT_REC_USER, VAULT_REC_CASE or VAULT_REC_NODE), and where it
 * goes in the tree (`path`, set even when reading the record fails). */
enum { VAULT_REC_USER, VAULT_REC_CASE, VAULT_REC_NODE };
int vault_blob__stored(vault_buf *out, char path[64], MDB_txn *txn, vault *v, int kind,
	const char *name, uint64_t id);
/* policy/settings: purposes, the audit key, the settings that were set,
 * the recovery's threshold and custodians (meta `recovery`, sealed). */
int vault_blob__settings(vault_buf *out, vault *v, MDB_txn *txn);

#endif
