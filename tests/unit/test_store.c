/*
 * Tests for opening and creating vaults (vault/src/store.c, vault.c):
 * what is not a vault, foreign and newer-format files, permissions,
 * init over something, a map that grows when it fills, the room a large write keeps
 * allocated past the end of the data file, and a damaged file: cut short
 * (refused at open), or failing under LMDB (the fault guard).
 */
#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "vault.h"
#include "fault.h"
#include "store.h"
#include "internal.h"
#include "harness.h"
#include "rawdb.h"

#define ADMIN_PASS "admin-passphrase"

/* The tests' reads give a purpose, as a new vault requires. */
static const vault_get_options read_opts = { VAULT_GET_OPTIONS_VERSION, 0, "test", NULL };

static void join(char *out, size_t n, const char *a, const char *b)
{
	snprintf(out, n, "%s/%s", a, b);
}

/* Names in `dir`, sorted, joined by ',' (for comparisons). */
static void dir_listing(char *out, size_t n, const char *dir)
{
	struct dirent **names;
	int k = scandir(dir, &names, NULL, alphasort);

	out[0] = '\0';
	for (int i = 0; i < k; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			strncat(out, names[i]->d_name, n - strlen(out) - 1);
			strncat(out, ",", n - strlen(out) - 1);
		}
		free(names[i]);
	}
	if (k >= 0)
		free(names);
}

/* A fresh vault in a new directory; closed. Returns its path in `out`. */
static void make_vault(char *out, size_t n, uint64_t mapsize)
{
	vault *v = NULL;

	join(out, n, harness_tmpdir(), "v");
	CHECK_RC(vault_init(&v, out, "dpo", ADMIN_PASS, strlen(ADMIN_PASS), mapsize), 0);
	vault_close(v);
}

static void test_not_a_vault(void)
{
	vault *v = NULL;
	char path[512], file[600];
	unsigned char junk[16384], *before, *after;
	size_t blen, alen;
	const char *empty = harness_tmpdir();

	/* An empty directory holds no vault. */
	CHECK_RC(vault_open(&v, empty), VAULT_ENOTFOUND);
	CHECK(v == NULL);

	/* A missing path. */
	join(path, sizeof path, empty, "missing");
	CHECK_RC(vault_open(&v, path), VAULT_ENOTFOUND);
	CHECK(v == NULL);
	CHECK(access(path, F_OK) != 0);      /* not created by open */

	/* A foreign data.mdb: random bytes, mode 0600. */
	join(path, sizeof path, harness_tmpdir(), "foreign");
	CHECK(mkdir(path, 0700) == 0);
	join(file, sizeof file, path, "data.mdb");
	fill_pattern(junk, sizeof junk, 42);
	CHECK(rawdb_write_file(file, junk, sizeof junk, 0600) == 0);
	before = rawdb_read_file(file, &blen);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);
	CHECK(v == NULL);
	after = rawdb_read_file(file, &alen);
	CHECK(before && after && blen == sizeof junk && alen == blen && !memcmp(before, after, blen));
	free(before);
	free(after);

	/*
	 * A zero-length data.mdb is not a vault either. LMDB treats an empty
	 * file as a new environment and writes its meta pages into it.
	 * BUG: vault_open on a directory whose data.mdb is empty writes a fresh
	 * LMDB environment (8 KiB of meta pages) into that file before failing
	 * with VAULT_ECORRUPT ("table 'meta' is missing"): opening must never
	 * write to something that is not a vault (store.c vault_store__open
	 * without `create` calls mdb_env_open without MDB_RDONLY and without
	 * checking the file is non-empty).
	 */
	join(path, sizeof path, harness_tmpdir(), "empty-file");
	CHECK(mkdir(path, 0700) == 0);
	join(file, sizeof file, path, "data.mdb");
	CHECK(rawdb_write_file(file, "", 0, 0600) == 0);
	{
		int rc = vault_open(&v, path);
		struct stat st;
		CHECK(rc == VAULT_ECORRUPT || rc == VAULT_ENOTFOUND);
		CHECK(v == NULL);
		CHECK(stat(file, &st) == 0);
		CHECK(st.st_size == 0);    /* BUG: see above (is 8192) */
		vault_close(v);
		v = NULL;
	}

	/* A regular file given as the vault directory. */
	join(path, sizeof path, harness_tmpdir(), "plain-file");
	CHECK(rawdb_write_file(path, "hello\n", 6, 0600) == 0);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);
	CHECK(v == NULL);
	before = rawdb_read_file(path, &blen);
	CHECK(before && blen == 6 && !memcmp(before, "hello\n", 6));
	free(before);
}

