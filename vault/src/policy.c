/*
 * policy — users, roles, cases, membership and the case key flow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
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

/* The message names the user and the roles; the caller says what it was doing. */
static int require_role(vault *v, vault_role_t role)
{
	int error;

	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	if (v->role != role)
		return vault_error_set(VAULT_EACCES, "user '%s' is %s %s, not an %s", v->user,
			v->role == VAULT_ROLE_ADMIN ? "an" : "a", vault_role_name(v->role), vault_role_name(role));
	return 0;
}

/* A policy event has a transaction of its own. Nothing to record (a rekey
 * another session did meanwhile, a setting to the value it has) is done. */
static int run_event(vault *v, const char *action, vault_event_fn fn, void *payload)
{
	int error = vault_event__run(v, action, fn, NULL, payload, 0);

	return error > 0 ? 0 : error;
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
	    vcrypto_unseal(sk, (unsigned char *)val.mv_data + 1, val.mv_size - 1, v->pk, v->sk) < 0)
		return vault_error_set(VAULT_ECORRUPT, "sealed audit key of user '%s' is damaged", v->user);
	sealed[0] = REC_FORMAT;
	error = vcrypto_seal_to(sealed + 1, sk, 32, to_pk);
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
	vcrypto_key_free(sk);   /* the new user unlocks it with their passphrase */
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

	if ((error = require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_user__check_name(name, "user")) < 0)
		return error;
	if (role < VAULT_ROLE_ADMIN || role > VAULT_ROLE_AUDITOR)
		return vault_error_set(VAULT_EUSAGE, "unknown role for user '%s'", name);
	return run_event(v, "user-add", user_add_fn, &a);
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

	if ((error = require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_user__check_name(name, "user")) < 0)
		return error;
	return run_event(v, "user-disable", user_disable_fn, (void *)name);
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
	return run_event(v, "passwd", passwd_fn, &a);
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

/* ---- cases -------------------------------------------------------------- */

#define CHAIN_SIZE (VCRYPTO_OVERHEAD + VCRYPTO_KEYBYTES)

static int check_code(const char *code)
{
	size_t n = strlen(code);

	if (n != VAULT_CODE_SIZE - 1 || code[0] != 'C' || code[1] != '-')
		return vault_error_set(VAULT_EUSAGE, "'%s' is not a case code (C- and 8 characters)", code);
	for (size_t i = 2; i < n; i++)
		if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]))
			return vault_error_set(VAULT_EUSAGE, "'%s' is not a case code (C- and 8 characters)", code);
	return 0;
}

void vault_case__dispose(case_rec *c)
{
	free(c->chain);
	c->chain = NULL;
	c->nchain = 0;
}

