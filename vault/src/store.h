/*
 * store — the LMDB environment and its sub-databases.
 *
 * One environment per vault directory, MDB_NOMETASYNC (one fsync per
 * transaction), file mode 0600. All raw MDB_* codes are translated here.
 */
#ifndef VAULT_STORE_H
#define VAULT_STORE_H

#include <stddef.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>

#define VAULT_FORMAT_VERSION 9

/*
 * The map grows on its own (store.c, "the map"): a new vault starts with
 * VAULT_DEFAULT_MAPSIZE; a write transaction starts with at least
 * VAULT_MAP_HEADROOM (or a quarter of the pages in use, if more) of the map
 * free past the last page, or the map first grows to twice the pages in
 * use, as far as the disk's free space allows, keeping VAULT_DISK_RESERVE
 * free. With less than the reserve free, no write transaction starts:
 * every event, reads included, fails with VAULT_ENOSPC.
 */
#define VAULT_DEFAULT_MAPSIZE (64ULL << 20)
#define VAULT_MAP_HEADROOM    (32ULL << 20)
#define VAULT_DISK_RESERVE    (16ULL << 20)
/* Larger than any disk the map grows to: a meta page that records more is
 * damage (LMDB would try to map it). */
#define VAULT_MAP_MAX         (1ULL << 46)

typedef struct vault_store {
	MDB_env *env;
	MDB_dbi meta, users, cases, sealed, nodes, dirents, nodekeys,
		versions, blocks, git;
	int statm;                       /* /proc/self/statm, or -1 */
	uint64_t mapped_max;             /* for vault_store__bound */
	uintptr_t map_base;              /* where the map starts, once known; 0 not yet */
	uintptr_t fault_base;            /* the map as the fault guard knows it (fault.h); 0 none */
	uint64_t fault_size;             /* its size */
	unsigned int psize;              /* LMDB's page size */
	/* The gate: LMDB remaps only with no transaction open in the
	 * process (it unmaps the old map), so every top-level transaction
	 * passes it, and a remap waits for them to end. */
	pthread_mutex_t gate;
	pthread_cond_t gate_cond;
	unsigned int active;             /* top-level transactions open */
	int remapping;                   /* a remap waits or runs: new ones wait */
	int gate_ready;
} vault_store;

/*
 * The transaction that the git object database backend reads and writes
 * through, per thread: set while an event is being built, so objects land in
 * the same transaction as the state they describe. NULL otherwise (the
 * backend then opens a short read transaction of its own).
 */
extern _Thread_local MDB_txn *vault_store__cur;
/* The last LMDB code the backend met (to tell a full map from other errors). */
extern _Thread_local int vault_store__last_rc;

/*
 * Open the environment in `dir`. With `mode` VAULT_STORE_CREATE, the
 * directory must be empty or missing; it is made mode 0700, the data file
 * 0600, map `mapsize` bytes to start with. Otherwise the map size is the
 * one recorded in the file. Either way the map grows when it fills
 * (VAULT_DEFAULT_MAPSIZE above). VAULT_STORE_SNAPSHOT opens a backup's
 * copy read-only, with no lock file (nothing writes to it, and its
 * directory may be read-only), whatever its file's mode.
 * Returns VAULT_ENOTFOUND (not a vault), VAULT_ECORRUPT (a foreign or
 * damaged file), VAULT_EEXISTS (create over something), VAULT_ERROR.
 */
#define VAULT_STORE_OPEN     0
#define VAULT_STORE_CREATE   1
#define VAULT_STORE_SNAPSHOT 2
/* Read-write without LMDB's lock file: for `compact`, which holds the lock
 * file's lock itself, exclusively (compact.c): no other process is in. */
#define VAULT_STORE_EXCLUSIVE 3
int vault_store__open(vault_store **out, const char *dir, int mode, uint64_t mapsize);

/*
 * LMDB's compacting copy of the environment (one read transaction: a
 * consistent state, while writers go on) written to `fd`, which may be a
 * pipe: the copy is written in order, without seeking.
 */
int vault_store__copy(vault_store *st, int fd);
/*
 * While the copy runs (from another thread): once this process has `max`
 * bytes of files mapped, drop its page table entries for the whole map,
 * as vault_store__trim does, so that a copy of a large vault does not
 * hold every page of it mapped. The map is read-only and file-backed:
 * what the copy reads next faults back in.
 */
