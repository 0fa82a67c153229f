/*
 * report — the auditor's and the DPO's views of the history: the log with
 * every filter, and the reports about a case, a user and a removed member
 * (one event in full is show.c; the anomaly rules are anomalies.c).
 *
 * Everything here only reads: no event is recorded. Notes of purpose are
 * opened with the audit key, which only admins and auditors hold; the
 * reports are about people, so they need such a user unlocked as well.
 * The rules of the reports are written down in docs/audit.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "action.h"
#include "history.h"
#include "report.h"

/* ---- who may look -------------------------------------------------------- */

static int require_reader(vault *v, const char *what)
{
	if (!v->unlocked)
		return vault_error_set(VAULT_EACCES, "%s are for admins and auditors: no user is unlocked", what);
	if (v->role != VAULT_ROLE_ADMIN && v->role != VAULT_ROLE_AUDITOR)
		return vault_error_set(VAULT_EACCES, "%s are for admins and auditors: user '%s' is a %s",
			what, v->user, vault_role_name(v->role));
	return 0;
}

/* ---- notes of purpose ----------------------------------------------------- */


int vault_report__key_open(audit_key *k, vault *v, MDB_txn *txn)
{
	MDB_val val;
	char key[VAULT_NAME_MAX + 16];
	int error;

	k->sk = NULL;
	if ((error = require_reader(v, "notes of purpose")) < 0)
		return error;
	if ((error = vault__meta_get(&val, txn, v, "audit-pk")) < 0 || val.mv_size != 32)
		return error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "audit key record is damaged");
	memcpy(k->pk, val.mv_data, 32);
	snprintf(key, sizeof key, "@audit/%s", v->user);
	if ((error = vault_store__get(txn, v->st->sealed, key, strlen(key), &val)) < 0) {
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

/*
 * A filter on a case or a user the history never names is a mistake of the
 * caller (a typo), not an empty answer: it is refused. A name the history
 * had at any time counts, whatever --since and --until say.
 */
typedef struct {
	const char *code, *user;
	int code_seen, user_seen;
} known_names;

/* The user an event is about: its Target, but a setting's names a key. */
static const char *target_user(const rep_event *e)
{
	return strcmp(e->t.action, "setting") ? e->t.target : "";
}

static void known_see(known_names *k, const rep_event *e)
{
	if (k->code && !strcmp(e->t.case_code, k->code))
		k->code_seen = 1;
	if (k->user && (!strcmp(e->t.actor, k->user) || !strcmp(target_user(e), k->user)))
		k->user_seen = 1;
}

static int known_check(const known_names *k)
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
	if (o && o->node && (error = check_node(o->node)) < 0)
		return error;
	for (const char *const *a = o ? o->actions : NULL; a && *a; a++)
		if (vault_action__find(*a) == NULL)
			return vault_error_set(VAULT_EUSAGE, "'%s' is not an action of the history", *a);
	if ((error = vault__begin_walk(&txn, v)) < 0)
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
		known_see(&known, &e);
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
	error = known_check(&known);
done:
	vault_report__key_close(&key);
	free(ids);
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- reports ------------------------------------------------------------- */


/* A document event: a change by a read-write member, or a read. */
static int doc_action(const char *name)
{
	const vault_action *a = vault_action__find(name);

	return a && (a->kind == VAULT_ACTION_CONTENT || !strcmp(name, "read"));
}

int vault_report__in_range(const report *r, const rep_event *e)
{
	return (!r->o->since || e->time >= r->o->since) && (!r->o->until || e->time <= r->o->until);
}

static int load_events(report *r)
{
	git_oid *ids = NULL;
	size_t n = 0;
	int error;

	if ((error = vault_history__chain(&ids, &n, NULL, r->v, r->txn)) < 0)
		return error;
	if ((r->ev = calloc(n ? n : 1, sizeof *r->ev)) == NULL) {
		free(ids);
		return vault_error_set_oom();
	}
	for (size_t i = 0; i < n && !error; i++)
		error = vault_report__event_read(&r->ev[i], NULL, r->v, &ids[i]);
	r->n = n;
	free(ids);
	return error;
}

/* Tell one event as a line, with its note when asked. */
static int emit_event(report *r, const rep_event *e, const char *relation)
{
	vault_report_line line;
	vault_event_info info;
	char *note = NULL;
	int error;

	if (r->key.sk && e->t.has_note) {
		git_commit *c = NULL;

		if (git_commit_lookup(&c, r->v->repo, &e->id) < 0)
			return vault_error_set(VAULT_ECORRUPT, "event %s cannot be read", e->hex);
		error = vault_report__note_open(&note, &r->key, git_commit_message(c), e->hex);
		git_commit_free(c);
		if (error < 0)
			return error;
	}
	vault_report__event_info(&info, e);
	memset(&line, 0, sizeof line);
	line.kind = VAULT_LINE_EVENT;
	line.event = &info;
	line.note = note;
	line.relation = relation;
	line.user = e->t.actor;
	line.case_code = e->t.case_code;
	error = r->cb(&line, r->payload);
	vault_report__note_free(note);
	return error;
}

static int tree_of(git_tree **out, vault *v, const rep_event *e)
{
	git_commit *c = NULL;
	int rc;

	*out = NULL;
	if (git_commit_lookup(&c, v->repo, &e->id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "event %s cannot be read", e->hex);
	rc = git_commit_tree(out, c);
	git_commit_free(c);
	return rc < 0 ? vault_error_set(VAULT_ECORRUPT, "the tree of event %s cannot be read", e->hex) : 0;
}

/* Does any event name the report's case and user? */
static int report_known(report *r)
{
	known_names known = { r->o->case_code, r->o->user, 0, 0 };

	for (size_t i = 0; i < r->n; i++)
		known_see(&known, &r->ev[i]);
	return known_check(&known);
}

static int report_case(report *r)
{
	int error = 0;

	for (size_t i = 0; i < r->n && !error; i++) {
		const rep_event *e = &r->ev[i];

		if (strcmp(e->t.case_code, r->o->case_code) || !e->t.node[0] ||
		    !doc_action(e->t.action) || !vault_report__in_range(r, e))
			continue;
		error = emit_event(r, e, strcmp(e->t.action, "read") ? "write" : "read");
	}
	return error;
}

static int report_user(report *r)
{
	const char *name = r->o->user;
	int error = 0;

	for (size_t i = 0; i < r->n && !error; i++) {
		const rep_event *e = &r->ev[i];

		if (!vault_report__in_range(r, e))
			continue;
		if (!strcmp(e->t.actor, name))
			error = emit_event(r, e, "by");
		else if (!strcmp(target_user(e), name))
			error = emit_event(r, e, "about");
	}
	return error;
}

/* What policy/cases/CODE of one tree says: the epoch, and `user`'s access. */
static int case_state(uint32_t *epoch, int *member, git_tree *tree, const char *code,
	const char *user, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	const char *s;
	size_t len;
	int error;

	*epoch = 0;
	*member = 0;
	snprintf(path, sizeof path, "policy/cases/%s", code);
	error = vault_history__blob(&b, tree, path, v);
	if (error == VAULT_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	if ((s = vault_history__field(b.ptr, "epoch", &len)) != NULL)
		*epoch = (uint32_t)strtoul(s, NULL, 10);
	vault_buf_dispose(&b);
	return vault_history__membership(member, tree, code, user, v);
}

#define MAX_SPANS 64

static int report_revoked(report *r)
{
	const char *code = r->o->case_code, *name = r->o->user;
	struct { int64_t from, to; int access; uint32_t epoch; } spans[MAX_SPANS];
	uint32_t *epochs = NULL, epoch = 0, held = 0;
	git_oid last = { { 0 } };
	size_t nspans = 0;
	int member = 0, error = 0;

	/* Replay the case's policy file event by event: who was a member, at which epoch. */
	if ((epochs = calloc(r->n ? r->n : 1, sizeof *epochs)) == NULL)
		return vault_error_set_oom();
	for (size_t i = 0; i < r->n; i++) {
		git_tree *tree = NULL;
		git_tree_entry *te = NULL;
		char path[64];
		int now = member;

		if ((error = tree_of(&tree, r->v, &r->ev[i])) < 0)
			goto done;
		snprintf(path, sizeof path, "policy/cases/%s", code);
		/* A folder that cannot be read is an error, not a case file
		 * that did not change. */
		error = vault_history__entry(&te, r->v, tree, path, NULL);
		if (error == VAULT_ENOTFOUND)
			error = 0;
		else if (error == 0 && !git_oid_equal(&last, git_tree_entry_id(te))) {
			last = *git_tree_entry_id(te);
			error = case_state(&epoch, &now, tree, code, name, r->v);
		}
		git_tree_entry_free(te);
		git_tree_free(tree);
		if (error < 0)
			goto done;
		if (now && !member) {
			if (nspans == MAX_SPANS) {
				error = vault_error_set(VAULT_ERROR, "user '%s' joined case '%s' more than %d times",
					name, code, MAX_SPANS);
				goto done;
			}
			spans[nspans].from = r->ev[i].time;
			spans[nspans].to = 0;
			spans[nspans].epoch = 0;
			nspans++;
		} else if (!now && member) {
			spans[nspans - 1].to = r->ev[i].time;
		}
		if (now) {
			spans[nspans - 1].access = now;
			if (epoch > spans[nspans - 1].epoch)
				spans[nspans - 1].epoch = epoch;
			if (epoch > held)
				held = epoch;
		}
		member = now;
		epochs[i] = epoch;
	}
	if (nspans == 0) {
		error = vault_error_set(VAULT_ENOTFOUND, "user '%s' was never a member of case '%s'", name, code);
		goto done;
	}

	for (size_t k = 0; k < nspans && !error; k++) {
		vault_report_line line;

		memset(&line, 0, sizeof line);
		line.kind = VAULT_LINE_MEMBERSHIP;
		line.user = name;
		line.case_code = code;
		line.access = spans[k].access == 2 ? "rw" : "ro";
		line.from = spans[k].from;
		line.to = spans[k].to;
		line.epoch = spans[k].epoch;
		error = r->cb(&line, r->payload);
	}
	for (size_t i = 0; i < r->n && !error; i++) {
		const rep_event *e = &r->ev[i];

		if (!strcmp(e->t.action, "read") && !strcmp(e->t.actor, name) &&
		    !strcmp(e->t.case_code, code) && vault_report__in_range(r, e))
			error = emit_event(r, e, "read");
	}
	/*
	 * A version is under the epoch its case had when it was written (a
	 * write settles a retired epoch first). Holding an epoch's key opens
	 * every earlier one through the key chain.
	 */
	for (size_t i = 0; i < r->n && !error; i++) {
		const rep_event *e = &r->ev[i];
		vault_report_line line;
		vault_event_info info;

		if (strcmp(e->t.case_code, code) || !e->t.node[0] || !e->t.version ||
		    (strcmp(e->t.action, "write") && strcmp(e->t.action, "restore")) ||
		    epochs[i] == 0 || epochs[i] > held || !vault_report__in_range(r, e))
			continue;
		vault_report__event_info(&info, e);
		memset(&line, 0, sizeof line);
		line.kind = VAULT_LINE_EXPOSED;
		line.event = &info;
		line.user = name;
		line.case_code = code;
		line.epoch = epochs[i];
		error = r->cb(&line, r->payload);
	}
done:
	free(epochs);
	return error;
}

int vault_audit_report(vault *v, const vault_report_options *o,
	int (*cb)(const vault_report_line *, void *), void *payload)
{
	report r;
	int error;

	memset(&r, 0, sizeof r);
	if (!o || o->version != VAULT_REPORT_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "report options of an unknown version");
	if ((error = require_reader(v, "reports")) < 0)
		return error;
	switch (o->report) {
	case VAULT_REPORT_CASE:
		if (!o->case_code)
			return vault_error_set(VAULT_EUSAGE, "the case report needs a case");
		break;
	case VAULT_REPORT_USER:
		if (!o->user)
			return vault_error_set(VAULT_EUSAGE, "the user report needs a user");
		break;
	case VAULT_REPORT_REVOKED:
		if (!o->user || !o->case_code)
			return vault_error_set(VAULT_EUSAGE, "the revoked-member report needs a user and a case");
		break;
	case VAULT_REPORT_ANOMALIES:
		break;
	default:
		return vault_error_set(VAULT_EUSAGE, "unknown report");
	}
	r.v = v;
	r.o = o;
	r.cb = cb;
	r.payload = payload;
	if ((error = vault__begin_walk(&r.txn, v)) < 0)
		return error;
	if (o->notes && (error = vault_report__key_open(&r.key, v, r.txn)) < 0)
		goto done;
	if ((error = load_events(&r)) < 0)
		goto done;
	if ((error = report_known(&r)) < 0)
		goto done;
	switch (o->report) {
	case VAULT_REPORT_CASE:
		error = report_case(&r);
		break;
	case VAULT_REPORT_USER:
		error = report_user(&r);
		break;
	case VAULT_REPORT_REVOKED:
		error = report_revoked(&r);
		break;
	default:
		error = vault_report__anomalies(&r);
		break;
	}
done:
	vault_report__key_close(&r.key);
	free(r.ev);
	vault_store__abort(v->st, r.txn);
	return error;
}