int vault_case__get(case_rec *out, MDB_txn *txn, vault *v, const char *code)
{
	MDB_val val;
	const unsigned char *p, *end;
	int error;

	memset(out, 0, sizeof *out);
	if ((error = check_code(code)) < 0)
		return error;
	if ((error = vault_store__get(txn, v->st->cases, code, strlen(code), &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "case '%s' does not exist", code);
		return error;
	}
	p = val.mv_data;
	end = p + val.mv_size;
	snprintf(out->code, sizeof out->code, "%s", code);
#define NEED(n) do { if ((size_t)(end - p) < (size_t)(n)) goto bad; } while (0)
	NEED(1 + 4 + 1 + 8 + 4 + 2);
	if (*p++ != REC_FORMAT)
		goto bad;
	out->epoch = be32_get(p); p += 4;
	out->retired = *p++;
	out->root = be64_get(p); p += 8;
	out->label_epoch = be32_get(p); p += 4;
	out->label_len = ((size_t)p[0] << 8) | p[1]; p += 2;
	if (out->label_len > sizeof out->label || out->epoch == 0)
		goto bad;
	NEED(out->label_len + 1);
	memcpy(out->label, p, out->label_len); p += out->label_len;
	out->nmembers = *p++;
	if (out->nmembers > CASE_MAX_MEMBERS)
		goto bad;
	for (size_t i = 0; i < out->nmembers; i++) {
		size_t n;
		NEED(1);
		n = *p++;
		if (n == 0 || n > VAULT_NAME_MAX)
			goto bad;
		NEED(n + 1);
		memcpy(out->members[i].user, p, n);
		out->members[i].user[n] = '\0';
		p += n;
		out->members[i].read_only = *p++;
	}
	NEED(2);
	out->nchain = ((size_t)p[0] << 8) | p[1]; p += 2;
	if (out->nchain != out->epoch - 1)
		goto bad;
	NEED(out->nchain * CHAIN_SIZE);
	if (out->nchain) {
		if ((out->chain = malloc(out->nchain * CHAIN_SIZE)) == NULL)
			return vault_error_set_oom();
		memcpy(out->chain, p, out->nchain * CHAIN_SIZE);
		p += out->nchain * CHAIN_SIZE;
	}
	if (p != end)
		goto bad;
#undef NEED
	return 0;
bad:
	vault_case__dispose(out);
	return vault_error_set(VAULT_ECORRUPT, "record of case '%s' is damaged", code);
}

int vault_case__put(MDB_txn *txn, vault *v, const case_rec *c)
{
	vault_buf b = VAULT_BUF_INIT;
	unsigned char hdr[1 + 4 + 1 + 8 + 4 + 2], *p = hdr, n;
	int error;

	*p++ = REC_FORMAT;
	be32_put(p, c->epoch); p += 4;
	*p++ = (unsigned char)c->retired;
	be64_put(p, c->root); p += 8;
	be32_put(p, c->label_epoch); p += 4;
	*p++ = (unsigned char)(c->label_len >> 8);
	*p++ = (unsigned char)c->label_len;
	vault_buf_put(&b, hdr, sizeof hdr);
	vault_buf_put(&b, c->label, c->label_len);
	n = (unsigned char)c->nmembers;
	vault_buf_put(&b, &n, 1);
	for (size_t i = 0; i < c->nmembers; i++) {
		unsigned char len = (unsigned char)strlen(c->members[i].user);
		unsigned char ro = (unsigned char)c->members[i].read_only;
		vault_buf_put(&b, &len, 1);
		vault_buf_put(&b, c->members[i].user, len);
		vault_buf_put(&b, &ro, 1);
	}
	hdr[0] = (unsigned char)(c->nchain >> 8);
	hdr[1] = (unsigned char)c->nchain;
	vault_buf_put(&b, hdr, 2);
	vault_buf_put(&b, c->chain, c->nchain * CHAIN_SIZE);
	if (b.oom)
		error = vault_error_set_oom();
	else
		error = vault_store__put(txn, v->st->cases, c->code, strlen(c->code), b.ptr, b.size, 0);
	vault_buf_dispose(&b);
	return error;
}

member_rec *vault_case__member(case_rec *c, const char *user)
{
	for (size_t i = 0; i < c->nmembers; i++)
		if (!strcmp(c->members[i].user, user))
			return &c->members[i];
	return NULL;
}

static void sealed_key(char *out, size_t n, const char *code, uint32_t epoch, const char *user)
{
	snprintf(out, n, "%s/%08x/%s", code, epoch, user);
}

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

static int key_cache(case_key **out, vault *v, const char *code, uint32_t epoch, unsigned char *key)
{
	case_key *k = calloc(1, sizeof *k);

	if (!k) {
		vcrypto_key_free(key);
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

static void chain_ad(unsigned char ad[32], size_t *len, const char *code, uint32_t epoch)
{
	*len = (size_t)snprintf((char *)ad, 32, "cv-chain:%s:%u", code, epoch);
}

/* Unseal this user's key for `epoch` from the sealed table; ENOTFOUND. */
static int key_unseal(unsigned char **out, MDB_txn *txn, vault *v, const char *code, uint32_t epoch)
{
	char skey[64];
	MDB_val val;
	unsigned char *key = NULL;
	int error;

	*out = NULL;
	sealed_key(skey, sizeof skey, code, epoch, v->user);
	if ((error = vault_store__get(txn, v->st->sealed, skey, strlen(skey), &val)) < 0)
		return error;
	if ((error = vcrypto_secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0)
		return error;
	if (val.mv_size != 1 + VCRYPTO_KEYBYTES + VCRYPTO_SEALBYTES ||
	    ((unsigned char *)val.mv_data)[0] != REC_FORMAT ||
	    vcrypto_unseal(key, (unsigned char *)val.mv_data + 1, val.mv_size - 1, v->pk, v->sk) < 0) {
		vcrypto_key_free(key);
		return vault_error_set(VAULT_ECORRUPT, "sealed key of case '%s' epoch %u for '%s' is damaged",
			code, epoch, v->user);
	}
	*out = key;
	return 0;
}

int vault_case__key(const unsigned char **out, MDB_txn *txn, vault *v, case_rec *c, uint32_t epoch)
{
	case_key *k = NULL;
	unsigned char *key = NULL, ad[32];
	uint32_t e;
	size_t adlen;
	int error;

	*out = NULL;
	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	if (epoch == 0 || epoch > c->epoch)
		return vault_error_set(VAULT_ECORRUPT, "case '%s' has no key epoch %u", c->code, epoch);
	if ((k = key_cached(v, c->code, epoch)) != NULL) {
		*out = k->key;
		return 0;
	}
	/* Find the newest epoch at or above `epoch` sealed to this user... */
	for (e = c->epoch; e >= epoch; e--) {
		if ((k = key_cached(v, c->code, e)) != NULL)
			break;
		error = key_unseal(&key, txn, v, c->code, e);
		if (error == 0) {
			if ((error = key_cache(&k, v, c->code, e, key)) < 0)
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
	/* ... then walk the chain down: key e unwraps key e-1. */
	while (e > epoch) {
		case_key *prev;
		if ((error = vcrypto_secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0)
			return error;
		chain_ad(ad, &adlen, c->code, e);
		if (vcrypto_open(key, c->chain[e - 2], CHAIN_SIZE, ad, adlen, k->key) < 0) {
			vcrypto_key_free(key);
			return vault_error_set(VAULT_ECORRUPT, "key chain of case '%s' is damaged at epoch %u", c->code, e);
		}
		e--;
		if ((prev = key_cached(v, c->code, e)) != NULL) {
			vcrypto_key_free(key);
			k = prev;
		} else if ((error = key_cache(&k, v, c->code, e, key)) < 0) {
			return error;
		}
	}
	*out = k->key;
	return 0;
}

int vault_case__lookup_key(const unsigned char **out, MDB_txn *txn, vault *v, case_rec *c)
{
	const unsigned char *k1;
	unsigned char *lookup = NULL;
	case_key *k;
	int error;

	*out = NULL;
	if ((error = vault_case__key(&k1, txn, v, c, 1)) < 0)
		return error;
	/* Derived once per session, kept beside the epoch-1 key. */
	if ((k = key_cached(v, c->code, 1)) == NULL)
		return vault_error_set(VAULT_ERROR, "key of case '%s' left the cache", c->code);
	pthread_mutex_lock(&v->key_lock);
	if (k->lookup == NULL) {
		pthread_mutex_unlock(&v->key_lock);
		if ((error = vcrypto_subkey(&lookup, k1, 1, "cv-names")) < 0)
			return error;
		pthread_mutex_lock(&v->key_lock);
		if (k->lookup == NULL) {
			k->lookup = lookup;
			lookup = NULL;
		}
	}
	*out = k->lookup;
	pthread_mutex_unlock(&v->key_lock);
	vcrypto_key_free(lookup);
	return 0;
}

static int seal_case_key(MDB_txn *txn, vault *v, const char *code, uint32_t epoch,
	const char *user, const unsigned char *key)
{
	unsigned char buf[1 + VCRYPTO_KEYBYTES + VCRYPTO_SEALBYTES];
	char skey[64];
	user_rec u;
	int error;

	if ((error = vault_user__get(&u, txn, v, user)) < 0)
		return error;
	buf[0] = REC_FORMAT;
	if ((error = vcrypto_seal_to(buf + 1, key, VCRYPTO_KEYBYTES, u.pk)) < 0)
		return error;
	sealed_key(skey, sizeof skey, code, epoch, user);
	return vault_store__put(txn, v->st->sealed, skey, strlen(skey), buf, sizeof buf, 0);
}

static int has_sealed(MDB_txn *txn, vault *v, const char *code, uint32_t epoch, const char *user)
{
	char skey[64];
	MDB_val val;

	sealed_key(skey, sizeof skey, code, epoch, user);
	return vault_store__get(txn, v->st->sealed, skey, strlen(skey), &val) == 0;
}

int vault_case__settle(MDB_txn *txn, vault *v, case_rec *c, int *changed)
{
	const unsigned char *cur;
	unsigned char *next = NULL, ad[32];
	case_key *k = NULL;
	size_t adlen;
	int error;

	*changed = 0;
	if ((error = vault_case__key(&cur, txn, v, c, c->epoch)) < 0)
		return error;
	if (c->retired) {
		/* A revocation retired the epoch: start the next one, sealed to
		 * the remaining members only, with the old key chained under it. */
		void *chain = realloc(c->chain, (c->nchain + 1) * CHAIN_SIZE);
		if (!chain)
			return vault_error_set_oom();
		c->chain = chain;
		if ((error = vcrypto_key_new(&next)) < 0)
			return error;
		c->epoch++;
		chain_ad(ad, &adlen, c->code, c->epoch);
		vcrypto_seal(c->chain[c->nchain], cur, VCRYPTO_KEYBYTES, ad, adlen, next);
		c->nchain++;
		c->retired = 0;
		if ((error = key_cache(&k, v, c->code, c->epoch, next)) < 0)
			return error;
		cur = k->key;
		*changed = 1;
	}
	for (size_t i = 0; i < c->nmembers; i++) {
		if (has_sealed(txn, v, c->code, c->epoch, c->members[i].user))
			continue;
		if ((error = seal_case_key(txn, v, c->code, c->epoch, c->members[i].user, cur)) < 0)
			return error;
		*changed = 1;
	}
	if (*changed)
		error = vault_case__put(txn, v, c);
	return error;
}

static int user_trusted(MDB_txn *txn, vault *v, const char *name)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	user_rec u;
	int error;

	if ((error = vault_user__get(&u, txn, v, name)) == 0 &&
	    (error = vault_blob__user(&b, name, &u)) == 0) {
		snprintf(path, sizeof path, "policy/users/%s", name);
		error = vault_audit__matches_head(v, txn, path, &b);
	}
	vault_buf_dispose(&b);
	return error;
}

/*
 * Keys are sealed only to members and keys that the signed history vouches
 * for: an edit of the LMDB records alone (a member added, a public key
 * swapped) does not get a case key sealed to anyone.
 */
static int case_trusted(MDB_txn *txn, vault *v, const case_rec *c)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error;

	if ((error = vault_blob__case(&b, c)) == 0) {
		snprintf(path, sizeof path, "policy/cases/%s", c->code);
		error = vault_audit__matches_head(v, txn, path, &b);
	}
	vault_buf_dispose(&b);
	for (size_t i = 0; i < c->nmembers && error == 0; i++)
		error = user_trusted(txn, v, c->members[i].user);
	return error;
}

static int needs_settling(MDB_txn *txn, vault *v, case_rec *c)
{
	if (!vault_case__member(c, v->user) || !has_sealed(txn, v, c->code, c->epoch, v->user))
		return 0;
	if (c->retired)
		return 1;
	for (size_t i = 0; i < c->nmembers; i++)
		if (!has_sealed(txn, v, c->code, c->epoch, c->members[i].user))
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
	if ((error = case_trusted(txn, v, &c)) == 0)
		error = vault_case__settle(txn, v, &c, &changed);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", code);
	vault_case__dispose(&c);
	if (error < 0)
		return error;
	return vault_event__touch_case(ev, v, txn, code);
}

int vault_policy__maintain(vault *v)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	char (*todo)[VAULT_CODE_SIZE] = NULL;
	size_t ntodo = 0;
	int rc, error;

	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	if ((rc = mdb_cursor_open(txn, v->st->cases, &cur)) != 0) {
		error = vault_store__error(rc, "list cases");
		goto done;
	}
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		char code[VAULT_CODE_SIZE];
		case_rec c;

		if (k.mv_size != VAULT_CODE_SIZE - 1)
			continue;
		memcpy(code, k.mv_data, k.mv_size);
		code[k.mv_size] = '\0';
		if ((error = vault_case__get(&c, txn, v, code)) < 0)
			goto done;
		if (needs_settling(txn, v, &c)) {
			void *t = realloc(todo, (ntodo + 1) * sizeof *todo);
			if (!t) {
				vault_case__dispose(&c);
				error = vault_error_set_oom();
				goto done;
			}
			todo = t;
			memcpy(todo[ntodo++], code, VAULT_CODE_SIZE);
		}
		vault_case__dispose(&c);
	}
	mdb_cursor_close(cur);
	cur = NULL;
	vault_store__abort(v->st, txn);
	txn = NULL;
	error = 0;
	for (size_t i = 0; i < ntodo && error >= 0; i++) {
		error = run_event(v, "rekey", rekey_fn, todo[i]);
		if (error == 1)
			error = 0;
	}
done:
	free(todo);
	if (cur)
		mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	return error < 0 ? error : 0;
}

static void label_ad(unsigned char ad[32], size_t *len, const char *code)
{
	*len = (size_t)snprintf((char *)ad, 32, "cv-label:%s", code);
}

typedef struct {
	const char *label;
	char code[VAULT_CODE_SIZE];
} case_create_args;

static int case_create_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	case_create_args *a = payload;
	case_rec c;
	node_rec root;
	unsigned char *key = NULL, ad[32];
	case_key *k = NULL;
	size_t adlen;
	MDB_val val;
	int error, tries = 0;

	memset(&c, 0, sizeof c);
	do {
		memcpy(c.code, "C-", 2);
		vault_random_code(c.code + 2, 8);
		error = vault_store__get(txn, v->st->cases, c.code, strlen(c.code), &val);
	} while (error == 0 && ++tries < 16);
	if (error != VAULT_ENOTFOUND)
		return error < 0 ? error : vault_error_set(VAULT_EEXISTS, "no free case code found");
	c.epoch = 1;
	c.nmembers = 1;
	snprintf(c.members[0].user, sizeof c.members[0].user, "%s", v->user);
	if ((error = vcrypto_key_new(&key)) < 0)
		return error;
	if ((error = key_cache(&k, v, c.code, 1, key)) < 0)
		return error;
	if (a->label && *a->label) {
		label_ad(ad, &adlen, c.code);
		c.label_epoch = 1;
		c.label_len = strlen(a->label) + VCRYPTO_OVERHEAD;
		vcrypto_seal(c.label, (const unsigned char *)a->label, strlen(a->label), ad, adlen, k->key);
	}
	memset(&root, 0, sizeof root);
	randombytes_buf(&root.id, sizeof root.id);
	root.type = NODE_DIR;
	root.state = NODE_LIVE;
	root.mode = NODE_DIR_MODE;
	root.mtime = root.ctime = root.atime = vault__now_ns();
	snprintf(root.code, sizeof root.code, "%s", c.code);
	c.root = root.id;
	if ((error = vault_node__put(txn, v, &root)) < 0)
		return error;
	if ((error = seal_case_key(txn, v, c.code, 1, v->user, k->key)) < 0)
		return error;
	if ((error = vault_case__put(txn, v, &c)) < 0)
		return error;
	memcpy(a->code, c.code, VAULT_CODE_SIZE);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", c.code);
	ev->node = root.id;
	if ((error = vault_event__touch_case(ev, v, txn, c.code)) < 0)
		return error;
	return vault_event__touch_node(ev, v, txn, root.id);
}

int vault_case_create(char code[VAULT_CODE_SIZE], vault *v, const char *label)
{
	case_create_args a = { label, "" };
	int error;

	code[0] = '\0';
	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	if (v->role == VAULT_ROLE_AUDITOR)
		return vault_error_set(VAULT_EACCES, "user '%s' is an auditor", v->user);
	if (label && strlen(label) > 256 - 1)
		return vault_error_set(VAULT_EUSAGE, "case label is longer than 255 bytes");
	if (label && memchr(label, '\n', strlen(label)))
		return vault_error_set(VAULT_EUSAGE, "case label holds a line break");
	if ((error = run_event(v, "case-create", case_create_fn, &a)) < 0)
		return error;
	memcpy(code, a.code, VAULT_CODE_SIZE);
	return 0;
}

typedef struct {
	const char *code, *user;
	int read_only;
} grant_args;

/* After a policy change: if this session holds the key, settle at once. */
static int settle_if_holder(MDB_txn *txn, vault *v, case_rec *c)
{
	int changed;

	if (!vault_case__member(c, v->user) || !has_sealed(txn, v, c->code, c->epoch, v->user))
		return 0;
	return vault_case__settle(txn, v, c, &changed);
}

static int grant_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	grant_args *a = payload;
	case_rec c;
	member_rec *m;
	user_rec u;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((error = vault_user__get(&u, txn, v, a->user)) < 0) {
		if (error == VAULT_ENOTFOUND)
			error = vault_error_set(VAULT_ENOTFOUND, "user '%s' does not exist", a->user);
		goto done;
	}
	if ((error = case_trusted(txn, v, &c)) < 0 || (error = user_trusted(txn, v, a->user)) < 0)
		goto done;
	if (u.role == VAULT_ROLE_AUDITOR) {
		error = vault_error_set(VAULT_EUSAGE, "user '%s' is an auditor and cannot be a case member", a->user);
		goto done;
	}
	if ((m = vault_case__member(&c, a->user)) != NULL) {
		if (m->read_only == a->read_only) {
			error = vault_error_set(VAULT_EEXISTS, "user '%s' is already a member of case '%s'", a->user, a->code);
			goto done;
		}
		m->read_only = a->read_only;
	} else {
		if (c.nmembers == CASE_MAX_MEMBERS) {
			error = vault_error_set(VAULT_EUSAGE, "case '%s' has %d members already", a->code, CASE_MAX_MEMBERS);
			goto done;
		}
		snprintf(c.members[c.nmembers].user, sizeof c.members[0].user, "%s", a->user);
		c.members[c.nmembers].read_only = a->read_only;
		c.nmembers++;
	}
	if ((error = vault_case__put(txn, v, &c)) < 0)
		goto done;
	if ((error = settle_if_holder(txn, v, &c)) < 0)
		goto done;
	snprintf(ev->case_code, sizeof ev->case_code, "%s", a->code);
	snprintf(ev->target, sizeof ev->target, "%s", a->user);
	error = vault_event__touch_case(ev, v, txn, a->code);
done:
	vault_case__dispose(&c);
	return error;
}

int vault_case_grant(vault *v, const char *code, const char *user, int read_only)
{
	grant_args a = { code, user, read_only ? 1 : 0 };
	int error;

	if ((error = require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = check_code(code)) < 0 || (error = vault_user__check_name(user, "user")) < 0)
		return error;
	return run_event(v, "grant", grant_fn, &a);
}

static int drop_sealed(MDB_txn *txn, vault *v, const char *code, const char *user)
{
	MDB_cursor *cur;
	MDB_val k, d;
	char prefix[VAULT_CODE_SIZE + 1];
	size_t plen, ulen = strlen(user);
	int rc;

	plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", code);
	if ((rc = mdb_cursor_open(txn, v->st->sealed, &cur)) != 0)
		return vault_store__error(rc, "revoke");
	k.mv_size = plen;
	k.mv_data = prefix;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen)) {
		/* code/EEEEEEEE/user */
		if (k.mv_size == plen + 9 + ulen && !memcmp((char *)k.mv_data + plen + 9, user, ulen)) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT);
			if (rc == MDB_NOTFOUND)
				break;
			continue;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return vault_store__error(rc, "revoke");
	return 0;
}

