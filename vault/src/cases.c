/*
 * cases — creating, granting, revoking, listing (the records are records.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"
#include "event.h"

/* ---- cases -------------------------------------------------------------- */

static void label_ad(unsigned char ad[32], size_t *len, const char *code)
{
	*len = (size_t)snprintf((char *)ad, 32, "cv-label:%s", code);
}

static int check_label(const char *label)
{
	if (strlen(label) > 256 - 1)
		return vault_error_set(VAULT_EUSAGE, "case label is longer than 255 bytes");
	if (memchr(label, '\n', strlen(label)))
		return vault_error_set(VAULT_EUSAGE, "case label holds a line break");
	return 0;
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
		vault_vcrypto__random_code(c.code + 2, 8);
		error = vault_rec__get(txn, v, v->st->cases, c.code, &val);
	} while (error == 0 && ++tries < 16);
	if (error != VAULT_ENOTFOUND)
		return error < 0 ? error : vault_error_set(VAULT_EEXISTS, "no free case code found");
	c.epoch = 1;
	c.nmembers = 1;
	snprintf(c.members[0].user, sizeof c.members[0].user, "%s", v->user);
	if ((error = vault_vcrypto__key_new(&key)) < 0)
		return error;
	if ((error = vault_keys__cache(&k, v, c.code, 1, key)) < 0)
		return error;
	if ((c.kcv = malloc(KCV_SIZE)) == NULL)
		return vault_error_set_oom();
	vault_keys__kcv(c.kcv[0], v, c.code, 1, k->key);
	if (a->label && *a->label) {
		label_ad(ad, &adlen, c.code);
		c.label_epoch = 1;
		c.label_len = strlen(a->label) + VCRYPTO_OVERHEAD;
		vault_vcrypto__seal(c.label, (const unsigned char *)a->label, strlen(a->label), ad, adlen, k->key);
	}
	vault_node__init(&root, NODE_DIR, c.code, 0);
	c.root = root.id;
	/* Sealed to the creator's key as the head has it: their record may
	 * have been changed since the session checked it at unlock. */
	if ((error = vault_node__put(txn, v, &root)) < 0 ||
	    (error = vault_keys__user_trusted(txn, v, v->user)) < 0 ||
	    (error = vault_keys__seal(txn, v, &c, 1, v->user, k->key)) < 0 ||
	    (error = vault_case__put(txn, v, &c)) < 0) {
		vault_case__dispose(&c);
		return error;
	}
	vault_case__dispose(&c);
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
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	/* Admins and auditors hold no case keys: only caseworkers make cases
	 * (the creator is the case's first member). */
	if (v->role == VAULT_ROLE_ADMIN)
		return vault_error_set(VAULT_EACCES, "user '%s' is an admin", v->user);
	if (v->role != VAULT_ROLE_CASEWORKER)
		return vault_error_set(VAULT_EACCES, "user '%s' is an auditor", v->user);
	if (label && (error = check_label(label)) < 0)
		return error;
	if ((error = vault_policy__run(v, "case-create", case_create_fn, &a)) < 0)
		return error;
	memcpy(code, a.code, VAULT_CODE_SIZE);
	return 0;
}

typedef struct {
	const char *code, *user;
	int read_only;
	int leaving;                 /* a revoke as its user is disabled */
} grant_args;

/* After a policy change: if this session holds the key, settle at once. */
static int settle_if_holder(MDB_txn *txn, vault *v, case_rec *c)
{
	int changed;

	if (!vault_case__member(c, v->user) || !vault_keys__has_sealed(txn, v, c->code, c->epoch, v->user))
		return 0;
	return vault_keys__settle(txn, v, c, &changed);
}

/* A grant or a revoke: the case record, the key work this session can do
 * for it, and the event's trailers. */
static int membership_changed(vault_event *ev, vault *v, MDB_txn *txn, case_rec *c, const char *user)
{
	int error;

	if ((error = vault_case__put(txn, v, c)) < 0 || (error = settle_if_holder(txn, v, c)) < 0)
		return error;
	snprintf(ev->case_code, sizeof ev->case_code, "%s", c->code);
	snprintf(ev->target, sizeof ev->target, "%s", user);
	return vault_event__touch_case(ev, v, txn, c->code);
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
	if ((error = vault_keys__case_trusted(txn, v, &c)) < 0 || (error = vault_keys__user_trusted(txn, v, a->user)) < 0)
		goto done;
	/* Admins and auditors hold no case keys: they are never members. */
	if (u.role == VAULT_ROLE_ADMIN) {
		error = vault_error_set(VAULT_EACCES, "user '%s' is an admin and cannot be a case member", a->user);
		goto done;
	}
	if (u.role != VAULT_ROLE_CASEWORKER) {
		error = vault_error_set(VAULT_EACCES, "user '%s' is an auditor and cannot be a case member", a->user);
		goto done;
	}
	if (u.status == USER_PENDING) {
		error = vault_error_set(VAULT_EREFUSED,
			"user '%s' is pending (not enrolled yet) and cannot be a case member", a->user);
		goto done;
	}
	if (u.status != USER_ACTIVE) {
		error = vault_error_set(VAULT_EREFUSED, "user '%s' is disabled and cannot be a case member", a->user);
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
	error = membership_changed(ev, v, txn, &c, a->user);
done:
	vault_case__dispose(&c);
	return error;
}

/* A grant or a revoke: an admin's event about one member of one case. */
static int membership_run(vault *v, const char *action, vault_event_fn fn, grant_args *a)
{
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = vault_case__check_code(a->code)) < 0 ||
	    (error = vault_user__check_name(a->user, NAME_USER)) < 0)
		return error;
	return vault_policy__run(v, action, fn, a);
}

