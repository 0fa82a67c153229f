/*
 * The organisation's recovery against forged events. A member, or an
 * admin, who signs events with their own key through a client of their
 * own (vault_event__append, which skips the writer's checks) records a
 * split that gives a share to someone who is no custodian, a split for
 * another custodian set, a split by someone who is no member, a setup
 * whose threshold lets one custodian open a case alone. `audit verify`
 * names each event (VAULT_ECORRUPT), and the next session of a member
 * refuses the history (the trust gate). So do an approval by someone who
 * holds no share, a grant below the threshold, a request for an auditor.
 * And a custodian's share alone opens nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

#include <libgfshare.h>

static const char *work;
static char base[600];
static char code[VAULT_CODE_SIZE];
static char req[VAULT_RECOVERY_ID_SIZE];   /* for carol, approved by bob */
static int ncopies;

static const char *copy_of(const char *from)
{
	static char dir[700];

	snprintf(dir, sizeof dir, "%s/t%02d", work, ncopies++);
	CHECK(rawdb_copy_dir(from, dir) == 0);
	return dir;
}

static vault *session(const char *dir, const char *user)
{
	return support_session(dir, user, NULL);
}

/* ---- the forgeries: each the function of its event ----------------------- */

typedef int (*forge_fn)(vault *v, MDB_txn *txn, vault_event *ev);

/* bob's share copied to carol's place: carol is no custodian. */
static int share_to_carol(vault *v, MDB_txn *txn, vault_event *ev)
{
	char from[96], to[96];
	MDB_val val;
	void *copy;
	int error;

	vault_rec__share_name(from, sizeof from, code, 1, "bob");
	vault_rec__share_name(to, sizeof to, code, 1, "carol");
	if ((error = vault_rec__get(txn, v, v->st->sealed, from, &val)) < 0)
		return error;
	if ((copy = malloc(val.mv_size)) == NULL)
		return vault_error_set_oom();
	memcpy(copy, val.mv_data, val.mv_size);
	error = vault_rec__put(txn, v, v->st->sealed, to, copy, val.mv_size);
	free(copy);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", code);
	return error < 0 ? error : vault_event__touch_case(ev, v, txn, code);
}

/* The case's shares said to be for another custodian set. */
static int other_set(vault *v, MDB_txn *txn, vault_event *ev)
{
	case_rec c;
	int error;

	if ((error = vault_case__get(&c, txn, v, code)) < 0)
		return error;
	randombytes_buf(c.rec_set, sizeof c.rec_set);
	error = vault_case__put(txn, v, &c);
	vault_case__dispose(&c);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", code);
	return error < 0 ? error : vault_event__touch_case(ev, v, txn, code);
}

/* One custodian alone opens a case. */
static int threshold_one(vault *v, MDB_txn *txn, vault_event *ev)
{
	static const char text[] = "recovery-threshold 1\nrecovery-custodian aud\nrecovery-custodian bob\n";
	int error = vault_meta__sealed_put(txn, v, "recovery", text, sizeof text - 1);

	return error < 0 ? error : vault_event__touch_settings(ev, v, txn);
}

/* A custodian who is no active user (carol, disabled here first). */
static int disabled_custodian(vault *v, MDB_txn *txn, vault_event *ev)
{
	static const char text[] = "recovery-threshold 2\nrecovery-custodian bob\nrecovery-custodian dave\n";
	int error = vault_meta__sealed_put(txn, v, "recovery", text, sizeof text - 1);

	return error < 0 ? error : vault_event__touch_settings(ev, v, txn);
}

/* The case record changed by `change`, its event about `target`. */
static int case_forged(vault *v, MDB_txn *txn, vault_event *ev, const char *target,
	int (*change)(case_rec *c))
{
	case_rec c;
	int error;

	if ((error = vault_case__get(&c, txn, v, code)) < 0)
		return error;
	error = change(&c);
	if (error == 0)
		error = vault_case__put(txn, v, &c);
	vault_case__dispose(&c);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", code);
	snprintf(ev->target, sizeof ev->target, "%s", target);
	return error < 0 ? error : vault_event__touch_case(ev, v, txn, code);
}

/* An approval line of `who` added to the request. */
static int approval_of(case_rec *c, const char *who)
{
	recovery_req *r = vault_case__request(c, req);

	if (!r)
		return vault_error_set(VAULT_ENOTFOUND, "no request");
	snprintf(r->approved[r->napproved++], sizeof r->approved[0], "%s", who);
	return 0;
}

/* carol, who holds no share, approves her own request. */
static int add_carol_approval(case_rec *c)
{
	return approval_of(c, "carol");
}

static int carol_approves(vault *v, MDB_txn *txn, vault_event *ev)
{
	return case_forged(v, txn, ev, "carol", add_carol_approval);
}

