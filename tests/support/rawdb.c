#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rawdb.h"
#include "harness.h"
#include "support.h"
#include "internal.h"
#include "policy.h"

int rawdb_open(rawdb *db, const char *dir)
{
	int rc;

	memset(db, 0, sizeof *db);
	if ((rc = mdb_env_create(&db->env)) != 0)
		return rc;
	mdb_env_set_maxdbs(db->env, 16);
	/* No mdb_env_set_mapsize: the size recorded in the file is adopted,
	 * so committing here does not change the vault's map size. */
	if ((rc = mdb_env_open(db->env, dir, MDB_NOMETASYNC, 0600)) != 0 ||
	    (rc = mdb_txn_begin(db->env, NULL, 0, &db->txn)) != 0) {
		mdb_env_close(db->env);
		memset(db, 0, sizeof *db);
		return rc;
	}
	return 0;
}

int rawdb_close(rawdb *db, int commit)
{
	int rc = 0;

	if (db->txn) {
		if (commit)
			rc = mdb_txn_commit(db->txn);
		else
			mdb_txn_abort(db->txn);
	}
	if (db->env)
		mdb_env_close(db->env);
	memset(db, 0, sizeof *db);
	return rc;
}

static int dbi(MDB_dbi *out, rawdb *db, const char *name)
{
	return mdb_dbi_open(db->txn, name, 0, out);
}

/* The vault whose index key locates records (rawdb_names). */
static struct {
	char id[VAULT_ID_SIZE];
	unsigned char index[VCRYPTO_KEYBYTES];
	int set;
} names;

void rawdb_names_from(struct vault *keys)
{
	memset(&names, 0, sizeof names);
	if (!keys || !keys->hk.index) {
		fprintf(stderr, "rawdb_names: no unlocked vault\n");
		harness_failures++;
		return;
	}
	snprintf(names.id, sizeof names.id, "%s", keys->id);
	memcpy(names.index, keys->hk.index, VCRYPTO_KEYBYTES);
	names.set = 1;
}

int rawdb_names(const char *dir, const char *user, const char *pass)
{
	vault *v = NULL;

	if (!pass)
		pass = support_pass(user);
	/* The history's keys only: no session, so nothing is written. */
	if (vault_open(&v, dir) != 0 || vault_open_history(v, user, pass, strlen(pass)) != 0) {
		fprintf(stderr, "rawdb_names: %s as %s: %s\n", dir, user, vault_error_last()->message);
		vault_close(v);
		v = NULL;
	}
	rawdb_names_from(v);
	vault_close(v);
	return names.set ? 0 : -1;
}

/*
 * Where record `key` of `dbname` lies: its locator when the library
 * stores it at one (a printable name of a user or a case), else the key
 * as given (a locator already, an id, a plain meta key).
 */
int rawdb_locate(MDB_val *k, unsigned char loc[VAULT_LOCATOR_SIZE], rawdb *db, const char *dbname,
	const void *key, size_t klen)
{
	char plain[128], id[VAULT_ID_SIZE];
	const char *ctx;
	MDB_dbi d;
	MDB_val idv, idk = { 8, (void *)"vault-id" };
	int kind;

	k->mv_size = klen;
	k->mv_data = (void *)key;
	if (klen >= sizeof plain)
		return 0;
	for (size_t i = 0; i < klen; i++)
		if (((const unsigned char *)key)[i] < 0x20 || ((const unsigned char *)key)[i] > 0x7e)
			return 0;
	memcpy(plain, key, klen);
	plain[klen] = '\0';
	if ((kind = vault_rec__locator_kind(dbname, plain, &ctx)) == VAULT_LOC_PLAIN)
		return 0;
	if (dbi(&d, db, "meta") != 0 || mdb_get(db->txn, d, &idk, &idv) != 0 ||
	    idv.mv_size != VAULT_ID_SIZE || ((unsigned char *)idv.mv_data)[0] != REC_FORMAT)
		return EINVAL;
	memcpy(id, (char *)idv.mv_data + 1, VAULT_ID_SIZE - 1);
	id[VAULT_ID_SIZE - 1] = '\0';
	if (kind == VAULT_LOC_INDEX && (!names.set || strcmp(names.id, id))) {
		fprintf(stderr, "rawdb: record '%s' of %s is located by the index key of vault %s: "
			"rawdb_names() it first\n", plain, dbname, id);
		harness_failures++;
		return EINVAL;
	}
	vault_rec__locator(loc, id, names.index, dbname, plain);
	k->mv_size = VAULT_LOCATOR_SIZE;
	k->mv_data = loc;
	return 0;
}

