/*
 * verify_recovery — what verify checks of the organisation's recovery
 * events, beyond the fields the action table lets them change: a
 * `recovery-setup` names active users and a threshold from 2 to their
 * number; a `recovery-split` records shares of the case's current epoch
 * for exactly the custodians of the policy in force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "verify.h"

#define FAIL(...) do { error = vault_error_set(VAULT_ECORRUPT, __VA_ARGS__); goto done; } while (0)

/* The next line of `*p` that starts with `prefix`: its rest, in `out`. */
static int next_line(char *out, size_t n, const char **p, const char *prefix)
{
	size_t plen = strlen(prefix);

	while (**p) {
		const char *s = *p, *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);

		*p = eol ? eol + 1 : s + len;
		if (len > plen && !strncmp(s, prefix, plen)) {
			vault_history__copy(out, n, s + plen, len - plen);
			return 1;
		}
	}
	return 0;
}

/* Does `text` hold the line `prefix` + `value`? */
static int has_line(const char *text, const char *prefix, const char *value)
{
	char got[VAULT_NAME_MAX + 64];

	while (next_line(got, sizeof got, &text, prefix))
		if (!strcmp(got, value))
			return 1;
	return 0;
}

/* Does `text` hold a line `prefix` + `word` + " ..."? Its rest in `rest`. */
static int has_word(char *rest, size_t n, const char *text, const char *prefix, const char *word)
{
	char got[VAULT_NAME_MAX + 64];
	size_t len = strlen(word);

	while (next_line(got, sizeof got, &text, prefix))
		if (!strncmp(got, word, len) && got[len] == ' ') {
			snprintf(rest, n, "%s", got + len + 1);
			return 1;
		}
	return 0;
}

static int count_lines(const char *text, const char *prefix)
{
	char got[VAULT_NAME_MAX + 64];
	int n = 0;

	while (next_line(got, sizeof got, &text, prefix))
		n++;
	return n;
}

/* The custodians of a recovery-setup: sorted, each once, active users of
 * the policy before; a threshold from 2 to their number. */
static int check_setup(vault *v, git_tree *parent, const char *after)
{
	char name[VAULT_NAME_MAX + 64], prev[VAULT_NAME_MAX + 64] = "", value[16] = "";
	const char *p = after;
	vault_policy_user pu;
	unsigned long m;
	int n = 0, error = 0;

	while (next_line(name, sizeof name, &p, "recovery-custodian ")) {
		if (prev[0] && strcmp(prev, name) >= 0)
			FAIL("'recovery-setup' names custodian '%s' out of order or twice", name);
		if ((error = vault_history__user(&pu, parent, name, v)) < 0)
			goto done;
		if (!pu.found || !pu.active)
			FAIL("'recovery-setup' made '%s' a custodian, who is no active user", name);
		snprintf(prev, sizeof prev, "%s", name);
		n++;
	}
	p = after;
	if (count_lines(after, "recovery-threshold ") != 1 || !next_line(value, sizeof value, &p, "recovery-threshold "))
		FAIL("'recovery-setup' left no threshold, or several");
	m = strtoul(value, NULL, 10);
	if (m < 2 || m > (unsigned long)n || n > VAULT_RECOVERY_MAX)
		FAIL("'recovery-setup' set a threshold of %s for %d custodians", value, n);
done:
	return error;
}

/* A recovery-split: of the case's epoch, for the set of the policy in
 * force, one share for each of its custodians and no one else. */
static int check_split(const char *settings, const char *after, const char *code)
{
	unsigned char set[RECOVERY_SET_SIZE], zero[RECOVERY_SET_SIZE] = { 0 };
	char hex[2 * RECOVERY_SET_SIZE + 1], want[80], got[80], epoch[16] = "", m[16] = "";
	char name[VAULT_NAME_MAX + 64];
	const char *p = after;
	int error = 0;

	vault_rec__recovery_set(set, settings);
	if (!memcmp(set, zero, sizeof set))
		FAIL("'recovery-split' of case %s, and the vault names no custodians", code);
	next_line(epoch, sizeof epoch, &p, "epoch ");
	p = settings;
	next_line(m, sizeof m, &p, "recovery-threshold ");
	sodium_bin2hex(hex, sizeof hex, set, RECOVERY_SET_SIZE);
	snprintf(want, sizeof want, "%s %s %s", epoch, hex, m);
	p = after;
	if (!next_line(got, sizeof got, &p, "recovery ") || strcmp(got, want))
		FAIL("'recovery-split' of case %s is not of its epoch %s for the custodians in force", code, epoch);
	p = settings;
	while (next_line(name, sizeof name, &p, "recovery-custodian "))
		if (!has_line(after, "share ", name))
			FAIL("'recovery-split' of case %s left custodian '%s' without a share", code, name);
	if (count_lines(after, "share ") != count_lines(settings, "recovery-custodian "))
		FAIL("'recovery-split' of case %s sealed a share to someone who is no custodian", code);
done:
	return error;
}

