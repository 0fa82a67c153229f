/*
 * recovery — the organisation's recovery of a case whose members are
 * gone: M of N custodians, and no master key.
 *
 * An admin names the custodians and the threshold (`recovery-setup`, in
 * policy/settings). Each case's current epoch key is split with Shamir's
 * scheme (libgfshare, GF(2^8)) into one share per custodian, each sealed
 * to that custodian's public key and bound to its place; the member
 * sessions that hold the key do the splitting, as they do rekeys, in a
 * signed `recovery-split` event whose case file names the epoch, the
 * custodian set and the shares as stored. No single secret opens any case:
 * fewer than the threshold of shares tell nothing of the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgfshare.h>

#include "policy.h"
#include "report.h"

#define SHARE_PLAIN (VCRYPTO_KEYBYTES + 32)
/* A share record: format ‖ its x (1) ‖ the custodian's public key it is
 * sealed to (32) ‖ crypto_box_seal(share ‖ binding). */
#define SHARE_REC (1 + 1 + 32 + SHARE_PLAIN + VCRYPTO_SEALBYTES)

typedef struct {
	unsigned int threshold;
	size_t n;
	char names[RECOVERY_MAX][VAULT_NAME_MAX + 1];
	unsigned char pk[RECOVERY_MAX][32];
	int active[RECOVERY_MAX];
	unsigned char set[RECOVERY_SET_SIZE];
} recovery_policy;

/* ---- the custodian set -------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The set's text, as policy/settings holds it: sorted, one line each. */
static int policy_text(vault_buf *out, const recovery_policy *rp)
{
	vault_buf_printf(out, "recovery-threshold %u\n", rp->threshold);
	for (size_t i = 0; i < rp->n; i++)
		vault_buf_printf(out, "recovery-custodian %s\n", rp->names[i]);
	return out->oom ? vault_error_set_oom() : 0;
}

static int policy_damaged(void)
{
	return vault_error_set(VAULT_ECORRUPT, "the vault's recovery record is damaged");
}

/* The custodians' records (public key, status), in `txn`. */
static int policy_users(recovery_policy *rp, MDB_txn *txn, vault *v)
{
	user_rec u;
	int error;

	for (size_t i = 0; i < rp->n; i++) {
		if ((error = vault_user__get(&u, txn, v, rp->names[i])) < 0)
			return error;
		memcpy(rp->pk[i], u.pk, 32);
		rp->active[i] = u.status == USER_ACTIVE;
	}
	return 0;
}

/* The vault's custodian set; rp->n is 0 when none was set up. */
static int policy_load(recovery_policy *rp, MDB_txn *txn, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	const char *p, *eol;
	int error;

	memset(rp, 0, sizeof *rp);
	if ((error = vault_meta__sealed_text(&b, txn, v, "recovery")) < 0)
		goto done;
	for (p = b.size ? b.ptr : ""; *p; p = eol + 1) {
		size_t len;
		if ((eol = strchr(p, '\n')) == NULL) {
			error = policy_damaged();
			goto done;
		}
		len = (size_t)(eol - p);
		if (!rp->threshold && len > 19 && len < 23 && !strncmp(p, "recovery-threshold ", 19)) {
			rp->threshold = (unsigned int)strtoul(p + 19, NULL, 10);
		} else if (len > 19 && len - 19 <= VAULT_NAME_MAX && rp->n < RECOVERY_MAX &&
		    !strncmp(p, "recovery-custodian ", 19)) {
			memcpy(rp->names[rp->n], p + 19, len - 19);
			rp->names[rp->n++][len - 19] = '\0';
		} else {
			error = policy_damaged();
			goto done;
		}
	}
	if (b.size && (rp->threshold < 2 || rp->threshold > rp->n)) {
		error = policy_damaged();
		goto done;
	}
	vault_rec__recovery_set(rp->set, b.size ? b.ptr : "");
	error = policy_users(rp, txn, v);
done:
	vault_buf_dispose(&b);
	return error;
}

typedef struct {
	recovery_policy rp;
} setup_args;

static int setup_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	setup_args *a = payload;
	vault_buf text = VAULT_BUF_INIT;
	user_rec u;
	int error;

	/* Changed only from what the signed history holds; custodians as the
	 * history has them. */
	if ((error = vault_event__settings_trusted(v, txn)) < 0)
		goto done;
	for (size_t i = 0; i < a->rp.n; i++) {
		if ((error = vault_user__get(&u, txn, v, a->rp.names[i])) == VAULT_ENOTFOUND)
			error = vault_error_set(VAULT_ENOTFOUND, "custodian '%s' is not a user of this vault",
				a->rp.names[i]);
		if (error < 0)
			goto done;
		if (u.status != USER_ACTIVE) {
			error = vault_error_set(VAULT_EUSAGE, "custodian '%s' is %s, not an active user",
				a->rp.names[i], u.status == USER_PENDING ? "pending (not enrolled)" : "disabled");
			goto done;
		}
		if ((error = vault_keys__user_trusted(txn, v, a->rp.names[i])) < 0)
			goto done;
	}
	if ((error = policy_text(&text, &a->rp)) < 0 ||
	    (error = vault_meta__sealed_put(txn, v, "recovery", text.ptr, text.size)) < 0)
		goto done;
	error = vault_event__touch_settings(ev, v, txn);