static int revoke_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	grant_args *a = payload;
	case_rec c;
	member_rec *m;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((error = case_trusted(txn, v, &c)) < 0)
		goto done;
	if ((m = vault_case__member(&c, a->user)) == NULL) {
		error = vault_error_set(VAULT_ENOTFOUND, "user '%s' is not a member of case '%s'", a->user, a->code);
		goto done;
	}
	if (c.nmembers == 1) {
		error = vault_error_set(VAULT_EREFUSED, "user '%s' is the last member of case '%s'", a->user, a->code);
		goto done;
	}
	memmove(m, m + 1, (size_t)(&c.members[c.nmembers] - (m + 1)) * sizeof *m);
	c.nmembers--;
	c.retired = 1;
	if ((error = drop_sealed(txn, v, a->code, a->user)) < 0)
		goto done;
	if ((error = vault_case__put(txn, v, &c)) < 0)
		goto done;
	if ((error = settle_if_holder(txn, v, &c)) < 0)
		goto done;
	snprintf(ev->case_code, sizeof ev->case_code, "%s", a->code);
	snprintf(ev->target, sizeof ev->target, "%s", a->user);
	error = vault_event__touch_case(ev, v, txn, a->code);
done:
	vault_case__dispose(&c);
	return error;
}

int vault_case_revoke(vault *v, const char *code, const char *user)
{
	grant_args a = { code, user, 0 };
	int error;

	if ((error = require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = check_code(code)) < 0 || (error = vault_user__check_name(user, "user")) < 0)
		return error;
	return run_event(v, "revoke", revoke_fn, &a);
}

