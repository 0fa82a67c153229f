/*
 * report — what the auditor's and the DPO's views of the history share
 * (who may look, notes of purpose, the events of the chain), and the log
 * with every filter. The views: one event in full is show.c, the reports
 * reports.c, the anomaly rules anomalies.c.
 *
 * Everything here only reads: no event is recorded. Notes of purpose are
 * opened with the audit key, which only admins and auditors hold; the
 * reports are about people, so they need such a user unlocked as well.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hkeys.h"
#include "action.h"
#include "event.h"
#include "history.h"
#include "report.h"
#include "trust.h"

/* ---- who may look -------------------------------------------------------- */

/* No user is unlocked: a sentence for each `what`. */
static int no_reader(int what)
{
	switch (what) {
	case READ_NOTES:
		return vault_error_set(VAULT_EACCES, "notes of purpose are for admins and auditors: no user is unlocked");
	case READ_RECOVERY:
		return vault_error_set(VAULT_EACCES,
			"the recovery's status are for admins and auditors: no user is unlocked");
	default:
		return vault_error_set(VAULT_EACCES, "reports are for admins and auditors: no user is unlocked");
	}
}

/* A caseworker (the one role that may not) asked. */
static int caseworker_reader(const char *user, int what)
{
	switch (what) {
	case READ_NOTES:
		return vault_error_set(VAULT_EACCES,
			"notes of purpose are for admins and auditors: user '%s' is a caseworker", user);
	case READ_RECOVERY:
		return vault_error_set(VAULT_EACCES,
			"the recovery's status are for admins and auditors: user '%s' is a caseworker", user);
	default:
		return vault_error_set(VAULT_EACCES, "reports are for admins and auditors: user '%s' is a caseworker",
			user);
	}
}

int vault_report__require_reader(vault *v, int what)
{
	if (!v->unlocked)
		return no_reader(what);
	if (v->role != VAULT_ROLE_ADMIN && v->role != VAULT_ROLE_AUDITOR)
		return caseworker_reader(v->user, what);
	return 0;
}

/* ---- notes of purpose ----------------------------------------------------- */


int vault_report__begin(MDB_txn **out, vault *v)
{
	int error;

	if ((error = vault_store__begin_walk(out, v->st)) < 0)
		return error;
	if ((error = vault_trust__gate(v, *out)) < 0) {
		vault_store__abort(v->st, *out);
		*out = NULL;
	}
	return error;
}

int vault_report__key_open(audit_key *k, vault *v, MDB_txn *txn)
{
	MDB_val val;
	char key[VAULT_NAME_MAX + 16];
	unsigned char pub[32];
	int error;

	k->sk = NULL;
	if ((error = vault_report__require_reader(v, READ_NOTES)) < 0)
		return error;
	if ((error = vault_meta__get(&val, txn, v, "audit-pk")) < 0 || val.mv_size != 32)
		return error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "audit key record is damaged");
	memcpy(k->pk, val.mv_data, 32);
	snprintf(key, sizeof key, "@audit/%s", v->user);
	if ((error = vault_rec__get(txn, v, v->st->sealed, key, &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_EACCES, "user '%s' holds no audit key", v->user);
		return error;
	}
	if ((error = vault_vcrypto__secret_alloc(&k->sk, 32)) < 0)
		return error;
	if (val.mv_size != 1 + 32 + VCRYPTO_SEALBYTES || ((unsigned char *)val.mv_data)[0] != REC_FORMAT ||
	    vault_vcrypto__unseal(k->sk, (unsigned char *)val.mv_data + 1, val.mv_size - 1, v->pk, v->sk) < 0) {
		vault_vcrypto__key_free(k->sk);
		k->sk = NULL;
		return vault_error_set(VAULT_ECORRUPT, "sealed audit key of user '%s' is damaged", v->user);
	}
	/* Anyone can seal a key of their own to an admin: only the secret
	 * half of the vault's audit key is used, or passed on. */
	if (crypto_scalarmult_base(pub, k->sk) != 0 || sodium_memcmp(pub, k->pk, 32) != 0) {
		vault_vcrypto__key_free(k->sk);
		k->sk = NULL;
		return vault_error_set(VAULT_ECORRUPT,
			"sealed audit key of user '%s' is not the vault's audit key", v->user);
	}
	return 0;
}

void vault_report__key_close(audit_key *k)
{
	vault_vcrypto__key_free(k->sk);     /* NULL-safe; wipes */
	k->sk = NULL;
}

