#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <git2/sys/repository.h>
#include <git2/sys/odb_backend.h>

#include "event.h"
#include "odb_lmdb.h"
#include "sshsig.h"

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int vault_global_init(void)
{
	static int done;

	if (done)
		return 0;
	if (sodium_init() < 0)
		return vault_error_set(VAULT_ERROR, "libsodium cannot be initialised");
	if (git_libgit2_init() < 0)
		return vault_error_set(VAULT_ERROR, "libgit2 cannot be initialised");
	/*
	 * libgit2's object cache could keep objects of an aborted transaction
	 * that LMDB no longer has; the history is read through LMDB only.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
	done = 1;
	return 0;
}

int vault_kdf_is_test_profile(void)
{
	vcrypto_kdf p;

	vault_vcrypto__kdf_new(&p);
	return vault_vcrypto__kdf_is_weak(&p);
}

int64_t vault__now(void)
{
	return (int64_t)time(NULL);
}

int64_t vault__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * VAULT_NS + ts.tv_nsec;
}

int64_t vault_time__sec(int64_t ns)
{
	return ns / VAULT_NS - (ns % VAULT_NS < 0);
}

int vault_time__to_ns(int64_t *ns, const vault_time *t)
{
	if (t->nsec >= VAULT_NS || t->sec > VAULT_TIME_SEC_MAX || t->sec < -VAULT_TIME_SEC_MAX)
		return -1;
	*ns = t->sec * VAULT_NS + t->nsec;
	return 0;
}

void vault_time__from_ns(vault_time *out, int64_t ns)
{
	out->sec = ns / VAULT_NS;
	out->nsec = (uint32_t)(ns % VAULT_NS >= 0 ? ns % VAULT_NS : ns % VAULT_NS + VAULT_NS);
	if (ns % VAULT_NS < 0)
		out->sec--;
}

int vault__git_error(const char *what)
{
	const git_error *e = git_error_last();

	return vault_error_set(VAULT_ERROR, "%s: %s", what, e && e->message ? e->message : "history error");
}

int vault__begin(MDB_txn **out, vault *v, int write)
{
	return vault_store__begin(out, v->st, write);
}

int vault__begin_walk(MDB_txn **out, vault *v)
{
	int error = vault_store__begin(out, v->st, 0);

	if (error == 0)
		vault_store__cur = *out;
	return error;
}

int vault__meta_text(vault_buf *out, MDB_txn *txn, vault *v, const char *key)
{
	MDB_val val;
	int error = vault__meta_get(&val, txn, v, key);

	if (error == 0)
		vault_buf_put(out, val.mv_data, val.mv_size);
	else if (error != VAULT_ENOTFOUND)
		return error;
	vault_buf_put(out, "", 0);
	return out->oom ? vault_error_set_oom() : 0;
}

int vault__require_unlocked(vault *v)
{
	if (!v->unlocked)
		return vault_error_set(VAULT_EAUTH, "no user is unlocked");
	return 0;
}

int vault__meta_get(MDB_val *out, MDB_txn *txn, vault *v, const char *key)
{
	int error = vault_store__get(txn, v->st->meta, key, strlen(key), out);

	if (error == VAULT_ENOTFOUND)
		return error;
	if (error < 0)
		return error;
	if (out->mv_size < 1 || ((unsigned char *)out->mv_data)[0] != REC_FORMAT)
		return vault_error_set(VAULT_ECORRUPT, "vault setting '%s' is damaged", key);
	out->mv_data = (unsigned char *)out->mv_data + 1;
	out->mv_size--;
	return 0;
}

int vault__meta_put(MDB_txn *txn, vault *v, const char *key, const void *val, size_t len)
{
	unsigned char buf[1024];

	if (len + 1 > sizeof buf)
		return vault_error_set(VAULT_ERROR, "vault setting '%s' is too long", key);
	buf[0] = REC_FORMAT;
	memcpy(buf + 1, val, len);
	return vault_store__put(txn, v->st->meta, key, strlen(key), buf, len + 1, 0);
}

void vault_random_code(char *out, size_t n)
{
	unsigned char r[32];

	randombytes_buf(r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = b32[r[i] & 31];
	out[n] = '\0';
}

static int repo_open(vault *v)
{
	git_odb_backend *backend = NULL;

	if (git_odb_new(&v->odb) < 0)
		return vault__git_error("open history");
	if (vault_odb_lmdb__new(&backend, v->st) < 0)
		return vault_error_set_oom();
	if (git_odb_add_backend(v->odb, backend, 1) < 0) {
		backend->free(backend);
		return vault__git_error("open history");
	}
	if (git_repository_new(&v->repo) < 0)
		return vault__git_error("open history");
	if (git_repository_set_odb(v->repo, v->odb) < 0)
		return vault__git_error("open history");
	return 0;
}

static int vault_alloc(vault **out, const char *dir)
{
	vault *v = calloc(1, sizeof *v);

	*out = NULL;
	if (!v)
		return vault_error_set_oom();
	if (strlen(dir) >= sizeof v->dir) {
		free(v);
		return vault_error_set(VAULT_EUSAGE, "vault path is too long");
	}
	strcpy(v->dir, dir);
	pthread_mutex_init(&v->key_lock, NULL);
	vault_event__group_init(v);
	vault_trees__init(v);
	*out = v;
	return 0;
}

static int check_format(vault *v)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	uint32_t fmt;
	int error;

	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	error = vault__meta_get(&val, txn, v, "format");
	if (error == VAULT_ENOTFOUND) {
		error = vault_error_set(VAULT_ECORRUPT, "'%s' is not a casevault vault: it has no format record", v->dir);
		goto done;
	}
	if (error < 0)
		goto done;
	if (val.mv_size != 4) {
		error = vault_error_set(VAULT_ECORRUPT, "vault '%s' has a damaged format record", v->dir);
		goto done;
	}
	fmt = be32_get(val.mv_data);
	if (fmt == 0) {
		error = vault_error_set(VAULT_ECORRUPT, "vault '%s' has a damaged format record (format 0)", v->dir);
		goto done;
	}
	if (fmt < VAULT_FORMAT_VERSION) {
		error = vault_error_set(VAULT_EVERSION,
			"vault '%s' was written by an older casevault (format %u; this one reads format %u only)",
			v->dir, fmt, VAULT_FORMAT_VERSION);
		goto done;
	}
	if (fmt > VAULT_FORMAT_VERSION) {
		error = vault_error_set(VAULT_EVERSION,
			"vault '%s' was written by a newer casevault (format %u; this one reads up to %u)",
			v->dir, fmt, VAULT_FORMAT_VERSION);
		goto done;
	}
	if ((error = vault__meta_get(&val, txn, v, "vault-id")) < 0 || val.mv_size != VAULT_ID_SIZE - 1) {
		error = vault_error_set(VAULT_ECORRUPT, "vault '%s' has a damaged id record", v->dir);
		goto done;
	}
	memcpy(v->id, val.mv_data, VAULT_ID_SIZE - 1);
	v->id[VAULT_ID_SIZE - 1] = '\0';
done:
	vault_store__abort(v->st, txn);
	return error;
}

int vault_open(vault **out, const char *dir)
{
	vault *v = NULL;
	int error;

	*out = NULL;
	if ((error = vault_global_init()) < 0)
		return error;
	if ((error = vault_alloc(&v, dir)) < 0)
		return error;
	if ((error = vault_store__open(&v->st, dir, 0, 0)) < 0)
		goto done;
	if ((error = check_format(v)) < 0)
		goto done;
	if ((error = repo_open(v)) < 0)
		goto done;
	*out = v;
	v = NULL;
done:
	vault_close(v);
	return error;
}

/* Seal a user's Ed25519 secret key under their passphrase. */
static int wrap_user_key(user_rec *u, const char *name, const unsigned char *sk,
	const char *pass, size_t passlen)
{
	unsigned char *kek = NULL, ad[64 + VAULT_NAME_MAX];
	size_t adlen;
	int error;

	vault_vcrypto__kdf_new(&u->kdf);
	if ((error = vault_vcrypto__kdf_derive(&kek, pass, passlen, &u->kdf)) < 0)
		return error;
	adlen = (size_t)snprintf((char *)ad, sizeof ad, "cv-user:%s:", name);
	memcpy(ad + adlen, u->pk, 32);
	vault_vcrypto__seal(u->wrapped, sk, VCRYPTO_SIGN_SKBYTES, ad, adlen + 32, kek);
	vault_vcrypto__key_free(kek);
	return 0;
}

static int unwrap_user_key(unsigned char **sk_out, const user_rec *u, const char *name,
	const char *pass, size_t passlen)
{
	unsigned char *kek = NULL, *sk = NULL, ad[64 + VAULT_NAME_MAX];
	size_t adlen;
	int error;

	*sk_out = NULL;
	if ((error = vault_vcrypto__kdf_derive(&kek, pass, passlen, &u->kdf)) < 0)
		return error;
	if ((error = vault_vcrypto__secret_alloc(&sk, VCRYPTO_SIGN_SKBYTES)) < 0)
		goto done;
	adlen = (size_t)snprintf((char *)ad, sizeof ad, "cv-user:%s:", name);
	memcpy(ad + adlen, u->pk, 32);
	if (vault_vcrypto__open(sk, u->wrapped, sizeof u->wrapped, ad, adlen + 32, kek) < 0 ||
	    sodium_memcmp(sk + 32, u->pk, 32) != 0) {
		error = vault_error_set(VAULT_EAUTH, "wrong passphrase for user '%s'", name);
		goto done;
	}
	*sk_out = sk;
	sk = NULL;
done:
	vault_vcrypto__key_free(kek);
	vault_vcrypto__key_free(sk);
	return error;
}

/* Shared by user add and init: a new user record with a fresh key pair. */
int vault_user__create(user_rec *u, unsigned char **sk_out, const char *name,
	vault_role_t role, const char *pass, size_t passlen)
{
	unsigned char *sk = NULL;
	int error;

	memset(u, 0, sizeof *u);
	u->role = role;
	u->status = USER_ACTIVE;
	if ((error = vault_vcrypto__sign_keypair(u->pk, &sk)) < 0)
		return error;
	if ((error = wrap_user_key(u, name, sk, pass, passlen)) < 0) {
		vault_vcrypto__key_free(sk);
		return error;
	}
	*sk_out = sk;
	return 0;
}

int vault_user__rewrap(user_rec *u, const char *name, const unsigned char *sk,
	const char *pass, size_t passlen)
{
	return wrap_user_key(u, name, sk, pass, passlen);
}

static void drop_keys(vault *v)
{
	case_key *k, *next;

	for (k = v->keys; k; k = next) {
		next = k->next;
		vault_vcrypto__key_free(k->key);
		vault_vcrypto__key_free(k->lookup);
		free(k);
	}
	v->keys = NULL;
}

/* A new session holds only its own user's keys. */
static int set_session(vault *v, const char *name, const user_rec *u, unsigned char *sk)
{
	drop_keys(v);
	vault_vcrypto__key_free(v->sk);
	v->sk = sk;
	memcpy(v->pk, u->pk, 32);
	snprintf(v->user, sizeof v->user, "%s", name);
	v->role = u->role;
	v->unlocked = 1;
	return 0;
}

/* Remove what a failed init created, so nothing half-written remains. */
static void init_undo(const char *dir, int made_dir)
{
	char path[4200];

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
	if (made_dir)
		rmdir(dir);
}

typedef struct {
	const char *admin, *pass;
	size_t passlen;
} init_args;

/* The genesis: the format and id records, the first admin, the audit key. */
static int init_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	init_args *a = payload;
	user_rec u;
	unsigned char *sk = NULL, fmt[4], audit_pk[32], audit_sk[32], sealed[32 + VCRYPTO_SEALBYTES + 1];
	char key[VAULT_NAME_MAX + 16];
	int error;

	be32_put(fmt, VAULT_FORMAT_VERSION);
	if ((error = vault__meta_put(txn, v, "format", fmt, 4)) < 0 ||
	    (error = vault__meta_put(txn, v, "vault-id", v->id, VAULT_ID_SIZE - 1)) < 0)
		return error;
	if ((error = vault_user__create(&u, &sk, a->admin, VAULT_ROLE_ADMIN, a->pass, a->passlen)) < 0)
		return error;
	if ((error = vault_user__put(txn, v, a->admin, &u)) < 0) {
		vault_vcrypto__key_free(sk);
		return error;
	}
	set_session(v, a->admin, &u, sk);      /* the handle owns sk now */

	/* The audit key: notes on purposes are sealed to it; admins and
	 * auditors hold its secret half, sealed to each of them. */
	crypto_box_keypair(audit_pk, audit_sk);
	sealed[0] = REC_FORMAT;
	error = vault_vcrypto__seal_to(sealed + 1, audit_sk, 32, v->pk);
	sodium_memzero(audit_sk, sizeof audit_sk);
	if (error < 0)
		return error;
	if ((error = vault__meta_put(txn, v, "audit-pk", audit_pk, 32)) < 0)
		return error;
	snprintf(key, sizeof key, "@audit/%s", a->admin);
	if ((error = vault_store__put(txn, v->st->sealed, key, strlen(key), sealed, sizeof sealed, 0)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", a->admin);
	if ((error = vault_event__touch_user(ev, v, txn, a->admin)) < 0)
		return error;
	return vault_event__touch_settings(ev, v, txn);
}

/* The genesis event is the trust anchor. */
static int init_post(vault *v, MDB_txn *txn, const git_oid *genesis, void *payload)
{
	(void)payload;
	return vault__meta_put(txn, v, "genesis", genesis->id, 20);
}

int vault_init(vault **out, const char *dir, const char *admin,
	const char *pass, size_t passlen, uint64_t mapsize)
{
	init_args a = { admin, pass, passlen };
	vault *v = NULL;
	int error, made_dir = access(dir, F_OK) != 0;

	*out = NULL;
	if ((error = vault_global_init()) < 0)
		return error;
	if ((error = vault_user__check_name(admin, "admin")) < 0)
		return error;
	if ((error = vault_alloc(&v, dir)) < 0)
		return error;
	if ((error = vault_store__open(&v->st, dir, 1, mapsize ? mapsize : VAULT_DEFAULT_MAPSIZE)) < 0) {
		if (error != VAULT_EEXISTS)
			init_undo(dir, made_dir);
		made_dir = -1;
		goto done;
	}
	if ((error = repo_open(v)) < 0)
		goto done;
	vault_random_code(v->id, VAULT_ID_SIZE - 1);
	if ((error = vault_event__run(v, "init", init_fn, init_post, &a, 0)) < 0)
		goto done;
	*out = v;
	v = NULL;
done:
	if (v) {
		vault_close(v);
		if (made_dir >= 0)
			init_undo(dir, made_dir);
	}
	return error;
}

/* The one unsigned event: who failed (no key signs it). */
static int failed_unlock_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	snprintf(ev->target, sizeof ev->target, "%s", (const char *)payload);
	return 0;
}

static int record_failed_unlock(vault *v, const char *name)
{
	return vault_event__run(v, "unlock-failed", failed_unlock_fn, NULL, (void *)name, 0);
}

int vault_unlock(vault *v, const char *name, const char *pass, size_t passlen)
{
	MDB_txn *txn = NULL;
	user_rec u;
	unsigned char *sk = NULL;
	int error;

	/* Whatever happens, the previous session (if any) ends here. */
	drop_keys(v);
	vault_vcrypto__key_free(v->sk);
	v->sk = NULL;
	v->unlocked = 0;
	if (vault_user__check_name(name, "user") < 0)
		return vault_error_set(VAULT_EAUTH, "user '%s' does not exist", name);
	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	error = vault_user__get(&u, txn, v, name);
	vault_store__abort(v->st, txn);
	if (error == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_EAUTH, "user '%s' does not exist", name);
	if (error < 0)
		return error;
	if (u.status == USER_DISABLED)
		return vault_error_set(VAULT_EAUTH, "user '%s' is disabled", name);
	error = unwrap_user_key(&sk, &u, name, pass, passlen);
	if (error == VAULT_EAUTH) {
		char msg[256];

		snprintf(msg, sizeof msg, "%s", vault_error_last()->message);
		record_failed_unlock(v, name);
		return vault_error_set(VAULT_EAUTH, "%s", msg);
	}
	if (error < 0)
		return error;
	set_session(v, name, &u, sk);
	return vault_policy__maintain(v);
}

void vault_set_via(vault *v, vault_via_t via)
{
	v->via = via;
}

void vault_close(vault *v)
{
	if (!v)
		return;
	drop_keys(v);
	vault_vcrypto__key_free(v->sk);
	git_repository_free(v->repo);
	git_odb_free(v->odb);
	vault_store__close(v->st);
	pthread_mutex_destroy(&v->key_lock);
	vault_event__group_dispose(v);
	vault_trees__dispose(v);
	sodium_memzero(v, sizeof *v);
	free(v);
}

const char *vault_id(const vault *v)
{
	return v->id;
}

const char *vault_user(const vault *v)
{
	return v->unlocked ? v->user : NULL;
}

vault_role_t vault_role(const vault *v)
{
	return v->unlocked ? v->role : 0;
}

static int meta_oid(char out[VAULT_OID_SIZE], vault *v, const char *key)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	git_oid oid;
	int error;

	out[0] = '\0';
	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	if ((error = vault__meta_get(&val, txn, v, key)) == 0) {
		if (val.mv_size != 20) {
			error = vault_error_set(VAULT_ECORRUPT, "vault record '%s' is damaged", key);
		} else {
			git_oid_fromraw(&oid, val.mv_data);
			git_oid_tostr(out, VAULT_OID_SIZE, &oid);
		}
	} else if (error == VAULT_ENOTFOUND) {
		error = vault_error_set(VAULT_ECORRUPT, "vault has no %s record", key);
	}
	vault_store__abort(v->st, txn);
	return error;
}

int vault_genesis(char out[VAULT_OID_SIZE], vault *v)
{
	return meta_oid(out, v, "genesis");
}

int vault_head(char out[VAULT_OID_SIZE], vault *v)
{
	return meta_oid(out, v, "head");
}

const char *vault_role_name(vault_role_t role)
{
	switch (role) {
	case VAULT_ROLE_ADMIN:      return "admin";
	case VAULT_ROLE_CASEWORKER: return "caseworker";
	case VAULT_ROLE_AUDITOR:    return "auditor";
	default:                    return "unknown";
	}
}

int vault_role_parse(vault_role_t *out, const char *s)
{
	if (!strcmp(s, "admin"))
		*out = VAULT_ROLE_ADMIN;
	else if (!strcmp(s, "caseworker"))
		*out = VAULT_ROLE_CASEWORKER;
	else if (!strcmp(s, "auditor"))
		*out = VAULT_ROLE_AUDITOR;
	else
		return vault_error_set(VAULT_EUSAGE, "unknown role '%s'", s);
	return 0;
}
