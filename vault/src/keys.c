/*
 * keys — case keys: the keys a session holds, sealing them to members,
 * the epochs a revocation retires, and the key work a session settles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "report.h"
#include "trust.h"

/* ---- case keys ---------------------------------------------------------- */

/* The session's key cache; threads of the mount share it. */
static case_key *key_cached(vault *v, const char *code, uint32_t epoch)
{
	case_key *found = NULL;

	pthread_mutex_lock(&v->key_lock);
	for (case_key *k = v->keys; k; k = k->next)
		if (k->epoch == epoch && !strcmp(k->code, code)) {
			found = k;
			break;
		}
	pthread_mutex_unlock(&v->key_lock);
	return found;
}

int vault_keys__cache(case_key **out, vault *v, const char *code, uint32_t epoch, unsigned char *key)
{
	case_key *k = calloc(1, sizeof *k);

	if (!k) {
		vault_vcrypto__key_free(key);
		return vault_error_set_oom();
	}
	snprintf(k->code, sizeof k->code, "%s", code);
	k->epoch = epoch;
	k->key = key;
	pthread_mutex_lock(&v->key_lock);
	k->next = v->keys;
	v->keys = k;
	pthread_mutex_unlock(&v->key_lock);
	*out = k;
	return 0;
}

/*
 * What binds a key to its place. A sealed box has no associated data, and
 * whoever can write the vault file can seal any key to a member's public
 * key or move a sealed entry to another name. So the sealed plaintext
 * carries, after the key, a hash of where it belongs (vault, case, epoch,
 * recipient); and every key unsealed or un-chained must match its epoch's
 * key-check value, which is in the case's tree file and so vouched for by
 * the signed history. A key that fails either is not used, cached or
 * sealed to anyone.
 */
#define SEALED_PLAIN (VCRYPTO_KEYBYTES + 32)

void vault_keys__binding(unsigned char out[32], const vault *v, const char *code, uint32_t epoch,
	const char *user)
{
	vault_vcrypto__binding(out, v->id, code, epoch, user);
}

void vault_keys__kcv(unsigned char out[KCV_SIZE], const vault *v, const char *code, uint32_t epoch,
	const unsigned char *key)
{
	vault_vcrypto__kcv(out, v->id, code, epoch, key);
}

/* Is `key` the key of `c`'s `epoch`, as its key-check value says? */
static int kcv_ok(const vault *v, const case_rec *c, uint32_t epoch, const unsigned char *key)
{
	unsigned char kcv[KCV_SIZE];

	vault_keys__kcv(kcv, v, c->code, epoch, key);
	return sodium_memcmp(kcv, c->kcv[epoch - 1], KCV_SIZE) == 0;
}

static void chain_ad(unsigned char ad[96], size_t *len, const vault *v, const char *code, uint32_t epoch)
{
	*len = (size_t)snprintf((char *)ad, 96, "cv-chain:%s:%s:%u", v->id, code, epoch);
}