/* carol made a member with one approval of two. */
static int grant_carol(case_rec *c)
{
	recovery_req *r = vault_case__request(c, req);

	if (!r)
		return vault_error_set(VAULT_ENOTFOUND, "no request");
	r->granted = 1;
	snprintf(c->members[c->nmembers].user, sizeof c->members[0].user, "carol");
	c->members[c->nmembers++].read_only = 0;
	return 0;
}

static int carol_takes_up(vault *v, MDB_txn *txn, vault_event *ev)
{
	return case_forged(v, txn, ev, "carol", grant_carol);
}

/* A request that recovers the case for the auditor. */
static int ask_for_aud(case_rec *c)
{
	recovery_req *r;
	void *t = realloc(c->req, (c->nreq + 1) * sizeof *c->req);

	if (!t)
		return vault_error_set_oom();
	c->req = t;
	r = &c->req[c->nreq++];
	memset(r, 0, sizeof *r);
	snprintf(r->id, sizeof r->id, "R-AUDAUDAU");
	snprintf(r->user, sizeof r->user, "aud");
	r->epoch = c->epoch;
	return 0;
}

static int request_for_aud(vault *v, MDB_txn *txn, vault_event *ev)
{
	return case_forged(v, txn, ev, "aud", ask_for_aud);
}

/* aud, a custodian, approves and hands over no share. */
static int add_aud_approval(case_rec *c)
{
	return approval_of(c, "aud");
}

static int aud_approves_bare(vault *v, MDB_txn *txn, vault_event *ev)
{
	return case_forged(v, txn, ev, "carol", add_aud_approval);
}

/* The request cancelled, bob's share handed over left in the file. */
static int cancel_keep(case_rec *c)
{
	recovery_req *r = vault_case__request(c, req);

	if (!r)
		return vault_error_set(VAULT_ENOTFOUND, "no request");
	r->granted = REQ_CANCELLED;
	return 0;
}

static int cancel_keeping_shares(vault *v, MDB_txn *txn, vault_event *ev)
{
	return case_forged(v, txn, ev, "carol", cancel_keep);
}

static int forge_try(git_oid *id, vault *v, const char *action, forge_fn fn)
{
	MDB_txn *txn = NULL;
	vault_event ev;
	int error;

	vault_event__init(&ev, action);
	if ((error = vault_store__begin(&txn, v->st, 1)) < 0)
		goto done;
	vault_store__cur = txn;
	if ((error = fn(v, txn, &ev)) < 0 ||
	    (error = vault_event__append(id, &ev, v, txn, vault_time__now())) != 0)
		goto done;
	error = vault_store__commit(v->st, txn);
	txn = NULL;
done:
	vault_event__dispose(&ev);
	vault_store__abort(v->st, txn);
	vault_store__cur = NULL;
	return error;
}

static void forged(const char *name, const char *user, const char *action, forge_fn fn, const char *want)
{
	const char *dir = copy_of(base);
	vault *v = session(dir, user);
	vault_verify_result res;
	char bad[VAULT_OID_SIZE] = "";
	git_oid id;
	int rc;

	if (!v) {
		fprintf(stderr, "%s: no session of %s: %s\n", name, user, vault_error_last()->message);
		harness_failures++;
		return;
	}
	CHECK_RC(forge_try(&id, v, action, fn), 0);
	git_oid_tostr(bad, sizeof bad, &id);
	vault_close(v);

	memset(&res, 0, sizeof res);
	v = NULL;
	if (vault_open(&v, dir) < 0 || support_take_keys(v, base, "dpo") < 0) {
		vault_close(v);
		harness_failures++;
		return;
	}
	rc = support_verify(&res, v, NULL);
	fprintf(stderr, "%s: audit verify: %d %s\n", name, rc, rc ? vault_error_last()->message : "(passes)");
	CHECK(rc == VAULT_ECORRUPT);
	CHECK(!strcmp(res.bad_commit, bad));
	CHECK(rc < 0 && strstr(vault_error_last()->message, want) != NULL);
	vault_close(v);

	/* The trust gate: alice's next session refuses the history. */
	v = session(dir, "alice");
	CHECK(v == NULL);
	vault_close(v);
}

/* ---- a share alone ------------------------------------------------------ */

/*
 * bob, a custodian, holds a share of the case's key and no key: the case
 * does not open for him, and his share, unsealed as he can, is not the key
 * nor, alone, anything that passes the key-check value.
 */