void vault_store__copy_release(vault_store *st, uint64_t max);
void vault_store__close(vault_store *st);

/*
 * A top-level transaction. A read one adopts the map size another process
 * grew the map to (MDB_MAP_RESIZED). A write one first checks the disk
 * (VAULT_ENOSPC below the reserve: "cannot record the event: the disk
 * holding the vault is full") and the room left in the map (grown first
 * if short). Every transaction begun here ends with vault_store__commit or
 * vault_store__abort, on the thread that began it.
 */
int vault_store__begin(MDB_txn **out, vault_store *st, int write);
/* `write` for a transaction that only deletes (staged.c): it frees room,
 * so it begins below the disk's reserve and with the map as it is. */
#define VAULT_STORE_FREES 2
/*
 * After a write transaction failed with VAULT_ENOSPC and ended: if it was
 * the map that was full (not the disk), grow the map. 1: grown, the
 * transaction can be done again from the start; 0: the map was not full;
 * -1: it cannot grow (the disk is full; the error now says so). Only for
 * transactions whose work can be redone whole: events are not (their
 * functions change their payloads); the room in the map is checked before
 * every write transaction begins instead (vault_store__begin).
 */
int vault_store__map_grown(vault_store *st);
/* The headroom a write transaction starts with: VAULT_MAP_HEADROOM; tests
 * set 0 (no check) to meet a full map inside a transaction. */
extern uint64_t vault_store__headroom;
/*
 * A read transaction that the history's object database reads through
 * too (the thread's current transaction), until it ends: for walks of the
 * history outside an event (the log, reports, verify, export, the trust
 * gate), so that every object comes from one snapshot. Events get theirs
 * from the runner (event.c).
 */
int vault_store__begin_walk(MDB_txn **out, vault_store *st);
/* A write transaction inside `parent` (same thread): its changes join the
 * parent when it commits, and vanish alone when it aborts. */
int vault_store__begin_nested(MDB_txn **out, vault_store *st, MDB_txn *parent);
/* Commit `txn`; on failure it is aborted. Clears vault_store__cur if it was txn. */
int vault_store__commit(vault_store *st, MDB_txn *txn);
/* NULL-safe. Clears vault_store__cur if it was txn. */
void vault_store__abort(vault_store *st, MDB_txn *txn);

/* Flush what committed to the disk, the meta page included (the store runs
 * with MDB_NOMETASYNC: a crash may lose the last transaction otherwise). */
int vault_store__sync(vault_store *st);

/*
 * LMDB's own structure, for verify: every record of the tables that verify
 * does not read whole otherwise (the free pages, which every write
 * depends on; meta, sealed, dirents, nodekeys), walked in order, and each
 * list of free pages within the file. VAULT_ECORRUPT names the table.
 */
int vault_store__check(vault_store *st, MDB_txn *txn);

/*
 * Every page of `txn`'s snapshot used once (pages.c): by one table's tree
 * or listed free, never both, never twice, never neither. `txn` is a read
 * transaction just begun. @return 0; VAULT_ECORRUPT naming the page;
 * VAULT_EBUSY when writes have since reused the snapshot's meta page
 * (begin again).
 */
int vault_store__check_pages(vault_store *st, MDB_txn *txn);

/*
 * Before a write of `key` in table `name` ("git"; pages.c): the pages
 * LMDB may change for it, as they lie in the file, are sound (LMDB
 * changes a copy of each on the heap as its header says, and a damaged
 * one makes it write past that copy). 0, or VAULT_ECORRUPT naming the
 * page. NULL `name`: nothing to check.
 */
int vault_store__check_write(MDB_txn *txn, const char *name, const void *key, size_t klen);
/*
 * Before a write transaction commits: the pages its commit changes (the
 * free pages' table, and the table of tables, where each changed table's
 * record goes), as they lie in the file, are sound. 0 for a read
 * transaction; VAULT_ECORRUPT naming the page.
 */
int vault_store__check_commit(MDB_txn *txn);
/* The name of table `dbi` ("git"), or NULL. */
const char *vault_store__table_name(const vault_store *st, MDB_dbi dbi);