/* Unseal this user's key for `epoch` from the sealed table; ENOTFOUND. */
static int key_unseal(unsigned char **out, MDB_txn *txn, vault *v, const case_rec *c, uint32_t epoch)
{
	char skey[64];
	MDB_val val;
	unsigned char *plain = NULL, bind[32];
	int error;

	*out = NULL;
	vault_rec__sealed_name(skey, sizeof skey, c->code, epoch, v->user);
	if ((error = vault_rec__get(txn, v, v->st->sealed, skey, &val)) < 0)
		return error;
	if ((error = vault_vcrypto__secret_alloc(&plain, SEALED_PLAIN)) < 0)
		return error;
	vault_keys__binding(bind, v, c->code, epoch, v->user);
	if (val.mv_size != 1 + SEALED_PLAIN + VCRYPTO_SEALBYTES ||
	    ((unsigned char *)val.mv_data)[0] != REC_FORMAT ||
	    vault_vcrypto__unseal(plain, (unsigned char *)val.mv_data + 1, val.mv_size - 1, v->pk, v->sk) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "sealed key of case '%s' epoch %u for '%s' is damaged",
			c->code, epoch, v->user);
	} else if (sodium_memcmp(plain + VCRYPTO_KEYBYTES, bind, 32) != 0) {
		error = vault_error_set(VAULT_ECORRUPT,
			"sealed key of case '%s' epoch %u for '%s' was sealed for another case, epoch, user or vault",
			c->code, epoch, v->user);
	} else if (!kcv_ok(v, c, epoch, plain)) {
		error = vault_error_set(VAULT_ECORRUPT,
			"sealed key of case '%s' epoch %u for '%s' fails the case's key-check value",
			c->code, epoch, v->user);
	}
	if (error < 0) {
		vault_vcrypto__key_free(plain);
		return error;
	}
	sodium_memzero(plain + VCRYPTO_KEYBYTES, 32);
	*out = plain;
	return 0;
}

/* A key the session holds is used only if it is the key of this record. */
static int held_ok(const vault *v, const case_rec *c, uint32_t epoch, const unsigned char *key)
{
	if (kcv_ok(v, c, epoch, key))
		return 0;
	return vault_error_set(VAULT_ECORRUPT,
		"the key of case '%s' epoch %u this session holds fails the case record's key-check value",
		c->code, epoch);
}

