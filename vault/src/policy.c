/*
 * policy — what the modules of users, cases, keys, purposes and settings
 * share: who is unlocked, the role check, and the transaction of a policy
 * event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "hkeys.h"
#include "trust.h"

int vault_policy__require_unlocked(vault *v)
{
	if (!v->unlocked)
		return vault_error_set(VAULT_EAUTH, "no user is unlocked");
	return 0;
}

void vault_policy__end_session(vault *v)
{
	case_key *k, *next;

	for (k = v->keys; k; k = next) {
		next = k->next;
		vault_vcrypto__key_free(k->key);
		vault_vcrypto__key_free(k->lookup);
		free(k);
	}
	v->keys = NULL;
	vault_hkeys__clear(&v->hk);
	vault_trust__end(v);
	vault_vcrypto__key_free(v->sk);
	v->sk = NULL;
	v->unlocked = 0;
}

void vault_policy__begin_session(vault *v, const char *name, const user_rec *u, unsigned char *sk)
{
	vault_policy__end_session(v);
	v->sk = sk;
	memcpy(v->pk, u->pk, 32);
	snprintf(v->user, sizeof v->user, "%s", name);
	v->role = u->role;
	v->unlocked = 1;
}

int vault_policy__switch_user(user_rec *u, vault *v, const char *name)
{
	MDB_txn *txn = NULL;
	int error;

	vault_trust__save_file(v);
	vault_policy__end_session(v);
	/* A bad name is a user that does not exist: no more is said. */
	if (vault_user__check_name(name, NAME_USER) < 0)
		return vault_error_set(VAULT_EAUTH, "user '%s' does not exist", name);
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_user__get(u, txn, v, name);
	vault_store__abort(v->st, txn);
	if (error == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_EAUTH, "user '%s' does not exist", name);
	return error;
}

/*
 * The message names the user and the roles; the caller says what it was
 * doing. Each pair of roles has a whole sentence (a translation has its
 * own words for each): the admin's role is the one required.
 */
int vault_policy__require_role(vault *v, vault_role_t role)
{
	int error;

	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if (v->role == role)
		return 0;
	if (role != VAULT_ROLE_ADMIN)
		return vault_error_set(VAULT_EACCES, "user '%s' does not have the role this needs", v->user);
	if (v->role == VAULT_ROLE_AUDITOR)
		return vault_error_set(VAULT_EACCES, "user '%s' is an auditor, not an admin", v->user);
	return vault_error_set(VAULT_EACCES, "user '%s' is a caseworker, not an admin", v->user);
}

/* A policy event has a transaction of its own. Nothing to record (a rekey
 * another session did meanwhile, a setting to the value it has) is done. */
int vault_policy__run(vault *v, const char *action, vault_event_fn fn, void *payload)
{
	int error = vault_event__run(v, action, fn, NULL, payload, 0);

	return error > 0 ? 0 : error;
}
