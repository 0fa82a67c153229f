/*
 * users — adding, disabling, passphrase changes, listing; each user's key
 * pair sealed under their passphrase (the records are records.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "settings.h"
#include "sshsig.h"
#include "trust.h"
#include "hkeys.h"

/* ---- users -------------------------------------------------------------- */


/* What the record keeps of an enrolment code, bound to the vault and the
 * user: the public half of the key pair it derives (hkeys.h), to which
 * rotations seal the history's newer keys. */
static int code_pk(unsigned char out[32], const vault *v, const char *name, const char *code,
	size_t len)
{
	unsigned char *sk = NULL;
	int error = vault_hkeys__enrol_keypair(out, &sk, v, name, code, len);

	vault_vcrypto__key_free(sk);
	return error;
}

typedef struct {
	const char *name;
	vault_role_t role;
	char *code;
} user_add_args;

/* A pending user: no key pair, only the hash of a one-time code that the
 * person enrols with, in their own process. The admin never knows their
 * passphrase or key. */
/* `u` pending, with a new one-time code in a->code (its hash kept). */
static int make_pending(user_rec *u, vault_event *ev, vault *v, MDB_txn *txn, user_add_args *a)
{
	int64_t ttl;
	int error;

	if ((error = vault_settings__enrol_ttl(&ttl, txn, v)) < 0)
		return error;
	u->status = USER_PENDING;
	vault_vcrypto__random_code(a->code, VAULT_ENROL_CODE_LEN);
	u->enrol_expires = vault_time__now() + ttl;
	if ((error = code_pk(u->enrol, v, a->name, a->code, VAULT_ENROL_CODE_LEN)) < 0 ||
	    (error = vault_user__put(txn, v, a->name, u)) < 0 ||
	    (error = vault_hkeys__enrol_seal(txn, v, a->name, a->code, VAULT_ENROL_CODE_LEN)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", a->name);
	return vault_event__touch_user(ev, v, txn, a->name);
}

static int user_add_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	user_add_args *a = payload;
	user_rec u;
	int error;

	error = vault_user__get(&u, txn, v, a->name);
	if (error == 0)
		return vault_error_set(VAULT_EEXISTS, "user '%s' already exists", a->name);
	if (error != VAULT_ENOTFOUND)
		return error;
	memset(&u, 0, sizeof u);
	u.role = a->role;
	return make_pending(&u, ev, v, txn, a);
}

/*
 * A disabled user back as pending, as `user add` leaves a new one: no key
 * (the old one stays retired, and nothing since was sealed to it), no case
 * (an admin grants again), a new one-time code to enrol with.
 */
static int user_enable_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	user_add_args *a = payload;
	user_rec u;
	int error;

	if ((error = vault_user__get(&u, txn, v, a->name)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "user '%s' does not exist", a->name);
		return error;
	}
	if (u.status != USER_DISABLED)
		return vault_error_set(VAULT_EREFUSED, "user '%s' is not disabled", a->name);
	memset(u.pk, 0, sizeof u.pk);
	memset(&u.kdf, 0, sizeof u.kdf);
	memset(u.wrapped, 0, sizeof u.wrapped);
	u.wrap_outside = 0;
	return make_pending(&u, ev, v, txn, a);
}

/* user-add or user-enable of a->name, with its code or none (wiped). */
static int issue_code(vault *v, const char *action, vault_event_fn fn, user_add_args *a)
{
	int error;

	a->code[0] = '\0';
	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_user__check_name(a->name, NAME_USER)) < 0)
		return error;
	if (a->role < VAULT_ROLE_ADMIN || a->role > VAULT_ROLE_AUDITOR)
		return vault_error_set(VAULT_EUSAGE, "unknown role for user '%s'", a->name);
	if ((error = vault_policy__run(v, action, fn, a)) < 0)
		sodium_memzero(a->code, VAULT_ENROL_CODE_SIZE);
	return error;
}

