#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <git2/sys/odb_backend.h>

#include "fault.h"
#include "odb_lmdb.h"
#include "records.h"
#include "util/errors.h"

typedef struct {
	git_odb_backend parent;
	vault_store *st;
	const vault_hkeys *hk;
	const char *vid;
} odb_lmdb;

void vault_odb__locator(unsigned char out[20], const vault_hkeys *hk, const unsigned char id[20])
{
	crypto_generichash(out, 20, id, 20, hk->index, 32);
}

/* Associated data of an object: the vault and the object's id. */
static size_t object_ad(unsigned char ad[64], const char *vid, const unsigned char id[20])
{
	size_t n = (size_t)snprintf((char *)ad, 64, "cv-object:%s:", vid);

	memcpy(ad + n, id, 20);
	return n + 20;
}

static void object_hex(char hex[GIT_OID_HEXSZ + 1], const unsigned char id[20])
{
	git_oid oid;

	git_oid_fromraw(&oid, id);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &oid);
}

int vault_odb__get(MDB_val *val, MDB_txn *txn, vault_store *st, const vault_hkeys *hk,
	const unsigned char id[20])
{
	unsigned char loc[20];
	char hex[GIT_OID_HEXSZ + 1];
	int error;

	if (hk->index == NULL)
		return vault_error_set(VAULT_EAUTH,
			"the history is encrypted and this session holds no key of it: no user is unlocked");
	vault_odb__locator(loc, hk, id);
	if ((error = vault_store__get(txn, st->git, loc, 20, val)) < 0)
		return error;
	if (val->mv_size < VAULT_ODB_OVERHEAD + 1 || ((unsigned char *)val->mv_data)[0] != REC_FORMAT) {
		object_hex(hex, id);
		return vault_error_set(VAULT_ECORRUPT, "history object %s is damaged", hex);
	}
	return 0;
}

int vault_odb__open(unsigned char *plain, size_t *len, const vault_hkeys *hk, const char *vid,
	const unsigned char id[20], const MDB_val *val)
{
	const unsigned char *p = val->mv_data;
	unsigned char ad[64];
	uint32_t gen = be32_get(p + 1);
	size_t adlen = object_ad(ad, vid, id);
	unsigned long long mlen;
	char hex[GIT_OID_HEXSZ + 1];

	object_hex(hex, id);
	if (gen == 0 || gen > __atomic_load_n(&hk->held, __ATOMIC_ACQUIRE))
		return vault_error_set(VAULT_EAUTH,
			"history object %s is under generation %u of the history key, which this session does not hold",
			hex, gen);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &mlen, NULL, p + VAULT_ODB_HEAD,
			val->mv_size - VAULT_ODB_HEAD, ad, adlen, p + 5, hk->keys + (size_t)(gen - 1) * 32) != 0 ||
	    mlen < 1)
		return vault_error_set(VAULT_ECORRUPT,
			"history object %s fails authentication: it is damaged, or was moved from another place",
			hex);
	*len = (size_t)mlen;
	return 0;
}

void vault_odb__seal(unsigned char *out, const vault_hkeys *hk, const char *vid,
	const unsigned char id[20], int type, const void *data, size_t len, uint32_t gen)
{
	unsigned char ad[64];
	size_t adlen = object_ad(ad, vid, id);

	out[0] = REC_FORMAT;
	be32_put(out + 1, gen);
	randombytes_buf(out + 5, 24);
	out[VAULT_ODB_HEAD] = (unsigned char)type;
	memcpy(out + VAULT_ODB_HEAD + 1, data, len);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + VAULT_ODB_HEAD, NULL, out + VAULT_ODB_HEAD,
		len + 1, ad, adlen, NULL, out + 5, hk->keys + (size_t)(gen - 1) * 32);
}

/* Hand a vault error to libgit2, keeping its code for vault_error_git. */
static int git_fail(int error)
{
	if (error == VAULT_ENOTFOUND)
		return GIT_ENOTFOUND;
	vault_error__git_code = error;
	git_error_set_str(GIT_ERROR_ODB, vault_error_last()->message);
	return GIT_ERROR;
}

/* Run with the store's current transaction, or a short read transaction. */
static int txn_get(MDB_txn **txn, int *own, odb_lmdb *b)
{
	*own = 0;
	if (vault_store__cur) {
		*txn = vault_store__cur;
		return 0;
	}
	if (vault_store__begin(txn, b->st, 0) < 0) {
		git_error_set_str(GIT_ERROR_ODB, "cannot open a read transaction on the history");
		return GIT_ERROR;
	}
	*own = 1;
	return 0;
}

static _Thread_local unsigned int reads;

/* Object `oid` decrypted: into a buffer of libgit2's (data_out) or a
 * malloc'd one (data_out NULL: the header only). */