int vault_case_foreach(vault *v, int (*cb)(const vault_case_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	vault_member members[CASE_MAX_MEMBERS];
	char label[256];
	int rc, error;

	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	if ((rc = mdb_cursor_open(txn, v->st->cases, &cur)) != 0) {
		error = vault_store__error(rc, "list cases");
		goto done;
	}
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		char code[VAULT_CODE_SIZE];
		vault_case_info info;
		const unsigned char *key;
		case_rec c;

		if (k.mv_size != VAULT_CODE_SIZE - 1)
			continue;
		memcpy(code, k.mv_data, k.mv_size);
		code[k.mv_size] = '\0';
		if ((error = vault_case__get(&c, txn, v, code)) < 0)
			goto done;
		if (v->role == VAULT_ROLE_CASEWORKER && !vault_case__member(&c, v->user)) {
			vault_case__dispose(&c);
			continue;
		}
		memset(&info, 0, sizeof info);
		info.code = code;
		info.epoch = c.epoch;
		info.retired = c.retired;
		info.nmembers = c.nmembers;
		info.members = members;
		for (size_t i = 0; i < c.nmembers; i++) {
			user_rec u;

			members[i].user = c.members[i].user;
			members[i].read_only = c.members[i].read_only;
			members[i].has_key = has_sealed(txn, v, code, c.epoch, c.members[i].user);
			members[i].disabled = vault_user__get(&u, txn, v, c.members[i].user) == 0 &&
				u.status == USER_DISABLED;
		}
		if (c.label_epoch && vault_case__member(&c, v->user) &&
		    vault_case__key(&key, txn, v, &c, c.label_epoch) == 0) {
			unsigned char ad[32];
			size_t adlen;
			label_ad(ad, &adlen, code);
			if (vcrypto_open((unsigned char *)label, c.label, c.label_len, ad, adlen, key) == 0) {
				label[c.label_len - VCRYPTO_OVERHEAD] = '\0';
				info.label = label;
			} else {
				vault_case__dispose(&c);
				error = vault_error_set(VAULT_ECORRUPT, "label of case '%s' fails authentication", code);
				goto done;
			}
		}
		error = cb(&info, payload);
		sodium_memzero(label, sizeof label);
		vault_case__dispose(&c);
		if (error != 0)
			goto done;
	}
	error = 0;
done:
	vault_error_clear();
	if (cur)
		mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- purposes ----------------------------------------------------------- */

static int check_purpose(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 32)
		return vault_error_set(VAULT_EUSAGE, "purpose code '%s' must be 1 to 32 characters", p);
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return vault_error_set(VAULT_EUSAGE, "purpose code '%s' may hold only a-z, 0-9 and -", p);
	return 0;
}

