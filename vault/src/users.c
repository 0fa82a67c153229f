/*
 * users — adding, disabling, passphrase changes, listing; each user's key
 * pair sealed under their passphrase (the records are records.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "report.h"
#include "sshsig.h"

/* ---- users -------------------------------------------------------------- */


/* The audit key's secret half, sealed to admins and auditors: the
 * caller's copy, checked against the vault's audit key, sealed to `to`. */
static int seal_audit_key(MDB_txn *txn, vault *v, const char *to, const unsigned char to_pk[32])
{
	audit_key k;
	unsigned char sealed[1 + 32 + VCRYPTO_SEALBYTES];
	char key[VAULT_NAME_MAX + 16];
	int error;

	if ((error = vault_report__key_open(&k, v, txn)) < 0)
		return error;
	sealed[0] = REC_FORMAT;
	error = vault_vcrypto__seal_to(sealed + 1, k.sk, 32, to_pk);
	vault_report__key_close(&k);
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
	unsigned char *sk = NULL, *kek = NULL;
	int error;

	error = vault_user__get(&u, txn, v, a->name);
	if (error == 0)
		return vault_error_set(VAULT_EEXISTS, "user '%s' already exists", a->name);
	if (error != VAULT_ENOTFOUND)
		return error;
	if ((error = vault_users__create(&u, &sk, &kek, a->role, a->pass, a->passlen)) < 0)
		return error;
	vault_users__wrap(&u, v, a->name, sk, kek);
	vault_vcrypto__key_free(kek);
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

static int count_admin(const char *name, const user_rec *u, void *payload)
{
	(void)name;
	if (u->role == VAULT_ROLE_ADMIN && u->status == USER_ACTIVE)
		(*(size_t *)payload)++;
	return 0;
}

static int count_active_admins(size_t *out, MDB_txn *txn, vault *v)
{
	*out = 0;
	return vault_user__each(txn, v, count_admin, out);
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

typedef struct {
	const char *name;
	char (*codes)[VAULT_CODE_SIZE];  /* the cases `name` is a member of */
	size_t n, cap;
	char last[VAULT_CODE_SIZE];      /* one where `name` is the only member */
} member_of;

static int note_membership(case_rec *c, void *payload)
{
	member_of *m = payload;
	int error;

	if (!vault_case__member(c, m->name))
		return 0;
	if (c->nmembers == 1 && !m->last[0])
		memcpy(m->last, c->code, VAULT_CODE_SIZE);
	if ((error = vault_array_grow(&m->codes, &m->cap, m->n, sizeof *m->codes, 8)) < 0)
		return error;
	memcpy(m->codes[m->n++], c->code, VAULT_CODE_SIZE);
	return 0;
}

/*
 * Disabling takes the user out of every case first, each a `revoke` event
 * that retires the case's key epoch, so nothing written afterwards is
 * sealed to them; then the `user-disable` event. A user who is a case's
 * only member is not disabled (the case would be left to no one).
 */
int vault_user_disable(vault *v, const char *name)
{
	member_of m = { name, NULL, 0, 0, "" };
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_user__check_name(name, "user")) < 0)
		return error;
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_case__each(txn, v, note_membership, &m);
	vault_store__abort(v->st, txn);
	if (error == 0 && m.last[0])
		error = vault_error_set(VAULT_EREFUSED, "user '%s' is the last member of case '%s'",
			name, m.last);
	for (size_t i = 0; i < m.n && error == 0; i++)
		error = vault_case_revoke(v, m.codes[i], name);
	free(m.codes);
	if (error < 0)
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
	if ((error = vault_users__rewrap(&u, v, v->user, v->sk, a->pass, a->passlen)) < 0)
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

	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	return vault_policy__run(v, "passwd", passwd_fn, &a);
}

typedef struct {
	int (*cb)(const vault_user_info *, void *);
	void *payload;
} foreach_args;

