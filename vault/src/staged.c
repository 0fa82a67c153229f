/*
 * staged — the registry of writes in progress, and the collection of what
 * dead writes stored ahead of their version (staged.h).
 *
 * Whether a write is still running is told by its process: the process id
 * names a running process whose start time and boot are those recorded.
 * LMDB works on one machine only (its lock file), so every writer of the
 * vault is a process of this machine. The record keeps no time in plain:
 * the start time goes into a hash with the boot id and the process id.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>

#include "fault.h"
#include "staged.h"
#include "util/buf.h"
#include "util/errors.h"

#define PREFIX      "staged/"
#define PREFIX_LEN  (sizeof PREFIX - 1)
#define KEY_LEN     (PREFIX_LEN + 2 * VAULT_STAGED_TOKEN)
#define OWNER_BYTES 16
#define HEAD_LEN    (1 + 4 + OWNER_BYTES + 8 + 4 + 4)  /* format ‖ pid ‖ owner ‖ node ‖ key gen ‖ count */
#define STAGED_FORMAT 1

static void entry_key(char key[KEY_LEN + 1], const unsigned char token[VAULT_STAGED_TOKEN])
{
	memcpy(key, PREFIX, PREFIX_LEN);
	sodium_bin2hex(key + PREFIX_LEN, 2 * VAULT_STAGED_TOKEN + 1, token, VAULT_STAGED_TOKEN);
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Who process `pid` is, writing to this very file: a hash of the boot
 * id, the pid, its start time (field 22 of /proc/PID/stat, after the
 * name in parentheses) and the file's device and inode (a record copied
 * into another vault file, by a backup, names no writer of it).
 * -1: no such process. */
static int owner_of(unsigned char out[OWNER_BYTES], vault_store *st, uint32_t pid)
{
	struct stat sb;
	uint64_t file[2] = { 0, 0 };
	int fd;
	static const char domain[] = "cv-staged-owner";
	char path[64], stat[1024], boot[64];
	crypto_generichash_state h;
	const char *p;
	int field;

	snprintf(path, sizeof path, "/proc/%u/stat", (unsigned)pid);
	if (read_small(path, stat, sizeof stat) < 0 || (p = strrchr(stat, ')')) == NULL)
		return -1;
	/* A zombie has ended: nothing reaps it where no init does. */
	if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return -1;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (read_small("/proc/sys/kernel/random/boot_id", boot, sizeof boot) < 0)
		boot[0] = '\0';
	crypto_generichash_init(&h, NULL, 0, OWNER_BYTES);
	crypto_generichash_update(&h, (const unsigned char *)domain, sizeof domain);
	crypto_generichash_update(&h, (const unsigned char *)boot, strlen(boot) + 1);
	crypto_generichash_update(&h, (const unsigned char *)&pid, sizeof pid);
	crypto_generichash_update(&h, (const unsigned char *)p, strcspn(p, " ") + 1);
	if (mdb_env_get_fd(st->env, &fd) == 0 && fstat(fd, &sb) == 0) {
		file[0] = (uint64_t)sb.st_dev;
		file[1] = (uint64_t)sb.st_ino;
	}
	crypto_generichash_update(&h, (const unsigned char *)file, sizeof file);
	crypto_generichash_final(&h, out, OWNER_BYTES);
	return 0;
}

/* A record's process still runs. */
static int writer_alive(vault_store *st, const unsigned char *rec)
{
	unsigned char now[OWNER_BYTES];

	return owner_of(now, st, be32_get(rec + 1)) == 0 && sodium_memcmp(now, rec + 5, OWNER_BYTES) == 0;
}

static int entry_parse(const MDB_val *d, uint64_t *node, uint32_t *key_gen, uint32_t *n)
{
	const unsigned char *p = d->mv_data;

	if (d->mv_size < HEAD_LEN || p[0] != STAGED_FORMAT)
		return -1;
	*node = be64_get(p + 5 + OWNER_BYTES);
	*key_gen = be32_get(p + 13 + OWNER_BYTES);
	*n = be32_get(p + 17 + OWNER_BYTES);
	return d->mv_size == HEAD_LEN + (size_t)*n * 16 ? 0 : -1;
}