static int purposes_get(vault_buf *out, int *required, MDB_txn *txn, vault *v)
{
	MDB_val val;
	int error;

	*required = 0;
	error = vault__meta_get(&val, txn, v, "purpose-required");
	if (error == 0 && val.mv_size == 1)
		*required = ((unsigned char *)val.mv_data)[0] != 0;
	else if (error != VAULT_ENOTFOUND && error < 0)
		return error;
	error = vault__meta_get(&val, txn, v, "purposes");
	if (error == 0)
		vault_buf_put(out, val.mv_data, val.mv_size);
	else if (error != VAULT_ENOTFOUND)
		return error;
	vault_buf_put(out, "", 0);
	return out->oom ? vault_error_set_oom() : 0;
}

static int purpose_listed(const char *list, const char *p)
{
	size_t n = strlen(p);

	for (const char *s = list; s && *s; ) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == n && !memcmp(s, p, n))
			return 1;
		s = e ? e + 1 : NULL;
	}
	return 0;
}

int vault_policy__purpose_check(MDB_txn *txn, vault *v, const char *purpose)
{
	vault_buf list = VAULT_BUF_INIT;
	int required, error;

	if ((error = purposes_get(&list, &required, txn, v)) < 0)
		goto done;
	if (!purpose || !*purpose) {
		if (required)
			error = vault_error_set(VAULT_EUSAGE, "this vault requires a purpose for every read");
		goto done;
	}
	if ((error = check_purpose(purpose)) < 0)
		goto done;
	if (list.size && !purpose_listed(list.ptr, purpose))
		error = vault_error_set(VAULT_EUSAGE, "purpose '%s' is not in the vault's list", purpose);
done:
	vault_buf_dispose(&list);
	return error;
}