static void test_permissions_and_init(void)
{
	vault *v = NULL;
	char path[512], file[600], listing[1024], listing2[1024];
	unsigned char *before, *after;
	size_t blen, alen;
	struct stat st;
	vault_verify_result res;

	/* Init makes the directory 0700 and the data file 0600. */
	make_vault(path, sizeof path, 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	join(file, sizeof file, path, "data.mdb");
	CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	join(file, sizeof file, path, "lock.mdb");
	CHECK(stat(file, &st) != 0 || (st.st_mode & 077) == 0);

	/* Readable by group: refused. */
	join(file, sizeof file, path, "data.mdb");
	CHECK(chmod(file, 0640) == 0);
	CHECK_RC(vault_open(&v, path), VAULT_EACCES);
	CHECK(v == NULL);
	/* Back to 0600, the same vault opens (the refusal was the mode). */
	CHECK(chmod(file, 0600) == 0);
	CHECK_RC(vault_open(&v, path), 0);
	vault_close(v);
	v = NULL;
	/* Writable by others: refused too. */
	CHECK(chmod(file, 0602) == 0);
	CHECK_RC(vault_open(&v, path), VAULT_EACCES);
	CHECK(chmod(file, 0600) == 0);

	/* A second init over the vault: EEXISTS, the vault intact. */
	join(file, sizeof file, path, "data.mdb");
	before = rawdb_read_file(file, &blen);
	CHECK_RC(vault_init(&v, path, "other", ADMIN_PASS, strlen(ADMIN_PASS), 0), VAULT_EEXISTS);
	CHECK(v == NULL);
	after = rawdb_read_file(file, &alen);
	CHECK(before && after && alen == blen && !memcmp(before, after, blen));
	free(before);
	free(after);
	CHECK_RC(vault_open(&v, path), 0);
	if (v) {
		CHECK_RC(vault_unlock(v, "dpo", ADMIN_PASS, strlen(ADMIN_PASS)), 0);
		CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
		CHECK(res.events == 1);
		vault_close(v);
		v = NULL;
	}

	/* Init on a non-empty directory: EEXISTS, its content unchanged. */
	{
		const char *dir = harness_tmpdir();
		char notes[600];
		join(notes, sizeof notes, dir, "notes.txt");
		CHECK(rawdb_write_file(notes, "keep me\n", 8, 0644) == 0);
		dir_listing(listing, sizeof listing, dir);
		CHECK(!strcmp(listing, "notes.txt,"));
		CHECK_RC(vault_init(&v, dir, "dpo", ADMIN_PASS, strlen(ADMIN_PASS), 0), VAULT_EEXISTS);
		CHECK(v == NULL);
		dir_listing(listing2, sizeof listing2, dir);
		CHECK(!strcmp(listing, listing2));
		before = rawdb_read_file(notes, &blen);
		CHECK(before && blen == 8 && !memcmp(before, "keep me\n", 8));
		free(before);
		CHECK(stat(notes, &st) == 0 && (st.st_mode & 0777) == 0644);
	}

	/* A bad admin name leaves nothing behind. */
	{
		char dir[600];
		join(dir, sizeof dir, harness_tmpdir(), "bad");
		CHECK_RC(vault_init(&v, dir, "Bad Name", ADMIN_PASS, strlen(ADMIN_PASS), 0), VAULT_EUSAGE);
		CHECK(access(dir, F_OK) != 0);
	}
}

/* Rewrite meta "format" (or delete it) with raw LMDB. */
static void set_format(const char *dir, const unsigned char *val, size_t len)
{
	rawdb db;

	CHECK(rawdb_open(&db, dir) == 0);
	if (!db.env)
		return;
	if (val)
		CHECK(rawdb_put(&db, "meta", "format", 6, val, len) == 0);
	else
		CHECK(rawdb_del(&db, "meta", "format", 6) == 0);
	CHECK(rawdb_close(&db, 1) == 0);
}

static void test_format(void)
{
	static const unsigned char fmt1[5] = { 1, 0, 0, 0, 9 }, fmt2[5] = { 1, 0, 0, 0, 10 },
		fmt_old[5] = { 1, 0, 0, 0, 8 };
	static const unsigned char badrec[5] = { 9, 0, 0, 0, 1 }, shortrec[3] = { 1, 0, 1 };
	vault *v = NULL;
	char path[512];
	rawdb db;
	MDB_val val;

	make_vault(path, sizeof path, 0);

	/* The record as written by init: format byte, then 4 big-endian. */
	CHECK(rawdb_open(&db, path) == 0);
	if (db.env) {
		CHECK(rawdb_get(&db, "meta", "format", 6, &val) == 0);
		CHECK(val.mv_size == 5 && !memcmp(val.mv_data, fmt1, 5));
		rawdb_close(&db, 0);
	}

	/* A newer format. */
	set_format(path, fmt2, sizeof fmt2);
	CHECK_RC(vault_open(&v, path), VAULT_EVERSION);
	CHECK(v == NULL);
	/* An older one (format 8's enrol proved the key it installed, not
	 * the enrolment code: no Enrol-Proof trailer). */
	set_format(path, fmt_old, sizeof fmt_old);
	CHECK_RC(vault_open(&v, path), VAULT_EVERSION);
	CHECK(v == NULL);
	CHECK(strstr(vault_error_last()->message, "older casevault") != NULL);

	/* A damaged format record. */
	set_format(path, badrec, sizeof badrec);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);
	set_format(path, shortrec, sizeof shortrec);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);

	/* No format record. */
	set_format(path, NULL, 0);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);
	CHECK(v == NULL);

	/* Restored, it opens again (the failures above were the record). */
	set_format(path, fmt1, sizeof fmt1);
	CHECK_RC(vault_open(&v, path), 0);
	vault_close(v);
	v = NULL;

	/* A sub-database missing: not a casevault vault. */
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi d;
		char other[600];
		join(other, sizeof other, harness_tmpdir(), "lmdb");
		CHECK(mkdir(other, 0700) == 0);
		CHECK(mdb_env_create(&env) == 0);
		mdb_env_set_maxdbs(env, 16);
		CHECK(mdb_env_open(env, other, MDB_NOMETASYNC, 0600) == 0);
		CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
		CHECK(mdb_dbi_open(txn, "meta", MDB_CREATE, &d) == 0);
		CHECK(mdb_txn_commit(txn) == 0);
		mdb_env_close(env);
		CHECK_RC(vault_open(&v, other), VAULT_ECORRUPT);
		CHECK(v == NULL);
	}
}