int vault_user_enable(vault *v, const char *name, char code[VAULT_ENROL_CODE_SIZE])
{
	/* The role stays the record's: this one only passes the check. */
	user_add_args a = { name, VAULT_ROLE_CASEWORKER, code };

	return issue_code(v, "user-enable", user_enable_fn, &a);
}

int vault_user_add(vault *v, const char *name, vault_role_t role, char code[VAULT_ENROL_CODE_SIZE])
{
	user_add_args a = { name, role, code };

	return issue_code(v, "user-add", user_add_fn, &a);
}

/* ---- enrolment ------------------------------------------------------------ */

/* The code of `u`, the record of `name`, has not expired; VAULT_EAUTH if
 * it has. Its expiry is encrypted: read by a session that holds the index
 * key. */
static int enrol_unexpired(const user_rec *u, const char *name)
{
	if (vault_time__now() >= u->enrol_expires)
		return vault_error_set(VAULT_EAUTH, "the enrolment code of user '%s' has expired", name);
	return 0;
}

/* `u`, the record of `name`, is pending and `code` is its code; VAULT_EAUTH
 * if not. */
static int enrol_check(const user_rec *u, const vault *v, const char *name, const char *code,
	size_t codelen)
{
	unsigned char h[32];
	int error;

	if (u->status == USER_ACTIVE)
		return vault_error_set(VAULT_EAUTH, "user '%s' has enrolled already: the code was used", name);
	if (u->status != USER_PENDING)
		return vault_error_set(VAULT_EAUTH, "user '%s' is disabled", name);
	if ((error = code_pk(h, v, name, code, codelen)) < 0)
		return error;
	if (sodium_memcmp(h, u->enrol, 32) != 0)
		return vault_error_set(VAULT_EAUTH, "wrong enrolment code for user '%s'", name);
	return 0;
}

typedef struct {
	const char *name, *code;
	size_t codelen;
	user_rec u;                  /* the new record, its key made outside the event */
	char proof[VAULT_ENROL_PROOF_HEX];
} enrol_args;