int vault_purpose_check(vault *v, const char *purpose)
{
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	error = vault_policy__purpose_check(txn, v, purpose);
	vault_store__abort(v->st, txn);
	return error;
}

static int purpose_add_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *code = payload;
	vault_buf list = VAULT_BUF_INIT;
	int required, error;

	if ((error = purposes_get(&list, &required, txn, v)) < 0)
		goto done;
	if (purpose_listed(list.ptr, code)) {
		error = vault_error_set(VAULT_EEXISTS, "purpose '%s' is already in the list", code);
		goto done;
	}
	if (list.size)
		vault_buf_put(&list, "\n", 1);
	vault_buf_put(&list, code, strlen(code));
	if (list.oom || list.size > 1000) {
		error = vault_error_set(VAULT_EUSAGE, "the purpose list is full");
		goto done;
	}
	if ((error = vault__meta_put(txn, v, "purposes", list.ptr, list.size)) < 0)
		goto done;
	snprintf(ev->target, sizeof ev->target, "%s", code);
	error = vault_event__touch_settings(ev, v, txn);
done:
	vault_buf_dispose(&list);
	return error;
}

int vault_purpose_add(vault *v, const char *code)
{
	int error;

	if ((error = require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = check_purpose(code)) < 0)
		return error;
	return run_event(v, "purpose-add", purpose_add_fn, (void *)code);
}

static int purpose_require_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	unsigned char on = *(int *)payload ? 1 : 0;
	int error;

	if ((error = vault__meta_put(txn, v, "purpose-required", &on, 1)) < 0)
		return error;
	return vault_event__touch_settings(ev, v, txn);
}

