/*
 * vault — the handle: the library's global init, vault_open, vault_init
 * (the genesis event), vault_unlock (and the failed-unlock event), the
 * mount's session events, vault_close. The top of the library: nothing in
 * vault/src calls it but backup.c, which opens snapshots and vaults, and
 * compact.c (the global init).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <git2/sys/repository.h>
#include <git2/sys/odb_backend.h>

#include "policy.h"
#include "odb_lmdb.h"
#include "sshsig.h"
#include "trust.h"
#include "hkeys.h"
#include "staged.h"

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
	int is_test;

	return vault_vcrypto__kdf_profile(&is_test) == 0 && is_test;
}

int vault_kdf_check_profile(void)
{
	int is_test;

	return vault_vcrypto__kdf_profile(&is_test);
}

static int repo_open(vault *v)
{
	git_odb_backend *backend = NULL;

	if (git_odb_new(&v->odb) < 0)
		return vault_error_git("open history");
	if (vault_odb_lmdb__new(&backend, v->st, &v->hk, v->id) < 0)
		return vault_error_set_oom();
	if (git_odb_add_backend(v->odb, backend, 1) < 0) {
		backend->free(backend);
		return vault_error_git("open history");
	}
	if (git_repository_new(&v->repo) < 0)
		return vault_error_git("open history");
	if (git_repository_set_odb(v->repo, v->odb) < 0)
		return vault_error_git("open history");
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
	vault_set_state_dir(v, NULL);
	pthread_mutex_init(&v->key_lock, NULL);
	pthread_mutex_init(&v->hk_lock, NULL);
	pthread_mutex_init(&v->trust_lock, NULL);
	pthread_mutex_init(&v->chain_lock, NULL);
	vault_event__group_init(v);
	vault_trees__init(v);
	*out = v;
	return 0;
}

/*
 * A checksum of the records every key is bound to: the vault id and the
 * genesis. A damaged one would otherwise fail every unlock as a wrong
 * passphrase. Anyone can recompute it: it tells damage, and the trust gate
 * refuses what a forger changes.
 */
static void identity_sum(unsigned char out[16], const vault *v)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, (const unsigned char *)"cv-identity-sum", 15, 16);
	crypto_generichash_update(&st, (const unsigned char *)v->id, strlen(v->id));
	crypto_generichash_update(&st, v->genesis, 20);
	crypto_generichash_final(&st, out, 16);
}

static int check_format(vault *v)
{
	unsigned char sum[16];
	MDB_txn *txn = NULL;
	MDB_val val;
	uint32_t fmt;
	int error;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_meta__get(&val, txn, v, "format");
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
	if ((error = vault_meta__get(&val, txn, v, "vault-id")) < 0 || val.mv_size != VAULT_ID_SIZE - 1) {
		error = vault_error_set(VAULT_ECORRUPT, "vault '%s' has a damaged id record", v->dir);
		goto done;
	}
	memcpy(v->id, val.mv_data, VAULT_ID_SIZE - 1);
	v->id[VAULT_ID_SIZE - 1] = '\0';
	if ((error = vault_meta__get(&val, txn, v, "genesis")) < 0 || val.mv_size != 20) {
		error = vault_error_set(VAULT_ECORRUPT, "vault '%s' has a damaged genesis record", v->dir);
		goto done;
	}
	memcpy(v->genesis, val.mv_data, 20);
	identity_sum(sum, v);
	if ((error = vault_meta__get(&val, txn, v, "identity-sum")) < 0 || val.mv_size != 16 ||
	    sodium_memcmp(val.mv_data, sum, 16) != 0)
		error = vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: vault '%s''s id and genesis records fail their checksum", v->dir);
done:
	vault_store__abort(v->st, txn);
	return error;
}