static int read_object(void **data_out, size_t *len_out, git_object_t *type_out,
	git_odb_backend *backend, const git_oid *oid)
{
	odb_lmdb *b = (odb_lmdb *)backend;
	MDB_txn *txn;
	MDB_val val;
	unsigned char *plain = NULL;
	size_t len;
	int own, error;

	if ((error = txn_get(&txn, &own, b)) < 0)
		return error;
	if ((error = vault_odb__get(&val, txn, b->st, b->hk, oid->id)) < 0) {
		error = git_fail(error);
		goto done;
	}
	plain = data_out ? git_odb_backend_data_alloc(backend, val.mv_size - VAULT_ODB_OVERHEAD) :
		malloc(val.mv_size - VAULT_ODB_OVERHEAD);
	if (plain == NULL) {
		error = GIT_ERROR;
		goto done;
	}
	if ((error = vault_odb__open(plain, &len, b->hk, b->vid, oid->id, &val)) < 0) {
		error = git_fail(error);
		goto done;
	}
	*type_out = (git_object_t)plain[0];
	*len_out = len - 1;
	if (data_out) {
		memmove(plain, plain + 1, len - 1);
		*data_out = plain;
		plain = NULL;
	}
	/* Long walks (verify, export, reports) read objects all over the
	 * file: keep the process from holding the whole history mapped. */
	if ((++reads & 15) == 0)
		vault_store__bound(b->st, txn, val.mv_data);
done:
	if (plain && data_out)
		git_odb_backend_data_free(backend, plain);
	else if (plain)
		free(plain);
	if (own)
		vault_store__abort(b->st, txn);
	return error;
}

static int odb_read(void **data_out, size_t *len_out, git_object_t *type_out,
	git_odb_backend *backend, const git_oid *oid)
{
	return read_object(data_out, len_out, type_out, backend, oid);
}

static int odb_read_header(size_t *len_out, git_object_t *type_out,
	git_odb_backend *backend, const git_oid *oid)
{
	return read_object(NULL, len_out, type_out, backend, oid);
}

static int odb_exists(git_odb_backend *backend, const git_oid *oid)
{
	odb_lmdb *b = (odb_lmdb *)backend;
	MDB_txn *txn;
	MDB_val val;
	int own, found;

	if (txn_get(&txn, &own, b) < 0)
		return 0;
	found = vault_odb__get(&val, txn, b->st, b->hk, oid->id) == 0;
	if (own)
		vault_store__abort(b->st, txn);
	return found;
}

static int odb_write(git_odb_backend *backend, const git_oid *oid,
	const void *data, size_t len, git_object_t type)
{
	odb_lmdb *b = (odb_lmdb *)backend;
	unsigned char loc[20];
	MDB_val key = { 20, loc }, val;
	uint32_t gen = b->hk->checked;
	int rc;

	if (vault_store__cur == NULL) {
		git_error_set_str(GIT_ERROR_ODB, "history objects are written only inside an event");
		return GIT_ERROR;
	}
	if (b->hk->index == NULL || gen == 0) {
		vault_error__git_code = VAULT_EAUTH;
		git_error_set_str(GIT_ERROR_ODB,
			"no history key checked against the signed history is held: nothing is written");
		return GIT_ERROR;
	}
	vault_odb__locator(loc, b->hk, oid->id);
	val.mv_size = VAULT_ODB_OVERHEAD + 1 + len;
	if ((rc = vault_store__check_write(vault_store__cur, "git", loc, sizeof loc)) < 0)
		return git_fail(rc);
	VAULT_FAULT_ENTER();
	rc = mdb_put(vault_store__cur, b->st->git, &key, &val, MDB_NOOVERWRITE | MDB_RESERVE);
	VAULT_FAULT_LEAVE();
	if (rc == MDB_KEYEXIST)
		return 0;        /* content-addressed: already there */
	if (rc != 0) {
		git_error_set(GIT_ERROR_ODB, "history object cannot be written: %s", mdb_strerror(rc));
		/* Keep the LMDB code for the caller to translate (map full). */
		vault_store__last_rc = rc;
		return GIT_ERROR;
	}
	vault_odb__seal(val.mv_data, b->hk, b->vid, oid->id, type, data, len, gen);
	return 0;
}

static void odb_free(git_odb_backend *backend)
{
	free(backend);
}

int vault_odb_lmdb__new(git_odb_backend **out, vault_store *st, const vault_hkeys *hk,
	const char *vid)
{
	odb_lmdb *b = calloc(1, sizeof *b);

	*out = NULL;
	if (!b)
		return -1;
	b->parent.version = GIT_ODB_BACKEND_VERSION;
	b->parent.read = odb_read;
	b->parent.read_header = odb_read_header;
	b->parent.write = odb_write;
	b->parent.exists = odb_exists;
	b->parent.free = odb_free;
	b->st = st;
	b->hk = hk;
	b->vid = vid;
	*out = &b->parent;
	return 0;
}