int vault_purpose_require(vault *v, int on)
{
	int error;

	if ((error = require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	return run_event(v, "purpose-require", purpose_require_fn, &on);
}

int vault_purpose_foreach(vault *v, int *required, int (*cb)(const char *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	vault_buf list = VAULT_BUF_INIT;
	int error;

	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	if ((error = purposes_get(&list, required, txn, v)) < 0)
		goto done;
	for (char *s = list.size ? list.ptr : NULL; s; ) {
		char *e = strchr(s, '\n');
		if (e)
			*e = '\0';
		if ((error = cb(s, payload)) != 0)
			goto done;
		s = e ? e + 1 : NULL;
	}
done:
	vault_buf_dispose(&list);
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- settings ----------------------------------------------------------- */

/*
 * Stored in `meta/settings` as "KEY VALUE" lines, only the keys that were
 * set, in their normal form; the history's policy/settings carries them as
 * "setting KEY VALUE" lines. Unset keys take the defaults below.
 */
typedef enum { SET_COUNT, SET_SECONDS, SET_HOURS, SET_DAYS } setting_type;

typedef struct {
	const char *key;
	setting_type type;
	const char *def;
	const char *help;
} setting_spec;

static const setting_spec settings[] = {
	{ "bulk-read-count", SET_COUNT, "20",
	  "bulk reads: more than this many document reads by one user ..." },
	{ "bulk-read-window", SET_SECONDS, "3600",
	  "... within this many seconds" },
	{ "work-hours", SET_HOURS, "07:00-19:00",
	  "reads outside these UTC hours (HH:MM-HH:MM) are flagged" },
	{ "work-days", SET_DAYS, "mon,tue,wed,thu,fri",
	  "reads on other UTC days are flagged" },
	{ "membership-read-window", SET_SECONDS, "3600",
	  "reads of a case this many seconds after a grant or revoke in it are flagged" },
	{ "failed-unlock-count", SET_COUNT, "5",
	  "failed unlocks: more than this many for one user ..." },
	{ "failed-unlock-window", SET_SECONDS, "600",
	  "... within this many seconds" },
};
#define NSETTINGS (sizeof settings / sizeof settings[0])
#define SETTING_VALUE_MAX 48

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const setting_spec *setting_find(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (!strcmp(settings[i].key, key))
			return &settings[i];
	return NULL;
}

static int parse_uint(uint64_t *out, const char *s, const char **end)
{
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > 100000000000ull)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*out = n;
	*end = s;
	return 0;
}

/* "HH:MM" as minutes, 00:00 to 24:00. */
static int parse_clock(int *out, const char *s, const char **end)
{
	if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
	      s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
		return -1;
	*out = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
	*end = s + 5;
	return *out <= 24 * 60 ? 0 : -1;
}

static int day_index(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++)
		if (len == 3 && !strncmp(s, day_names[i], 3))
			return i;
	return -1;
}

/* "mon-fri", "sat,sun", "mon,wed-thu": a set of tm_wday bits. */
static int parse_days(unsigned int *out, const char *s)
{
	unsigned int set = 0;

	while (*s) {
		size_t len = strcspn(s, ",");
		const char *dash = memchr(s, '-', len);
		int a, b;

		if (dash) {
			a = day_index(s, (size_t)(dash - s));
			b = day_index(dash + 1, len - (size_t)(dash - s) - 1);
		} else {
			a = b = day_index(s, len);
		}
		if (a < 0 || b < 0)
			return -1;
		for (int d = a; ; d = (d + 1) % 7) {
			set |= 1u << d;
			if (d == b)
				break;
		}
		s += len;
		if (*s == ',' && *++s == '\0')
			return -1;
	}
	*out = set;
	return set ? 0 : -1;
}

/* Check `value` against its spec and write its normal form. */
static int setting_normalize(char out[SETTING_VALUE_MAX], const setting_spec *sp, const char *value)
{
	const char *end = NULL;
	uint64_t n, mult = 1;
	int a, b;
	unsigned int days;

	switch (sp->type) {
	case SET_COUNT:
		if (parse_uint(&n, value, &end) < 0 || *end || n < 1 || n > 1000000)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs a whole number from 1 to 1000000, not '%s'", sp->key, value);
		snprintf(out, SETTING_VALUE_MAX, "%llu", (unsigned long long)n);
		return 0;
	case SET_SECONDS:
		if (parse_uint(&n, value, &end) == 0) {
			if (!strcmp(end, "m"))
				mult = 60;
			else if (!strcmp(end, "h"))
				mult = 3600;
			else if (!strcmp(end, "d"))
				mult = 86400;
			else if (*end && strcmp(end, "s"))
				end = NULL;
		}
		if (end == NULL || n < 1 || n * mult > 31536000)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs seconds from 1 to 31536000 (or with m, h, d: 10m, 2h), not '%s'",
				sp->key, value);
		snprintf(out, SETTING_VALUE_MAX, "%llu", (unsigned long long)(n * mult));
		return 0;
	case SET_HOURS:
		if (parse_clock(&a, value, &end) < 0 || *end != '-' ||
		    parse_clock(&b, end + 1, &end) < 0 || *end || a >= b)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs UTC hours HH:MM-HH:MM, start before end (07:00-19:00), not '%s'",
				sp->key, value);
		snprintf(out, SETTING_VALUE_MAX, "%02d:%02d-%02d:%02d", a / 60, a % 60, b / 60, b % 60);
		return 0;
	case SET_DAYS:
		if (strlen(value) > 64 || parse_days(&days, value) < 0)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs days such as mon-fri or sat,sun, not '%s'", sp->key, value);
		out[0] = '\0';
		for (int i = 1; i <= 7; i++)
			if (days & (1u << (i % 7)))
				snprintf(out + strlen(out), SETTING_VALUE_MAX - strlen(out), "%s%s",
					out[0] ? "," : "", day_names[i % 7]);
		return 0;
	}
	return vault_error_set(VAULT_ERROR, "setting '%s' has an unknown type", sp->key);
}

/* The stored lines; "" when none was ever set. */
static int settings_get(vault_buf *out, MDB_txn *txn, vault *v)
{
	MDB_val val;
	int error = vault__meta_get(&val, txn, v, "settings");

	if (error == 0)
		vault_buf_put(out, val.mv_data, val.mv_size);
	else if (error != VAULT_ENOTFOUND)
		return error;
	vault_buf_put(out, "", 0);
	return out->oom ? vault_error_set_oom() : 0;
}

/* The stored value of `key`, or its default; a stored value is checked again. */
static int setting_value(char out[SETTING_VALUE_MAX], int *is_default, const char *list,
	const setting_spec *sp)
{
	size_t klen = strlen(sp->key);

	*is_default = 1;
	for (const char *s = list; s && *s; ) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len > klen && !strncmp(s, sp->key, klen) && s[klen] == ' ') {
			char raw[SETTING_VALUE_MAX];

			/* Only casevault writes these, in normal form: anything
			 * else was changed behind its back. */
			if (len - klen - 1 >= sizeof raw)
				return vault_error_set(VAULT_ECORRUPT, "setting '%s' of the vault is damaged", sp->key);
			memcpy(raw, s + klen + 1, len - klen - 1);
			raw[len - klen - 1] = '\0';
			if (setting_normalize(out, sp, raw) < 0)
				return vault_error_set(VAULT_ECORRUPT, "setting '%s' of the vault is damaged", sp->key);
			*is_default = 0;
			return 0;
		}
		s = e ? e + 1 : NULL;
	}
	return setting_normalize(out, sp, sp->def);
}

typedef struct {
	const setting_spec *sp;
	const char *value;           /* normal form, or NULL to unset */
} setting_args;

static int setting_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	setting_args *a = payload;
	vault_buf old = VAULT_BUF_INIT, list = VAULT_BUF_INIT;
	char value[SETTING_VALUE_MAX];
	int error, dflt;

	if ((error = settings_get(&old, txn, v)) < 0)
		goto done;
	/* Rewritten in the table's order, so the text depends only on the values. */
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting_spec *sp = &settings[i];

		if (sp == a->sp) {
			if (a->value)
				vault_buf_printf(&list, "%s %s\n", sp->key, a->value);
			continue;
		}
		if ((error = setting_value(value, &dflt, old.ptr, sp)) < 0)
			goto done;
		if (!dflt)
			vault_buf_printf(&list, "%s %s\n", sp->key, value);
	}
	if (list.oom) {
		error = vault_error_set_oom();
		goto done;
	}
	if ((error = vault__meta_put(txn, v, "settings", list.size ? list.ptr : "", list.size)) < 0)
		goto done;
	snprintf(ev->target, sizeof ev->target, "%s", a->sp->key);
	error = vault_event__touch_settings(ev, v, txn);
