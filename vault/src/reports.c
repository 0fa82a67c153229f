/*
 * reports — `audit report`: about a case, a user, a member removed from
 * a case, and the recoveries of cases; the anomalies are anomalies.c. What the reports share (the
 * events of the chain, notes of purpose, who may look) is report.c.
 * The rules of the reports are written down in docs/audit.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "event.h"
#include "history.h"
#include "report.h"

/* A look at a case's personal data: a read, or a listing of its label or
 * of a folder's names. */
static int look_action(const char *name)
{
	return !strcmp(name, "read") || !strcmp(name, "list");
}

/* A document event: a change by a read-write member, or a look. */
static int doc_action(const char *name)
{
	const vault_action *a = vault_action__find(name);

	return a && (a->kind == VAULT_ACTION_CONTENT || look_action(name));
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

/* A line of the report about event `e` (in `info`), of its case. */
static void line_init(vault_report_line *line, vault_event_info *info, const rep_event *e,
	vault_line_t kind)
{
	vault_report__event_info(info, e);
	memset(line, 0, sizeof *line);
	line->kind = kind;
	line->event = info;
	line->case_code = e->t.case_code;
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
	line_init(&line, &info, e, VAULT_LINE_EVENT);
	line.note = note;
	line.relation = relation;
	line.user = e->t.actor;
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
		vault_report__known_see(&known, &r->ev[i]);
	return vault_report__known_check(&known);
}

static int report_case(report *r)
{
	int error = 0;

	for (size_t i = 0; i < r->n && !error; i++) {
		const rep_event *e = &r->ev[i];

		/* A listing of the case's root or label names no node. */
		if (strcmp(e->t.case_code, r->o->case_code) ||
		    (!e->t.node[0] && strcmp(e->t.action, "list")) ||
		    !doc_action(e->t.action) || !vault_report__in_range(r, e))
			continue;
		error = emit_event(r, e, look_action(e->t.action) ? "read" : "write");
	}
	return error;
}

/* The organisation's recovery: who named the custodians, who asked to
 * recover which case for whom (the reason is the note), who approved,
 * who took the case up. The splits, many and routine, are left out. */
static int report_recoveries(report *r)
{
	int error = 0;

	for (size_t i = 0; i < r->n && !error; i++) {
		const rep_event *e = &r->ev[i];

		if (strncmp(e->t.action, "recovery-", 9) || !strcmp(e->t.action, "recovery-split") ||
		    !vault_report__in_range(r, e) ||
		    (r->o->case_code && e->t.case_code[0] && strcmp(e->t.case_code, r->o->case_code)))
			continue;
		error = emit_event(r, e, e->t.action + 9);
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
		else if (!strcmp(vault_report__target_user(e), name))
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
	vault_case__path(path, code);
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
		vault_case__path(path, code);
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

		if (look_action(e->t.action) && !strcmp(e->t.actor, name) &&
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
		line_init(&line, &info, e, VAULT_LINE_EXPOSED);
		line.user = name;
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
	if ((error = vault_report__require_reader(v, READ_REPORTS)) < 0)
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
	case VAULT_REPORT_RECOVERIES:
		break;
	default:
		return vault_error_set(VAULT_EUSAGE, "unknown report");
	}
	r.v = v;
	r.o = o;
	r.cb = cb;
	r.payload = payload;
	if ((error = vault_report__begin(&r.txn, v)) < 0)
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
	case VAULT_REPORT_RECOVERIES:
		error = report_recoveries(&r);
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
