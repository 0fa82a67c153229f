/*
 * The epochs of a case around a revocation. A `revoke` retires the case's
 * epoch (`retired yes`), so that the next member's session starts the next
 * epoch, sealed to the remaining members only: the revoked member keeps
 * the old key, and nothing written afterwards is under it. Only that start
 * of an epoch may take the retirement back.
 *
 * A member who signs events with their own key through a client of their
 * own (vault_event__append, which skips the writer's check) tries to take
 * the retirement back without a new epoch, to move the epoch by more than
 * one or backwards, to revoke without retiring, and to change the case
 * record in a rekey that starts no epoch. For each: casevault's writer
 * (vault_event__commit) refuses to record the event, `audit verify` names
 * it (VAULT_ECORRUPT), and no member's session opens on that history. The
 * honest path (revoke, the next member's session starts epoch 2, a write
 * under it) verifies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

static const char *work;
static char base[600], revoked[600], epoch2[600];
static char code[VAULT_CODE_SIZE];
static int ncopies;

/* Where an attack starts: the case with carol a member, just after her
 * revoke, or at epoch 2 after the next session settled it. */
enum { FROM_BASE, FROM_REVOKED, FROM_EPOCH2 };

static const char *copy_of(const char *from)
{
	static char dir[700];

	snprintf(dir, sizeof dir, "%s/t%02d", work, ncopies++);
	if (rawdb_copy_dir(from, dir) != 0) {
		fprintf(stderr, "cannot copy the vault to %s\n", dir);
		harness_failures++;
	}
	return dir;
}

static vault *session(const char *dir, const char *user)
{
	vault *v = NULL;

	if (vault_open(&v, dir) < 0)
		return NULL;
	vault_set_state_dir(v, "");
	if (user && vault_unlock(v, user, support_pass(user), strlen(support_pass(user))) < 0) {
		vault_close(v);
		return NULL;
	}
	return v;
}

/*
 * `user`'s session on a retired case without settling it, as a client of
 * their own would open it: their sealed key of epoch 1 is out of the way
 * while they unlock (so the unlock finds nothing to settle), then put back.
 */
static vault *unsettled_session(const char *dir, const char *user)
{
	char skey[64];
	unsigned char *mine = NULL;
	size_t len;
	MDB_txn *txn = NULL;
	vault *v;

	vault_rec__sealed_name(skey, sizeof skey, code, 1, user);
	if (rawdb_names(dir, user, NULL) < 0 || (mine = rawdb_fetch(dir, "sealed", skey, strlen(skey), &len)) == NULL ||
	    rawdb_remove(dir, "sealed", skey, strlen(skey)) != 0) {
		free(mine);
		return NULL;
	}
	if ((v = session(dir, user)) != NULL &&
	    (vault_store__begin(&txn, v->st, 1) < 0 ||
	     vault_rec__put(txn, v, v->st->sealed, skey, mine, len) < 0 ||
	     vault_store__commit(v->st, txn) < 0)) {
		vault_close(v);
		v = NULL;
	}
	free(mine);
	return v;
}

/* ---- the attacks: each changes the case record as its event's function --- */

typedef int (*attack_fn)(case_rec *c, vault_event *ev);

/* Taking carol's revocation back: the epoch she holds the key of goes on. */
static int unretire(case_rec *c, vault_event *ev)
{
	c->retired = 0;
	return 0;
}

/* `n` more epochs, each with a chain entry and a key-check value, none
 * of them retired. */
static int add_epochs(case_rec *c, uint32_t n)
{
	void *chain = realloc(c->chain, (c->nchain + n) * CHAIN_SIZE);
	void *kcv = chain ? realloc(c->kcv, ((size_t)c->epoch + n) * KCV_SIZE) : NULL;

	if (chain)
		c->chain = chain;
	if (!kcv)
		return vault_error_set_oom();
	c->kcv = kcv;
	randombytes_buf(c->chain[c->nchain], n * CHAIN_SIZE);
	randombytes_buf(c->kcv[c->epoch], n * KCV_SIZE);
	c->nchain += n;
	c->epoch += n;
	c->retired = 0;
	return 0;
}

/* The epoch after next. */
static int jump_two(case_rec *c, vault_event *ev)
{
	return add_epochs(c, 2);
}

/* Back to epoch 1, whose key carol kept. */
static int lower(case_rec *c, vault_event *ev)
{
	c->epoch--;
	c->nchain--;
	return 0;
}

