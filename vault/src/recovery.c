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
 * fewer than the threshold of shares tell nothing of the key. A recovery
 * itself (request, approvals, the grant) is recover.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgfshare.h>

#include "recovery.h"
#include "report.h"

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
int vault_recovery__policy_load(recovery_policy *rp, MDB_txn *txn, vault *v)
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
		if (u.status == USER_PENDING) {
			error = vault_error_set(VAULT_EUSAGE, "custodian '%s' is pending (not enrolled), not an active user",
				a->rp.names[i]);
			goto done;
		}
		if (u.status != USER_ACTIVE) {
			error = vault_error_set(VAULT_EUSAGE, "custodian '%s' is disabled, not an active user",
				a->rp.names[i]);
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
		if ((error = vault_user__check_name(custodians[i], NAME_CUSTODIAN)) < 0)
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

void vault_recovery__binding(unsigned char out[32], const vault *v, const case_rec *c, uint32_t epoch,
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
 * with it when it frees one. */
static void fill_random(unsigned char *buf, unsigned int len)
{
	randombytes_buf(buf, len);
}

void vault_recovery__gfshare_init(void)
{
	gfshare_fill_rand = fill_random;
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
	vault_recovery__gfshare_init();
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
	vault_recovery__binding(plain + VCRYPTO_KEYBYTES, v, c, c->epoch, (unsigned int)i + 1, rp->set, rp->names[i]);
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

/*
 * Has a request of `c`'s split of its current epoch approvals? Its shares
 * are handed over from that split: a split of the same epoch again (a
 * custodian's passwd, a new set) would make shares of another polynomial,
 * and the two kinds combine into no key. The split waits for the grant,
 * which starts the next epoch.
 */
static int approvals_pending(const case_rec *c)
{
	for (size_t i = 0; i < c->nreq; i++)
		if (!c->req[i].granted && c->req[i].napproved && c->req[i].epoch == c->rec_epoch &&
		    c->rec_epoch == c->epoch)
			return 1;
	return 0;
}

int vault_recovery__splits(MDB_txn *txn, vault *v, case_rec *c, const recovery_policy *rp)
{
	char why[128];

	if (!rp->n || c->retired || !vault_case__member(c, v->user) || approvals_pending(c) ||
	    !vault_keys__has_sealed(txn, v, c->code, c->epoch, v->user))
		return 0;
	for (size_t i = 0; i < rp->n; i++)
		if (!rp->active[i])
			return 0;
	return !covered(txn, v, c, rp, why, sizeof why);
}

int vault_recovery__split(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *code = payload;
	recovery_policy rp;
	drop_args d;
	const unsigned char *key;
	unsigned char *shares = NULL;
	case_rec c;
	int error;

	memset(&c, 0, sizeof c);
	if ((error = vault_recovery__policy_load(&rp, txn, v)) < 0 || (error = vault_case__get(&c, txn, v, code)) < 0)
		goto done;
	if (!vault_recovery__splits(txn, v, &c, &rp)) {
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

int vault_recovery__covers(MDB_txn *txn, vault *v, const case_rec *c)
{
	recovery_policy rp;
	char why[128];
	int error;

	if ((error = vault_event__settings_trusted(v, txn)) < 0 || (error = vault_recovery__policy_load(&rp, txn, v)) < 0)
		return error;
	return rp.n && covered(txn, v, c, &rp, why, sizeof why);
}

/* The share record of custodian `user` for `c`'s split, checked: sealed to
 * `pk`. VAULT_EACCES if there is none for them. */
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
	if ((error = vault_report__require_reader(v, READ_RECOVERY)) < 0 ||
	    (error = vault_report__begin(&w.txn, v)) < 0)
		return error;
	if ((error = vault_event__settings_trusted(v, w.txn)) < 0 ||
	    (error = vault_recovery__policy_load(&rp, w.txn, v)) < 0)
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