/* The words of a line: up to `max` of `line`, split at spaces (changed). */
static size_t words(char **w, size_t max, char *line)
{
	size_t n = 0;

	for (char *s = strtok(line, " "); s && n < max; s = strtok(NULL, " "))
		w[n++] = s;
	return n;
}

/* The one "request" line of `after` that `before` lacks (new), or whose
 * state changed (`before` holds it with another state); 0 if none. */
static int changed_request(char *out, size_t n, const char *before, const char *after)
{
	char line[VAULT_NAME_MAX + 64];
	const char *p = after;
	int found = 0;

	while (next_line(line, sizeof line, &p, "request "))
		if (!has_line(before, "request ", line)) {
			if (found++)
				return 0;
			snprintf(out, n, "%s", line);
		}
	return found == 1;
}

/* Is the "handed ID" line of `text` the hash of no share (want 1), or
 * there and not that (want 0)? */
static int handed_is_none(const char *text, const char *id, int want)
{
	char rest[VAULT_NAME_MAX + 64], none[65];

	if (!has_word(rest, sizeof rest, text, "handed ", id))
		return 0;
	vault_blob__handed_none(none);
	return (strcmp(rest, none) == 0) == want;
}

/* A request by an admin: one new "request ID USER EPOCH open" line, for an
 * active caseworker who is no member, of the case's current, split epoch. */
static int check_request(vault *v, git_tree *parent, const char *before, const char *after,
	const char *code)
{
	char line[VAULT_NAME_MAX + 64], *w[5], epoch[16] = "", rec[80] = "", rest[VAULT_NAME_MAX + 64];
	const char *p;
	vault_policy_user pu;
	int error = 0;

	if (!changed_request(line, sizeof line, before, after) || words(w, 5, line) != 4 ||
	    strcmp(w[3], "open") || strncmp(w[0], "R-", 2) || has_word(rest, sizeof rest, before, "request ", w[0]))
		FAIL("'recovery-request' of case %s does not add one new open request", code);
	p = after;
	next_line(epoch, sizeof epoch, &p, "epoch ");
	p = after;
	next_line(rec, sizeof rec, &p, "recovery ");
	if (strcmp(w[2], epoch) || strncmp(rec, epoch, strlen(epoch)) || rec[strlen(epoch)] != ' ')
		FAIL("'recovery-request' %s of case %s is not for its current key, split", w[0], code);
	if ((error = vault_history__user(&pu, parent, w[1], v)) < 0)
		goto done;
	if (!pu.found || !pu.active || pu.role != VAULT_ROLE_CASEWORKER)
		FAIL("'recovery-request' %s of case %s is for '%s', who is no active caseworker", w[0], code, w[1]);
	if (has_word(rest, sizeof rest, before, "member ", w[1]))
		FAIL("'recovery-request' %s of case %s is for '%s', a member already", w[0], code, w[1]);
	if (!handed_is_none(after, w[0], 1))
		FAIL("'recovery-request' %s of case %s holds shares handed over already", w[0], code);
done:
	return error;
}

/* The custodians who approved request `id` in `text` and hold a share of
 * the split: how many (each line names one, once). */
static int approvals(const char *text, const char *id)
{
	char line[VAULT_NAME_MAX + 64], *w[3], seen[RECOVERY_MAX][VAULT_NAME_MAX + 1];
	const char *p = text;
	int n = 0, dup;

	while (next_line(line, sizeof line, &p, "approved ")) {
		if (words(w, 3, line) != 2 || strcmp(w[0], id) || !has_line(text, "share ", w[1]))
			continue;
		dup = 0;
		for (int i = 0; i < n; i++)
			dup |= !strcmp(seen[i], w[1]);
		if (!dup && n < RECOVERY_MAX)
			snprintf(seen[n++], sizeof seen[0], "%s", w[1]);
	}
	return n;
}

/* An approval by a custodian: one new "approved ID ACTOR" line, of an open
 * request, by someone who holds a share of the case's split. */
static int check_approve(const vault_trailers *t, const char *before, const char *after)
{
	char line[VAULT_NAME_MAX + 64], want[VAULT_NAME_MAX + 64], *w[3], req[VAULT_NAME_MAX + 64];
	char had[VAULT_NAME_MAX + 64], has[VAULT_NAME_MAX + 64];
	const char *p = after;
	int n = 0, error = 0;

	/* One new line: a custodian approves once (the line was not there). */
	while (next_line(line, sizeof line, &p, "approved "))
		if (!has_line(before, "approved ", line)) {
			snprintf(want, sizeof want, "%s", line);
			n++;
		}
	if (n != 1 || words(w, 3, want) != 2 || strcmp(w[1], t->actor))
		FAIL("'recovery-approve' by '%s' of case %s does not add one approval of theirs", t->actor,
			t->case_code);
	if (!has_line(before, "share ", t->actor))
		FAIL("'recovery-approve' of %s by '%s', who holds no share of case %s", w[0], t->actor, t->case_code);
	if (!has_word(req, sizeof req, before, "request ", w[0]) || strlen(req) < 5 ||
	    strcmp(req + strlen(req) - 5, " open"))
		FAIL("'recovery-approve' by '%s' of %s, no open request of case %s", t->actor, w[0], t->case_code);
	/* The share it sealed to the caseworker, as stored: what the grant
	 * will combine is what the approvals signed. */
	if (!has_word(had, sizeof had, before, "handed ", w[0]) || !has_word(has, sizeof has, after, "handed ", w[0]) ||
	    !strcmp(had, has))
		FAIL("'recovery-approve' by '%s' of %s of case %s commits to no share handed over", t->actor, w[0],
			t->case_code);
done:
	return error;
}