static uint64_t map_size(vault *v)
{
	MDB_envinfo info;

	return mdb_env_info(v->st->env, &info) == 0 ? info.me_mapsize : 0;
}

/* Put `len` bytes of pattern `seed` at `fpath`; 0 or the error. */
static int put_pattern(uint32_t *ver, vault *v, const char *fpath, unsigned char *data, size_t len,
	int seed)
{
	mem_src src;

	fill_pattern(data, len, seed);    /* incompressible, no shared blocks */
	src = (mem_src){ data, len, 0 };
	return vault_put(ver, v, fpath, mem_src_read, &src);
}

static void check_reads_back(vault *v, const char *fpath, const unsigned char *data, size_t len)
{
	mem_sink sink = { 0 };

	CHECK_RC(vault_get(v, fpath, &read_opts, mem_sink_write, &sink), 0);
	CHECK(sink.len == len && !memcmp(sink.data, data, len));
	mem_sink_free(&sink);
}

/* A new vault with a 1 MiB map, alice in it with a case; open. The vaults
 * of the growth tests share one temporary directory. */
static vault *small_vault(char *path, size_t n, char code[VAULT_CODE_SIZE])
{
	static const char *base;
	static int made;
	vault *v = NULL;

	if (!base)
		base = harness_tmpdir();
	snprintf(path, n, "%s/g%d", base, ++made);
	CHECK_RC(vault_init(&v, path, "dpo", ADMIN_PASS, strlen(ADMIN_PASS), 1u << 20), 0);
	vault_close(v);
	v = NULL;
	CHECK_RC(vault_open(&v, path), 0);
	if (!v)
		return NULL;
	CHECK_RC(vault_unlock(v, "dpo", ADMIN_PASS, strlen(ADMIN_PASS)), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_case_create(code, v, NULL), 0);
	return v;
}

/*
 * The map grows. A vault made with a 1 MiB map takes a 3 MiB document: the
 * write transaction starts with room (the map grew before it began), and the
 * fault guard knows the grown map. Then with no room checked before a
 * write (headroom 0), writes meet the full map inside their transaction: a
 * document's chunk stored in a transaction of its own is stored again once
 * the map grew; an event that meets it is not run again (its function
 * changed its payload), it fails whole with "run it again", and the next
 * attempt works. Every acknowledged document reads back, verify passes.
 */
static void test_map_grows(void)
{
	vault *v = NULL;
	char path[512], code[VAULT_CODE_SIZE], fpath[64], head[VAULT_OID_SIZE], head2[VAULT_OID_SIZE];
	size_t big = 3u << 20, huge = 20u << 20;
	unsigned char *data = malloc(huge);
	vault_verify_result res;
	uint64_t before;
	uint32_t ver = 99;

	if ((v = small_vault(path, sizeof path, code)) == NULL)
		goto out;
	snprintf(fpath, sizeof fpath, "%s/big.bin", code);
	CHECK_RC(put_pattern(&ver, v, fpath, data, big, 7), 0);
	CHECK(map_size(v) > VAULT_MAP_HEADROOM);
	CHECK(ver == 1);
	check_reads_back(v, fpath, data, big);
	CHECK(v->st->fault_size == map_size(v));
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	vault_close(v);
	v = NULL;

	/* A 1 MiB map again, and no room made before writes. 20 MiB: the
	 * chunks stored in transactions of their own meet the full map and
	 * are stored again once it grew; the put succeeds at once. */
	vault_store__headroom = 0;
	if ((v = small_vault(path, sizeof path, code)) == NULL)
		goto out;
	snprintf(fpath, sizeof fpath, "%s/huge.bin", code);
	CHECK(map_size(v) == 1u << 20);
	CHECK_RC(put_pattern(&ver, v, fpath, data, huge, 9), 0);
	CHECK(ver == 1);
	CHECK(map_size(v) > huge);
	CHECK(v->st->fault_size == map_size(v));
	check_reads_back(v, fpath, data, huge);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	before = map_size(v);
	vault_close(v);

	/* Reopened: the size recorded in the file. */
	CHECK_RC(vault_open(&v, path), 0);
	if (!v)
		goto out;
	CHECK(map_size(v) == before);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	check_reads_back(v, fpath, data, huge);
	vault_close(v);

	/* 3 MiB: one chunk, stored in the event's transaction. The event
	 * meets the full map, is not done, and the map grows for the next. */
	if ((v = small_vault(path, sizeof path, code)) == NULL)
		goto out;
	CHECK_RC(vault_head(head, v), 0);
	snprintf(fpath, sizeof fpath, "%s/big.bin", code);
	before = map_size(v);
	CHECK(before == 1u << 20);
	CHECK_RC(put_pattern(&ver, v, fpath, data, big, 8), VAULT_EBUSY);
	CHECK(strstr(vault_error_last()->message, "run it again") != NULL);
	CHECK(ver == 0);
	CHECK_RC(vault_head(head2, v), 0);
	CHECK(!strcmp(head, head2));
	CHECK(map_size(v) >= 2 * before);
	CHECK(v->st->fault_size == map_size(v));
	CHECK_RC(put_pattern(&ver, v, fpath, data, big, 8), 0);
	CHECK(ver == 1);
	check_reads_back(v, fpath, data, big);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
out:
	vault_store__headroom = VAULT_MAP_HEADROOM;
	vault_close(v);
	free(data);
}