done:
	vault_buf_dispose(&text);
	return error;
}

int vault_recovery_setup(vault *v, const char *const *custodians, size_t n, unsigned int threshold)
{
	setup_args a;
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	memset(&a, 0, sizeof a);
	if (n < 2 || n > RECOVERY_MAX)
		return vault_error_set(VAULT_EUSAGE, "%zu custodians: name 2 to %d", n, RECOVERY_MAX);
	if (threshold < 2 || threshold > n)
		return vault_error_set(VAULT_EUSAGE,
			"threshold %u: it must be at least 2 (no one custodian opens a case) and at most %zu, the custodians named",
			threshold, n);
	for (size_t i = 0; i < n; i++) {
		if ((error = vault_user__check_name(custodians[i], "custodian")) < 0)
			return error;
		snprintf(a.rp.names[i], sizeof a.rp.names[i], "%s", custodians[i]);
	}
	qsort(a.rp.names, n, sizeof a.rp.names[0], name_cmp);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(a.rp.names[i - 1], a.rp.names[i]))
			return vault_error_set(VAULT_EUSAGE, "custodian '%s' is named twice", a.rp.names[i]);
	a.rp.n = n;
	a.rp.threshold = threshold;
	return vault_policy__run(v, "recovery-setup", setup_fn, &a);
}

/* ---- shares ------------------------------------------------------------- */

/* What a share is bound to: the vault, the case, the epoch, its x, the
 * custodian set, the custodian. */
static void share_binding(unsigned char out[32], const vault *v, const case_rec *c, uint32_t epoch,
	unsigned int x, const unsigned char set[RECOVERY_SET_SIZE], const char *user)
{
	char place[VAULT_CODE_SIZE + 2 * RECOVERY_SET_SIZE + 24], hex[2 * RECOVERY_SET_SIZE + 1];

	sodium_bin2hex(hex, sizeof hex, set, RECOVERY_SET_SIZE);
	snprintf(place, sizeof place, "@share/%s/%u/%s", c->code, x, hex);
	vault_keys__binding(out, v, place, epoch, user);
}

/* Is custodian i's share of `c`'s current split there, sealed to their key
 * of now? */
static int share_current(MDB_txn *txn, vault *v, const case_rec *c, const recovery_policy *rp, size_t i)
{
	char name[96];
	MDB_val val;

	vault_rec__share_name(name, sizeof name, c->code, c->rec_epoch, rp->names[i]);
	if (vault_rec__get(txn, v, v->st->sealed, name, &val) < 0)
		return 0;
	return val.mv_size == SHARE_REC && ((unsigned char *)val.mv_data)[0] == REC_FORMAT &&
		((unsigned char *)val.mv_data)[1] == i + 1 &&
		!memcmp((unsigned char *)val.mv_data + 2, rp->pk[i], 32);
}

/*
 * Does `c`'s current key have shares for the custodian set `rp`? 1 if so;
 * 0 with `why` if not. A custodian who changed their key (passwd) cannot
 * open a share sealed to the old one: their case is not covered either.
 */
static int covered(MDB_txn *txn, vault *v, const case_rec *c, const recovery_policy *rp,
	char *why, size_t wlen)
{
	if (!c->rec_epoch) {
		snprintf(why, wlen, "no shares yet");
		return 0;
	}
	if (c->rec_epoch != c->epoch) {
		snprintf(why, wlen, "shares of key epoch %u, the case is at %u", c->rec_epoch, c->epoch);
		return 0;
	}
	if (sodium_memcmp(c->rec_set, rp->set, RECOVERY_SET_SIZE)) {
		snprintf(why, wlen, "shares for other custodians");
		return 0;
	}
	for (size_t i = 0; i < rp->n; i++)
		if (!share_current(txn, v, c, rp, i)) {
			snprintf(why, wlen, "no share for custodian '%s' under their key of now", rp->names[i]);
			return 0;
		}
	return 1;
}

/* libgfshare draws its coefficients from this, and overwrites its context
 * with it when it frees one; it has no source of its own. */
static void fill_random(unsigned char *buf, unsigned int len)
{
	randombytes_buf(buf, len);
}