static int enrol_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	enrol_args *a = payload;
	user_rec u;
	int error;

	/* Again in the write transaction: a code works once. The record must
	 * be the head's, so that the key checked, and the expiry, are those an
	 * admin recorded (the expiry is checked only here: it is encrypted,
	 * and a changed one is damage, not an expired code). */
	if ((error = vault_user__get(&u, txn, v, a->name)) < 0 ||
	    (error = enrol_check(&u, v, a->name, a->code, a->codelen)) < 0 ||
	    (error = vault_keys__user_trusted(txn, v, a->name)) < 0 ||
	    (error = enrol_unexpired(&u, a->name)) < 0)
		return error;
	a->u.role = u.role;
	/* The code signs the new key: verify checks it against `enrol`. */
	if ((error = vault_hkeys__enrol_prove(a->proof, v, a->name, a->code, a->codelen, a->u.pk)) < 0)
		return error;
	ev->proof = a->proof;
	/* The history's keys, from the code to the user's own new key. */
	if ((error = vault_user__put(txn, v, a->name, &a->u)) < 0 ||
	    (error = vault_hkeys__seal_to(txn, v, a->name, a->u.pk)) < 0 ||
	    (error = vault_hkeys__enrol_drop(txn, v, a->name, v->hk.checked)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", a->name);
	return vault_event__touch_user(ev, v, txn, a->name);
}

int vault_user_enrol(vault *v, const char *name, const char *code, size_t codelen,
	const char *pass, size_t passlen)
{
	enrol_args a = { name, code, codelen, { 0 }, "" };
	unsigned char *sk = NULL, *kek = NULL;
	vault_kdf_min min;
	user_rec u;
	int error;

	/* Checked first without writing, so a wrong code costs no key. The
	 * vault's minimum for the new key is in the encrypted history: the
	 * keys the code opens read it, and are opened again in the session. */
	if ((error = vault_policy__switch_user(&u, v, name)) < 0 ||
	    (error = enrol_check(&u, v, name, code, codelen)) < 0)
		return error;
	if ((error = vault_hkeys__enrol_open(v, name, code, codelen)) == 0)
		error = vault_users__kdf_min(&min, v);
	vault_hkeys__clear(&v->hk);
	if (error < 0)
		return error;
	if ((error = vault_users__create(&a.u, &sk, &kek, u.role, &min, pass, passlen)) < 0)
		return error;
	vault_users__wrap(&a.u, v, name, sk, kek);
	vault_vcrypto__key_free(kek);
	/*
	 * The event is the new user's, signed with the key just made. The
	 * user has no checkpoint yet: the gate verifies the whole history
	 * from the genesis inside the event's transaction, and the event's
	 * advance stores the user's first checkpoint with it, so a code that
	 * fails there leaves nothing behind.
	 */
	vault_policy__begin_session(v, name, &a.u, sk);
	if ((error = vault_hkeys__enrol_open(v, name, code, codelen)) < 0 ||
	    (error = vault_trust__begin(v)) < 0 ||
	    (error = vault_policy__run(v, "enrol", enrol_fn, &a)) < 0) {
		vault_policy__end_session(v);
		return error;
	}
	vault_trust__save_file(v);
	return 0;
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
	uint32_t below;
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
	/* A pending user's generations were sealed to their code: void now. */
	below = u.status == USER_PENDING ? v->hk.checked + 1 : 0;
	u.status = USER_DISABLED;
	if ((error = vault_user__put(txn, v, name, &u)) < 0 ||
	    (error = vault_hkeys__enrol_drop(txn, v, name, below)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", name);
	return vault_event__touch_user(ev, v, txn, name);
}

typedef struct {
	const char *name;
	char (*codes)[VAULT_CODE_SIZE];  /* the cases `name` is a member of */
	size_t n, cap;
	char last[VAULT_CODE_SIZE];      /* one where `name` is the only member */
	MDB_txn *txn;                    /* a walk's: the recovery checked */
	vault *v;
} member_of;

static int note_membership(case_rec *c, void *payload)
{
	member_of *m = payload;
	int error;

	if (!vault_case__member(c, m->name))
		return 0;
	/* Left to no one only if the custodians can recover it. */
	if (c->nmembers == 1 && !m->last[0] && (!m->txn || (error = vault_recovery__covers(m->txn, m->v, c)) != 1)) {
		if (m->txn && error < 0)
			return error;
		memcpy(m->last, c->code, VAULT_CODE_SIZE);
	}
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
	member_of m = { name, NULL, 0, 0, "", NULL, v };
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_user__check_name(name, NAME_USER)) < 0)
		return error;
	/* A walk's transaction: the recovery's coverage is read against the
	 * head (each revoke checks it again in its event). */
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	m.txn = txn;
	error = vault_case__each(txn, v, note_membership, &m);
	vault_store__abort(v->st, txn);
	if (error == 0 && m.last[0])
		error = vault_error_set(VAULT_EREFUSED, "user '%s' is the last member of case '%s'",
			name, m.last);
	for (size_t i = 0; i < m.n && error == 0; i++)
		error = vault_cases__revoke_leaving(v, m.codes[i], name);
	free(m.codes);
	if (error < 0)
		return error;
	return vault_policy__run(v, "user-disable", user_disable_fn, (void *)name);
}

typedef struct {
	user_rec u;                  /* the new record: a new key pair */
	const unsigned char *sk;     /* its secret key */
	unsigned char *prev_ckpt;    /* the checkpoint key it replaces */
	member_of m;                 /* the user's cases */
	size_t from, to;             /* those this event starts new epochs of */
} passwd_args;

/* A new epoch of each of the user's cases [from, to) in this event. */
static int passwd_epochs(vault_event *ev, vault *v, MDB_txn *txn, passwd_args *a, size_t *done)
{
	case_rec c;
	int changed, error;

	*done = 0;
	for (size_t i = a->from; i < a->to; i++) {
		if ((error = vault_case__get(&c, txn, v, a->m.codes[i])) < 0)
			return error;
		if (!vault_case__member(&c, v->user)) {
			vault_case__dispose(&c);      /* revoked meanwhile */
			continue;
		}
		/* A further event's cases (the first's were checked before the
		 * user's record changed): the members and their keys as the head
		 * has them, which another process may have changed meanwhile. */
		error = a->from ? vault_keys__case_trusted(txn, v, &c) : 0;
		c.retired = 1;
		if (error == 0)
			error = vault_keys__settle(txn, v, &c, &changed);
		vault_case__dispose(&c);
		if (error < 0 || (error = vault_event__touch_case(ev, v, txn, a->m.codes[i])) < 0)
			return error;
		(*done)++;
	}
	return 0;
}

/* The cases a passwd could not fit in its first event: in further events of
 * the same action, signed with the new key, which change no user record. */
static int passwd_more_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	size_t done;
	int error;

	if ((error = passwd_epochs(ev, v, txn, payload, &done)) < 0)
		return error;
	if (done == 0)
		return 1;
	snprintf(ev->target, sizeof ev->target, "%s", v->user);
	return 0;
}

