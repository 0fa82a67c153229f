/*
 * users — user records, adding, disabling, passphrase changes, listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "sshsig.h"

/* ---- users -------------------------------------------------------------- */

#define USER_REC_SIZE (3 + 32 + 8 + 8 + VCRYPTO_SALTBYTES + VCRYPTO_OVERHEAD + VCRYPTO_SIGN_SKBYTES)

int vault_user__check_name(const char *name, const char *what)
{
	size_t n = strlen(name);

	if (n == 0 || n > VAULT_NAME_MAX)
		return vault_error_set(VAULT_EUSAGE, "%s name '%s' must be 1 to %d characters", what, name, VAULT_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			(i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return vault_error_set(VAULT_EUSAGE,
				"%s name '%s' may hold only a-z, 0-9 and . _ - (not first)", what, name);
	}
	return 0;
}

int vault_user__get(user_rec *out, MDB_txn *txn, vault *v, const char *name)
{
	MDB_val val;
	const unsigned char *p;
	int error;

	if ((error = vault_store__get(txn, v->st->users, name, strlen(name), &val)) < 0)
		return error;
	p = val.mv_data;
	if (val.mv_size != USER_REC_SIZE + 1 || p[0] != REC_FORMAT || p[1] < 1 || p[1] > 3 || p[2] > 1)
		return vault_error_set(VAULT_ECORRUPT, "record of user '%s' is damaged", name);
	out->role = p[1];
	out->status = p[2];
	p += 3;
	memcpy(out->pk, p, 32); p += 32;
	out->kdf.opslimit = be64_get(p); p += 8;
	out->kdf.memlimit = be64_get(p); p += 8;
	memcpy(out->kdf.salt, p, VCRYPTO_SALTBYTES); p += VCRYPTO_SALTBYTES;
	memcpy(out->wrapped, p, sizeof out->wrapped);
	return 0;
}

int vault_user__put(MDB_txn *txn, vault *v, const char *name, const user_rec *u)
{
	unsigned char buf[USER_REC_SIZE + 1], *p = buf;

	*p++ = REC_FORMAT;
	*p++ = (unsigned char)u->role;
	*p++ = (unsigned char)u->status;
	memcpy(p, u->pk, 32); p += 32;
	be64_put(p, u->kdf.opslimit); p += 8;
	be64_put(p, u->kdf.memlimit); p += 8;
	memcpy(p, u->kdf.salt, VCRYPTO_SALTBYTES); p += VCRYPTO_SALTBYTES;
	memcpy(p, u->wrapped, sizeof u->wrapped);
	return vault_store__put(txn, v->st->users, name, strlen(name), buf, sizeof buf, 0);
}

/* The audit key's secret half, sealed to admins and auditors. */
static int seal_audit_key(MDB_txn *txn, vault *v, const char *to, const unsigned char to_pk[32])
{
	MDB_val val;
	unsigned char sk[32], sealed[1 + 32 + VCRYPTO_SEALBYTES];
	char key[VAULT_NAME_MAX + 16];
	int error;

	snprintf(key, sizeof key, "@audit/%s", v->user);
	if ((error = vault_store__get(txn, v->st->sealed, key, strlen(key), &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_EACCES, "user '%s' holds no audit key", v->user);
		return error;
	}
	if (val.mv_size != sizeof sealed || ((unsigned char *)val.mv_data)[0] != REC_FORMAT ||
	    vault_vcrypto__unseal(sk, (unsigned char *)val.mv_data + 1, val.mv_size - 1, v->pk, v->sk) < 0)
		return vault_error_set(VAULT_ECORRUPT, "sealed audit key of user '%s' is damaged", v->user);
	sealed[0] = REC_FORMAT;
	error = vault_vcrypto__seal_to(sealed + 1, sk, 32, to_pk);
	sodium_memzero(sk, sizeof sk);
	if (error < 0)
		return error;
	snprintf(key, sizeof key, "@audit/%s", to);
	return vault_store__put(txn, v->st->sealed, key, strlen(key), sealed, sizeof sealed, 0);
}

typedef struct {
	const char *name;
	vault_role_t role;
	const char *pass;
	size_t passlen;
} user_add_args;

static int user_add_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	user_add_args *a = payload;
	user_rec u;
	unsigned char *sk = NULL;
	int error;

	error = vault_user__get(&u, txn, v, a->name);
	if (error == 0)
		return vault_error_set(VAULT_EEXISTS, "user '%s' already exists", a->name);
	if (error != VAULT_ENOTFOUND)
		return error;
	if ((error = vault_user__create(&u, &sk, a->name, a->role, a->pass, a->passlen)) < 0)
		return error;
	vault_vcrypto__key_free(sk);   /* the new user unlocks it with their passphrase */
	if ((error = vault_user__put(txn, v, a->name, &u)) < 0)
		return error;
	if (a->role != VAULT_ROLE_CASEWORKER && (error = seal_audit_key(txn, v, a->name, u.pk)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", a->name);
	return vault_event__touch_user(ev, v, txn, a->name);
}

int vault_user_add(vault *v, const char *name, vault_role_t role, const char *pass, size_t passlen)
{
	user_add_args a = { name, role, pass, passlen };
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_user__check_name(name, "user")) < 0)
		return error;
	if (role < VAULT_ROLE_ADMIN || role > VAULT_ROLE_AUDITOR)
		return vault_error_set(VAULT_EUSAGE, "unknown role for user '%s'", name);
	return vault_policy__run(v, "user-add", user_add_fn, &a);
}

static int count_active_admins(size_t *out, MDB_txn *txn, vault *v)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	*out = 0;
	if ((rc = mdb_cursor_open(txn, v->st->users, &cur)) != 0)
		return vault_store__error(rc, "list users");
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		const unsigned char *p = d.mv_data;
		if (d.mv_size > 3 && p[1] == VAULT_ROLE_ADMIN && p[2] == USER_ACTIVE)
			(*out)++;
	}
	mdb_cursor_close(cur);
	return 0;
}