/* Split `key` into rp->n shares (x = 1 .. n), rp->threshold of which
 * recombine; `shares` holds n × VCRYPTO_KEYBYTES, in secret memory. */
static int split(unsigned char *shares, const unsigned char *key, const recovery_policy *rp)
{
	unsigned char xs[RECOVERY_MAX], *secret = NULL;
	gfshare_ctx *g;
	int error;

	for (size_t i = 0; i < rp->n; i++)
		xs[i] = (unsigned char)(i + 1);
	if ((error = vault_vcrypto__secret_alloc(&secret, VCRYPTO_KEYBYTES)) < 0)
		return error;
	memcpy(secret, key, VCRYPTO_KEYBYTES);
	gfshare_fill_rand = fill_random;
	if ((g = gfshare_ctx_init_enc(xs, (unsigned int)rp->n, (unsigned char)rp->threshold,
	    VCRYPTO_KEYBYTES)) == NULL) {
		vault_vcrypto__key_free(secret);
		return vault_error_set_oom();
	}
	gfshare_ctx_enc_setsecret(g, secret);
	for (size_t i = 0; i < rp->n; i++)
		gfshare_ctx_enc_getshare(g, (unsigned char)i, shares + i * VCRYPTO_KEYBYTES);
	gfshare_ctx_free(g);
	vault_vcrypto__key_free(secret);
	return 0;
}

/* Seal share i to custodian i, bound to its place. */
static int share_seal(MDB_txn *txn, vault *v, const case_rec *c, const recovery_policy *rp, size_t i,
	const unsigned char *share)
{
	unsigned char rec[SHARE_REC], *plain = NULL;
	char name[96];
	int error;

	if ((error = vault_vcrypto__secret_alloc(&plain, SHARE_PLAIN)) < 0)
		return error;
	memcpy(plain, share, VCRYPTO_KEYBYTES);
	share_binding(plain + VCRYPTO_KEYBYTES, v, c, c->epoch, (unsigned int)i + 1, rp->set, rp->names[i]);
	rec[0] = REC_FORMAT;
	rec[1] = (unsigned char)(i + 1);
	memcpy(rec + 2, rp->pk[i], 32);
	error = vault_vcrypto__seal_to(rec + 34, plain, SHARE_PLAIN, rp->pk[i]);
	vault_vcrypto__key_free(plain);
	if (error < 0)
		return error;
	vault_rec__share_name(name, sizeof name, c->code, c->epoch, rp->names[i]);
	return vault_rec__put(txn, v, v->st->sealed, name, rec, sizeof rec);
}

/* The shares of an older split go, whoever they were sealed to. */
typedef struct {
	MDB_txn *txn;
	vault *v;
	const case_rec *c;
} drop_args;

static int drop_user(const char *name, const user_rec *u, void *payload)
{
	drop_args *a = payload;
	char key[96];
	int error = 0;

	for (int k = 0; k < 2 && error >= 0; k++) {
		uint32_t e = k ? a->c->epoch : a->c->rec_epoch;
		if (!e || (k && e == a->c->rec_epoch))
			continue;
		vault_rec__share_name(key, sizeof key, a->c->code, e, name);
		if ((error = vault_rec__del(a->txn, a->v, a->v->st->sealed, key)) == VAULT_ENOTFOUND)
			error = 0;
	}
	return error;
}

/* Is `c` a case this session splits: a member holding its key, an epoch
 * not retired (the rekey comes first), every custodian active? */
static int splits(MDB_txn *txn, vault *v, case_rec *c, const recovery_policy *rp)
{
	char why[128];

	if (!rp->n || c->retired || !vault_case__member(c, v->user) ||
	    !vault_keys__has_sealed(txn, v, c->code, c->epoch, v->user))
		return 0;
	for (size_t i = 0; i < rp->n; i++)
		if (!rp->active[i])
			return 0;
	return !covered(txn, v, c, rp, why, sizeof why);
}