int vault_staged__note(MDB_txn *txn, vault_store *st, const unsigned char token[VAULT_STAGED_TOKEN],
	uint64_t node, uint32_t key_gen, uint64_t first, uint64_t next)
{
	char key[KEY_LEN + 1];
	unsigned char *rec = NULL, *last;
	uint64_t had_node;
	uint32_t had_gen = 0, n = 0;
	size_t len;
	MDB_val d;
	int error;

	entry_key(key, token);
	error = vault_store__get(txn, st->meta, key, KEY_LEN, &d);
	if (error < 0 && error != VAULT_ENOTFOUND)
		return error;
	if (error == 0 && (entry_parse(&d, &had_node, &had_gen, &n) < 0 || had_node != node))
		return vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: record 'meta/%s' does not parse", key);
	if ((rec = malloc(HEAD_LEN + ((size_t)n + 1) * 16)) == NULL)
		return vault_error_set_oom();
	if (n)
		memcpy(rec, d.mv_data, HEAD_LEN + (size_t)n * 16);
	rec[0] = STAGED_FORMAT;
	be32_put(rec + 1, (uint32_t)getpid());
	if (owner_of(rec + 5, st, (uint32_t)getpid()) < 0)
		memset(rec + 5, 0, OWNER_BYTES);
	be64_put(rec + 5 + OWNER_BYTES, node);
	be32_put(rec + 13 + OWNER_BYTES, key_gen ? key_gen : had_gen);
	/* Chunks of one write mostly follow each other: one range. */
	last = rec + HEAD_LEN + (size_t)(n ? n - 1 : 0) * 16;
	if (n && be64_get(last + 8) == first) {
		be64_put(last + 8, next);
	} else if (next > first) {
		be64_put(rec + HEAD_LEN + (size_t)n * 16, first);
		be64_put(rec + HEAD_LEN + (size_t)n * 16 + 8, next);
		n++;
	}
	be32_put(rec + 17 + OWNER_BYTES, n);
	len = HEAD_LEN + (size_t)n * 16;
	error = vault_store__put(txn, st->meta, key, KEY_LEN, rec, len, 0);
	free(rec);
	return error;
}

/* The block records of `node` from id `first` to `next` - 1, found by a
 * cursor: a range costs what it holds, however wide it says it is. */
static int id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int drop_range(vault_staged__result *res, MDB_txn *txn, vault_store *st, uint64_t node,
	uint64_t first, uint64_t next, const uint64_t *keep, size_t nkeep)
{
	unsigned char k[16];
	MDB_cursor *cur;
	MDB_val key = { sizeof k, k }, d;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(txn, st->blocks, &cur)) != 0)
		return vault_store__error(rc, "collect staged blocks");
	be64_put(k, node);
	be64_put(k + 8, first);
	/* After a delete the cursor is on the next record: MDB_NEXT gives it. */
	for (rc = mdb_cursor_get(cur, &key, &d, MDB_SET_RANGE);
	     rc == 0 && key.mv_size == 16 && be64_get(key.mv_data) == node &&
	     be64_get((unsigned char *)key.mv_data + 8) < next;
	     rc = mdb_cursor_get(cur, &key, &d, MDB_NEXT)) {
		uint64_t id = be64_get((unsigned char *)key.mv_data + 8);
		if (keep && bsearch(&id, keep, nkeep, sizeof *keep, id_cmp))
			continue;
		res->bytes += d.mv_size;
		if ((error = vault_store__check_write(txn, "blocks", key.mv_data, key.mv_size)) < 0)
			break;
		VAULT_FAULT_ENTER();
		rc = mdb_cursor_del(cur, 0);
		VAULT_FAULT_LEAVE();
		if (rc != 0)
			break;
		res->blocks++;
	}
	mdb_cursor_close(cur);
	if (error < 0)
		return error;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : vault_store__error(rc, "collect staged blocks");
}

/* What record `key` (its value `d`, copied) names goes, but for the
 * blocks in `keep` (sorted; NULL: none) and then the node key, and the
 * record. */
static int drop_entry(vault_staged__result *res, MDB_txn *txn, vault_store *st,
	const MDB_val *key, const MDB_val *d, const uint64_t *keep, size_t nkeep)
{
	unsigned char k[12], *copy;
	uint64_t node;
	uint32_t key_gen, n;
	int error = 0;

	if ((copy = malloc(d->mv_size ? d->mv_size : 1)) == NULL)
		return vault_error_set_oom();
	memcpy(copy, d->mv_data, d->mv_size);
	if (entry_parse(&(MDB_val){ d->mv_size, copy }, &node, &key_gen, &n) < 0)
		n = 0, key_gen = 0, node = 0;    /* damaged: only the record goes */
	be64_put(k, node);
	for (uint32_t i = 0; i < n && error == 0; i++)
		error = drop_range(res, txn, st, node, be64_get(copy + HEAD_LEN + (size_t)i * 16),
			be64_get(copy + HEAD_LEN + (size_t)i * 16 + 8), keep, nkeep);
	if (error == 0 && key_gen && !keep) {
		be32_put(k + 8, key_gen);
		error = vault_store__del(txn, st->nodekeys, k, 12);
		if (error == 0)
			res->keys++;
		else if (error == VAULT_ENOTFOUND)
			error = 0;
	}
	free(copy);
	if (error == 0 && (error = vault_store__del(txn, st->meta, key->mv_data, key->mv_size)) == 0)
		res->writes++;
	return error;
}