/*
 * The map's size recorded in the file is the attacker's to write. Huge:
 * refused at open as damage (LMDB would try to map it). Smaller than the
 * data: LMDB maps the data at least, and the map grows again.
 */
static void test_map_size_recorded(void)
{
	vault *v = NULL;
	char path[512], file[600], code[VAULT_CODE_SIZE], fpath[64];
	unsigned char *data = malloc(1u << 20);
	uint64_t huge = 1ULL << 62, tiny = 4096;
	uint32_t ver;
	int fd;

	if ((v = small_vault(path, sizeof path, code)) == NULL)
		goto out;
	vault_close(v);
	v = NULL;
	join(file, sizeof file, path, "data.mdb");
	CHECK((fd = open(file, O_RDWR)) >= 0);
	CHECK(pwrite(fd, &huge, 8, 4096 + 32) == 8);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);
	CHECK(v == NULL);
	CHECK(strstr(vault_error_last()->message, "the vault file is damaged: its meta page 1 records a map") != NULL);
	CHECK(pwrite(fd, &tiny, 8, 32) == 8 && pwrite(fd, &tiny, 8, 4096 + 32) == 8);
	close(fd);
	CHECK_RC(vault_open(&v, path), 0);
	if (!v)
		goto out;
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	snprintf(fpath, sizeof fpath, "%s/after.bin", code);
	CHECK_RC(put_pattern(&ver, v, fpath, data, 1u << 20, 3), 0);
	check_reads_back(v, fpath, data, 1u << 20);
out:
	vault_close(v);
	free(data);
}

/* A write transaction begun and ended on a thread of its own. */
typedef struct {
	vault_store *st;
	int done, error;
} gate_writer;

static void *gate_write(void *payload)
{
	gate_writer *w = payload;
	MDB_txn *txn = NULL;

	if ((w->error = vault_store__begin(&txn, w->st, 1)) == 0)
		vault_store__abort(w->st, txn);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The gate: a growth waits for the transactions of the process to end. A
 * read transaction holds a value in the map while another thread begins a
 * write that finds the map short: the growth waits, the value stays
 * readable; once the reader ends, the map grows and the write begins.
 */
static void test_map_gate(void)
{
	char path[512], code[VAULT_CODE_SIZE];
	gate_writer w = { NULL, 0, 0 };
	unsigned char copy[256];
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, d;
	pthread_t t;
	uint64_t before;
	vault *v;

	if ((v = small_vault(path, sizeof path, code)) == NULL)
		return;
	CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
	CHECK(mdb_cursor_open(txn, v->st->meta, &cur) == 0);
	CHECK(mdb_cursor_get(cur, &k, &d, MDB_FIRST) == 0);
	CHECK(d.mv_size > 0 && d.mv_size <= sizeof copy);
	memcpy(copy, d.mv_data, d.mv_size);
	before = map_size(v);
	vault_store__headroom = before;       /* every write finds the map short */
	w.st = v->st;
	CHECK(pthread_create(&t, NULL, gate_write, &w) == 0);
	usleep(300000);
	CHECK(!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE));
	CHECK(map_size(v) == before);
	CHECK(!memcmp(copy, d.mv_data, d.mv_size));
	mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	pthread_join(t, NULL);
	CHECK(w.done);
	CHECK_RC(w.error, 0);
	CHECK(map_size(v) > before);
	CHECK(v->st->fault_size == map_size(v));
	CHECK(v->st->active == 0);
	vault_store__headroom = VAULT_MAP_HEADROOM;
	vault_close(v);
}

/* A reader thread: gets `fpath` until told to stop; counts wrong reads. */
typedef struct {
	vault *v;
	const char *fpath;
	const unsigned char *want;
	size_t len;
	int stop, reads, wrong;
	char message[256];
} grow_reader;

static void *grow_read(void *payload)
{
	grow_reader *r = payload;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		mem_sink sink = { 0 };
		int rc = vault_get(r->v, r->fpath, &read_opts, mem_sink_write, &sink);

		if (rc != 0 || sink.len != r->len || memcmp(sink.data, r->want, r->len)) {
			if (!r->wrong++)
				snprintf(r->message, sizeof r->message, "%d: %s", rc, vault_error_last()->message);
		}
		r->reads++;
		mem_sink_free(&sink);
	}
	return NULL;
}

/*
 * The map grows under the threads of one process: four threads read a
 * document in a loop while the main thread puts 80 MiB into a vault made
 * with a 1 MiB map. Each growth remaps once the readers' transactions have
 * ended (the gate); every read gives the document, and the fault guard
 * knows the last map.
 */