/* The admin's revoke of carol that leaves the epoch as it was. */
static int revoke_unretired(case_rec *c, vault_event *ev)
{
	member_rec *m = vault_case__member(c, "carol");

	if (!m)
		return vault_error_set(VAULT_ENOTFOUND, "carol is no member");
	memmove(m, m + 1, (size_t)(&c->members[c->nmembers] - (m + 1)) * sizeof *m);
	c->nmembers--;
	c->retired = 0;
	snprintf(ev->target, sizeof ev->target, "carol");
	return 0;
}

/* A new label, sealed under no new epoch. */
static int relabel(case_rec *c, vault_event *ev)
{
	randombytes_buf(c->label, c->label_len);
	return 0;
}

/* Another key-check value of the current epoch, for a key of one's own. */
static int replace_kcv(case_rec *c, vault_event *ev)
{
	randombytes_buf(c->kcv[c->epoch - 1], KCV_SIZE);
	return 0;
}

/* A new epoch of a case that no revoke retired. */
static int unasked_epoch(case_rec *c, vault_event *ev)
{
	return add_epochs(c, 1);
}

/* The attack's event: the case record changed by `fn`, then signed. */
static int attack_try(git_oid *id, vault *v, const char *action, attack_fn fn, int honest)
{
	MDB_txn *txn = NULL;
	vault_event ev;
	case_rec c;
	int got = 0, error;

	vault_event__init(&ev, action);
	snprintf(ev.case_code, sizeof ev.case_code, "%s", code);
	if ((error = vault_store__begin(&txn, v->st, 1)) < 0)
		goto done;
	vault_store__cur = txn;
	if ((error = vault_case__get(&c, txn, v, code)) < 0)
		goto done;
	got = 1;
	if ((error = fn(&c, &ev)) < 0 || (error = vault_case__put(txn, v, &c)) < 0 ||
	    (error = vault_event__touch_case(&ev, v, txn, code)) < 0)
		goto done;
	error = honest ? vault_event__commit(id, &ev, v, txn, vault_time__now()) :
		vault_event__append(id, &ev, v, txn, vault_time__now());
	if (error != 0)
		goto done;
	error = vault_store__commit(v->st, txn);
	txn = NULL;
done:
	if (got)
		vault_case__dispose(&c);
	vault_event__dispose(&ev);
	vault_store__abort(v->st, txn);
	vault_store__cur = NULL;
	return error;
}

static void attack(const char *name, int from, const char *user, const char *action,
	attack_fn fn, const char *want)
{
	const char *dir = copy_of(from == FROM_BASE ? base : from == FROM_REVOKED ? revoked : epoch2);
	vault *v = from == FROM_REVOKED ? unsettled_session(dir, user) : session(dir, user);
	vault_verify_result res;
	char bad[VAULT_OID_SIZE] = "";
	git_oid id;
	int rc;

	if (!v) {
		fprintf(stderr, "%s: no session of %s: %s\n", name, user, vault_error_last()->message);
		harness_failures++;
		return;
	}
	/* casevault's own writer refuses it, saying why. */
	rc = attack_try(&id, v, action, fn, 1);
	fprintf(stderr, "%s: the writer: %d %s\n", name, rc, rc ? vault_error_last()->message : "(recorded)");
	CHECK(rc < 0);
	CHECK(rc < 0 && strstr(vault_error_last()->message, want) != NULL);
	/* The attacker's client records it anyway (if the writer did not). */
	if (rc != 0)
		CHECK_RC(attack_try(&id, v, action, fn, 0), 0);
	git_oid_tostr(bad, sizeof bad, &id);
	vault_close(v);

	/* audit verify names that event. */
	memset(&res, 0, sizeof res);
	if ((v = session(dir, NULL)) == NULL || support_take_keys(v, base, "dpo") < 0) {
		vault_close(v);
		harness_failures++;
		return;
	}
	rc = support_verify(&res, v, NULL);
	fprintf(stderr, "%s: audit verify: %d %s\n", name, rc, rc ? vault_error_last()->message : "(passes)");
	CHECK(rc == VAULT_ECORRUPT);
	CHECK(!strcmp(res.bad_commit, bad));
	CHECK(rc < 0 && strstr(vault_error_last()->message, bad) != NULL);
	CHECK(rc < 0 && strstr(vault_error_last()->message, want) != NULL);
	vault_close(v);

	/* No member's session opens on it, so no one writes under it. */
	v = session(dir, "alice");
	CHECK(v == NULL);
	vault_close(v);
}