static int open_mode(vault **out, const char *dir, int mode)
{
	vault *v = NULL;
	int error;

	*out = NULL;
	if ((error = vault_global_init()) < 0)
		return error;
	if ((error = vault_alloc(&v, dir)) < 0)
		return error;
	if ((error = vault_store__open(&v->st, dir, mode, 0)) < 0)
		goto done;
	if ((error = check_format(v)) < 0)
		goto done;
	/* What writes that died left (staged.h): best effort, an open that
	 * cannot write still works. */
	if (mode == VAULT_STORE_OPEN)
		vault_staged__collect(NULL, v->st, 0);
	if ((error = repo_open(v)) < 0)
		goto done;
	*out = v;
	v = NULL;
done:
	vault_close(v);
	return error;
}

int vault_open(vault **out, const char *dir)
{
	return open_mode(out, dir, VAULT_STORE_OPEN);
}

int vault_open_snapshot(vault **out, const char *dir)
{
	return open_mode(out, dir, VAULT_STORE_SNAPSHOT);
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
	user_rec u;
	unsigned char *kek;          /* wraps the admin's key once the genesis id exists */
} init_args;

/* The genesis: the format and id records, a purpose required, the first
 * admin, the audit key. */
static int init_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	init_args *a = payload;
	const vault_kdf_min no_min = { 0, 0 };   /* a new vault has no settings */
	unsigned char *sk = NULL, fmt[4], audit_pk[32], audit_sk[32], sealed[32 + VCRYPTO_SEALBYTES + 1];
	char key[VAULT_NAME_MAX + 16];
	int error;

	be32_put(fmt, VAULT_FORMAT_VERSION);
	if ((error = vault_meta__put(txn, v, "format", fmt, 4)) < 0 ||
	    (error = vault_meta__put(txn, v, "vault-id", v->id, VAULT_ID_SIZE - 1)) < 0)
		return error;
	/* Every read and listing gives its purpose until an admin records
	 * otherwise (`purpose require off`, an event of its own). */
	if ((error = vault_meta__put(txn, v, "purpose-required", "\1", 1)) < 0)
		return error;
	/* The record is stored without its wrapped key (not in the tree):
	 * init_post wraps it, bound to the genesis id the commit makes. */
	if ((error = vault_users__create(&a->u, &sk, &a->kek, VAULT_ROLE_ADMIN, &no_min, a->pass, a->passlen)) < 0)
		return error;
	a->u.wrap_outside = 1;   /* wrapped after the genesis commit, see init_post */
	vault_policy__begin_session(v, a->admin, &a->u, sk);   /* the handle owns sk now */
	/* The history's keys, before any object of it is written, and before
	 * the first user record: the sealed list of names is under them. */
	if ((error = vault_hkeys__create(v, txn)) < 0 ||
	    (error = vault_user__put(txn, v, a->admin, &a->u)) < 0 ||
	    (error = vault_hkeys__seal_to(txn, v, a->admin, a->u.pk)) < 0)
		return error;
	if ((error = vault_trust__begin(v)) < 0)   /* its first event is this one */
		return error;

	/* The audit key: notes on purposes are sealed to it; admins and
	 * auditors hold its secret half, sealed to each of them. */
	crypto_box_keypair(audit_pk, audit_sk);
	sealed[0] = REC_FORMAT;
	error = vault_vcrypto__seal_to(sealed + 1, audit_sk, 32, v->pk);
	sodium_memzero(audit_sk, sizeof audit_sk);
	if (error < 0)
		return error;
	if ((error = vault_meta__put(txn, v, "audit-pk", audit_pk, 32)) < 0)
		return error;
	snprintf(key, sizeof key, "@audit/%s", a->admin);
	if ((error = vault_rec__put(txn, v, v->st->sealed, key, sealed, sizeof sealed)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", a->admin);
	if ((error = vault_event__touch_user(ev, v, txn, a->admin)) < 0)
		return error;
	return vault_event__touch_settings(ev, v, txn);
}

/* The genesis event is the trust anchor; the first admin's key is bound
 * to it, in the same transaction. */
static int init_post(vault *v, MDB_txn *txn, const git_oid *genesis, void *payload)
{
	init_args *a = payload;
	unsigned char sum[16];
	int error;

	memcpy(v->genesis, genesis->id, 20);
	vault_users__wrap(&a->u, v, a->admin, v->sk, a->kek);
	if ((error = vault_user__put(txn, v, a->admin, &a->u)) < 0)
		return error;
	if ((error = vault_meta__put(txn, v, "genesis", genesis->id, 20)) < 0)
		return error;
	identity_sum(sum, v);
	return vault_meta__put(txn, v, "identity-sum", sum, sizeof sum);
}

int vault_init(vault **out, const char *dir, const char *admin,
	const char *pass, size_t passlen, uint64_t mapsize)
{
	init_args a = { admin, pass, passlen, { 0 }, NULL };
	vault *v = NULL;
	int error, made_dir = access(dir, F_OK) != 0;

	*out = NULL;
	if ((error = vault_global_init()) < 0)
		return error;
	if ((error = vault_user__check_name(admin, NAME_ADMIN)) < 0)
		return error;
	if ((error = vault_alloc(&v, dir)) < 0)
		return error;
	if ((error = vault_store__open(&v->st, dir, VAULT_STORE_CREATE, mapsize ? mapsize : VAULT_DEFAULT_MAPSIZE)) < 0) {
		if (error != VAULT_EEXISTS)
			init_undo(dir, made_dir);
		made_dir = -1;
		goto done;
	}
	if ((error = repo_open(v)) < 0)
		goto done;
	vault_vcrypto__random_code(v->id, VAULT_ID_SIZE - 1);
	error = vault_event__run(v, "init", init_fn, init_post, &a, 0);
	vault_vcrypto__key_free(a.kek);
	if (error < 0)
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

/* Who failed: sealed to the history's drop box, recorded as the one
 * unsigned event by the next session (no key of the history is held here). */
static int record_failed_unlock(vault *v, const char *name)
{
	return vault_hkeys__note_failure(v, name);
}

/* The one event of a rolled-back history accepted: no record changes. */
static int rollback_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	(void)ev, (void)v, (void)txn, (void)payload;
	return 0;
}

/* The record the user unlocked with (their key pair) is the verified
 * head's: an older copy of it, with an older passphrase, opens no session. */
static int own_record_trusted(vault *v)
{
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	if ((error = vault_hkeys__check(v, txn)) == 0)
		error = vault_keys__user_trusted(txn, v, v->user);
	vault_store__abort(v->st, txn);
	return error;
}

static int load_history_keys(vault *v)
{
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_hkeys__load(v, txn);
	vault_store__abort(v->st, txn);
	return error;
}

/* The user's key pair, and the history's keys sealed to it: a session
 * that has verified nothing yet. */
static int open_keys(vault *v, const char *name, const char *pass, size_t passlen)
{
	user_rec u;
	unsigned char *sk = NULL;
	int error;

	/* Whatever happens, the previous session (if any) ends here. */
	if ((error = vault_policy__switch_user(&u, v, name)) < 0)
		return error;
	if (u.status == USER_DISABLED)
		return vault_error_set(VAULT_EAUTH, "user '%s' is disabled", name);
	if (u.status == USER_PENDING)
		return vault_error_set(VAULT_EAUTH, "user '%s' has not enrolled yet", name);
	if (vault_vcrypto__kdf_below_floor(&u.kdf))
		return vault_error_set(VAULT_EAUTH,
			"the key of user '%s' is hashed with %llu passes over %llu KiB, "
			"below this build's floor of %d passes over %llu MiB", name,
			(unsigned long long)u.kdf.opslimit, (unsigned long long)(u.kdf.memlimit >> 10),
			VCRYPTO_KDF_FLOOR_PASSES, (unsigned long long)(VCRYPTO_KDF_FLOOR_MEMORY >> 20));
	error = vault_users__unwrap(&sk, &u, v, name, pass, passlen);
	if (error == VAULT_EAUTH) {
		vault_error_kept why;

		vault_error_keep(&why);
		record_failed_unlock(v, name);
		return vault_error_put(VAULT_EAUTH, &why);
	}
	if (error < 0)
		return error;
	vault_policy__begin_session(v, name, &u, sk);
	if ((error = load_history_keys(v)) < 0)
		vault_policy__end_session(v);
	return error;
}

int vault_open_history(vault *v, const char *name, const char *pass, size_t passlen)
{
	int error;

	if ((error = open_keys(v, name, pass, passlen)) < 0)
		return error;
	v->unlocked = 0;        /* the keys of the history, and no session */
	return 0;
}

static int unlock_as(vault *v, const char *name, const char *pass, size_t passlen, int restored)
{
	int error, accepted;

	if ((error = open_keys(v, name, pass, passlen)) < 0)
		return error;
	/* Nothing is decided on the history before it is verified; its keys
	 * are checked against the verified head before anything is written. */
	if ((error = vault_trust__start(v, restored, &accepted)) < 0 ||
	    (error = own_record_trusted(v)) < 0 ||
	    (accepted && (error = vault_policy__run(v, "rollback-accepted", rollback_fn, NULL)) < 0) ||
	    (error = vault_hkeys__drain(v)) < 0) {
		vault_policy__end_session(v);
		return error;
	}
	if ((error = vault_keys__maintain(v)) < 0)
		return error;
	return vault_recover__maintain(v);
}

int vault_unlock(vault *v, const char *name, const char *pass, size_t passlen)
{
	return unlock_as(v, name, pass, passlen, 0);
}

int vault_unlock_restored(vault *v, const char *name, const char *pass, size_t passlen)
{
	return unlock_as(v, name, pass, passlen, 1);
}

/* The mount's session: mounted with a purpose, then unmounted. */
static int mount_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	ev->purpose = payload;
	/* Every open on the mount is a read with this purpose: check it once. */
	if (!strcmp(ev->action, "mount"))
		return vault_purposes__check(txn, v, payload);
	return 0;
}