int vault_keys__case_key(const unsigned char **out, MDB_txn *txn, vault *v, case_rec *c, uint32_t epoch)
{
	case_key *k = NULL;
	unsigned char *key = NULL, ad[96];
	uint32_t e;
	size_t adlen;
	int error;

	*out = NULL;
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if (epoch == 0 || epoch > c->epoch)
		return vault_error_set(VAULT_ECORRUPT, "case '%s' has no key epoch %u", c->code, epoch);
	/* A key cached earlier (perhaps outside an event, from a record that
	 * was edited since) must be this record's key. */
	if ((k = key_cached(v, c->code, epoch)) != NULL) {
		if ((error = held_ok(v, c, epoch, k->key)) < 0)
			return error;
		*out = k->key;
		return 0;
	}
	/* Find the newest epoch at or above `epoch` sealed to this user... */
	for (e = c->epoch; e >= epoch; e--) {
		if ((k = key_cached(v, c->code, e)) != NULL)
			break;
		error = key_unseal(&key, txn, v, c, e);
		if (error == 0) {
			if ((error = vault_keys__cache(&k, v, c->code, e, key)) < 0)
				return error;
			break;
		}
		if (error != VAULT_ENOTFOUND)
			return error;
		if (e == 1)
			break;
	}
	if (!k)
		return vault_error_set(VAULT_EACCES, "user '%s' holds no key of case '%s'", v->user, c->code);
	if ((error = held_ok(v, c, e, k->key)) < 0)
		return error;
	/* ... then walk the chain down: key e unwraps key e-1. */
	while (e > epoch) {
		case_key *prev;
		if ((error = vault_vcrypto__secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0)
			return error;
		chain_ad(ad, &adlen, v, c->code, e);
		if (vault_vcrypto__open(key, c->chain[e - 2], CHAIN_SIZE, ad, adlen, k->key) < 0) {
			vault_vcrypto__key_free(key);
			return vault_error_set(VAULT_ECORRUPT, "key chain of case '%s' is damaged at epoch %u", c->code, e);
		}
		if (!kcv_ok(v, c, e - 1, key)) {
			vault_vcrypto__key_free(key);
			return vault_error_set(VAULT_ECORRUPT,
				"key chain of case '%s' at epoch %u fails the key-check value of epoch %u",
				c->code, e, e - 1);
		}
		e--;
		if ((prev = key_cached(v, c->code, e)) != NULL) {
			vault_vcrypto__key_free(key);
			k = prev;
		} else if ((error = vault_keys__cache(&k, v, c->code, e, key)) < 0) {
			return error;
		}
	}
	*out = k->key;
	return 0;
}

int vault_keys__lookup_key(const unsigned char **out, MDB_txn *txn, vault *v, case_rec *c)
{
	const unsigned char *k1;
	unsigned char *lookup = NULL;
	case_key *k;
	int error;

	*out = NULL;
	if ((error = vault_keys__case_key(&k1, txn, v, c, 1)) < 0)
		return error;
	/* Derived once per session, kept beside the epoch-1 key. */
	if ((k = key_cached(v, c->code, 1)) == NULL)
		return vault_error_set(VAULT_ERROR, "key of case '%s' left the cache", c->code);
	pthread_mutex_lock(&v->key_lock);
	if (k->lookup == NULL) {
		pthread_mutex_unlock(&v->key_lock);
		if ((error = vault_vcrypto__subkey(&lookup, k1, 1, "cv-names")) < 0)
			return error;
		pthread_mutex_lock(&v->key_lock);
		if (k->lookup == NULL) {
			k->lookup = lookup;
			lookup = NULL;
		}
	}
	*out = k->lookup;
	pthread_mutex_unlock(&v->key_lock);
	vault_vcrypto__key_free(lookup);
	return 0;
}

int vault_keys__seal(MDB_txn *txn, vault *v, const case_rec *c, uint32_t epoch,
	const char *user, const unsigned char *key)
{
	unsigned char buf[1 + SEALED_PLAIN + VCRYPTO_SEALBYTES], *plain = NULL;
	char skey[64];
	user_rec u;
	int error;

	if ((error = vault_user__get(&u, txn, v, user)) < 0)
		return error;
	/* Disabling takes a user out of every case first: a disabled member
	 * is a record edited behind casevault's back. */
	if (u.status != USER_ACTIVE)
		return vault_error_set(VAULT_ECORRUPT, "case '%s' lists disabled user '%s' as a member", c->code, user);
	/* The last line before a key leaves this process. */
	if (!kcv_ok(v, c, epoch, key))
		return vault_error_set(VAULT_ECORRUPT, "key of case '%s' epoch %u fails its key-check value",
			c->code, epoch);
	if ((error = vault_vcrypto__secret_alloc(&plain, SEALED_PLAIN)) < 0)
		return error;
	memcpy(plain, key, VCRYPTO_KEYBYTES);
	vault_keys__binding(plain + VCRYPTO_KEYBYTES, v, c->code, epoch, user);
	buf[0] = REC_FORMAT;
	error = vault_vcrypto__seal_to(buf + 1, plain, SEALED_PLAIN, u.pk);
	vault_vcrypto__key_free(plain);
	if (error < 0)
		return error;
	vault_rec__sealed_name(skey, sizeof skey, c->code, epoch, user);
	return vault_rec__put(txn, v, v->st->sealed, skey, buf, sizeof buf);
}

int vault_keys__has_sealed(MDB_txn *txn, vault *v, const char *code, uint32_t epoch, const char *user)
{
	char skey[64];
	MDB_val val;

	vault_rec__sealed_name(skey, sizeof skey, code, epoch, user);
	return vault_rec__get(txn, v, v->st->sealed, skey, &val) == 0;
}

int vault_keys__settle(MDB_txn *txn, vault *v, case_rec *c, int *changed)
{
	const unsigned char *cur;
	unsigned char *next = NULL, ad[96];
	case_key *k = NULL;
	size_t adlen;
	int error;

	*changed = 0;
	if ((error = vault_keys__case_key(&cur, txn, v, c, c->epoch)) < 0)
		return error;
	if (c->retired) {
		/* A revocation retired the epoch: start the next one, sealed to
		 * the remaining members only, with the old key chained under it. */
		void *chain = realloc(c->chain, (c->nchain + 1) * CHAIN_SIZE), *kcv;
		if (!chain)
			return vault_error_set_oom();
		c->chain = chain;
		if ((kcv = realloc(c->kcv, ((size_t)c->epoch + 1) * KCV_SIZE)) == NULL)
			return vault_error_set_oom();
		c->kcv = kcv;
		if ((error = vault_vcrypto__key_new(&next)) < 0)
			return error;
		c->epoch++;
		vault_keys__kcv(c->kcv[c->epoch - 1], v, c->code, c->epoch, next);
		chain_ad(ad, &adlen, v, c->code, c->epoch);
		vault_vcrypto__seal(c->chain[c->nchain], cur, VCRYPTO_KEYBYTES, ad, adlen, next);
		c->nchain++;
		c->retired = 0;
		if ((error = vault_keys__cache(&k, v, c->code, c->epoch, next)) < 0)
			return error;
		cur = k->key;
		*changed = 1;
	}
	for (size_t i = 0; i < c->nmembers; i++) {
		if (vault_keys__has_sealed(txn, v, c->code, c->epoch, c->members[i].user))
			continue;
		if ((error = vault_keys__seal(txn, v, c, c->epoch, c->members[i].user, cur)) < 0)
			return error;
		*changed = 1;
	}
	if (*changed)
		error = vault_case__put(txn, v, c);
	return error;
}

int vault_keys__user_trusted(MDB_txn *txn, vault *v, const char *name)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error = vault_blob__stored(&b, path, txn, v, VAULT_REC_USER, name, 0);

	if (error == 0)
		error = vault_event__matches_head(v, txn, path, &b);
	vault_buf_dispose(&b);
	return error;
}