static void test_map_grows_threads(void)
{
	enum { READERS = 4, DOCS = 10 };
	size_t seed_len = 100000, doc = 8u << 20;
	unsigned char *seed = malloc(seed_len), *data = malloc(doc);
	char path[512], code[VAULT_CODE_SIZE], seed_path[64], fpath[64];
	grow_reader r[READERS];
	pthread_t t[READERS];
	vault_verify_result res;
	uint64_t first;
	uint32_t ver;
	vault *v;

	if ((v = small_vault(path, sizeof path, code)) == NULL)
		goto out;
	snprintf(seed_path, sizeof seed_path, "%s/seed.bin", code);
	CHECK_RC(put_pattern(&ver, v, seed_path, seed, seed_len, 1), 0);
	first = map_size(v);
	for (int i = 0; i < READERS; i++) {
		r[i] = (grow_reader){ v, seed_path, seed, seed_len, 0, 0, 0, "" };
		pthread_create(&t[i], NULL, grow_read, &r[i]);
	}
	for (int i = 0; i < DOCS; i++) {
		snprintf(fpath, sizeof fpath, "%s/doc%d.bin", code, i);
		CHECK_RC(put_pattern(&ver, v, fpath, data, doc, 10 + i), 0);
	}
	for (int i = 0; i < READERS; i++) {
		__atomic_store_n(&r[i].stop, 1, __ATOMIC_RELAXED);
		pthread_join(t[i], NULL);
		CHECK(r[i].reads > 0);
		CHECK(r[i].wrong == 0);
		if (r[i].message[0])
			fprintf(stderr, "reader %d: %s\n", i, r[i].message);
	}
	CHECK(map_size(v) > 2 * first);
	CHECK(v->st->fault_size == map_size(v));
	CHECK(v->st->active == 0);
	for (int i = 0; i < DOCS; i++) {
		snprintf(fpath, sizeof fpath, "%s/doc%d.bin", code, i);
		fill_pattern(data, doc, 10 + i);
		check_reads_back(v, fpath, data, doc);
	}
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	vault_close(v);
out:
	free(seed);
	free(data);
}


/*
 * A large write keeps the data file allocated ahead of its last page (its
 * commits then land in blocks the file has); the file stays a valid vault.
 */
static void test_grow(void)
{
	vault *v = NULL;
	char path[512], file[600], code[VAULT_CODE_SIZE], fpath[64];
	size_t big = 9u << 20;
	unsigned char *data = malloc(big);
	vault_verify_result res;
	mem_sink sink = { 0 };
	struct stat sb;
	uint32_t ver;
	mem_src src;

	make_vault(path, sizeof path, 0);
	join(file, sizeof file, path, "data.mdb");
	CHECK_RC(vault_open(&v, path), 0);
	if (!v || !data)
		goto out;
	CHECK_RC(vault_unlock(v, "dpo", ADMIN_PASS, strlen(ADMIN_PASS)), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_case_create(code, v, NULL), 0);
	snprintf(fpath, sizeof fpath, "%s/big.bin", code);
	fill_pattern(data, big, 3);
	src = (mem_src){ data, big, 0 };
	CHECK_RC(vault_put(&ver, v, fpath, mem_src_read, &src), 0);
	/* 9 MiB written; the file holds 64 MiB more than its pages then. */
	CHECK(stat(file, &sb) == 0 && sb.st_size >= (64 << 20));
	vault_close(v);
	v = NULL;

	CHECK_RC(vault_open(&v, path), 0);
	if (!v)
		goto out;
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	CHECK_RC(vault_get(v, fpath, &read_opts, mem_sink_write, &sink), 0);
	CHECK(sink.len == big && !memcmp(sink.data, data, big));
	mem_sink_free(&sink);
out:
	vault_close(v);
	free(data);
}

/* The size the pages of the vault's newest meta page need. */
static off_t pages_size(const char *dir)
{
	MDB_envinfo info;
	MDB_stat st;
	rawdb db;
	off_t size = 0;

	if (rawdb_open(&db, dir) != 0)
		return 0;
	if (mdb_env_info(db.env, &info) == 0 && mdb_env_stat(db.env, &st) == 0)
		size = (off_t)(info.me_last_pgno + 1) * st.ms_psize;
	rawdb_close(&db, 0);
	return size;
}

/* A file cut short: refused at open, before LMDB follows a page past the
 * end (SIGBUS), with the sizes in the message. */
static void test_cut_short(void)
{
	vault *v = NULL;
	char path[512], file[600];
	off_t need;

	make_vault(path, sizeof path, 0);
	join(file, sizeof file, path, "data.mdb");
	need = pages_size(path);
	CHECK(need > 3 * 4096);
	CHECK(truncate(file, need) == 0);
	CHECK_RC(vault_open(&v, path), 0);     /* exactly its pages: whole */
	vault_close(v);
	v = NULL;
	CHECK(truncate(file, need - 4096) == 0);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);
	CHECK(v == NULL);
	CHECK(strstr(vault_error_last()->message, "the vault file is damaged") != NULL);
	CHECK(strstr(vault_error_last()->message, "cut short") != NULL);
}