/*
 * A new key pair, and a new epoch of each of the user's cases, sealed to
 * its members (the user under the new key) with the old epoch's key
 * chained under it: the old record with the old passphrase opens nothing
 * written afterwards. The event is signed with the old key, which is what
 * vouches for the new one.
 */
static int passwd_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	passwd_args *a = payload;
	const unsigned char *key;
	user_rec u;
	case_rec c;
	size_t done;
	int error;

	if ((error = vault_user__get(&u, txn, v, v->user)) < 0)
		return error;
	a->u.role = u.role;
	/* The cases, read after the gate verified the history they are in. */
	a->m.n = 0;
	if ((error = vault_case__each(txn, v, note_membership, &a->m)) < 0)
		return error;
	/* The cases' keys under the old key pair, before the record changes. */
	for (size_t i = 0; i < a->m.n; i++) {
		if ((error = vault_case__get(&c, txn, v, a->m.codes[i])) < 0)
			return error;
		if ((error = vault_keys__case_trusted(txn, v, &c)) == 0)
			error = vault_keys__case_key(&key, txn, v, &c, c.epoch);
		vault_case__dispose(&c);
		if (error < 0)
			return error;
	}
	if (u.role != VAULT_ROLE_CASEWORKER &&
	    (error = vault_keys__seal_audit(txn, v, v->user, a->u.pk)) < 0)
		return error;
	if ((error = vault_user__put(txn, v, v->user, &a->u)) < 0 ||
	    (error = vault_hkeys__seal_to(txn, v, v->user, a->u.pk)) < 0)
		return error;
	/* The user's record and as many cases as one event may change. */
	a->from = 0;
	a->to = a->m.n < EVENT_MAX_UPDATES - 1 ? a->m.n : EVENT_MAX_UPDATES - 1;
	if ((error = passwd_epochs(ev, v, txn, a, &done)) < 0)
		return error;
	snprintf(ev->target, sizeof ev->target, "%s", v->user);
	if ((error = vault_event__touch_user(ev, v, txn, v->user)) < 0)
		return error;
	/* Last, so that nothing above can fail with the new checkpoint key. */
	return vault_trust__rekey(v, a->sk, &a->prev_ckpt);
}

