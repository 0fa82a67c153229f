/*
 * recover — a recovery itself: an admin's request for one case and one
 * caseworker, each custodian's approval (their share sealed again to the
 * caseworker), and the caseworker's session that combines the threshold of
 * shares and takes the case up; the requests listed; and the recovery work
 * of a session (grants, then splits) that runs at every unlock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgfshare.h>

#include "recovery.h"
#include "report.h"

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
 * (secret memory, SHARE_PLAIN) and check the binding. `approved`: a share
 * a custodian handed over, else the custodian's own recovery share. */
static int share_open(unsigned char *plain, vault *v, const unsigned char *box, const unsigned char bind[32],
	int approved, const case_rec *c)
{
	if (vault_vcrypto__unseal(plain, box, SHARE_PLAIN + VCRYPTO_SEALBYTES, v->pk, v->sk) < 0)
		return approved ?
			vault_error_set(VAULT_ECORRUPT, "an approved share of case '%s' for '%s' is damaged",
				c->code, v->user) :
			vault_error_set(VAULT_ECORRUPT, "recovery share of case '%s' for '%s' is damaged",
				c->code, v->user);
	if (sodium_memcmp(plain + VCRYPTO_KEYBYTES, bind, 32))
		return approved ?
			vault_error_set(VAULT_ECORRUPT, "an approved share of case '%s' for '%s' was sealed "
				"for another place (case, epoch, request or user)", c->code, v->user) :
			vault_error_set(VAULT_ECORRUPT, "recovery share of case '%s' for '%s' was sealed "
				"for another place (case, epoch, request or user)", c->code, v->user);
	return 0;
}

/* An approved share, sealed to the caseworker (vault_rec__handed_name):
 * bound to the request, the share's x and the approver. */
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
	if (u->role == VAULT_ROLE_ADMIN)
		return vault_error_set(VAULT_EUSAGE, "a case is recovered for a caseworker only: '%s' is an admin",
			name);
	if (u->role != VAULT_ROLE_CASEWORKER)
		return vault_error_set(VAULT_EUSAGE,
			"a case is recovered for a caseworker only: '%s' is an auditor", name);
	if (u->status == USER_PENDING)
		return vault_error_set(VAULT_EUSAGE, "user '%s' is pending (not enrolled), not an active caseworker",
			name);
	if (u->status != USER_ACTIVE)
		return vault_error_set(VAULT_EUSAGE, "user '%s' is disabled, not an active caseworker", name);
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
	    (error = vault_case__check_code(code)) < 0 || (error = vault_user__check_name(user, NAME_USER)) < 0)
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
	vault_recovery__binding(bind, v, c, c->rec_epoch, x, c->rec_set, v->user);
	if ((error = share_open(plain, v, rec + 34, bind, 0, c)) == 0) {
		handed_binding(plain + VCRYPTO_KEYBYTES, v, c, r, x, v->user);
		out[0] = (unsigned char)x;
		error = vault_vcrypto__seal_to(out + 1, plain, SHARE_PLAIN, u->pk);
	}
	vault_vcrypto__key_free(plain);
	if (error < 0)
		return error;
	vault_rec__handed_name(name, sizeof name, r->id, v->user);
	return vault_rec__put(txn, v, v->st->sealed, name, out, sizeof out);
}

/* The event of a change to request `r` of `c`: the case stored, its file
 * in the event. */
static int request_record(vault_event *ev, vault *v, MDB_txn *txn, case_rec *c, const recovery_req *r)
{
	int error;

	snprintf(ev->case_code, sizeof ev->case_code, "%s", c->code);
	snprintf(ev->target, sizeof ev->target, "%s", r->user);
	if ((error = vault_case__put(txn, v, c)) == 0)
		error = vault_event__touch_case(ev, v, txn, c->code);
	return error;
}