int vault_case_grant(vault *v, const char *code, const char *user, int read_only)
{
	grant_args a = { code, user, read_only ? 1 : 0, 0 };

	return membership_run(v, "grant", grant_fn, &a);
}

/* The case keys of every epoch of `c` sealed to `user`, removed. */
static int drop_sealed(MDB_txn *txn, vault *v, const case_rec *c, const char *user)
{
	char skey[64];
	int error = 0;

	for (uint32_t e = 1; e <= c->epoch && error >= 0; e++) {
		vault_rec__sealed_name(skey, sizeof skey, c->code, e, user);
		if ((error = vault_rec__del(txn, v, v->st->sealed, skey)) == VAULT_ENOTFOUND)
			error = 0;
	}
	return error;
}

static int revoke_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	grant_args *a = payload;
	case_rec c;
	member_rec *m;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((error = vault_keys__case_trusted(txn, v, &c)) < 0)
		goto done;
	if ((m = vault_case__member(&c, a->user)) == NULL) {
		error = vault_error_set(VAULT_ENOTFOUND, "user '%s' is not a member of case '%s'", a->user, a->code);
		goto done;
	}
	/* A case is left to no one only as its last member is disabled, and
	 * only if the custodians can recover it. */
	if (c.nmembers == 1 && (!a->leaving || (error = vault_recovery__covers(txn, v, &c)) != 1)) {
		if (error == 0 && a->leaving)
			error = vault_error_set(VAULT_EREFUSED,
				"user '%s' is the last member of case '%s', which the recovery does not cover",
				a->user, a->code);
		else if (error == 0)
			error = vault_error_set(VAULT_EREFUSED, "user '%s' is the last member of case '%s'",
				a->user, a->code);
		goto done;
	}
	memmove(m, m + 1, (size_t)(&c.members[c.nmembers] - (m + 1)) * sizeof *m);
	c.nmembers--;
	c.retired = 1;
	if ((error = drop_sealed(txn, v, &c, a->user)) < 0)
		goto done;
	error = membership_changed(ev, v, txn, &c, a->user);
done:
	vault_case__dispose(&c);
	return error;
}

typedef struct {
	const char *code;
	const char *label;
} case_label_args;

/*
 * A new label, sealed under the case's current epoch: those who leave the
 * case before it never get its key. A retired epoch (a revocation since
 * this session's unlock) is settled by the next session first.
 */
static int case_label_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	case_label_args *a = payload;
	const unsigned char *key;
	unsigned char ad[32];
	size_t adlen, len = strlen(a->label);
	case_ctx cc;
	case_rec *c = &cc.c;
	int error;

	if ((error = vault_docs__case_load(&cc, txn, v, a->code, VAULT_CASE_RW | VAULT_CASE_EVENT)) < 0)
		return error;
	if (c->retired) {
		error = vault_error_set(VAULT_EREFUSED, "case '%s' waits for a new key (a member left): "
			"unlock again, then label it", a->code);
		goto done;
	}
	if ((error = vault_keys__case_key(&key, txn, v, c, c->epoch)) < 0)
		goto done;
	memset(c->label, 0, sizeof c->label);
	c->label_epoch = 0;
	c->label_len = 0;
	if (len > 0) {
		label_ad(ad, &adlen, c->code);
		c->label_epoch = c->epoch;
		c->label_len = len + VCRYPTO_OVERHEAD;
		vault_vcrypto__seal(c->label, (const unsigned char *)a->label, len, ad, adlen, key);
	}
	if ((error = vault_case__put(txn, v, c)) < 0)
		goto done;
	snprintf(ev->case_code, sizeof ev->case_code, "%s", c->code);
	error = vault_event__touch_case(ev, v, txn, c->code);
done:
	vault_docs__case_dispose(&cc);
	return error;
}

int vault_case_label(vault *v, const char *code, const char *label)
{
	case_label_args a = { code, label };
	int error;

	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = check_label(label)) < 0)
		return error;
	return vault_policy__run(v, "case-label", case_label_fn, &a);
}

int vault_case_revoke(vault *v, const char *code, const char *user)
{
	grant_args a = { code, user, 0, 0 };

	return membership_run(v, "revoke", revoke_fn, &a);
}

int vault_cases__revoke_leaving(vault *v, const char *code, const char *user)
{
	grant_args a = { code, user, 0, 1 };

	return membership_run(v, "revoke", revoke_fn, &a);
}