/* A vault handle that holds only what sealed records need: the id and
 * the index key of rawdb_names. */
static int names_vault(struct vault *fake)
{
	memset(fake, 0, sizeof *fake);
	if (!names.set)
		return EINVAL;
	snprintf(fake->id, sizeof fake->id, "%s", names.id);
	fake->hk.index = names.index;
	return 0;
}

unsigned char *rawdb_fetch_open(const char *dir, const char *dbname, const void *key, size_t klen,
	size_t *len)
{
	struct vault fake;
	unsigned char loc[VAULT_LOCATOR_SIZE], *plain = NULL;
	rawdb db;
	MDB_val k, val;
	MDB_dbi d;

	*len = 0;
	if (names_vault(&fake) != 0 || rawdb_open(&db, dir) != 0)
		return NULL;
	if (dbi(&d, &db, dbname) != 0 || rawdb_locate(&k, loc, &db, dbname, key, klen) != 0 ||
	    mdb_get(db.txn, d, &k, &val) != 0 ||
	    vault_rec__open(&plain, len, &fake, dbname, k.mv_data, k.mv_size, &val) < 0)
		plain = NULL;
	rawdb_close(&db, 0);
	return plain;
}

int rawdb_set_sealed(const char *dir, const char *dbname, const void *key, size_t klen,
	const unsigned char *plain, size_t len)
{
	struct vault fake;
	unsigned char loc[VAULT_LOCATOR_SIZE], *sealed = NULL;
	size_t slen;
	rawdb db;
	MDB_val k, val;
	MDB_dbi d;
	int rc;

	if ((rc = names_vault(&fake)) != 0 || (rc = rawdb_open(&db, dir)) != 0)
		return rc;
	if ((rc = dbi(&d, &db, dbname)) == 0 && (rc = rawdb_locate(&k, loc, &db, dbname, key, klen)) == 0) {
		rc = vault_rec__seal(&sealed, &slen, &fake, dbname, k.mv_data, k.mv_size, plain, len) < 0 ?
			EINVAL : 0;
		val.mv_data = sealed;
		val.mv_size = slen;
		if (rc == 0)
			rc = mdb_put(db.txn, d, &k, &val, 0);
	}
	free(sealed);
	if (rc != 0) {
		rawdb_close(&db, 0);
		return rc;
	}
	return rawdb_close(&db, 1);
}

int rawdb_flip_sealed(const char *dir, const char *dbname, const void *key, size_t klen,
	long off, unsigned char mask)
{
	size_t len, at;
	unsigned char *plain = rawdb_fetch_open(dir, dbname, key, klen, &len);
	int rc = EINVAL;

	if (!plain)
		return EINVAL;
	at = off < 0 ? len - (size_t)(-off) : (size_t)off;
	if (at < len) {
		plain[at] ^= mask;
		rc = rawdb_set_sealed(dir, dbname, key, klen, plain, len);
	}
	vault_rec__free(plain, len);
	return rc;
}

int rawdb_get(rawdb *db, const char *dbname, const void *key, size_t klen, MDB_val *val)
{
	unsigned char loc[VAULT_LOCATOR_SIZE];
	MDB_dbi d;
	MDB_val k;
	int rc;

	if ((rc = dbi(&d, db, dbname)) != 0 || (rc = rawdb_locate(&k, loc, db, dbname, key, klen)) != 0)
		return rc;
	return mdb_get(db->txn, d, &k, val);
}

int rawdb_damage_users;

int rawdb_put(rawdb *db, const char *dbname, const void *key, size_t klen,
	const void *val, size_t vlen)
{
	unsigned char loc[VAULT_LOCATOR_SIZE], user[USER_REC_SIZE];
	MDB_dbi d;
	MDB_val k, v = { vlen, (void *)val };
	int rc;

	if ((rc = dbi(&d, db, dbname)) != 0 || (rc = rawdb_locate(&k, loc, db, dbname, key, klen)) != 0)
		return rc;
	/* A forger recomputes a user record's checksum (records.h). */
	if (!rawdb_damage_users && !strcmp(dbname, "users") && vlen == USER_REC_SIZE &&
	    k.mv_size == VAULT_LOCATOR_SIZE) {
		memcpy(user, val, vlen);
		vault_user__sum(user + vlen - USER_SUM_SIZE, k.mv_data, user, vlen);
		v.mv_data = user;
	}
	return mdb_put(db->txn, d, &k, &v, 0);
}