int vault_keys__epoch_trusted(MDB_txn *txn, vault *v, const case_rec *c)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error;

	if ((error = vault_blob__case(&b, txn, v, c)) == 0) {
		vault_case__path(path, c->code);
		error = vault_event__matches_head(v, txn, path, &b);
	}
	vault_buf_dispose(&b);
	return error;
}

int vault_keys__writable(MDB_txn *txn, vault *v, const case_rec *c)
{
	MDB_txn *cur = vault_store__cur;
	int error;

	/* Outside an event (the staged blocks of a large write) this is the
	 * transaction the history is read through meanwhile. */
	vault_store__cur = txn;
	if ((error = vault_trust__gate(v, txn)) == 0)
		error = vault_keys__epoch_trusted(txn, v, c);
	vault_store__cur = cur;
	return error;
}

/*
 * Keys are sealed only to members and keys that the signed history vouches
 * for: an edit of the LMDB records alone (a member added, a public key
 * swapped) does not get a case key sealed to anyone.
 */
int vault_keys__case_trusted(MDB_txn *txn, vault *v, const case_rec *c)
{
	int error = vault_keys__epoch_trusted(txn, v, c);

	for (size_t i = 0; i < c->nmembers && error == 0; i++)
		error = vault_keys__user_trusted(txn, v, c->members[i].user);
	return error;
}

static int needs_settling(MDB_txn *txn, vault *v, case_rec *c)
{
	if (!vault_case__member(c, v->user) || !vault_keys__has_sealed(txn, v, c->code, c->epoch, v->user))
		return 0;
	if (c->retired)
		return 1;
	for (size_t i = 0; i < c->nmembers; i++)
		if (!vault_keys__has_sealed(txn, v, c->code, c->epoch, c->members[i].user))
			return 1;
	return 0;
}

static int rekey_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *code = payload;
	case_rec c;
	int changed, error;

	if ((error = vault_case__get(&c, txn, v, code)) < 0)
		return error;
	if (!needs_settling(txn, v, &c)) {
		vault_case__dispose(&c);
		return 1;     /* another session did it meanwhile */
	}
	if ((error = vault_keys__case_trusted(txn, v, &c)) == 0)
		error = vault_keys__settle(txn, v, &c, &changed);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", code);
	vault_case__dispose(&c);
	if (error < 0)
		return error;
	return vault_event__touch_case(ev, v, txn, code);
}

