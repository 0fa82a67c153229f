#include <stdlib.h>
#include <string.h>
#include <git2/sys/odb_backend.h>

#include "fault.h"
#include "odb_lmdb.h"

typedef struct {
	git_odb_backend parent;
	vault_store *st;
} odb_lmdb;

/* Run with the store's current transaction, or a short read transaction. */
static int txn_get(MDB_txn **txn, int *own, odb_lmdb *b)
{
	*own = 0;
	if (vault_store__cur) {
		*txn = vault_store__cur;
		return 0;
	}
	if (mdb_txn_begin(b->st->env, NULL, MDB_RDONLY, txn) != 0) {
		git_error_set_str(GIT_ERROR_ODB, "cannot open a read transaction on the history");
		return GIT_ERROR;
	}
	*own = 1;
	return 0;
}

static int lookup(MDB_val *val, MDB_txn *txn, odb_lmdb *b, const git_oid *oid)
{
	MDB_val key = { GIT_OID_RAWSZ, (void *)oid->id };
	int rc = mdb_get(txn, b->st->git, &key, val);

	if (rc == MDB_NOTFOUND)
		return GIT_ENOTFOUND;
	if (rc != 0 || val->mv_size < 1 || vault_store__page_ok(b->st, val->mv_data) < 0) {
		git_error_set(GIT_ERROR_ODB, "history object cannot be read: %s",
			rc ? mdb_strerror(rc) : "the vault file is damaged");
		return GIT_ERROR;
	}
	return 0;
}

static _Thread_local unsigned int reads;

static int odb_read(void **data_out, size_t *len_out, git_object_t *type_out,
	git_odb_backend *backend, const git_oid *oid)
{
	odb_lmdb *b = (odb_lmdb *)backend;
	MDB_txn *txn;
	MDB_val val;
	int own, error;
	void *data;

	if ((error = txn_get(&txn, &own, b)) < 0)
		return error;
	if ((error = lookup(&val, txn, b, oid)) < 0)
		goto done;
	if ((data = git_odb_backend_data_alloc(backend, val.mv_size - 1)) == NULL) {
		error = GIT_ERROR;
		goto done;
	}
	memcpy(data, (unsigned char *)val.mv_data + 1, val.mv_size - 1);
	*type_out = (git_object_t)((unsigned char *)val.mv_data)[0];
	*len_out = val.mv_size - 1;
	*data_out = data;
	/* Long walks (verify, export, reports) read objects all over the
	 * file: keep the process from holding the whole history mapped. */
	if ((++reads & 15) == 0)
		vault_store__bound(b->st, txn, val.mv_data);
done:
	if (own)
		mdb_txn_abort(txn);
	return error;
}

static int odb_read_header(size_t *len_out, git_object_t *type_out,
	git_odb_backend *backend, const git_oid *oid)
{
	odb_lmdb *b = (odb_lmdb *)backend;
	MDB_txn *txn;
	MDB_val val;
	int own, error;

	if ((error = txn_get(&txn, &own, b)) < 0)
		return error;
	if ((error = lookup(&val, txn, b, oid)) == 0) {
		*type_out = (git_object_t)((unsigned char *)val.mv_data)[0];
		*len_out = val.mv_size - 1;
	}
	if (own)
		mdb_txn_abort(txn);
	return error;
}

static int odb_exists(git_odb_backend *backend, const git_oid *oid)
{
	odb_lmdb *b = (odb_lmdb *)backend;
	MDB_txn *txn;
	MDB_val val;
	int own, found;

	if (txn_get(&txn, &own, b) < 0)
		return 0;
	found = lookup(&val, txn, b, oid) == 0;
	if (own)
		mdb_txn_abort(txn);
	return found;
}

static int odb_write(git_odb_backend *backend, const git_oid *oid,
	const void *data, size_t len, git_object_t type)
{
	odb_lmdb *b = (odb_lmdb *)backend;
	MDB_val key = { GIT_OID_RAWSZ, (void *)oid->id }, val;
	int rc;

	if (vault_store__cur == NULL) {
		git_error_set_str(GIT_ERROR_ODB, "history objects are written only inside an event");
		return GIT_ERROR;
	}
	val.mv_size = len + 1;
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
	((unsigned char *)val.mv_data)[0] = (unsigned char)type;
	memcpy((unsigned char *)val.mv_data + 1, data, len);
	return 0;
}

static void odb_free(git_odb_backend *backend)
{
	free(backend);
}

int vault_odb_lmdb__new(git_odb_backend **out, vault_store *st)
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
	*out = &b->parent;
	return 0;
}