int rawdb_del(rawdb *db, const char *dbname, const void *key, size_t klen)
{
	unsigned char loc[VAULT_LOCATOR_SIZE];
	MDB_dbi d;
	MDB_val k;
	int rc;

	if ((rc = dbi(&d, db, dbname)) != 0 || (rc = rawdb_locate(&k, loc, db, dbname, key, klen)) != 0)
		return rc;
	return mdb_del(db->txn, d, &k, NULL);
}

size_t rawdb_count(rawdb *db, const char *dbname)
{
	MDB_dbi d;
	MDB_stat st;

	if (dbi(&d, db, dbname) != 0 || mdb_stat(db->txn, d, &st) != 0)
		return (size_t)-1;
	return st.ms_entries;
}

int rawdb_foreach(rawdb *db, const char *dbname,
	int (*cb)(const MDB_val *k, const MDB_val *v, void *payload), void *payload)
{
	MDB_dbi d;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, ret = 0;

	if ((rc = dbi(&d, db, dbname)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(db->txn, d, &cur)) != 0)
		return rc;
	while (ret == 0 && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
		ret = cb(&k, &v, payload);
	mdb_cursor_close(cur);
	return ret;
}

int rawdb_copy_dir(const char *from, const char *to)
{
	char cmd[2048];

	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", from, to);
	return system(cmd) == 0 ? 0 : -1;
}

unsigned char *rawdb_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

int rawdb_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = len ? write(fd, data, len) : 0;
	if (close(fd) < 0 || n != (ssize_t)len)
		return -1;
	return chmod(path, mode);
}


int rawdb_flip(const char *dir, const char *dbname, const void *key, size_t klen,
	long off, unsigned char mask)
{
	rawdb db;
	MDB_val val;
	unsigned char *copy;
	size_t at;
	int rc;

	if ((rc = rawdb_open(&db, dir)) != 0)
		return rc;
	if ((rc = rawdb_get(&db, dbname, key, klen, &val)) != 0) {
		rawdb_close(&db, 0);
		return rc;
	}
	at = off < 0 ? val.mv_size - (size_t)(-off) : (size_t)off;
	if (at >= val.mv_size || (copy = malloc(val.mv_size)) == NULL) {
		rawdb_close(&db, 0);
		return EINVAL;
	}
	memcpy(copy, val.mv_data, val.mv_size);
	copy[at] ^= mask;
	rc = rawdb_put(&db, dbname, key, klen, copy, val.mv_size);
	free(copy);
	if (rc != 0) {
		rawdb_close(&db, 0);
		return rc;
	}
	return rawdb_close(&db, 1);
}

int rawdb_set(const char *dir, const char *dbname, const void *key, size_t klen,
	const void *val, size_t vlen)
{
	rawdb db;
	int rc;

	if ((rc = rawdb_open(&db, dir)) != 0)
		return rc;
	if ((rc = rawdb_put(&db, dbname, key, klen, val, vlen)) != 0) {
		rawdb_close(&db, 0);
		return rc;
	}
	return rawdb_close(&db, 1);
}

int rawdb_remove(const char *dir, const char *dbname, const void *key, size_t klen)
{
	rawdb db;
	int rc;

	if ((rc = rawdb_open(&db, dir)) != 0)
		return rc;
	if ((rc = rawdb_del(&db, dbname, key, klen)) != 0) {
		rawdb_close(&db, 0);
		return rc;
	}
	return rawdb_close(&db, 1);
}

