/*
 * Test helpers shared by the unit tests that tamper with a vault:
 * raw LMDB access to a vault directory (bypassing the library), copies of
 * vault directories, and in-memory streams for vault_put / vault_get.
 *
 * Never open a directory with rawdb while a vault handle is open on it in
 * the same process (LMDB forbids two environments on one file per process):
 * close the vault, edit, reopen.
 */
#ifndef TESTS_RAWDB_H
#define TESTS_RAWDB_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "support.h"

typedef struct {
	MDB_env *env;
	MDB_txn *txn;        /* one write transaction over everything */
} rawdb;

/* Open the environment in `dir` (its recorded map size is kept) and begin a
 * write transaction. Returns 0 or an MDB_* / errno code. */
int rawdb_open(rawdb *db, const char *dir);
/* Commit (`commit` != 0) or abort the transaction, then close. 0 or a code. */
int rawdb_close(rawdb *db, int commit);

/*
 * Records named by a user or a case lie at locators (records.h): the
 * functions below take the plain key ("users" "bob", "sealed"
 * "C-XXXXXXXX/00000001/bob", "meta" "checkpoint/bob") and edit the record
 * at its locator. Users, and the history's keys sealed to them, are
 * located with the vault id (read from the file); cases, case keys, audit
 * keys and checkpoints with the index key, which the test names first:
 * rawdb_names(dir, user, pass) takes it from `dir` opened for `user`
 * (vault_open_history: no session, nothing written; `pass` NULL: the
 * user's support_pass), rawdb_names_from(v) from an unlocked handle. It stays for later
 * calls (copies of the vault share it). 0, or -1.
 */
struct vault;
int rawdb_names(const char *dir, const char *user, const char *pass);
void rawdb_names_from(struct vault *keys);

/* Where record `key` of `dbname` lies in `db`: *k its locator (in `loc`)
 * or the key as given. 0, or a code. */
int rawdb_locate(MDB_val *k, unsigned char loc[16], rawdb *db, const char *dbname,
	const void *key, size_t klen);

/* Record `key` of sub-database `dbname` ("meta", "users", ..., "git").
 * `val` points into the map and is valid until the next change or close.
 * Returns 0, MDB_NOTFOUND or another code. */
int rawdb_get(rawdb *db, const char *dbname, const void *key, size_t klen, MDB_val *val);
int rawdb_put(rawdb *db, const char *dbname, const void *key, size_t klen,
	const void *val, size_t vlen);
/* A `users` record written by any function here gets its checksum
 * recomputed, as a forger's would (records.h: the checksum tells damage,
 * not forgery, which the trust gate refuses); with this set, it is
 * written as given, as damage leaves it. */
extern int rawdb_damage_users;
int rawdb_del(rawdb *db, const char *dbname, const void *key, size_t klen);
/* Number of records; (size_t)-1 if the sub-database cannot be opened. */
size_t rawdb_count(rawdb *db, const char *dbname);
/* Call `cb` for each record in key order until it returns non-zero (that
 * value is returned). Do not change the sub-database from `cb`. */
int rawdb_foreach(rawdb *db, const char *dbname,
	int (*cb)(const MDB_val *k, const MDB_val *v, void *payload), void *payload);

/* `cp -a from to` (`to` must not exist). 0 on success. */
int rawdb_copy_dir(const char *from, const char *to);
/* The whole file, malloc'd (NULL on failure). */
unsigned char *rawdb_read_file(const char *path, size_t *len);
int rawdb_write_file(const char *path, const void *data, size_t len, unsigned mode);

/* ---- one-shot edits of a closed vault directory (open, change, commit) ---- */

/* XOR the byte at `off` of record `key` with `mask` (`off` < 0 counts from
 * the end: -1 is the last byte). 0, MDB_NOTFOUND, or another code. */
int rawdb_flip(const char *dir, const char *dbname, const void *key, size_t klen,
	long off, unsigned char mask);
/* The same for a record sealed at its place ("cases", "nodes": records.h),
 * as an insider who holds the index key (rawdb_names) can: `off` counts in
 * the plain bytes, and the record is sealed again. */
int rawdb_flip_sealed(const char *dir, const char *dbname, const void *key, size_t klen,
	long off, unsigned char mask);
/* The plain bytes of such a record (vault_rec__free them; NULL if absent
 * or it does not open), and a record sealed from plain bytes at `key`. */
unsigned char *rawdb_fetch_open(const char *dir, const char *dbname, const void *key, size_t klen,
	size_t *len);
int rawdb_set_sealed(const char *dir, const char *dbname, const void *key, size_t klen,
	const unsigned char *plain, size_t len);
/* Set or delete one record. 0 or a code. */
int rawdb_set(const char *dir, const char *dbname, const void *key, size_t klen,
	const void *val, size_t vlen);
int rawdb_remove(const char *dir, const char *dbname, const void *key, size_t klen);
/* A malloc'd copy of record `key` (NULL if absent or on failure). */
unsigned char *rawdb_fetch(const char *dir, const char *dbname, const void *key, size_t klen,
	size_t *vlen);
/* The 20 bytes of a history object's id from its 40 hex digits; -1 if not one. */
int rawdb_oid(unsigned char out[20], const char *hex);
/* History object `id` of a vault whose keys `keys` holds (support_keyring),
 * read from `db` (a copy) and decrypted: its content into *out (malloc'd),
 * its type. 0, or -1. */
struct vault;
int rawdb_object_get(unsigned char **out, size_t *len, int *type, rawdb *db, struct vault *keys,
	const unsigned char id[20]);
/* Store `data` as history object `id` (whether it matches or not) in `db`,
 * under the newest generation of `keys`. 0 or an LMDB code. */
int rawdb_object_put(rawdb *db, struct vault *keys, const unsigned char id[20], int type,
	const void *data, size_t len);
/* Remove history object `hex` from the copy at `dir` of the vault at
 * `from` (support_object_key, as `user`). 0, MDB_NOTFOUND, or a code. */
int rawdb_remove_object(const char *dir, const char *from, const char *user, const char *hex);
/* Swap the values of two keys of one table. */
int rawdb_swap(const char *dir, const char *dbname, const void *k1, size_t l1,
	const void *k2, size_t l2);
/* Copy `n` bytes at `off` of the value of `from` over the same bytes of the
 * value of `to` (n 0: to the end; then both values have the same size). */
int rawdb_splice(const char *dir, const char *dbname, const void *from, size_t flen,
	const void *to, size_t tlen, size_t off, size_t n);

/* How many keys (of any case and epoch, the audit key included; the
 * history's keys not) are sealed to `user` in the vault file; (size_t)-1 if it cannot be read. */
size_t rawdb_sealed_to(const char *dir, const char *user);

#endif