int vault_user_passwd(vault *v, const char *pass, size_t passlen)
{
	passwd_args a;
	unsigned char *sk = NULL, *kek = NULL;
	vault_kdf_min min;
	int error;

	memset(&a, 0, sizeof a);
	if ((error = vault_policy__require_unlocked(v)) < 0 ||
	    (error = vault_users__kdf_min(&min, v)) < 0)
		return error;
	a.m.name = v->user;
	if ((error = vault_users__create(&a.u, &sk, &kek, v->role, &min, pass, passlen)) < 0)
		return error;
	vault_users__wrap(&a.u, v, v->user, sk, kek);
	vault_vcrypto__key_free(kek);
	a.sk = sk;
	error = vault_policy__run(v, "passwd", passwd_fn, &a);
	if (error < 0) {
		free(a.m.codes);
		vault_trust__unrekey(v, a.prev_ckpt);
		vault_vcrypto__key_free(sk);
		return error;
	}
	/* The session goes on under the new key, with what it verified. */
	vault_vcrypto__key_free(v->sk);
	v->sk = sk;
	memcpy(v->pk, a.u.pk, 32);
	vault_trust__rekeyed(v, a.prev_ckpt);
	/* The other cases: their keys were taken under the old key pair by the
	 * first event, and are in the session's cache. */
	for (a.from = a.to; error >= 0 && a.from < a.m.n; a.from = a.to) {
		a.to = a.m.n - a.from < EVENT_MAX_UPDATES ? a.m.n : a.from + EVENT_MAX_UPDATES;
		error = vault_policy__run(v, "passwd", passwd_more_fn, &a);
	}
	free(a.m.codes);
	if (error < 0)
		return vault_error_wrap(error, "the passphrase changed, but not every case moved to a key "
			"the old one cannot open (run 'casevault user passwd' again)");
	return 0;
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

	publine[0] = '\0';
	if (u->status != USER_PENDING)
		vault_sshsig__publine(publine, sizeof publine, u->pk);
	info.name = name;
	info.role = u->role;
	info.disabled = u->status == USER_DISABLED;
	info.pending = u->status == USER_PENDING;
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
	vault_role_t role, const vault_kdf_min *min, const char *pass, size_t passlen)
{
	unsigned char *sk = NULL;
	int error;

	*sk_out = *kek_out = NULL;
	memset(u, 0, sizeof *u);
	u->role = role;
	u->status = USER_ACTIVE;
	if ((error = vault_vcrypto__kdf_new(&u->kdf, min->passes, min->memory)) < 0 ||
	    (error = vault_vcrypto__sign_keypair(u->pk, &sk)) < 0)
		return error;
	if ((error = vault_vcrypto__kdf_derive(kek_out, pass, passlen, &u->kdf)) < 0) {
		vault_vcrypto__key_free(sk);
		return error;
	}
	*sk_out = sk;
	return 0;
}

int vault_users__kdf_min(vault_kdf_min *out, vault *v)
{
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_settings__kdf_min(out, txn, v);
	vault_store__abort(v->st, txn);
	return error;
}

/* The unlocked user's parameters against the vault's minimum: unset keys
 * of the minimum are the build's profile. */
int vault_kdf_status(vault_kdf_info *out, vault *v)
{
	vcrypto_kdf dflt;
	vault_kdf_min min;
	user_rec u;
	MDB_txn *txn = NULL;
	int error;

	memset(out, 0, sizeof *out);
	if ((error = vault_policy__require_unlocked(v)) < 0 ||
	    (error = vault_vcrypto__kdf_new(&dflt, 0, 0)) < 0 ||
	    (error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	if ((error = vault_user__get(&u, txn, v, v->user)) == 0 &&
	    (error = vault_settings__kdf_min(&min, txn, v)) == 0) {
		out->passes = u.kdf.opslimit;
		out->memory = u.kdf.memlimit;
		out->min_passes = min.passes ? min.passes : dflt.opslimit;
		out->min_memory = min.memory ? min.memory : dflt.memlimit;
		out->below = out->passes < out->min_passes || out->memory < out->min_memory;
	}
	vault_store__abort(v->st, txn);
	return error;
}

void vault_users__wrap(user_rec *u, const vault *v, const char *name, const unsigned char *sk,
	const unsigned char *kek)
{
	unsigned char ad[160 + VAULT_NAME_MAX];
	size_t adlen = wrap_ad(ad, v, name, u->pk);

	vault_vcrypto__seal(u->wrapped, sk, VCRYPTO_SIGN_SKBYTES, ad, adlen, kek);
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