int vault_staged__done(MDB_txn *txn, vault_store *st, const unsigned char token[VAULT_STAGED_TOKEN],
	uint64_t *keep, size_t nkeep)
{
	vault_staged__result res = { 0 };
	char key[KEY_LEN + 1];
	MDB_val k = { KEY_LEN, key }, d;
	int error;

	entry_key(key, token);
	if ((error = vault_store__get(txn, st->meta, key, KEY_LEN, &d)) < 0)
		return error == VAULT_ENOTFOUND ? 0 : error;
	qsort(keep, nkeep, sizeof *keep, id_cmp);
	return drop_entry(&res, txn, st, &k, &d, keep ? keep : (uint64_t[1]){ 0 }, nkeep);
}

void vault_staged__drop(vault_store *st, const unsigned char token[VAULT_STAGED_TOKEN])
{
	vault_staged__result res = { 0 };
	char key[KEY_LEN + 1];
	MDB_txn *txn = NULL;
	MDB_val k = { KEY_LEN, key }, d;

	entry_key(key, token);
	if (vault_store__begin(&txn, st, VAULT_STORE_FREES) < 0)
		return;
	if (vault_store__get(txn, st->meta, key, KEY_LEN, &d) == 0 &&
	    drop_entry(&res, txn, st, &k, &d, NULL, 0) == 0) {
		vault_store__commit(st, txn);
		return;
	}
	vault_store__abort(st, txn);
}

/* The keys of the records to collect (every one with `all`, else those
 * whose process is gone), counting the others as live. */
static int dead_keys(char (**out)[KEY_LEN], size_t *n, vault_staged__result *res, MDB_txn *txn,
	vault_store *st, int all)
{
	MDB_cursor *cur;
	MDB_val k = { PREFIX_LEN, PREFIX }, d;
	char (*keys)[KEY_LEN] = NULL;
	size_t cap = 0;
	int rc, error = 0;

	*out = NULL;
	*n = 0;
	if ((rc = mdb_cursor_open(txn, st->meta, &cur)) != 0)
		return vault_store__error(rc, "read the staged writes");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	     rc == 0 && k.mv_size >= PREFIX_LEN && !memcmp(k.mv_data, PREFIX, PREFIX_LEN);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != KEY_LEN)
			continue;
		if (!all && d.mv_size >= HEAD_LEN && writer_alive(st, d.mv_data)) {
			res->live++;
			continue;
		}
		if ((error = vault_array_grow(&keys, &cap, *n, sizeof *keys, 4)) < 0)
			break;
		memcpy(keys[(*n)++], k.mv_data, KEY_LEN);
	}
	mdb_cursor_close(cur);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = vault_store__error(rc, "read the staged writes");
	*out = keys;
	return error;
}

int vault_staged__collect(vault_staged__result *out, vault_store *st, int all)
{
	vault_staged__result res = { 0 };
	char (*keys)[KEY_LEN] = NULL;
	MDB_txn *txn = NULL;
	size_t n = 0;
	MDB_val k, d;
	int error;

	if (out)
		memset(out, 0, sizeof *out);
	/* A read first: most opens find nothing, and write nothing. */
	if ((error = vault_store__begin(&txn, st, 0)) < 0)
		return error;
	error = dead_keys(&keys, &n, &res, txn, st, all);
	vault_store__abort(st, txn);
	free(keys);
	if (error < 0 || n == 0)
		goto done;
	/* Again in the write transaction: a write may have ended meanwhile. */
	res.live = 0;
	if ((error = vault_store__begin(&txn, st, VAULT_STORE_FREES)) < 0)
		goto done;
	error = dead_keys(&keys, &n, &res, txn, st, all);
	for (size_t i = 0; i < n && error == 0; i++) {
		k.mv_size = KEY_LEN;
		k.mv_data = keys[i];
		if (vault_store__get(txn, st->meta, keys[i], KEY_LEN, &d) == 0)
			error = drop_entry(&res, txn, st, &k, &d, NULL, 0);
	}
	free(keys);
	if (error < 0)
		vault_store__abort(st, txn);
	else
		error = vault_store__commit(st, txn);
done:
	if (out && error == 0)
		*out = res;
	return error;
}