static int user_info(const char *name, const user_rec *u, void *payload)
{
	foreach_args *a = payload;
	char publine[VAULT_SSHSIG_PUBLINE_MAX];
	vault_user_info info;

	vault_sshsig__publine(publine, sizeof publine, u->pk);
	info.name = name;
	info.role = u->role;
	info.disabled = u->status == USER_DISABLED;
	info.publine = publine;
	return a->cb(&info, a->payload);
}

int vault_user_foreach(vault *v, int (*cb)(const vault_user_info *, void *), void *payload)
{
	foreach_args a = { cb, payload };
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_user__each(txn, v, user_info, &a);
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- user key pairs ------------------------------------------------------ */

/*
 * The associated data of a wrapped secret key: the vault's id, its genesis
 * event, the user's name and public key. A user record copied from another
 * vault, or into a forged history with another genesis, or to another name,
 * does not open, whatever passphrase its maker knows.
 */
static size_t wrap_ad(unsigned char ad[160 + VAULT_NAME_MAX], const vault *v, const char *name,
	const unsigned char pk[32])
{
	char genesis[41];
	size_t n;

	sodium_bin2hex(genesis, sizeof genesis, v->genesis, 20);
	n = (size_t)snprintf((char *)ad, 128 + VAULT_NAME_MAX, "cv-user:%s:%s:%s:", v->id, genesis, name);
	memcpy(ad + n, pk, 32);
	return n + 32;
}

/* A fresh key pair for a new record, and the key that will wrap it (from
 * the passphrase, with new parameters): vault_users__wrap() seals it. */
int vault_users__create(user_rec *u, unsigned char **sk_out, unsigned char **kek_out,
	vault_role_t role, const char *pass, size_t passlen)
{
	unsigned char *sk = NULL;
	int error;

	*sk_out = *kek_out = NULL;
	memset(u, 0, sizeof *u);
	u->role = role;
	u->status = USER_ACTIVE;
	vault_vcrypto__kdf_new(&u->kdf);
	if ((error = vault_vcrypto__sign_keypair(u->pk, &sk)) < 0)
		return error;
	if ((error = vault_vcrypto__kdf_derive(kek_out, pass, passlen, &u->kdf)) < 0) {
		vault_vcrypto__key_free(sk);
		return error;
	}
	*sk_out = sk;
	return 0;
}

void vault_users__wrap(user_rec *u, const vault *v, const char *name, const unsigned char *sk,
	const unsigned char *kek)
{
	unsigned char ad[160 + VAULT_NAME_MAX];
	size_t adlen = wrap_ad(ad, v, name, u->pk);

	vault_vcrypto__seal(u->wrapped, sk, VCRYPTO_SIGN_SKBYTES, ad, adlen, kek);
}

int vault_users__rewrap(user_rec *u, const vault *v, const char *name, const unsigned char *sk,
	const char *pass, size_t passlen)
{
	unsigned char *kek = NULL;
	int error;

	vault_vcrypto__kdf_new(&u->kdf);
	if ((error = vault_vcrypto__kdf_derive(&kek, pass, passlen, &u->kdf)) < 0)
		return error;
	vault_users__wrap(u, v, name, sk, kek);
	vault_vcrypto__key_free(kek);
	return 0;
}

/* The user's secret key, if `pass` opens it; VAULT_EAUTH if not. */
int vault_users__unwrap(unsigned char **sk_out, const user_rec *u, const vault *v, const char *name,
	const char *pass, size_t passlen)
{
	unsigned char *kek = NULL, *sk = NULL, ad[160 + VAULT_NAME_MAX];
	size_t adlen;
	int error;

	*sk_out = NULL;
	if ((error = vault_vcrypto__kdf_derive(&kek, pass, passlen, &u->kdf)) < 0)
		return error;
	if ((error = vault_vcrypto__secret_alloc(&sk, VCRYPTO_SIGN_SKBYTES)) < 0)
		goto done;
	adlen = wrap_ad(ad, v, name, u->pk);
	if (vault_vcrypto__open(sk, u->wrapped, sizeof u->wrapped, ad, adlen, kek) < 0 ||
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