/* The grant: the actor's open request turned granted, with at least the
 * split's threshold of approvals by custodians holding a share; the actor
 * made a member. */
static int check_grant(const vault_trailers *t, const char *before, const char *after)
{
	char line[VAULT_NAME_MAX + 64], rec[80] = "", *w[5], *r[4], id[RECOVERY_ID_SIZE], member[VAULT_NAME_MAX + 16];
	const char *p = before;
	unsigned long m;
	int error = 0;

	if (strcmp(t->target, t->actor))
		FAIL("'recovery-grant' by '%s' made '%s' a member of case %s", t->actor, t->target, t->case_code);
	if (!changed_request(line, sizeof line, before, after) || words(w, 5, line) != 4 ||
	    strcmp(w[1], t->actor) || strcmp(w[3], "granted"))
		FAIL("'recovery-grant' by '%s' of case %s grants no request of theirs", t->actor, t->case_code);
	snprintf(id, sizeof id, "%s", w[0]);
	snprintf(member, sizeof member, "%s %s %s open", w[0], w[1], w[2]);
	if (!has_line(before, "request ", member))
		FAIL("'recovery-grant' of %s of case %s: it was not open", id, t->case_code);
	next_line(rec, sizeof rec, &p, "recovery ");
	if (words(r, 4, rec) != 3 || strcmp(r[0], w[2]))
		FAIL("'recovery-grant' of %s of case %s: the case's split is not of epoch %s", id, t->case_code, w[2]);
	m = strtoul(r[2], NULL, 10);
	if (m < 2 || (unsigned long)approvals(before, id) < m)
		FAIL("'recovery-grant' of %s of case %s had %d approvals of custodians, fewer than %lu", id,
			t->case_code, approvals(before, id), m);
	snprintf(member, sizeof member, "%s rw", t->actor);
	if (!has_line(after, "member ", member))
		FAIL("'recovery-grant' of %s did not make '%s' a member of case %s", id, t->actor, t->case_code);
	if (!handed_is_none(after, id, 1))
		FAIL("'recovery-grant' of %s of case %s left the shares handed over in the file", id, t->case_code);
done:
	return error;
}

/* A cancel by an admin: one open request turned cancelled, its shares
 * handed over wiped. */
static int check_cancel(const vault_trailers *t, const char *before, const char *after)
{
	char line[VAULT_NAME_MAX + 64], open[VAULT_NAME_MAX + 64], *w[5];
	int error = 0;

	if (!changed_request(line, sizeof line, before, after) || words(w, 5, line) != 4 ||
	    strcmp(w[3], "cancelled"))
		FAIL("'recovery-cancel' by '%s' of case %s cancels no request", t->actor, t->case_code);
	snprintf(open, sizeof open, "%s %s %s open", w[0], w[1], w[2]);
	if (!has_line(before, "request ", open))
		FAIL("'recovery-cancel' of %s of case %s: it was not open", w[0], t->case_code);
	if (!handed_is_none(after, w[0], 1))
		FAIL("'recovery-cancel' of %s of case %s left the shares handed over in the file", w[0],
			t->case_code);
done:
	return error;
}

int vault_verify__recovery(vault *v, const vault_trailers *t, git_tree *parent, git_tree *tree)
{
	vault_buf settings = VAULT_BUF_INIT, before = VAULT_BUF_INIT, after = VAULT_BUF_INIT;
	char path[64];
	int error;

	if (!strcmp(t->action, "recovery-setup")) {
		if ((error = vault_history__blob(&after, tree, VAULT_SETTINGS_PATH, v)) == 0)
			error = check_setup(v, parent, after.ptr);
		goto done;
	}
	vault_case__path(path, t->case_code);
	if ((error = vault_history__blob(&settings, parent, VAULT_SETTINGS_PATH, v)) < 0 ||
	    (error = vault_history__blob(&before, parent, path, v)) < 0 ||
	    (error = vault_history__blob(&after, tree, path, v)) < 0)
		goto done;
	if (!strcmp(t->action, "recovery-split"))
		error = check_split(settings.ptr, after.ptr, t->case_code);
	else if (!strcmp(t->action, "recovery-request"))
		error = check_request(v, parent, before.ptr, after.ptr, t->case_code);
	else if (!strcmp(t->action, "recovery-approve"))
		error = check_approve(t, before.ptr, after.ptr);
	else if (!strcmp(t->action, "recovery-cancel"))
		error = check_cancel(t, before.ptr, after.ptr);
	else
		error = check_grant(t, before.ptr, after.ptr);
done:
	vault_buf_dispose(&settings);
	vault_buf_dispose(&before);
	vault_buf_dispose(&after);
	return error;
}