/* Where in data.mdb the first list of free pages is: its count. 0 if none. */
static off_t free_list_at(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn = NULL;
	MDB_cursor *cur;
	MDB_val k, d;
	off_t at = 0;

	if (mdb_env_create(&env) != 0)
		return 0;
	if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 &&
	    mdb_cursor_open(txn, 0, &cur) == 0) {
		if (mdb_cursor_get(cur, &k, &d, MDB_FIRST) == 0) {
			/* A page starts with its number: the value's offset in the file. */
			uintptr_t page = (uintptr_t)d.mv_data & ~(uintptr_t)4095;
			uint64_t pgno;

			memcpy(&pgno, (const void *)page, 8);
			at = (off_t)(pgno * 4096 + ((uintptr_t)d.mv_data - page));
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return at;
}

/* A list of free pages whose count is more than it holds: LMDB's next
 * write would merge past its buffer. Refused at open. */
static void test_damaged_free_list(void)
{
	vault *v = NULL;
	char path[512], file[600], code[VAULT_CODE_SIZE];
	uint64_t count = 1000;
	off_t at;
	int fd;

	make_vault(path, sizeof path, 0);
	join(file, sizeof file, path, "data.mdb");
	/* A few events, so that pages were freed. */
	CHECK_RC(vault_open(&v, path), 0);
	if (!v)
		return;
	CHECK_RC(vault_unlock(v, "dpo", ADMIN_PASS, strlen(ADMIN_PASS)), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_case_create(code, v, NULL), 0);
	vault_close(v);
	v = NULL;
	CHECK((at = free_list_at(path)) > 0);
	CHECK((fd = open(file, O_WRONLY)) >= 0);
	CHECK(pwrite(fd, &count, 8, at) == 8);
	close(fd);
	CHECK_RC(vault_open(&v, path), VAULT_ECORRUPT);
	CHECK(v == NULL);
	CHECK(strstr(vault_error_last()->message, "the vault file is damaged: its table 'free pages'") != NULL);
}

/*
 * In a child: the guard set, `fn` run. Its exit status, and what it wrote
 * on stderr (in `err`).
 */
static int guarded_child(void (*fn)(const char *), const char *dir, char *err, size_t errsize)
{
	struct rlimit no_core = { 0, 0 };
	int fds[2], status = -1;
	ssize_t n, got = 0;
	pid_t pid;

	err[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		setrlimit(RLIMIT_CORE, &no_core);
		if (vault_guard_damage("guarded", NULL) < 0)
			_exit(1);
		fn(dir);
		_exit(0);
	}
	close(fds[1]);
	while (pid > 0 && (n = read(fds[0], err + got, errsize - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* The file cut short behind an open vault's back: LMDB's next page is
 * past the end of the file. */
static void read_after_cut(const char *dir)
{
	char file[600];
	vault *v = NULL;

	join(file, sizeof file, dir, "data.mdb");
	if (vault_open(&v, dir) < 0 || truncate(file, 2 * 4096) != 0)
		_exit(1);
	if (vault_unlock(v, "dpo", ADMIN_PASS, strlen(ADMIN_PASS)) < 0)
		_exit(4);
	_exit(0);
}

/* malloc's checks abort inside an LMDB call that writes (a page copied
 * past its buffer): damage. The same abort elsewhere is not. */
static void abort_in_write(const char *dir)
{
	(void)dir;
	VAULT_FAULT_ENTER();
	abort();
}

static void abort_elsewhere(const char *dir)
{
	(void)dir;
	abort();
}

/* LMDB's assertion, through the callback the store sets. */
static void lmdb_asserts(const char *dir)
{
	(void)dir;
	vault_fault__lmdb_assert(NULL, "mdb.c:1: Assertion 'x' failed");
}

/* A fault that is not on a vault's map: a bug. */
static void null_write(const char *dir)
{
	int *volatile p = (int *)(uintptr_t)16;

	(void)dir;
	*p = 1;
}

static void test_fault_guard(void)
{
	char path[512], err[1024];
	int status;

	make_vault(path, sizeof path, 0);
	status = guarded_child(read_after_cut, path, err, sizeof err);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(!strncmp(err, "guarded: the vault file is damaged: ", 36));
	CHECK(strstr(err, "\nhint: restore the vault from a backup") != NULL);
	CHECK(strchr(err, '\n') && strchr(strchr(err, '\n') + 1, '\n') == err + strlen(err) - 1);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 3)
		fprintf(stderr, "  status %#x, stderr: %s\n", status, err);
	status = guarded_child(abort_in_write, path, err, sizeof err);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(strstr(err, "the vault file is damaged: LMDB wrote past a buffer") != NULL);
	status = guarded_child(lmdb_asserts, path, err, sizeof err);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(strstr(err, "the vault file is damaged: LMDB met a page it cannot use (mdb.c:1:") != NULL);
	status = guarded_child(abort_elsewhere, path, err, sizeof err);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CHECK(err[0] == '\0');
	/* Any other fault keeps its effect: the handler before the guard's
	 * (AddressSanitizer's report), or the default action. */
	status = guarded_child(null_write, path, err, sizeof err);
	CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 3));
	CHECK(strstr(err, "the vault file is damaged") == NULL);
#ifndef __SANITIZE_ADDRESS__
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	CHECK(err[0] == '\0');
#endif
}

/* A value's page must hold its own number: a page copied to another
 * place is refused; what lies outside the map (a write's own pages) is
 * not looked at. */
static void test_page_numbers(void)
{
	unsigned char *map = aligned_alloc(4096, 3 * 4096), other[16];
	vault_store st;
	uint64_t pgno;

	if (!map)
		return;
	memset(&st, 0, sizeof st);
	memset(map, 0, 3 * 4096);
	st.fault_base = (uintptr_t)map;
	st.fault_size = 3 * 4096;
	st.psize = 4096;
	pgno = 1;
	memcpy(map + 4096, &pgno, 8);
	CHECK_RC(vault_store__page_ok(&st, map + 4096 + 100), 0);
	pgno = 7;    /* page 7, copied to where page 1 is */
	memcpy(map + 4096, &pgno, 8);
	CHECK_RC(vault_store__page_ok(&st, map + 4096 + 100), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "the vault file is damaged: page 1 holds page 7") != NULL);
	CHECK_RC(vault_store__page_ok(&st, other), 0);
	free(map);
}

/* A fresh vault named `name`, closed, in a folder the damaged-page tests
 * share (a test binary has few temporary folders). */
static void named_vault(char *out, size_t n, const char *name)
{
	static const char *base;
	vault *v = NULL;

	if (!base)
		base = harness_tmpdir();
	join(out, n, base, name);
	CHECK_RC(vault_init(&v, out, "dpo", ADMIN_PASS, strlen(ADMIN_PASS), 0), 0);
	vault_close(v);
}

/* named_vault, open as a store, with one record of 64 bytes at `key` in
 * `blocks`; NULL if it failed. */
static vault_store *store_with_block(char *path, size_t n, const char *name,
	const unsigned char key[16])
{
	vault_store *st = NULL;
	MDB_txn *txn = NULL;
	unsigned char val[64] = { 0 };

	named_vault(path, n, name);
	CHECK_RC(vault_store__open(&st, path, VAULT_STORE_OPEN, 0), 0);
	if (!st)
		return NULL;
	CHECK_RC(vault_store__begin(&txn, st, 1), 0);
	CHECK_RC(vault_store__put(txn, st->blocks, key, 16, val, sizeof val, 0), 0);
	CHECK_RC(vault_store__commit(st, txn), 0);
	return st;
}

/* Where in the file the page holding `dbi`'s record `key` lies (its page
 * number), read in a read transaction of the store. 0 if not found. */
static uint64_t leaf_of(vault_store *st, MDB_dbi dbi, const void *key, size_t klen)
{
	MDB_txn *txn = NULL;
	MDB_val k = { klen, (void *)key }, d;
	uint64_t pgno = 0;

	if (vault_store__begin(&txn, st, 0) < 0)
		return 0;
	if (mdb_get(txn, dbi, &k, &d) == 0)
		memcpy(&pgno, (const void *)((uintptr_t)d.mv_data & ~(uintptr_t)4095), 8);
	vault_store__abort(st, txn);
	return pgno;
}

/* Write 2 bytes at `at` of data.mdb. */
static void poke16(const char *dir, off_t at, uint16_t value)
{
	char file[600];
	int fd;

	join(file, sizeof file, dir, "data.mdb");
	CHECK((fd = open(file, O_WRONLY)) >= 0);
	CHECK(pwrite(fd, &value, 2, at) == 2);
	close(fd);
}

/*
 * A write into a leaf whose header is damaged: LMDB would copy the page
 * to a buffer of a page's size as the header's offsets say, past its
 * end, over the heap. Refused before LMDB changes anything, naming the
 * page, as a page copied over it is; another table's write still goes.
 */
static void test_damaged_leaf_write(void)
{
	vault_store *st = NULL;
	MDB_txn *txn = NULL;
	unsigned char key[16] = { 0xc5, 0x5e }, val[64] = { 0 };
	char path[512], want[128];
	uint64_t leaf;

	if ((st = store_with_block(path, sizeof path, "leaf", key)) == NULL)
		return;
	CHECK((leaf = leaf_of(st, st->blocks, key, sizeof key)) > 2);
	vault_store__close(st);
	st = NULL;

	/* Its lower offset far past the page's end. */
	poke16(path, (off_t)(leaf * 4096 + 12), 0xf000);
	CHECK_RC(vault_store__open(&st, path, VAULT_STORE_OPEN, 0), 0);
	if (!st)
		return;
	CHECK_RC(vault_store__begin(&txn, st, 1), 0);
	key[15] = 1;
	CHECK_RC(vault_store__put(txn, st->blocks, key, sizeof key, val, sizeof val, 0), VAULT_ECORRUPT);
	snprintf(want, sizeof want, "the vault file is damaged: page %llu has a damaged header",
		(unsigned long long)leaf);
	CHECK(strstr(vault_error_last()->message, want) != NULL);
	CHECK_RC(vault_store__del(txn, st->blocks, key, sizeof key), VAULT_ECORRUPT);
	/* Another table's pages are sound: it is written. */
	CHECK_RC(vault_store__put(txn, st->versions, key, sizeof key, val, sizeof val, 0), 0);
	vault_store__abort(st, txn);
	vault_store__close(st);
	st = NULL;

	/* The page holds another page's number: a page copied over it. */
	poke16(path, (off_t)(leaf * 4096 + 12), 16 + 2);
	poke16(path, (off_t)(leaf * 4096), (uint16_t)(leaf + 1));
	CHECK_RC(vault_store__open(&st, path, VAULT_STORE_OPEN, 0), 0);
	if (!st)
		return;
	CHECK_RC(vault_store__begin(&txn, st, 1), 0);
	CHECK_RC(vault_store__put(txn, st->blocks, key, sizeof key, val, sizeof val, 0), VAULT_ECORRUPT);
	snprintf(want, sizeof want, "the vault file is damaged: page %llu holds another page's number",
		(unsigned long long)leaf);
	CHECK(strstr(vault_error_last()->message, want) != NULL);
	vault_store__abort(st, txn);
	vault_store__close(st);
}

/*
 * Dropping the map's pages (vault_store__trim, on long reads) where a
 * value's page holds another page's number: the map is where it was
 * found at open, not where that number puts it; the page just below it
 * (heap, or here a page of ours) keeps its bytes.
 */
static void test_trim_damaged_page(void)
{
	vault_store *st = NULL;
	MDB_txn *txn = NULL;
	unsigned char key[16] = { 0x7e };
	MDB_val k = { sizeof key, key }, d;
	MDB_envinfo info;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	volatile unsigned char *below = MAP_FAILED;
	char path[512], file[600];
	uint64_t pgno = 0;
	int fd;

	if ((st = store_with_block(path, sizeof path, "trim", key)) == NULL)
		return;
	join(file, sizeof file, path, "data.mdb");
	CHECK_RC(vault_store__begin(&txn, st, 0), 0);
	CHECK(mdb_get(txn, st->blocks, &k, &d) == 0 && mdb_env_info(st->env, &info) == 0);
	memcpy(&pgno, (const void *)((uintptr_t)d.mv_data & ~(pg - 1)), 8);
	CHECK(st->fault_base != 0 && pgno > 2 && pgno < info.me_last_pgno);
	if (st->fault_base && pgno > 2 && pgno < info.me_last_pgno)
		below = mmap((void *)(st->fault_base - pg), pg, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (below != MAP_FAILED && (uintptr_t)below == st->fault_base - pg) {
		below[0] = 0x5a;
		pgno++;
		CHECK((fd = open(file, O_WRONLY)) >= 0);
		CHECK(pwrite(fd, &pgno, 8, (off_t)((pgno - 1) * 4096)) == 8);
		close(fd);
		vault_store__trim(st, txn, d.mv_data);
		CHECK(below[0] == 0x5a);
	} else {
		fprintf(stderr, "  (the page below the map is taken: not checked)\n");
	}
	if (below != MAP_FAILED)
		munmap((void *)below, pg);
	vault_store__abort(st, txn);
	vault_store__close(st);
}

/* A large value written over with a shorter one in the same transaction
 * keeps its pages (LMDB reuses them): more pages than its size needs is
 * sound, and the next write there goes. */
static void test_big_value_rewritten(void)
{
	vault_store *st = NULL;
	MDB_txn *txn = NULL;
	unsigned char key[16] = { 0xb1, 0x9 }, *val = calloc(1, 20000);
	char path[512];

	named_vault(path, sizeof path, "big");
	CHECK_RC(vault_store__open(&st, path, VAULT_STORE_OPEN, 0), 0);
	if (!st || !val) {
		free(val);
		return;
	}
	CHECK_RC(vault_store__begin(&txn, st, 1), 0);
	CHECK_RC(vault_store__put(txn, st->blocks, key, sizeof key, val, 20000, 0), 0);
	CHECK_RC(vault_store__put(txn, st->blocks, key, sizeof key, val, 5000, 0), 0);
	CHECK_RC(vault_store__commit(st, txn), 0);
	CHECK_RC(vault_store__begin(&txn, st, 0), 0);
	CHECK_RC(vault_store__check_pages(st, txn), 0);
	vault_store__abort(st, txn);
	CHECK_RC(vault_store__begin(&txn, st, 1), 0);
	CHECK_RC(vault_store__put(txn, st->blocks, key, sizeof key, val, 6000, 0), 0);
	key[15] = 1;
	CHECK_RC(vault_store__put(txn, st->blocks, key, sizeof key, val, 100, 0), 0);
	CHECK_RC(vault_store__commit(st, txn), 0);
	/* Verify's account of the pages counts them all as the value's. */
	CHECK_RC(vault_store__begin(&txn, st, 0), 0);
	CHECK_RC(vault_store__check_pages(st, txn), 0);
	vault_store__abort(st, txn);
	vault_store__close(st);
	free(val);
}

/* The table of free pages, which only a commit changes, with a leaf's
 * upper offset past its end: LMDB would copy the page's tail from there.
 * The commit is refused, nothing written. */
static void test_damaged_free_page_commit(void)
{
	vault_store *st = NULL;
	vault *v = NULL;
	MDB_txn *txn = NULL;
	unsigned char key[16] = { 0xf2 }, val[16] = { 0 };
	char path[512], want[128];
	off_t at;

	named_vault(path, sizeof path, "free");
	CHECK_RC(vault_open(&v, path), 0);
	if (!v)
		return;
	CHECK_RC(vault_unlock(v, "dpo", ADMIN_PASS, strlen(ADMIN_PASS)), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	vault_close(v);
	CHECK((at = free_list_at(path)) > 0);
	poke16(path, (at & ~(off_t)4095) + 14, 0xf000);
	CHECK_RC(vault_store__open(&st, path, VAULT_STORE_OPEN, 0), 0);
	if (!st)
		return;
	CHECK_RC(vault_store__begin(&txn, st, 1), 0);
	CHECK_RC(vault_store__put(txn, st->versions, key, sizeof key, val, sizeof val, 0), 0);
	CHECK_RC(vault_store__commit(st, txn), VAULT_ECORRUPT);
	snprintf(want, sizeof want, "the vault file is damaged: page %llu has a damaged header",
		(unsigned long long)(at / 4096));
	CHECK(strstr(vault_error_last()->message, want) != NULL);
	CHECK((uint64_t)leaf_of(st, st->versions, key, sizeof key) == 0);
	vault_store__close(st);
}

int main(void)
{
	umask(022);
	CHECK_RC(vault_global_init(), 0);
	test_not_a_vault();
	test_permissions_and_init();
	test_format();
	test_map_grows();
	test_map_grows_threads();
	test_map_gate();
	test_map_size_recorded();
	test_grow();
	test_cut_short();
	test_damaged_free_list();
	test_page_numbers();
	test_damaged_leaf_write();
	test_damaged_free_page_commit();
	test_big_value_rewritten();
	test_trim_damaged_page();
	test_fault_guard();
	return harness_done("test_store");
}