int rawdb_oid(unsigned char out[20], const char *hex)
{
	memset(out, 0, 20);
	if (strlen(hex) != 40 || strspn(hex, "0123456789abcdefABCDEF") != 40)
		return -1;
	for (size_t i = 0; i < 20; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

unsigned char *rawdb_fetch(const char *dir, const char *dbname, const void *key, size_t klen,
	size_t *vlen)
{
	rawdb db;
	MDB_val val;
	unsigned char *copy = NULL;

	*vlen = 0;
	if (rawdb_open(&db, dir) != 0)
		return NULL;
	if (rawdb_get(&db, dbname, key, klen, &val) == 0 &&
	    (copy = malloc(val.mv_size ? val.mv_size : 1)) != NULL) {
		memcpy(copy, val.mv_data, val.mv_size);
		*vlen = val.mv_size;
	}
	rawdb_close(&db, 0);
	return copy;
}

int rawdb_swap(const char *dir, const char *dbname, const void *k1, size_t l1,
	const void *k2, size_t l2)
{
	size_t alen, blen;
	unsigned char *a = rawdb_fetch(dir, dbname, k1, l1, &alen);
	unsigned char *b = rawdb_fetch(dir, dbname, k2, l2, &blen);
	int rc = -1;

	if (a && b && rawdb_set(dir, dbname, k1, l1, b, blen) == 0 &&
	    rawdb_set(dir, dbname, k2, l2, a, alen) == 0)
		rc = 0;
	free(a);
	free(b);
	return rc;
}

int rawdb_splice(const char *dir, const char *dbname, const void *from, size_t flen,
	const void *to, size_t tlen, size_t off, size_t n)
{
	size_t alen, blen;
	unsigned char *a = rawdb_fetch(dir, dbname, from, flen, &alen);
	unsigned char *b = rawdb_fetch(dir, dbname, to, tlen, &blen);
	int rc = -1;

	if (a && b && n == 0 && alen == blen && off <= alen)
		n = alen - off;
	if (a && b && n && off + n <= alen && off + n <= blen) {
		memcpy(b + off, a + off, n);
		rc = rawdb_set(dir, dbname, to, tlen, b, blen);
	}
	free(a);
	free(b);
	return rc;
}

typedef struct {
	MDB_txn *txn;
	vault *v;
	const char *user;
	size_t n;
} sealed_count;

static int count_sealed(case_rec *c, void *payload)
{
	sealed_count *sc = payload;
	char skey[64];
	MDB_val val;

	for (uint32_t e = 1; e <= c->epoch; e++) {
		vault_rec__sealed_name(skey, sizeof skey, c->code, e, sc->user);
		sc->n += vault_rec__get(sc->txn, sc->v, sc->v->st->sealed, skey, &val) == 0;
	}
	return 0;
}

/* Through the library (the locators are keyed), with the index key of
 * rawdb_names: each case's keys of each epoch, and the audit key. */
size_t rawdb_sealed_to(const char *dir, const char *user)
{
	sealed_count sc = { NULL, NULL, user, 0 };
	char akey[VAULT_NAME_MAX + 16];
	MDB_val val;
	size_t n = (size_t)-1;

	if (!names.set || vault_open(&sc.v, dir) != 0)
		return n;
	if (strcmp(sc.v->id, names.id) == 0 && vault_vcrypto__secret_alloc(&sc.v->hk.index, VCRYPTO_KEYBYTES) == 0 &&
	    vault_store__begin(&sc.txn, sc.v->st, 0) == 0) {
		memcpy(sc.v->hk.index, names.index, VCRYPTO_KEYBYTES);
		snprintf(akey, sizeof akey, "@audit/%s", user);
		if (vault_case__each(sc.txn, sc.v, count_sealed, &sc) == 0)
			n = sc.n + (vault_rec__get(sc.txn, sc.v, sc.v->st->sealed, akey, &val) == 0);
		vault_store__abort(sc.v->st, sc.txn);
	}
	vault_close(sc.v);
	return n;
}

int rawdb_remove_object(const char *dir, const char *from, const char *user, const char *hex)
{
	unsigned char k[20];

	if (support_object_key(k, from, user, hex) < 0)
		return EINVAL;
	return rawdb_remove(dir, "git", k, 20);
}

int rawdb_object_get(unsigned char **out, size_t *len, int *type, rawdb *db, struct vault *keys,
	const unsigned char id[20])
{
	unsigned char loc[20];
	MDB_val val;

	*out = NULL;
	vault_odb__locator(loc, &keys->hk, id);
	if (rawdb_get(db, "git", loc, 20, &val) != 0 || val.mv_size < VAULT_ODB_OVERHEAD + 1 ||
	    (*out = malloc(val.mv_size - VAULT_ODB_OVERHEAD)) == NULL)
		return -1;
	if (vault_odb__open(*out, len, &keys->hk, keys->id, id, &val) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*type = (*out)[0];
	memmove(*out, *out + 1, --*len);
	return 0;
}

int rawdb_object_put(rawdb *db, struct vault *keys, const unsigned char id[20], int type,
	const void *data, size_t len)
{
	unsigned char loc[20], *rec = malloc(VAULT_ODB_OVERHEAD + 1 + len);
	int rc;

	if (!rec)
		return ENOMEM;
	vault_odb__locator(loc, &keys->hk, id);
	vault_odb__seal(rec, &keys->hk, keys->id, id, type, data, len, keys->hk.checked);
	rc = rawdb_put(db, "git", loc, 20, rec, VAULT_ODB_OVERHEAD + 1 + len);
	free(rec);
	return rc;
}