/* ---- the honest path ----------------------------------------------------- */

static void case_state(const char *dir, uint32_t *epoch, int *retired)
{
	vault *v = session(dir, NULL);
	MDB_txn *txn = NULL;
	case_rec c;

	*epoch = 0;
	*retired = -1;
	/* Case records are sealed: the history's keys open them. */
	if (v && vault_open_history(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))) < 0) {
		vault_close(v);
		v = NULL;
	}
	if (!v || vault_store__begin(&txn, v->st, 0) < 0 || vault_case__get(&c, txn, v, code) < 0) {
		harness_failures++;
	} else {
		*epoch = c.epoch;
		*retired = c.retired;
		vault_case__dispose(&c);
	}
	if (v)
		vault_store__abort(v->st, txn);
	vault_close(v);
}

static void verify_passes(const char *dir)
{
	vault_verify_result res;
	vault *v = session(dir, "dpo");

	CHECK(v != NULL);
	if (v)
		CHECK_RC(support_verify(&res, v, NULL), 0);
	vault_close(v);
}

static int setup(void)
{
	char doc[64];
	vault *v;
	uint32_t epoch;
	int retired;

	snprintf(base, sizeof base, "%s/base", work);
	snprintf(revoked, sizeof revoked, "%s/revoked", work);
	snprintf(epoch2, sizeof epoch2, "%s/epoch2", work);
	if ((v = support_vault_with_users(base)) == NULL)
		return -1;
	CHECK_RC(vault_unlock(v, "alice", support_pass("alice"), strlen(support_pass("alice"))), 0);
	CHECK_RC(vault_case_create(code, v, "case A"), 0);
	snprintf(doc, sizeof doc, "%s/intake.txt", code);
	CHECK_RC(support_put(v, doc, "intake of case A", 16, NULL), 0);
	CHECK_RC(vault_unlock(v, "dpo", support_pass("dpo"), strlen(support_pass("dpo"))), 0);
	CHECK_RC(vault_case_grant(v, code, "bob", 1), 0);       /* read-only */
	CHECK_RC(vault_case_grant(v, code, "carol", 0), 0);
	vault_close(v);
	/* alice's session seals epoch 1's key to bob and carol. */
	v = session(base, "alice");
	CHECK(v != NULL);
	vault_close(v);

	/* The honest revoke: the epoch retired, still 1. */
	CHECK(rawdb_copy_dir(base, revoked) == 0);
	v = session(revoked, "dpo");
	CHECK(v != NULL);
	if (v)
		CHECK_RC(vault_case_revoke(v, code, "carol"), 0);
	vault_close(v);
	case_state(revoked, &epoch, &retired);
	CHECK(epoch == 1 && retired == 1);
	verify_passes(revoked);

	/* The next member's session starts epoch 2; a write under it. */
	CHECK(rawdb_copy_dir(revoked, epoch2) == 0);
	v = session(epoch2, "alice");
	CHECK(v != NULL);
	if (v)
		CHECK_RC(support_put(v, doc, "written after carol's revoke", 28, NULL), 0);
	vault_close(v);
	case_state(epoch2, &epoch, &retired);
	CHECK(epoch == 2 && retired == 0);
	verify_passes(epoch2);
	return harness_failures ? -1 : 0;
}

int main(void)
{
	vault_global_init();
	work = harness_tmpdir();
	if (setup() < 0)
		return harness_done("test_retire");

	attack("a rekey that takes the revoke back", FROM_REVOKED, "bob", "rekey", unretire,
		"without starting the next epoch");
	attack("a rekey that starts the epoch after next", FROM_REVOKED, "bob", "rekey", jump_two,
		"past the next one");
	attack("a rekey that goes back an epoch", FROM_EPOCH2, "bob", "rekey", lower,
		"lowered the epoch");
	attack("a revoke that leaves the epoch unretired", FROM_BASE, "dpo", "revoke", revoke_unretired,
		"not retired");
	attack("a rekey that changes the label and starts no epoch", FROM_BASE, "bob", "rekey", relabel,
		"changed the field 'label'");
	attack("a rekey that replaces the key-check value of the epoch", FROM_BASE, "bob", "rekey",
		replace_kcv, "changed the field 'kcv 1'");
	attack("a rekey that starts an epoch no revoke retired", FROM_BASE, "bob", "rekey", unasked_epoch,
		"no revoke retired");
	return harness_done("test_retire");
}