static int split_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *code = payload;
	recovery_policy rp;
	drop_args d;
	const unsigned char *key;
	unsigned char *shares = NULL;
	case_rec c;
	int error;

	memset(&c, 0, sizeof c);
	if ((error = policy_load(&rp, txn, v)) < 0 || (error = vault_case__get(&c, txn, v, code)) < 0)
		goto done;
	if (!splits(txn, v, &c, &rp)) {
		error = 1;     /* another session did it meanwhile */
		goto done;
	}
	/* The set, the case and the custodians' keys are the signed head's. */
	if ((error = vault_event__settings_trusted(v, txn)) < 0 ||
	    (error = vault_keys__epoch_trusted(txn, v, &c)) < 0)
		goto done;
	for (size_t i = 0; i < rp.n && error == 0; i++)
		error = vault_keys__user_trusted(txn, v, rp.names[i]);
	if (error < 0 || (error = vault_keys__case_key(&key, txn, v, &c, c.epoch)) < 0)
		goto done;
	d.txn = txn;
	d.v = v;
	d.c = &c;
	if ((error = vault_user__each(txn, v, drop_user, &d)) < 0 ||
	    (error = vault_vcrypto__secret_alloc(&shares, rp.n * VCRYPTO_KEYBYTES)) < 0 ||
	    (error = split(shares, key, &rp)) < 0)
		goto done;
	for (size_t i = 0; i < rp.n && error == 0; i++)
		error = share_seal(txn, v, &c, &rp, i, shares + i * VCRYPTO_KEYBYTES);
	if (error < 0)
		goto done;
	c.rec_epoch = c.epoch;
	c.rec_threshold = rp.threshold;
	memcpy(c.rec_set, rp.set, RECOVERY_SET_SIZE);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", code);
	if ((error = vault_case__put(txn, v, &c)) == 0)
		error = vault_event__touch_case(ev, v, txn, code);
done:
	vault_vcrypto__key_free(shares);
	vault_case__dispose(&c);
	return error;
}

/* ---- requests, approvals, the grant ------------------------------------ */

int vault_recovery__covers(MDB_txn *txn, vault *v, const case_rec *c)
{
	recovery_policy rp;
	char why[128];
	int error;

	if ((error = vault_event__settings_trusted(v, txn)) < 0 || (error = policy_load(&rp, txn, v)) < 0)
		return error;
	return rp.n && covered(txn, v, c, &rp, why, sizeof why);
}

/* The share record of custodian `user` for `c`'s split, checked: sealed to
 * `pk`. VAULT_EACCES if there is none for them. */
static int share_get(unsigned char rec[SHARE_REC], MDB_txn *txn, vault *v, const case_rec *c, const char *user,
	const unsigned char pk[32])
{
	char name[96];
	MDB_val val;
	int error;

	vault_rec__share_name(name, sizeof name, c->code, c->rec_epoch, user);
	if ((error = vault_rec__get(txn, v, v->st->sealed, name, &val)) == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_EACCES, "user '%s' holds no share of the key of case '%s'", user, c->code);
	if (error < 0)
		return error;
	if (val.mv_size != SHARE_REC || ((unsigned char *)val.mv_data)[0] != REC_FORMAT ||
	    ((unsigned char *)val.mv_data)[1] == 0 || memcmp((unsigned char *)val.mv_data + 2, pk, 32))
		return vault_error_set(VAULT_EACCES,
			"the share of case '%s' for '%s' is not sealed to their key of now (changed since the split)",
			c->code, user);
	memcpy(rec, val.mv_data, SHARE_REC);
	return 0;
}

/* Open a sealed share ‖ binding with the session's key into `plain`
 * (secret memory, SHARE_PLAIN) and check the binding. */
static int share_open(unsigned char *plain, vault *v, const unsigned char *box, const unsigned char bind[32],
	const char *what, const case_rec *c)
{
	if (vault_vcrypto__unseal(plain, box, SHARE_PLAIN + VCRYPTO_SEALBYTES, v->pk, v->sk) < 0)
		return vault_error_set(VAULT_ECORRUPT, "%s of case '%s' for '%s' is damaged", what, c->code, v->user);
	if (sodium_memcmp(plain + VCRYPTO_KEYBYTES, bind, 32))
		return vault_error_set(VAULT_ECORRUPT,
			"%s of case '%s' for '%s' was sealed for another place (case, epoch, request or user)",
			what, c->code, v->user);
	return 0;
}

/* An approved share, sealed to the caseworker: bound to the request, the
 * share's x and the approver. */
static void handed_name(char *out, size_t n, const char *id, const char *approver)
{
	snprintf(out, n, "@rshare/%s/%s", id, approver);
}

static void handed_binding(unsigned char out[32], const vault *v, const case_rec *c, const recovery_req *r,
	unsigned int x, const char *approver)
{
	char place[VAULT_CODE_SIZE + RECOVERY_ID_SIZE + VAULT_NAME_MAX + 32];

	snprintf(place, sizeof place, "@rshare/%s/%s/%u/%s", c->code, r->id, x, approver);
	vault_keys__binding(out, v, place, r->epoch, r->user);
}

typedef struct {
	char code[VAULT_CODE_SIZE];
	const char *user, *reason;
	char id[RECOVERY_ID_SIZE];
} request_args;

/* The caseworker a case is recovered for: active, a caseworker (never an
 * admin or auditor, as with grants), as the head has them. */