done:
	vault_buf_dispose(&old);
	vault_buf_dispose(&list);
	return error;
}

int vault_setting_set(vault *v, const char *key, const char *value)
{
	char norm[SETTING_VALUE_MAX];
	setting_args a;
	int error;

	if ((error = require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((a.sp = setting_find(key)) == NULL)
		return vault_error_set(VAULT_EUSAGE, "'%s' is not a setting of casevault", key);
	if (value && (error = setting_normalize(norm, a.sp, value)) < 0)
		return error;
	a.value = value ? norm : NULL;
	return run_event(v, "setting", setting_fn, &a);
}

int vault_setting_foreach(vault *v, int (*cb)(const vault_setting_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	vault_buf list = VAULT_BUF_INIT;
	char value[SETTING_VALUE_MAX];
	vault_setting_info info;
	int error;

	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	if ((error = settings_get(&list, txn, v)) < 0)
		goto done;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if ((error = setting_value(value, &info.is_default, list.ptr, &settings[i])) < 0)
			goto done;
		info.key = settings[i].key;
		info.value = value;
		info.help = settings[i].help;
		if ((error = cb(&info, payload)) != 0)
			goto done;
	}
done:
	vault_buf_dispose(&list);
	vault_store__abort(v->st, txn);
	return error;
}

int vault_settings__anomaly(vault_anomaly_settings *out, MDB_txn *txn, vault *v)
{
	vault_buf list = VAULT_BUF_INIT;
	char val[NSETTINGS][SETTING_VALUE_MAX];
	const char *end;
	uint64_t n = 0;
	int error, dflt;

	memset(out, 0, sizeof *out);
	if ((error = settings_get(&list, txn, v)) < 0)
		goto done;
	for (size_t i = 0; i < NSETTINGS; i++)
		if ((error = setting_value(val[i], &dflt, list.ptr, &settings[i])) < 0)
			goto done;
	/* Normal forms: these parse. */
	parse_uint(&out->bulk_count, val[0], &end);
	parse_uint(&n, val[1], &end);
	out->bulk_window = (int64_t)n;
	parse_clock(&out->work_start, val[2], &end);
	parse_clock(&out->work_end, end + 1, &end);
	parse_days(&out->work_days, val[3]);
	parse_uint(&n, val[4], &end);
	out->membership_window = (int64_t)n;
	parse_uint(&out->unlock_count, val[5], &end);
	parse_uint(&n, val[6], &end);
	out->unlock_window = (int64_t)n;
	snprintf(out->work_text, sizeof out->work_text, "%s %s", val[3], val[2]);
done:
	vault_buf_dispose(&list);
	return error;
}

/* Text of policy/settings in the history tree. */
int vault_blob__settings(vault_buf *out, vault *v, MDB_txn *txn)
{
	vault_buf list = VAULT_BUF_INIT;
	MDB_val val;
	int required, error;

	if ((error = purposes_get(&list, &required, txn, v)) < 0)
		return error;
	vault_buf_printf(out, "purpose-required %s\n", required ? "yes" : "no");
	for (char *s = list.size ? list.ptr : NULL; s; ) {
		char *e = strchr(s, '\n');
		vault_buf_printf(out, "purpose %.*s\n", (int)(e ? e - s : (long)strlen(s)), s);
		s = e ? e + 1 : NULL;
	}
	vault_buf_dispose(&list);
	if ((error = vault__meta_get(&val, txn, v, "audit-pk")) < 0 || val.mv_size != 32)
		return error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "audit key record is damaged");
	vault_buf_printf(out, "audit-key ");
	for (size_t i = 0; i < 32; i++)
		vault_buf_printf(out, "%02x", ((unsigned char *)val.mv_data)[i]);
	vault_buf_printf(out, "\n");
	/* Only the settings that were set: a vault that never set one keeps
	 * the text it had before settings existed. */
	if ((error = settings_get(&list, txn, v)) < 0)
		return error;
	for (char *s = list.size ? list.ptr : NULL; s && *s; ) {
		char *e = strchr(s, '\n');
		vault_buf_printf(out, "setting %.*s\n", (int)(e ? e - s : (long)strlen(s)), s);
		s = e ? e + 1 : NULL;
	}
	vault_buf_dispose(&list);
	return out->oom ? vault_error_set_oom() : 0;
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

int vault_blob__case(vault_buf *out, const case_rec *c)
{
	char b64[sodium_base64_ENCODED_LEN(sizeof c->label, sodium_base64_VARIANT_ORIGINAL)];

	vault_buf_printf(out, "case %s\nepoch %u\nretired %s\nroot %016llx\n", c->code, c->epoch,
		c->retired ? "yes" : "no", (unsigned long long)c->root);
	if (c->label_epoch) {
		sodium_bin2base64(b64, sizeof b64, c->label, c->label_len, sodium_base64_VARIANT_ORIGINAL);
		vault_buf_printf(out, "label %u %s\n", c->label_epoch, b64);
	}
	for (size_t i = 0; i < c->nmembers; i++)
		vault_buf_printf(out, "member %s %s\n", c->members[i].user, c->members[i].read_only ? "ro" : "rw");
	return out->oom ? vault_error_set_oom() : 0;
}

/* ---- sessions ----------------------------------------------------------- */

static int mount_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	ev->purpose = payload;
	/* Every open on the mount is a read with this purpose: check it once. */
	if (!strcmp(ev->action, "mount"))
		return vault_policy__purpose_check(txn, v, payload);
	return 0;
}

int vault_mount_event(vault *v, int mounted, const char *purpose)
{
	int error;

	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	return run_event(v, mounted ? "mount" : "unmount", mount_fn, (void *)purpose);
}