int vault_mount_event(vault *v, int mounted, const char *purpose)
{
	int error;

	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	return vault_policy__run(v, mounted == VAULT_MOUNTED ? "mount" :
		mounted == VAULT_UNMOUNTED_IDLE ? "idle-unmount" : "unmount", mount_fn, (void *)purpose);
}

void vault_set_state_dir(vault *v, const char *dir)
{
	const char *home;

	v->state_dir[0] = '\0';
	if (dir == NULL) {
		if ((dir = getenv("XDG_STATE_HOME")) != NULL && dir[0] == '/')
			snprintf(v->state_dir, sizeof v->state_dir, "%s", dir);
		else if ((home = getenv("HOME")) != NULL && home[0] == '/')
			snprintf(v->state_dir, sizeof v->state_dir, "%s/.local/state", home);
	} else if (dir[0]) {
		snprintf(v->state_dir, sizeof v->state_dir, "%s", dir);
	}
}

void vault_set_via(vault *v, vault_via_t via)
{
	v->via = via;
}

void vault_close(vault *v)
{
	if (!v)
		return;
	vault_trust__save_file(v);
	vault_policy__end_session(v);
	git_repository_free(v->repo);
	git_odb_free(v->odb);
	vault_store__close(v->st);
	pthread_mutex_destroy(&v->key_lock);
	pthread_mutex_destroy(&v->hk_lock);
	pthread_mutex_destroy(&v->trust_lock);
	pthread_mutex_destroy(&v->chain_lock);
	vault_event__group_dispose(v);
	vault_trees__dispose(v);
	sodium_memzero(v, sizeof *v);
	free(v);
}

const char *vault_dir(const vault *v)
{
	return v->dir;
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
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	if ((error = vault_meta__get(&val, txn, v, key)) == 0) {
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