static int recipient_ok(user_rec *u, MDB_txn *txn, vault *v, const char *name)
{
	int error = vault_user__get(u, txn, v, name);

	if (error == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_ENOTFOUND, "user '%s' does not exist", name);
	if (error < 0)
		return error;
	if (u->role != VAULT_ROLE_CASEWORKER)
		return vault_error_set(VAULT_EUSAGE, "a case is recovered for a caseworker only: '%s' is %s %s",
			name, u->role == VAULT_ROLE_ADMIN ? "an" : "an", vault_role_name(u->role));
	if (u->status != USER_ACTIVE)
		return vault_error_set(VAULT_EUSAGE, "user '%s' is %s, not an active caseworker", name,
			u->status == USER_PENDING ? "pending (not enrolled)" : "disabled");
	return vault_keys__user_trusted(txn, v, name);
}

static int request_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	request_args *a = payload;
	recovery_req *r;
	user_rec u;
	case_rec c;
	void *t;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((error = vault_keys__epoch_trusted(txn, v, &c)) < 0 || (error = recipient_ok(&u, txn, v, a->user)) < 0)
		goto done;
	if (vault_case__member(&c, a->user)) {
		error = vault_error_set(VAULT_EUSAGE, "user '%s' is a member of case '%s' already", a->user, a->code);
		goto done;
	}
	if (!c.rec_epoch || c.rec_epoch != c.epoch) {
		error = vault_error_set(VAULT_EREFUSED,
			"case '%s' is not covered: its key of now was not split for the custodians", a->code);
		goto done;
	}
	for (size_t i = 0; i < c.nreq; i++)
		if (!c.req[i].granted && !strcmp(c.req[i].user, a->user)) {
			error = vault_error_set(VAULT_EREFUSED, "request %s of case '%s' for '%s' is open already",
				c.req[i].id, a->code, a->user);
			goto done;
		}
	if (c.nreq == CASE_MAX_REQUESTS) {
		error = vault_error_set(VAULT_EREFUSED, "case '%s' has had %d recovery requests, the most",
			a->code, CASE_MAX_REQUESTS);
		goto done;
	}
	if ((t = realloc(c.req, (c.nreq + 1) * sizeof *c.req)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	c.req = t;
	r = &c.req[c.nreq++];
	memset(r, 0, sizeof *r);
	memcpy(r->id, "R-", 2);
	vault_vcrypto__random_code(r->id + 2, 8);
	snprintf(r->user, sizeof r->user, "%s", a->user);
	r->epoch = c.epoch;
	snprintf(a->id, sizeof a->id, "%s", r->id);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", a->code);
	snprintf(ev->target, sizeof ev->target, "%s", a->user);
	/* The reason, for admins and auditors only: sealed to the audit key. */
	if ((error = vault_event__seal_note(ev, v, txn, a->reason)) < 0 ||
	    (error = vault_case__put(txn, v, &c)) < 0)
		goto done;
	error = vault_event__touch_case(ev, v, txn, a->code);
done:
	vault_case__dispose(&c);
	return error;
}

int vault_recovery_request(vault *v, const char *code, const char *user, const char *reason,
	char id[VAULT_RECOVERY_ID_SIZE])
{
	request_args a;
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0 ||
	    (error = vault_case__check_code(code)) < 0 || (error = vault_user__check_name(user, "user")) < 0)
		return error;
	if (!reason || !*reason)
		return vault_error_set(VAULT_EUSAGE, "a recovery request needs a reason");
	memset(&a, 0, sizeof a);
	snprintf(a.code, sizeof a.code, "%s", code);
	a.user = user;
	a.reason = reason;
	if ((error = vault_policy__run(v, "recovery-request", request_fn, &a)) < 0)
		return error;
	snprintf(id, VAULT_RECOVERY_ID_SIZE, "%s", a.id);
	return 0;
}

/* The case holding request `id`, found by a walk. */
typedef struct {
	const char *id;
	char code[VAULT_CODE_SIZE];
} find_args;

static int find_request(case_rec *c, void *payload)
{
	find_args *f = payload;

	if (!vault_case__request(c, f->id))
		return 0;
	memcpy(f->code, c->code, VAULT_CODE_SIZE);
	return 1;
}

static int request_case(char code[VAULT_CODE_SIZE], vault *v, const char *id)
{
	find_args f = { id, "" };
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_case__each(txn, v, find_request, &f);
	vault_store__abort(v->st, txn);
	if (error < 0)
		return error;
	if (!f.code[0])
		return vault_error_set(VAULT_ENOTFOUND, "recovery request '%s' does not exist", id);
	memcpy(code, f.code, VAULT_CODE_SIZE);
	return 0;
}

typedef struct {
	char code[VAULT_CODE_SIZE];
	const char *id;
} approve_args;

/* The approver's share of the split, unsealed and checked, sealed again
 * to the caseworker the request is for. */
