/*
 * hevents — the events of the history's keys: a rotation (`history-rekey`,
 * an admin's), and the failed unlocks noted by processes that held no key,
 * recorded by the next session as unsigned `unlock-failed` events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "hkeys.h"

typedef struct {
	vault *v;
	MDB_txn *txn;
	uint32_t gen;
} rotate_args;

/*
 * To every active user's key, and to every pending user's enrolment key
 * pair (the record's `enrol`: the code opens it at enrol). Only to records
 * that are the head's: a key planted in a record gets nothing.
 */
static int seal_new_gen(const char *name, const user_rec *u, void *payload)
{
	rotate_args *a = payload;
	int error;

	if (u->status != USER_ACTIVE && u->status != USER_PENDING)
		return 0;
	if ((error = vault_keys__user_trusted(a->txn, a->v, name)) < 0)
		return error;
	return vault_hkeys__seal_one(a->txn, a->v, name, u->status == USER_PENDING ? u->enrol : u->pk,
		a->gen, vault_hkeys__gen(&a->v->hk, a->gen));
}

/* A new generation, sealed to every active user, chained over the last. */
static int rotate(vault_event *ev, vault *v, MDB_txn *txn)
{
	vault_hkeys *hk = &v->hk;
	rotate_args a = { v, txn, hk->checked + 1 };
	unsigned char out[1 + VCRYPTO_KEYBYTES + VCRYPTO_OVERHEAD];
	char skey[32], ad[64];
	int error;

	if (hk->checked == 0 || hk->checked != hk->held)
		return vault_error_set(VAULT_ECORRUPT, "the history keys held are not the signed history's");
	if (a.gen > VAULT_HGEN_MAX)
		return vault_error_set(VAULT_EREFUSED, "the history key has had %u generations, the most a vault holds",
			VAULT_HGEN_MAX);
	randombytes_buf(vault_hkeys__gen(hk, a.gen), VCRYPTO_KEYBYTES);
	out[0] = REC_FORMAT;
	vault_hkeys__chain_ad(ad, v, a.gen);
	vault_vcrypto__seal(out + 1, vault_hkeys__gen(hk, a.gen - 1), VCRYPTO_KEYBYTES, (unsigned char *)ad, strlen(ad),
		vault_hkeys__gen(hk, a.gen));
	vault_hkeys__chain_name(skey, a.gen);
	if ((error = vault_rec__put(txn, v, v->st->sealed, skey, out, sizeof out)) < 0 ||
	    (error = vault_user__each(txn, v, seal_new_gen, &a)) < 0 ||
	    (error = vault_hkeys__record_gen(txn, v, a.gen)) < 0)
		return error;
	/* Objects of this event are written under the new generation; an
	 * event undone leaves `held` one ahead of the record, which the next
	 * event's check puts right (the key is then overwritten). */
	__atomic_store_n(&hk->held, a.gen, __ATOMIC_RELEASE);
	hk->checked = a.gen;
	memset(&hk->checked_file, 0, sizeof hk->checked_file);   /* the next event checks again */
	return vault_event__touch_settings(ev, v, txn);
}

static int rotate_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	(void)payload;
	return rotate(ev, v, txn);
}

int vault_history_rotate_key(vault *v, uint32_t *generation)
{
	int error;

	*generation = 0;
	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0 ||
	    (error = vault_policy__run(v, "history-rekey", rotate_fn, NULL)) < 0)
		return error;
	*generation = v->hk.checked;
	return 0;
}

/* ---- failed unlocks ------------------------------------------------------ */

typedef struct {
	char key[64];
	char name[VAULT_NAME_MAX + 1];
	int64_t when;
} failed_note;

static int failed_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	failed_note *n = payload;
	int error = vault_rec__del(txn, v, v->st->sealed, n->key);

	if (error < 0)
		return error == VAULT_ENOTFOUND ? 1 : error;    /* another session recorded it */
	snprintf(ev->target, sizeof ev->target, "%s", n->name);
	ev->when = n->when;
	return 0;
}

/* The next note in the table after `after` that opens, into `n`; 1 if none. */
static int next_note(failed_note *n, vault *v, const char *after)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k = { strlen(after), (void *)after }, val;
	unsigned char plain[8 + VAULT_NAME_MAX], pk[32], *sk;
	int rc, error, found = 0;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	if ((rc = mdb_cursor_open(txn, v->st->sealed, &cur)) != 0) {
		vault_store__abort(v->st, txn);
		return vault_store__error(rc, "failed unlocks");
	}
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); rc == 0 && !found;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		size_t plen;

		if (k.mv_size < sizeof VAULT_HKEYS_FAILED - 1 || k.mv_size >= sizeof n->key ||
		    memcmp(k.mv_data, VAULT_HKEYS_FAILED, sizeof VAULT_HKEYS_FAILED - 1))
			break;
		if (k.mv_size == strlen(after) && !memcmp(k.mv_data, after, k.mv_size))
			continue;
		memcpy(n->key, k.mv_data, k.mv_size);
		n->key[k.mv_size] = '\0';
		after = n->key;
		if (val.mv_size < 1 + 8 + 1 + VCRYPTO_SEALBYTES || val.mv_size > 1 + sizeof plain + VCRYPTO_SEALBYTES)
			continue;
		plen = val.mv_size - 1 - VCRYPTO_SEALBYTES;
		for (uint32_t g = v->hk.held; g >= 1 && !found; g--) {
			if (vault_hkeys__drop_keypair(pk, &sk, vault_hkeys__gen(&v->hk, g)) < 0)
				break;
			found = crypto_box_seal_open(plain, (unsigned char *)val.mv_data + 1, val.mv_size - 1,
				pk, sk) == 0;
			vault_vcrypto__key_free(sk);
		}
		if (found) {
			n->when = (int64_t)be64_get(plain);
			memcpy(n->name, plain + 8, plen - 8);
			n->name[plen - 8] = '\0';
			found = vault_user__check_name(n->name, NAME_USER) == 0;
		}
	}
	mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	return found ? 0 : 1;
}

int vault_hkeys__drain(vault *v)
{
	failed_note n;
	char after[64] = VAULT_HKEYS_FAILED;
	int error;

	while ((error = next_note(&n, v, after)) == 0) {
		if ((error = vault_event__run(v, "unlock-failed", failed_fn, NULL, &n, 0)) < 0)
			return error;
		snprintf(after, sizeof after, "%s", n.key);
	}
	return error < 0 ? error : 0;
}