static int user_disable_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *name = payload;
	user_rec u;
	size_t admins;
	int error;

	if ((error = vault_user__get(&u, txn, v, name)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "user '%s' does not exist", name);
		return error;
	}
	if (u.status == USER_DISABLED)
		return vault_error_set(VAULT_EEXISTS, "user '%s' is already disabled", name);
	if (u.role == VAULT_ROLE_ADMIN) {
		if ((error = count_active_admins(&admins, txn, v)) < 0)
			return error;
		if (admins <= 1)
			return vault_error_set(VAULT_EREFUSED, "user '%s' is the last active admin", name);
	}
	u.status = USER_DISABLED;
	if ((error = vault_user__put(txn, v, name, &u)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", name);
	return vault_event__touch_user(ev, v, txn, name);
}

int vault_user_disable(vault *v, const char *name)
{
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_user__check_name(name, "user")) < 0)
		return error;
	return vault_policy__run(v, "user-disable", user_disable_fn, (void *)name);
}

typedef struct { const char *pass; size_t passlen; } passwd_args;

static int passwd_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	passwd_args *a = payload;
	user_rec u;
	int error;

	if ((error = vault_user__get(&u, txn, v, v->user)) < 0)
		return error;
	if ((error = vault_user__rewrap(&u, v->user, v->sk, a->pass, a->passlen)) < 0)
		return error;
	if ((error = vault_user__put(txn, v, v->user, &u)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", v->user);
	return vault_event__touch_user(ev, v, txn, v->user);
}

int vault_user_passwd(vault *v, const char *pass, size_t passlen)
{
	passwd_args a = { pass, passlen };
	int error;

	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	return vault_policy__run(v, "passwd", passwd_fn, &a);
}

int vault_user_foreach(vault *v, int (*cb)(const vault_user_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	char name[VAULT_NAME_MAX + 1], publine[VAULT_SSHSIG_PUBLINE_MAX];
	user_rec u;
	int rc, error;

	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	if ((rc = mdb_cursor_open(txn, v->st->users, &cur)) != 0) {
		error = vault_store__error(rc, "list users");
		goto done;
	}
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		vault_user_info info;

		if (k.mv_size > VAULT_NAME_MAX)
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((error = vault_user__get(&u, txn, v, name)) < 0)
			goto done;
		vault_sshsig__publine(publine, sizeof publine, u.pk);
		info.name = name;
		info.role = u.role;
		info.disabled = u.status == USER_DISABLED;
		info.publine = publine;
		if ((error = cb(&info, payload)) != 0)
			goto done;
	}
	error = 0;
done:
	if (cur)
		mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	return error;
}

int vault_blob__user(vault_buf *out, const char *name, const user_rec *u)
{
	char publine[VAULT_SSHSIG_PUBLINE_MAX];

	if (vault_sshsig__publine(publine, sizeof publine, u->pk) < 0)
		return VAULT_ERROR;
	vault_buf_printf(out, "name %s\nrole %s\nstatus %s\nkey %s\n", name, vault_role_name(u->role),
		u->status == USER_DISABLED ? "disabled" : "active", publine);
	return out->oom ? vault_error_set_oom() : 0;
}