static int hand_over(MDB_txn *txn, vault *v, const case_rec *c, const recovery_req *r, const user_rec *u)
{
	unsigned char rec[SHARE_REC], out[1 + SHARE_PLAIN + VCRYPTO_SEALBYTES], bind[32], *plain = NULL;
	char name[96];
	unsigned int x;
	int error;

	if ((error = share_get(rec, txn, v, c, v->user, v->pk)) < 0 ||
	    (error = vault_vcrypto__secret_alloc(&plain, SHARE_PLAIN)) < 0)
		return error;
	x = rec[1];
	share_binding(bind, v, c, c->rec_epoch, x, c->rec_set, v->user);
	if ((error = share_open(plain, v, rec + 34, bind, "recovery share", c)) == 0) {
		handed_binding(plain + VCRYPTO_KEYBYTES, v, c, r, x, v->user);
		out[0] = (unsigned char)x;
		error = vault_vcrypto__seal_to(out + 1, plain, SHARE_PLAIN, u->pk);
	}
	vault_vcrypto__key_free(plain);
	if (error < 0)
		return error;
	handed_name(name, sizeof name, r->id, v->user);
	return vault_rec__put(txn, v, v->st->sealed, name, out, sizeof out);
}

static int approve_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	approve_args *a = payload;
	recovery_req *r;
	user_rec u;
	case_rec c;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((r = vault_case__request(&c, a->id)) == NULL)
		error = vault_error_set(VAULT_ENOTFOUND, "recovery request '%s' does not exist", a->id);
	else if (r->granted)
		error = vault_error_set(VAULT_EREFUSED, "recovery request '%s' was granted already", a->id);
	else if (r->epoch != c.rec_epoch)
		error = vault_error_set(VAULT_EREFUSED,
			"the key of case '%s' was split again since request '%s': an admin asks again", a->code, a->id);
	for (size_t k = 0; error == 0 && k < r->napproved; k++)
		if (!strcmp(r->approved[k], v->user))
			error = vault_error_set(VAULT_EREFUSED, "'%s' approved request '%s' already", v->user, a->id);
	if (error < 0 || (error = vault_keys__epoch_trusted(txn, v, &c)) < 0 ||
	    (error = recipient_ok(&u, txn, v, r->user)) < 0 || (error = hand_over(txn, v, &c, r, &u)) < 0)
		goto done;
	snprintf(r->approved[r->napproved++], sizeof r->approved[0], "%s", v->user);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", a->code);
	snprintf(ev->target, sizeof ev->target, "%s", r->user);
	if ((error = vault_case__put(txn, v, &c)) == 0)
		error = vault_event__touch_case(ev, v, txn, a->code);
done:
	vault_case__dispose(&c);
	return error;
}

int vault_recovery_approve(vault *v, const char *id)
{
	approve_args a;
	int error;

	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if (strlen(id) != RECOVERY_ID_SIZE - 1 || strncmp(id, "R-", 2))
		return vault_error_set(VAULT_EUSAGE, "'%s' is not a recovery request (R- and 8 characters)", id);
	a.id = id;
	if ((error = request_case(a.code, v, id)) < 0)
		return error;
	return vault_policy__run(v, "recovery-approve", approve_fn, &a);
}

/* The open request of `c` for this user with the threshold of approvals,
 * of the split of its current epoch; NULL if none. */
static recovery_req *ready(case_rec *c, const char *user)
{
	for (size_t i = 0; i < c->nreq; i++) {
		recovery_req *r = &c->req[i];
		if (!r->granted && !strcmp(r->user, user) && r->epoch == c->rec_epoch &&
		    r->epoch == c->epoch && c->rec_threshold >= 2 && r->napproved >= c->rec_threshold)
			return r;
	}
	return NULL;
}

/* Combine the approved shares of `r` into `key` (secret memory), checked
 * against the epoch's key-check value. */