typedef struct {
	MDB_txn *txn;
	vault *v;
	int (*cb)(const vault_case_info *, void *);
	void *payload;
	/* The cases whose labels may be shown: their `list` events are
	 * recorded (or the caller asked for none, and `all_seen`). */
	char (*seen)[VAULT_CODE_SIZE];
	size_t nseen, cap;
	int all_seen;
} foreach_args;

static int was_seen(const foreach_args *a, const char *code)
{
	if (a->all_seen)
		return 1;
	for (size_t i = 0; i < a->nseen; i++)
		if (!strcmp(a->seen[i], code))
			return 1;
	return 0;
}

/* The label of `c`, if the session holds the key it is sealed under (1). */
#define LABEL_OPEN_MAX (sizeof ((case_rec *)0)->label - VCRYPTO_OVERHEAD + 1)
static int label_open(char out[LABEL_OPEN_MAX], MDB_txn *txn, vault *v, case_rec *c)
{
	const unsigned char *key;
	unsigned char ad[32];
	size_t adlen;

	if (!c->label_epoch || !vault_case__member(c, v->user) ||
	    vault_keys__case_key(&key, txn, v, c, c->label_epoch) < 0)
		return 0;
	label_ad(ad, &adlen, c->code);
	if (vault_vcrypto__open((unsigned char *)out, c->label, c->label_len, ad, adlen, key) < 0)
		return vault_error_set(VAULT_ECORRUPT, "label of case '%s' fails authentication", c->code);
	out[c->label_len - VCRYPTO_OVERHEAD] = '\0';
	return 1;
}

static int case_info(case_rec *c, void *payload)
{
	foreach_args *a = payload;
	vault_member members[CASE_MAX_MEMBERS];
	vault_case_info info;
	char label[LABEL_OPEN_MAX];
	int error;

	if (a->v->role == VAULT_ROLE_CASEWORKER && !vault_case__member(c, a->v->user))
		return 0;
	memset(&info, 0, sizeof info);
	info.code = c->code;
	info.epoch = c->epoch;
	info.retired = c->retired;
	info.nmembers = c->nmembers;
	info.members = members;
	for (size_t i = 0; i < c->nmembers; i++) {
		user_rec u;

		members[i].user = c->members[i].user;
		members[i].read_only = c->members[i].read_only;
		members[i].has_key = vault_keys__has_sealed(a->txn, a->v, c->code, c->epoch, c->members[i].user);
		members[i].disabled = vault_user__get(&u, a->txn, a->v, c->members[i].user) == 0 &&
			u.status == USER_DISABLED;
	}
	/* A label whose `list` event is not recorded is not shown. */
	error = was_seen(a, c->code) ? label_open(label, a->txn, a->v, c) : 0;
	if (error < 0)
		return error;
	if (error > 0)
		info.label = label;
	error = a->cb(&info, a->payload);
	sodium_memzero(label, sizeof label);
	return error;
}

/* A case whose label the caller would see: one to record. */
static int seen_add(case_rec *c, void *payload)
{
	foreach_args *a = payload;
	char label[LABEL_OPEN_MAX];
	int error;

	if (a->v->role != VAULT_ROLE_CASEWORKER || (error = label_open(label, a->txn, a->v, c)) == 0)
		return 0;
	sodium_memzero(label, sizeof label);
	if (error < 0)
		return error;
	if ((error = vault_array_grow(&a->seen, &a->cap, a->nseen, sizeof *a->seen, 16)) < 0)
		return error;
	memcpy(a->seen[a->nseen++], c->code, VAULT_CODE_SIZE);
	return 0;
}

/*
 * The labels a member sees are recorded first, one `list` event per case,
 * each committed before any label is served (a `list` names one case, so
 * that verify checks membership as it does for reads, and each case's
 * report shows who saw its label).
 */
static int record_seen(foreach_args *a, const vault_list_options *o)
{
	int error;

	if ((error = vault_store__begin(&a->txn, a->v->st, 0)) < 0)
		return error;
	error = vault_case__each(a->txn, a->v, seen_add, a);
	vault_store__abort(a->v->st, a->txn);
	a->txn = NULL;
	for (size_t i = 0; i < a->nseen && error == 0; i++)
		error = vault_docs__list_event(a->v, a->seen[i], NULL, NULL, o);
	return error;
}

int vault_case_foreach(vault *v, const vault_list_options *o,
	int (*cb)(const vault_case_info *, void *), void *payload)
{
	foreach_args a = { NULL, v, cb, payload, NULL, 0, 0, 0 };
	int error;

	if (!o || o->version != VAULT_LIST_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "case list options of an unknown version");
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	a.all_seen = (o->flags & VAULT_LIST_NO_EVENT) != 0;
	if (!a.all_seen && (error = record_seen(&a, o)) < 0)
		goto done;
	if ((error = vault_store__begin(&a.txn, v->st, 0)) < 0)
		goto done;
	error = vault_case__each(a.txn, v, case_info, &a);
	/* A label the session holds no key for is no error. */
	if (error == 0)
		vault_error_clear();
	vault_store__abort(v->st, a.txn);
done:
	free(a.seen);
	return error;
}
