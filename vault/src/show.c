/*
 * show — one event of the history in full: its fields, its signature, what
 * it changed (`audit show`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hkeys.h"
#include "event.h"
#include "history.h"
#include "report.h"
#include "sshsig.h"

/* ---- one event in full ---------------------------------------------------- */

typedef struct {
	vault_tree_change *items;
	size_t n, cap;
} change_list;

static int change_add(change_list *l, const char *path, char change)
{
	int error;

	if ((error = vault_array_grow(&l->items, &l->cap, l->n, sizeof *l->items, 16)) < 0)
		return error;
	if ((l->items[l->n].path = strdup(path)) == NULL)
		return vault_error_set_oom();
	l->items[l->n++].change = change;
	return 0;
}

static void change_list_dispose(change_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((char *)l->items[i].path);
	free(l->items);
}

static int change_cmp(const void *a, const void *b)
{
	return strcmp(((const vault_tree_change *)a)->path, ((const vault_tree_change *)b)->path);
}

static int change_seen(const char *path, const git_oid *before, const git_oid *after,
	void *payload)
{
	return change_add(payload, path, !before ? 'A' : !after ? 'D' : 'M');
}

/* Who signed `c`, checked against the actor's key in `policy`. */
static vault_sig_t signature_of(vault *v, git_commit *c, git_tree *policy, const char *actor)
{
	vault_buf sig = VAULT_BUF_INIT, data = VAULT_BUF_INIT;
	vault_policy_user pu;
	vault_sig_t st = VAULT_SIG_BAD;

	if (vault_history__signature(&sig, &data, v, c) < 0)
		goto done;
	if (!sig.size) {
		st = VAULT_SIG_UNSIGNED;
		goto done;
	}
	if (vault_history__user(&pu, policy, actor, v) < 0 || !pu.found)
		goto done;
	if (vault_sshsig__verify(sig.ptr, sig.size, (const unsigned char *)data.ptr, data.size, pu.pk) == 0)
		st = VAULT_SIG_GOOD;
done:
	vault_error_clear();
	vault_buf_dispose(&sig);
	vault_buf_dispose(&data);
	return st;
}

static int is_hex(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdefABCDEF") == n;
}

int vault_audit_show(vault *v, const char *id, int notes,
	int (*cb)(const vault_event_detail *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	git_oid *ids = NULL;
	git_commit *c = NULL, *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	audit_key key = { { 0 }, NULL };
	change_list changes = { NULL, 0, 0 };
	vault_event_detail d;
	vault_event_info info;
	rep_event e;
	char want[VAULT_OID_SIZE], parent_hex[VAULT_OID_SIZE] = "", tree_hex[VAULT_OID_SIZE];
	char *note = NULL;
	size_t n = 0, len = strlen(id), found = SIZE_MAX, matches = 0;
	uint64_t number = 0;
	int error;

	if ((error = vault_hkeys__require(v)) < 0)
		return error;

	/* "#N": the N-th event of the chain, as verify and show number them. */
	if (id[0] == '#') {
		if (len < 2 || len > 20 || strspn(id + 1, "0123456789") != len - 1 ||
		    (number = strtoull(id + 1, NULL, 10)) == 0)
			return vault_error_set(VAULT_EUSAGE, "'%s' is not an event number (#1, #2, ...)", id);
	} else if (len < 7 || len > 40 || !is_hex(id, len)) {
		return vault_error_set(VAULT_EUSAGE, "'%s' is not an event id (7 to 40 hex digits, or #N)", id);
	}
	for (size_t i = 0; i <= len; i++)
		want[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
	/* No gate here: showing one event, its signature checked and said,
	 * is how a forged one is looked into. */
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	if (notes && (error = vault_report__key_open(&key, v, txn)) < 0)
		goto done;
	if ((error = vault_history__chain(&ids, &n, NULL, v, txn)) < 0)
		goto done;
	for (size_t i = 0; i < n && !number; i++) {
		char hex[VAULT_OID_SIZE];

		git_oid_tostr(hex, sizeof hex, &ids[i]);
		if (!strncmp(hex, want, len)) {
			found = i;
			matches++;
		}
	}
	if (number && number <= n) {
		found = (size_t)number - 1;
		matches = 1;
	}
	if (matches == 0) {
		error = number ?
			vault_error_set(VAULT_ENOTFOUND, "no event %s in the history: it has %zu", id, n) :
			vault_error_set(VAULT_ENOTFOUND, "no event '%s' in the history", id);
		goto done;
	}
	if (matches > 1) {
		error = vault_error_set(VAULT_ENOTFOUND, "event id '%s' is ambiguous: %zu events start with it",
			id, matches);
		goto done;
	}
	if ((error = vault_report__event_read(&e, &c, v, &ids[found])) < 0)
		goto done;
	if (git_commit_tree(&tree, c) < 0 ||
	    (found > 0 && (git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&ptree, parent) < 0))) {
		error = vault_error_set(VAULT_ECORRUPT, "event %s or its parent cannot be read", e.hex);
		goto done;
	}
	if (parent)
		git_oid_tostr(parent_hex, sizeof parent_hex, git_commit_id(parent));
	git_oid_tostr(tree_hex, sizeof tree_hex, git_tree_id(tree));
	if ((error = vault_history__diff(v, ptree, tree, NULL, change_seen, &changes)) < 0)
		goto done;
	if (changes.n)          /* an event that changed nothing has no list */
		qsort(changes.items, changes.n, sizeof *changes.items, change_cmp);
	if (key.sk && e.t.has_note && (error = vault_report__note_open(&note, &key, git_commit_message(c), e.hex)) < 0)
		goto done;

	vault_report__event_info(&info, &e);
	memset(&d, 0, sizeof d);
	d.info = &info;
	d.index = found + 1;
	d.parent = parent_hex;
	d.tree = tree_hex;
	/* The genesis is checked against its own policy, as verify does. */
	d.signature = signature_of(v, c, ptree ? ptree : tree, e.t.actor);
	d.signer = d.signature == VAULT_SIG_UNSIGNED ? "" : e.t.actor;
	d.has_note = e.t.has_note;
	d.note = note;
	d.nchanges = changes.n;
	d.changes = changes.items;
	error = cb(&d, payload);
done:
	vault_report__note_free(note);
	change_list_dispose(&changes);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	git_commit_free(c);
	vault_report__key_close(&key);
	free(ids);
	vault_store__abort(v->st, txn);
	return error;
}