/*
 * `inmap`, a key or value read in a read-only transaction, lies in a page
 * that holds its own number, as LMDB writes every page: a page copied or
 * moved to another place (an old copy of a page, two pages swapped) is
 * not followed further. VAULT_ECORRUPT if not; 0 for what lies outside
 * the map (a write transaction's own pages).
 */
int vault_store__page_ok(const vault_store *st, const void *inmap);

/* Translate an MDB_* code into a vault error with `what` as context. */
int vault_store__error(int rc, const char *what);

/* Get/put helpers: return 0, VAULT_ENOTFOUND (get only), or an error. */
int vault_store__get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, MDB_val *out);
int vault_store__put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen,
	const void *v, size_t vlen, unsigned int flags);
int vault_store__del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen);

/*
 * Drop this process's page-table entries for a value read from the map, so
 * that streaming a large file through the map does not grow the resident
 * set. The pages stay in the page cache; the map is read-only and clean, so
 * a later access faults them back in.
 */
void vault_store__forget(const void *data, size_t len);

/*
 * The same for the whole map, found from `inmap`: any value read in `txn`,
 * a live read-only transaction (nothing happens in a write transaction;
 * every LMDB page starts with a header holding its number, so
 * the value's page tells where the map begins). Used every few megabytes
 * while streaming, and every few thousand events while verifying: the
 * kernel also maps pages around each fault, which a per-value forget does
 * not reach.
 */
void vault_store__trim(vault_store *st, MDB_txn *txn, const void *inmap);

/*
 * Keep the pages of files this process has mapped (the vault's map, in
 * effect) under st->mapped_max: drop them all (vault_store__trim) once
 * there are more. For long walks over the history (verify, export,
 * reports), every few reads: a fixed number of reads between drops bounds
 * nothing, as around each fault the kernel maps whatever neighbouring
 * pages the page cache holds (up to whole large folios), more the warmer
 * it is. VAULT_MAPPED_MAX by default; verify and export allow more for
 * their walks (each drop costs them the faults of what they read next).
 */
#define VAULT_MAPPED_MAX      (64ULL << 20)
#define VAULT_WALK_MAPPED_MAX (256ULL << 20)
void vault_store__bound(vault_store *st, MDB_txn *txn, const void *inmap);

/*
 * Before committing a large write transaction (`txn`, holding LMDB's
 * writer lock): keep the data file allocated ahead of its end, so that the
 * commit's pages land in blocks the file already has. A file that grows by
 * its own writes has its blocks allocated during each commit's fsync (the
 * allocator, the extent tree, the size), which made writing a large file
 * into a fresh vault run at half the speed of writing it into a full one.
 * With less than 16 MiB of room past the last page, 64 MiB are allocated
 * (fallocate: no data written, reads of it give zeros). Failures are
 * ignored: the room is a speed-up, not a need.
 */
void vault_store__grow(vault_store *st, MDB_txn *txn);

struct iovec;
/*
 * Read value `val` (found in `txn`) from the file into the buffers of
 * `iov`, which together hold exactly its size, without touching the map:
 * one copy from the page cache, with the kernel's readahead on the file,
 * instead of page faults, page tables and TLB misses on freshly read pages
 * of the map. The pages stay valid while `txn` lives (LMDB reuses no page a
 * reader may see). Returns 0, or -1 if the caller must read the map.
 */
int vault_store__readv(vault_store *st, MDB_txn *txn, const MDB_val *val,
	const struct iovec *iov, int n);

/*
 * vault_store__trim, and also drop the vault file's cached pages from
 * `from` to `to` bytes after `inmap` (a value read in `txn`, a live
 * read-only transaction; negative offsets lie before it), clean pages of
 * values committed before `txn`. Streamed content is not read back soon;
 * its pages, dropped, are reused for the next chunk instead of fresh
 * memory, which the kernel must clear first (and a virtual machine's host
 * must back: several times the cost of a copy).
 */
void vault_store__uncache(vault_store *st, MDB_txn *txn, const void *inmap, ptrdiff_t from,
	ptrdiff_t to);

/* Big-endian integer encoding for keys and records. */
static inline void be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; }
}
static inline uint64_t be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
	return v;
}
static inline void be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);  p[3] = (unsigned char)v;
}
static inline uint32_t be32_get(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
		((uint32_t)p[2] << 8) | p[3];
}

#endif