static int combine(unsigned char *key, MDB_txn *txn, vault *v, const case_rec *c, const recovery_req *r)
{
	unsigned char xs[RECOVERY_MAX], *shares = NULL, *plain = NULL, bind[32], kcv[KCV_SIZE];
	unsigned int m = c->rec_threshold;
	char name[96];
	gfshare_ctx *g;
	MDB_val val;
	int error;

	if ((error = vault_vcrypto__secret_alloc(&shares, (size_t)m * VCRYPTO_KEYBYTES)) < 0 ||
	    (error = vault_vcrypto__secret_alloc(&plain, SHARE_PLAIN)) < 0)
		goto done;
	for (unsigned int i = 0; i < m; i++) {
		handed_name(name, sizeof name, r->id, r->approved[i]);
		if ((error = vault_rec__get(txn, v, v->st->sealed, name, &val)) < 0 ||
		    val.mv_size != 1 + SHARE_PLAIN + VCRYPTO_SEALBYTES) {
			error = vault_error_set(VAULT_ECORRUPT, "the share '%s' approved for request '%s' is %s",
				r->approved[i], r->id, error < 0 ? "missing" : "damaged");
			goto done;
		}
		xs[i] = ((unsigned char *)val.mv_data)[0];
		handed_binding(bind, v, c, r, xs[i], r->approved[i]);
		if ((error = share_open(plain, v, (unsigned char *)val.mv_data + 1, bind, "an approved share", c)) < 0)
			goto done;
		memcpy(shares + (size_t)i * VCRYPTO_KEYBYTES, plain, VCRYPTO_KEYBYTES);
	}
	gfshare_fill_rand = fill_random;
	if ((g = gfshare_ctx_init_dec(xs, m, VCRYPTO_KEYBYTES)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	for (unsigned int i = 0; i < m; i++)
		gfshare_ctx_dec_giveshare(g, (unsigned char)i, shares + (size_t)i * VCRYPTO_KEYBYTES);
	gfshare_ctx_dec_extract(g, key);
	gfshare_ctx_free(g);
	vault_keys__kcv(kcv, v, c->code, r->epoch, key);
	if (sodium_memcmp(kcv, c->kcv[r->epoch - 1], KCV_SIZE))
		error = vault_error_set(VAULT_ECORRUPT,
			"the shares approved for request '%s' do not give the key of case '%s' (a share was changed)",
			r->id, c->code);
done:
	vault_vcrypto__key_free(shares);
	vault_vcrypto__key_free(plain);
	return error;
}

static int grant_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *code = payload;
	unsigned char *key = NULL;
	char name[96];
	recovery_req *r;
	case_rec c;
	int error;

	if ((error = vault_case__get(&c, txn, v, code)) < 0)
		return error;
	if ((r = ready(&c, v->user)) == NULL || vault_case__member(&c, v->user)) {
		error = 1;         /* done meanwhile */
		goto done;
	}
	if (c.nmembers == CASE_MAX_MEMBERS) {
		error = vault_error_set(VAULT_EREFUSED, "case '%s' has the most members", code);
		goto done;
	}
	if ((error = vault_keys__epoch_trusted(txn, v, &c)) < 0 ||
	    (error = vault_vcrypto__secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0 ||
	    (error = combine(key, txn, v, &c, r)) < 0 ||
	    (error = vault_keys__seal(txn, v, &c, r->epoch, v->user, key)) < 0)
		goto done;
	/* The shares handed over have served: wiped from the file. */
	for (size_t k = 0; k < r->napproved && error >= 0; k++) {
		handed_name(name, sizeof name, r->id, r->approved[k]);
		if ((error = vault_rec__del(txn, v, v->st->sealed, name)) == VAULT_ENOTFOUND)
			error = 0;
	}
	if (error < 0)
		goto done;
	r->granted = 1;
	snprintf(c.members[c.nmembers].user, sizeof c.members[0].user, "%s", v->user);
	c.members[c.nmembers++].read_only = 0;
	snprintf(ev->case_code, sizeof ev->case_code, "%s", code);
	snprintf(ev->target, sizeof ev->target, "%s", v->user);
	if ((error = vault_case__put(txn, v, &c)) == 0)
		error = vault_event__touch_case(ev, v, txn, code);
done:
	vault_vcrypto__key_free(key);
	vault_case__dispose(&c);
	return error;
}

/* ---- the requests listed ------------------------------------------------ */

typedef struct {
	int all;
	int (*cb)(const vault_recovery_entry *, void *);
	void *payload;
} list_walk;

static int list_case(case_rec *c, void *payload)
{
	list_walk *w = payload;
	vault_recovery_entry q;
	int error;

	for (size_t i = 0; i < c->nreq; i++) {
		const recovery_req *r = &c->req[i];
		if (r->granted && !w->all)
			continue;
		memset(&q, 0, sizeof q);
		q.id = r->id;
		q.code = c->code;
		q.user = r->user;
		q.granted = r->granted;
		q.threshold = c->rec_threshold;
		q.napproved = r->napproved;
		for (size_t k = 0; k < r->napproved; k++)
			q.approved[k] = r->approved[k];
		q.stale = !r->granted && r->epoch != c->rec_epoch;
		if ((error = w->cb(&q, w->payload)) != 0)
			return error;
	}
	return 0;
}

int vault_recovery_list(vault *v, int all, int (*cb)(const vault_recovery_entry *q, void *payload),
	void *payload)
{
	list_walk w = { all, cb, payload };
	recovery_policy rp;
	MDB_txn *txn = NULL;
	int error, custodian = 0;

	if ((error = vault_policy__require_unlocked(v)) < 0 || (error = vault_report__begin(&txn, v)) < 0)
		return error;
	if ((error = vault_event__settings_trusted(v, txn)) < 0 || (error = policy_load(&rp, txn, v)) < 0)
		goto done;
	for (size_t i = 0; i < rp.n; i++)
		custodian |= !strcmp(rp.names[i], v->user);
	if (v->role == VAULT_ROLE_CASEWORKER && !custodian) {
		error = vault_error_set(VAULT_EACCES,
			"recovery requests are for admins, auditors and custodians: '%s' is none", v->user);
		goto done;
	}
	error = vault_case__each(txn, v, list_case, &w);
done:
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- a member's or a caseworker's session ------------------------------ */

typedef struct case_scan case_scan;
struct case_scan {
	MDB_txn *txn;
	vault *v;
	recovery_policy rp;
	int (*wants)(case_scan *s, case_rec *c);
	char (*todo)[VAULT_CODE_SIZE];
	size_t ntodo;
};

static int note_case(case_rec *c, void *payload)
{
	case_scan *s = payload;
	void *t;

	if (!s->wants(s, c))
		return 0;
	if ((t = realloc(s->todo, (s->ntodo + 1) * sizeof *s->todo)) == NULL)
		return vault_error_set_oom();
	s->todo = t;
	memcpy(s->todo[s->ntodo++], c->code, VAULT_CODE_SIZE);
	return 0;
}

/* Each case `wants` picks, in an `action` event of its own; *done counts
 * those recorded. */
static int run_each(vault *v, const char *action, vault_event_fn fn, int (*wants)(case_scan *, case_rec *),
	int *done)
{
	case_scan s;
	int error;

	memset(&s, 0, sizeof s);
	s.v = v;
	s.wants = wants;
	if ((error = vault_store__begin(&s.txn, v->st, 0)) < 0)
		return error;
	if ((error = policy_load(&s.rp, s.txn, v)) == 0)
		error = vault_case__each(s.txn, v, note_case, &s);
	vault_store__abort(v->st, s.txn);
	for (size_t i = 0; i < s.ntodo && error >= 0; i++) {
		if ((error = vault_policy__run(v, action, fn, s.todo[i])) == 0)
			(*done)++;
		if (error == 1)
			error = 0;      /* another session did it meanwhile */
	}
	free(s.todo);
	return error < 0 ? error : 0;
}

static int wants_split(case_scan *s, case_rec *c)
{
	return splits(s->txn, s->v, c, &s->rp);
}

static int wants_grant(case_scan *s, case_rec *c)
{
	return ready(c, s->v->user) && !vault_case__member(c, s->v->user);
}

int vault_recovery__maintain(vault *v)
{
	int granted = 0, split = 0, error;

	if (v->role != VAULT_ROLE_CASEWORKER)
		return 0;          /* only caseworkers hold case keys */
	/* A case recovered for this user: their key, then, as after any
	 * revoke, the retired epoch's successor (keys.c) and its split. */
	if ((error = run_each(v, "recovery-grant", grant_fn, wants_grant, &granted)) < 0)
		return error;
	if (granted && (error = vault_keys__maintain(v)) < 0)
		return error;
	return run_each(v, "recovery-split", split_fn, wants_split, &split);
}

/* ---- status ------------------------------------------------------------- */

typedef struct {
	MDB_txn *txn;
	vault *v;
	recovery_policy *rp;
	int (*cb)(const vault_recovery_case *, void *);
	void *payload;
} status_walk;

static int status_case(case_rec *c, void *payload)
{
	status_walk *w = payload;
	vault_recovery_case rc;
	char why[128] = "";

	rc.code = c->code;
	rc.covered = covered(w->txn, w->v, c, w->rp, why, sizeof why);
	rc.why = why;
	return w->cb(&rc, w->payload);
}

int vault_recovery_status(vault *v, vault_recovery_info *info,
	int (*cb)(const vault_recovery_case *c, void *payload), void *payload)
{
	recovery_policy rp;
	status_walk w = { NULL, v, &rp, cb, payload };
	int error;

	memset(info, 0, sizeof *info);
	/* What the history vouches for, verified up to the head. */
	if ((error = vault_report__require_reader(v, "the recovery's status")) < 0 ||
	    (error = vault_report__begin(&w.txn, v)) < 0)
		return error;
	if ((error = vault_event__settings_trusted(v, w.txn)) < 0 ||
	    (error = policy_load(&rp, w.txn, v)) < 0)
		goto done;
	info->threshold = rp.threshold;
	info->ncustodians = rp.n;
	for (size_t i = 0; i < rp.n; i++) {
		snprintf(info->custodians[i], sizeof info->custodians[i], "%s", rp.names[i]);
		info->active[i] = rp.active[i];
	}
	if (rp.n)
		error = vault_case__each(w.txn, v, status_case, &w);
done:
	vault_store__abort(v->st, w.txn);
	return error;
}