static void shares_alone(void)
{
	vault *v = session(base, "bob");
	const unsigned char *key = NULL;
	unsigned char plain[VCRYPTO_KEYBYTES + 32], kcv[KCV_SIZE], x, out[VCRYPTO_KEYBYTES];
	char name[96];
	MDB_txn *txn = NULL;
	gfshare_ctx *g;
	case_rec c;
	MDB_val val;

	if (!v || vault_store__begin(&txn, v->st, 0) < 0 || vault_case__get(&c, txn, v, code) < 0) {
		harness_failures++;
		vault_close(v);
		return;
	}
	CHECK_RC(vault_keys__case_key(&key, txn, v, &c, 1), VAULT_EACCES);
	vault_rec__share_name(name, sizeof name, code, 1, "bob");
	CHECK_RC(vault_rec__get(txn, v, v->st->sealed, name, &val), 0);
	CHECK(val.mv_size == 1 + 1 + 32 + sizeof plain + VCRYPTO_SEALBYTES);
	x = ((unsigned char *)val.mv_data)[1];
	CHECK(vault_vcrypto__unseal(plain, (unsigned char *)val.mv_data + 34, sizeof plain + VCRYPTO_SEALBYTES,
		v->pk, v->sk) == 0);
	vault_keys__kcv(kcv, v, code, 1, plain);
	CHECK(sodium_memcmp(kcv, c.kcv[0], KCV_SIZE) != 0);
	/* One share "combined" alone. */
	if ((g = gfshare_ctx_init_dec(&x, 1, VCRYPTO_KEYBYTES)) != NULL) {
		gfshare_ctx_dec_giveshare(g, 0, plain);
		gfshare_ctx_dec_extract(g, out);
		gfshare_ctx_free(g);
		vault_keys__kcv(kcv, v, code, 1, out);
		CHECK(sodium_memcmp(kcv, c.kcv[0], KCV_SIZE) != 0);
	}
	sodium_memzero(plain, sizeof plain);
	sodium_memzero(out, sizeof out);
	vault_case__dispose(&c);
	vault_store__abort(v->st, txn);
	vault_close(v);
}

/* ---- the honest path ----------------------------------------------------- */

static int setup(void)
{
	static const char *const custodians[] = { "aud", "bob", "dpo" };
	vault_verify_result res;
	char doc[64], ecode[VAULT_ENROL_CODE_SIZE];
	vault *v;

	snprintf(base, sizeof base, "%s/base", work);
	if ((v = support_vault_with_users(base)) == NULL)
		return -1;
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	CHECK_RC(vault_case_create(code, v, "case A"), 0);
	snprintf(doc, sizeof doc, "%s/intake.txt", code);
	CHECK_RC(support_put(v, doc, "intake of case A", 16, NULL), 0);
	CHECK_RC(vault_unlock(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))), 0);
	CHECK_RC(vault_user_add(v, "dave", VAULT_ROLE_CASEWORKER, ecode), 0);
	CHECK_RC(vault_recovery_setup(v, custodians, 3, 2), 0);
	vault_close(v);
	/* alice's session splits the key of epoch 1. */
	v = session(base, "alice");
	CHECK(v != NULL);
	vault_close(v);
	/* A request for carol, approved by bob: one of two. */
	v = session(base, "dpo");
	CHECK(v != NULL);
	if (v)
		CHECK_RC(vault_recovery_request(v, code, "carol", "a test", req), 0);
	vault_close(v);
	v = session(base, "bob");
	CHECK(v != NULL);
	if (v)
		CHECK_RC(vault_recovery_approve(v, req), 0);
	vault_close(v);
	v = session(base, "dpo");
	CHECK(v != NULL);
	if (v)
		CHECK_RC(support_verify(&res, v, NULL), 0);
	vault_close(v);
	return harness_failures ? -1 : 0;
}

int main(void)
{
	vault_global_init();
	work = harness_tmpdir();
	if (setup() < 0)
		return harness_done("test_recovery");

	forged("a split that gives a share to a non-custodian", "alice", "recovery-split", share_to_carol,
		"sealed a share to someone who is no custodian");
	forged("a split for another custodian set", "alice", "recovery-split", other_set,
		"for the custodians in force");
	forged("a split by someone who is no member", "bob", "recovery-split", other_set,
		"is not a member");
	forged("a setup whose threshold is one", "dpo", "recovery-setup", threshold_one,
		"threshold of 1");
	forged("a setup naming a pending user", "dpo", "recovery-setup", disabled_custodian,
		"no active user");
	forged("an approval by someone who holds no share", "carol", "recovery-approve", carol_approves,
		"who holds no share");
	forged("a grant below the threshold", "carol", "recovery-grant", carol_takes_up,
		"had 1 approvals of custodians, fewer than 2");
	forged("a request for an auditor", "dpo", "recovery-request", request_for_aud,
		"no active caseworker");
	forged("an approval that hands over no share", "aud", "recovery-approve", aud_approves_bare,
		"commits to no share handed over");
	forged("a cancel that leaves the shares handed over", "dpo", "recovery-cancel", cancel_keeping_shares,
		"left the shares handed over");
	forged("a cancel by a caseworker", "carol", "recovery-cancel", cancel_keeping_shares,
		"is not an admin");
	shares_alone();
	return harness_done("test_recovery");
}