/* The base64 value of the message's Purpose-Note trailer, or NULL. */
static const char *note_value(const char *msg, size_t *len)
{
	const char *body = strstr(msg, "\n\n"), *s;

	for (s = body ? body + 2 : msg; s && *s; ) {
		const char *e = strchr(s, '\n');

		if (!strncmp(s, "Purpose-Note: ", 14)) {
			*len = e ? (size_t)(e - s - 14) : strlen(s + 14);
			return s + 14;
		}
		s = e ? e + 1 : NULL;
	}
	return NULL;
}

void vault_report__note_free(char *note)
{
	if (note) {
		sodium_memzero(note, strlen(note));
		free(note);
	}
}

/* The note of an event, opened; *out NULL when it has none. */
int vault_report__note_open(char **out, const audit_key *k, const char *msg, const char *commit)
{
	const char *b64;
	unsigned char *sealed = NULL;
	char *m = NULL;
	size_t b64len, sealed_len, mlen;
	int error = 0;

	*out = NULL;
	if ((b64 = note_value(msg, &b64len)) == NULL)
		return 0;
	if ((sealed = malloc(b64len + 1)) == NULL)
		return vault_error_set_oom();
	if (sodium_base642bin(sealed, b64len + 1, b64, b64len, NULL, &sealed_len, NULL,
			sodium_base64_VARIANT_ORIGINAL) != 0 || sealed_len < VCRYPTO_SEALBYTES) {
		error = vault_error_set(VAULT_ECORRUPT, "the note of event %s is damaged", commit);
		goto done;
	}
	mlen = sealed_len - VCRYPTO_SEALBYTES;
	if ((m = malloc(mlen + 1)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	if (crypto_box_seal_open((unsigned char *)m, sealed, sealed_len, k->pk, k->sk) != 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the note of event %s does not open with the audit key",
			commit);
		goto done;
	}
	if (memchr(m, '\0', mlen) != NULL) {    /* vault_report__note_free() wipes up to the first NUL */
		error = vault_error_set(VAULT_ECORRUPT, "the note of event %s is damaged", commit);
		goto done;
	}
	m[mlen] = '\0';
	*out = m;
	m = NULL;
done:
	if (m) {
		sodium_memzero(m, mlen + 1);
		free(m);
	}
	free(sealed);
	return error;
}

/* ---- events --------------------------------------------------------------- */


/*
 * The access a grant gave its target (in the event's tree), or a revoke
 * took away (in its parent's): the event itself names only the user.
 */
static int event_access(rep_event *e, vault *v, git_commit *c)
{
	int revoke = !strcmp(e->t.action, "revoke"), member = 0, error;
	git_commit *parent = NULL;
	git_tree *tree = NULL;

	e->access[0] = '\0';
	if ((!revoke && strcmp(e->t.action, "grant")) || !e->t.case_code[0] || !e->t.target[0])
		return 0;
	if ((revoke ? git_commit_parent(&parent, c, 0) : 0) < 0 ||
	    git_commit_tree(&tree, revoke ? parent : c) < 0) {
		git_commit_free(parent);
		return vault_error_set(VAULT_ECORRUPT, "the tree of event %s cannot be read", e->hex);
	}
	error = vault_history__membership(&member, tree, e->t.case_code, e->t.target, v);
	if (error == 0 && member)
		memcpy(e->access, member == 2 ? "rw" : "ro", 3);
	git_tree_free(tree);
	git_commit_free(parent);
	return error;
}

int vault_report__event_read(rep_event *e, git_commit **keep, vault *v, const git_oid *id)
{
	git_commit *c = NULL;
	const char *summary;

	if (keep)
		*keep = NULL;
	e->id = *id;
	git_oid_tostr(e->hex, sizeof e->hex, id);
	if (git_commit_lookup(&c, v->repo, id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "event %s is missing or damaged in the history", e->hex);
	vault_history__trailers(&e->t, git_commit_message(c));
	e->time = git_commit_time(c);
	summary = git_commit_summary(c);
	snprintf(e->subject, sizeof e->subject, "%s", summary ? summary : "");
	if (event_access(e, v, c) < 0) {
		git_commit_free(c);
		return vault_error_last()->code;
	}
	if (keep)
		*keep = c;
	else
		git_commit_free(c);
	return 0;
}

void vault_report__event_info(vault_event_info *info, const rep_event *e)
{
	memset(info, 0, sizeof *info);
	info->commit = e->hex;
	info->time = e->time;
	info->actor = e->t.actor;
	info->action = e->t.action;
	info->case_code = e->t.case_code;
	info->node = e->t.node;
	info->version = e->t.version;
	info->purpose = e->t.purpose;
	info->via = e->t.via;
	info->subject = e->subject;
	info->target = e->t.target;
	info->access = e->access;
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static int check_node(const char *node)
{
	size_t n = strlen(node);

	if (n == 0 || n > 16 || strspn(node, "0123456789abcdef") != n)
		return vault_error_set(VAULT_EUSAGE, "node '%s' is not a node id (up to 16 hex digits)", node);
	return 0;
}

static int node_matches(const char *want, const char *have)
{
	/* Ids are written with 16 digits; accept them without leading zeros too. */
	size_t wl = strlen(want), hl = strlen(have);

	if (wl > hl)
		return 0;
	for (size_t i = 0; i < hl - wl; i++)
		if (have[i] != '0')
			return 0;
	return !strcmp(have + hl - wl, want);
}

/* The user an event is about: its Target, but a setting's names a key. */
const char *vault_report__target_user(const rep_event *e)
{
	return strcmp(e->t.action, "setting") ? e->t.target : "";
}

/* A filter on a name the history never had is refused (see report.h). */
void vault_report__known_see(known_names *k, const rep_event *e)
{
	if (k->code && !strcmp(e->t.case_code, k->code))
		k->code_seen = 1;
	if (k->user && (!strcmp(e->t.actor, k->user) || !strcmp(vault_report__target_user(e), k->user)))
		k->user_seen = 1;
}

int vault_report__known_check(const known_names *k)
{
	if (k->code && !k->code_seen)
		return vault_error_set(VAULT_EUSAGE, "case '%s' is not in the history", k->code);
	if (k->user && !k->user_seen)
		return vault_error_set(VAULT_EUSAGE, "user '%s' is not in the history", k->user);
	return 0;
}

static int query_matches(const vault_log_options *o, const rep_event *e)
{
	if (!o)
		return 1;
	if (o->case_code && strcmp(o->case_code, e->t.case_code))
		return 0;
	if (o->user && strcmp(o->user, e->t.actor))
		return 0;
	if (o->since && e->time < o->since)
		return 0;
	if (o->until && e->time > o->until)
		return 0;
	if (o->actions && !in_list(e->t.action, o->actions))
		return 0;
	if (o->node && !node_matches(o->node, e->t.node))
		return 0;
	return 1;
}

int vault_audit_query(vault *v, const vault_log_options *o, vault_event_cb cb, void *payload)
{
	MDB_txn *txn = NULL;
	git_oid *ids = NULL;
	audit_key key = { { 0 }, NULL };
	known_names known = { o ? o->case_code : NULL, o ? o->user : NULL, 0, 0 };
	size_t n = 0;
	int error;

	if (o && o->version != VAULT_LOG_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "log options of an unknown version");

	if ((error = vault_hkeys__require(v)) < 0)
		return error;
	if (o && o->node && (error = check_node(o->node)) < 0)
		return error;
	for (const char *const *a = o ? o->actions : NULL; a && *a; a++)
		if (vault_action__find(*a) == NULL)
			return vault_error_set(VAULT_EUSAGE, "'%s' is not an action of the history", *a);
	if ((error = vault_report__begin(&txn, v)) < 0)
		return error;
	if (o && o->notes && (error = vault_report__key_open(&key, v, txn)) < 0)
		goto done;
	if ((error = vault_history__chain(&ids, &n, NULL, v, txn)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		git_commit *c = NULL;
		vault_event_info info;
		rep_event e;
		char *note = NULL;

		if ((error = vault_report__event_read(&e, &c, v, &ids[i])) < 0)
			goto done;
		vault_report__known_see(&known, &e);
		if (!query_matches(o, &e)) {
			git_commit_free(c);
			continue;
		}
		if (key.sk && e.t.has_note)
			error = vault_report__note_open(&note, &key, git_commit_message(c), e.hex);
		git_commit_free(c);
		if (error < 0)
			goto done;
		vault_report__event_info(&info, &e);
		error = cb(&info, note, payload);
		vault_report__note_free(note);
		if (error != 0)
			goto done;
	}
	/* An unknown name matched no event: nothing was shown before this. */
	error = vault_report__known_check(&known);
done:
	vault_report__key_close(&key);
	free(ids);
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- what the reports share ------------------------------------------------ */

int vault_report__in_range(const report *r, const rep_event *e)
{
	return (!r->o->since || e->time >= r->o->since) && (!r->o->until || e->time <= r->o->until);
}