/* ---- the audit key --------------------------------------------------------- */

int vault_keys__seal_audit(MDB_txn *txn, vault *v, const char *to, const unsigned char to_pk[32])
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
	return vault_rec__put(txn, v, v->st->sealed, key, sealed, sizeof sealed);
}

static int has_audit_key(MDB_txn *txn, vault *v, const char *name)
{
	char key[VAULT_NAME_MAX + 16];
	MDB_val val;

	snprintf(key, sizeof key, "@audit/%s", name);
	return vault_rec__get(txn, v, v->st->sealed, key, &val) != VAULT_ENOTFOUND;
}

/* An active admin or auditor who lacks the audit key (enrolled since). */
static int lacks_audit_key(MDB_txn *txn, vault *v, const char *name, const user_rec *u)
{
	return u->status == USER_ACTIVE && u->role != VAULT_ROLE_CASEWORKER &&
		!has_audit_key(txn, v, name);
}

static int audit_key_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *name = payload;
	user_rec u;
	int error;

	if ((error = vault_user__get(&u, txn, v, name)) < 0)
		return error;
	if (!lacks_audit_key(txn, v, name, &u))
		return 1;     /* another session did it meanwhile */
	if ((error = vault_keys__user_trusted(txn, v, name)) < 0 ||
	    (error = vault_keys__seal_audit(txn, v, name, u.pk)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", name);
	return 0;
}

typedef struct {
	MDB_txn *txn;
	vault *v;
	char (*todo)[VAULT_CODE_SIZE];
	size_t ntodo;
	char (*users)[VAULT_NAME_MAX + 1];
	size_t nusers;
} maintain_args;

static int note_keyless(const char *name, const user_rec *u, void *payload)
{
	maintain_args *a = payload;
	void *t;

	if (!lacks_audit_key(a->txn, a->v, name, u))
		return 0;
	if ((t = realloc(a->users, (a->nusers + 1) * sizeof *a->users)) == NULL)
		return vault_error_set_oom();
	a->users = t;
	snprintf(a->users[a->nusers++], sizeof *a->users, "%s", name);
	return 0;
}

static int note_unsettled(case_rec *c, void *payload)
{
	maintain_args *a = payload;
	void *t;

	if (!needs_settling(a->txn, a->v, c))
		return 0;
	if ((t = realloc(a->todo, (a->ntodo + 1) * sizeof *a->todo)) == NULL)
		return vault_error_set_oom();
	a->todo = t;
	memcpy(a->todo[a->ntodo++], c->code, VAULT_CODE_SIZE);
	return 0;
}

int vault_keys__maintain(vault *v)
{
	maintain_args a = { NULL, v, NULL, 0, NULL, 0 };
	int error;

	if ((error = vault_store__begin(&a.txn, v->st, 0)) < 0)
		return error;
	error = vault_case__each(a.txn, v, note_unsettled, &a);
	/* Admins and auditors enrol on their own: the audit key reaches them
	 * from the next session of one who holds it. */
	if (error == 0 && v->role != VAULT_ROLE_CASEWORKER && has_audit_key(a.txn, v, v->user))
		error = vault_user__each(a.txn, v, note_keyless, &a);
	vault_store__abort(v->st, a.txn);
	for (size_t i = 0; i < a.ntodo && error >= 0; i++) {
		error = vault_policy__run(v, "rekey", rekey_fn, a.todo[i]);
		if (error == 1)
			error = 0;
	}
	for (size_t i = 0; i < a.nusers && error >= 0; i++)
		error = vault_policy__run(v, "audit-key", audit_key_fn, a.users[i]);
	free(a.todo);
	free(a.users);
	return error < 0 ? error : 0;
}