/* Request `id` of `c`, open (not granted, not cancelled). */
static int open_request(recovery_req **out, case_rec *c, const char *id)
{
	recovery_req *r = vault_case__request(c, id);

	*out = r;
	if (r == NULL)
		return vault_error_set(VAULT_ENOTFOUND, "recovery request '%s' does not exist", id);
	if (r->granted == REQ_CANCELLED)
		return vault_error_set(VAULT_EREFUSED, "recovery request '%s' was cancelled", id);
	if (r->granted)
		return vault_error_set(VAULT_EREFUSED, "recovery request '%s' was granted already", id);
	return 0;
}

/* Request `q` handed shares of `r`'s split to its caseworker: `r` itself,
 * or one of their requests of that split that was cancelled. */
static int handed_for(const recovery_req *q, const recovery_req *r)
{
	return q == r || (q->granted == REQ_CANCELLED && q->epoch == r->epoch && !strcmp(q->user, r->user));
}

/* `name` handed such a share, in the approvals before approval `end_k` of
 * request `end_i` (all of them when `end_i` is c->nreq). */
static int handed_by(const case_rec *c, const recovery_req *r, const char *name, size_t end_i, size_t end_k)
{
	for (size_t i = 0; i < c->nreq && i <= end_i; i++)
		for (size_t k = 0; k < c->req[i].napproved && (i < end_i || k < end_k); k++)
			if (handed_for(&c->req[i], r) && !strcmp(c->req[i].approved[k], name))
				return 1;
	return 0;
}

/*
 * A cancel wipes the shares handed over, but not from a copy of the file
 * the caseworker kept: with the shares of a later request of the same
 * split they combine into the key, outside any grant. So an approval that
 * hands a share the caseworker lacks is refused when, with theirs, it
 * would reach the threshold while the request itself does not.
 */
static int handed_within(const case_rec *c, const recovery_req *r, const char *approver)
{
	size_t held = 0;

	if (r->napproved + 1 >= c->rec_threshold || handed_by(c, r, approver, c->nreq, 0))
		return 0;
	for (size_t i = 0; i < c->nreq; i++)
		for (size_t k = 0; k < c->req[i].napproved; k++)
			if (handed_for(&c->req[i], r) && !handed_by(c, r, c->req[i].approved[k], i, k))
				held++;
	if (held + 1 >= c->rec_threshold)
		return vault_error_set(VAULT_EREFUSED,
			"'%s' holds the shares of %zu custodian(s) from cancelled requests and this one: "
			"one more would give them the key of case '%s' outside a grant", r->user, held, c->code);
	return 0;
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
	if ((error = open_request(&r, &c, a->id)) == 0 && r->epoch != c.rec_epoch)
		error = vault_error_set(VAULT_EREFUSED,
			"the key of case '%s' was split again since request '%s': an admin asks again", a->code, a->id);
	for (size_t k = 0; error == 0 && k < r->napproved; k++)
		if (!strcmp(r->approved[k], v->user))
			error = vault_error_set(VAULT_EREFUSED, "'%s' approved request '%s' already", v->user, a->id);
	if (error < 0 || (error = handed_within(&c, r, v->user)) < 0 ||
	    (error = vault_keys__epoch_trusted(txn, v, &c)) < 0 ||
	    (error = recipient_ok(&u, txn, v, r->user)) < 0 || (error = hand_over(txn, v, &c, r, &u)) < 0)
		goto done;
	snprintf(r->approved[r->napproved++], sizeof r->approved[0], "%s", v->user);
	error = request_record(ev, v, txn, &c, r);
done:
	vault_case__dispose(&c);
	return error;
}

/* Request `id` checked and found: a->code its case. */
static int request_find(approve_args *a, vault *v, const char *id)
{
	if (strlen(id) != RECOVERY_ID_SIZE - 1 || strncmp(id, "R-", 2))
		return vault_error_set(VAULT_EUSAGE, "'%s' is not a recovery request (R- and 8 characters)", id);
	a->id = id;
	return request_case(a->code, v, id);
}

int vault_recovery_approve(vault *v, const char *id)
{
	approve_args a;
	int error;

	if ((error = vault_policy__require_unlocked(v)) < 0 || (error = request_find(&a, v, id)) < 0)
		return error;
	return vault_policy__run(v, "recovery-approve", approve_fn, &a);
}

/* The shares handed over for `r` wiped from the file. */
static int handed_wipe(MDB_txn *txn, vault *v, const recovery_req *r)
{
	char name[96];
	int error = 0;

	for (size_t k = 0; k < r->napproved && error >= 0; k++) {
		vault_rec__handed_name(name, sizeof name, r->id, r->approved[k]);
		if ((error = vault_rec__del(txn, v, v->st->sealed, name)) == VAULT_ENOTFOUND)
			error = 0;
	}
	return error;
}

static int cancel_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	approve_args *a = payload;
	recovery_req *r;
	case_rec c;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((error = open_request(&r, &c, a->id)) < 0 || (error = vault_keys__epoch_trusted(txn, v, &c)) < 0 ||
	    (error = handed_wipe(txn, v, r)) < 0)
		goto done;
	r->granted = REQ_CANCELLED;
	error = request_record(ev, v, txn, &c, r);
done:
	vault_case__dispose(&c);
	return error;
}

int vault_recovery_cancel(vault *v, const char *id)
{
	approve_args a;
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0 || (error = request_find(&a, v, id)) < 0)
		return error;
	return vault_policy__run(v, "recovery-cancel", cancel_fn, &a);
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
		vault_rec__handed_name(name, sizeof name, r->id, r->approved[i]);
		if ((error = vault_rec__get(txn, v, v->st->sealed, name, &val)) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "the share '%s' approved for request '%s' is missing",
				r->approved[i], r->id);
			goto done;
		}
		if (val.mv_size != 1 + SHARE_PLAIN + VCRYPTO_SEALBYTES) {
			error = vault_error_set(VAULT_ECORRUPT, "the share '%s' approved for request '%s' is damaged",
				r->approved[i], r->id);
			goto done;
		}
		xs[i] = ((unsigned char *)val.mv_data)[0];
		handed_binding(bind, v, c, r, xs[i], r->approved[i]);
		if ((error = share_open(plain, v, (unsigned char *)val.mv_data + 1, bind, 1, c)) < 0)
			goto done;
		memcpy(shares + (size_t)i * VCRYPTO_KEYBYTES, plain, VCRYPTO_KEYBYTES);
	}
	vault_recovery__gfshare_init();
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
	/* The case and the caseworker's own key as the head has them. */
	if ((error = vault_keys__epoch_trusted(txn, v, &c)) < 0 ||
	    (error = vault_keys__user_trusted(txn, v, v->user)) < 0 ||
	    (error = vault_vcrypto__secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0 ||
	    (error = combine(key, txn, v, &c, r)) < 0 ||
	    (error = vault_keys__seal(txn, v, &c, r->epoch, v->user, key)) < 0)
		goto done;
	/* The shares handed over have served: wiped from the file. */
	if ((error = handed_wipe(txn, v, r)) < 0)
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
		q.granted = r->granted == 1;
		q.cancelled = r->granted == REQ_CANCELLED;
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
	if ((error = vault_event__settings_trusted(v, txn)) < 0 || (error = vault_recovery__policy_load(&rp, txn, v)) < 0)
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
	if ((error = vault_recovery__policy_load(&s.rp, s.txn, v)) == 0)
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
	return vault_recovery__splits(s->txn, s->v, c, &s->rp);
}

static int wants_grant(case_scan *s, case_rec *c)
{
	return ready(c, s->v->user) && !vault_case__member(c, s->v->user);
}

int vault_recover__maintain(vault *v)
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
	return run_each(v, "recovery-split", vault_recovery__split, wants_split, &split);
}
