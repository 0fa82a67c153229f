/*
 * action — the table of event actions, shared by the writer and verify.
 *
 * Each action says who may record it (its kind), whether it must change
 * the state, whether it may create its record, whether it changes folder
 * entries (and so the folders' times), and which fields of an existing
 * record it may change. The writer checks every event against it before
 * signing (event.c), verify replays every event against it (verify_event.c):
 * the two cannot disagree on what an honest event is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "history.h"

static const vault_action actions[] = {
	{ "init",            VAULT_ACTION_GENESIS, 1, 1, 0, { NULL } },
	{ "user-add",        VAULT_ACTION_ADMIN,   1, 1, 0, { NULL } },
	{ "user-disable",    VAULT_ACTION_ADMIN,   1, 0, 0, { "status", "enrol", NULL } },
	/* a disabled user pending again: the old key gone, a new code */
	{ "user-enable",     VAULT_ACTION_ADMIN,   1, 0, 0, { "status", "key", "wrapped", "enrol", NULL } },
	/* a pending user's own first key, signed with it */
	{ "enrol",           VAULT_ACTION_SELF,    1, 0, 0, { "status", "key", "enrol", "wrapped", NULL } },
	/* a new key pair, and a new epoch of each of the user's cases (as rekey) */
	{ "passwd",          VAULT_ACTION_SELF,    1, 0, 0, { "key", "wrapped", "epoch", "retired", "sealed", NULL } },
	/* plus the target's `member` line, see vault_action__check_record() */
	{ "grant",           VAULT_ACTION_ADMIN,   1, 0, 0, { NULL } },
	{ "revoke",          VAULT_ACTION_ADMIN,   1, 0, 0, { "retired", "sealed", NULL } },
	{ "purpose-add",     VAULT_ACTION_ADMIN,   1, 0, 0, { "purpose", NULL } },
	{ "purpose-remove",  VAULT_ACTION_ADMIN,   1, 0, 0, { "purpose", NULL } },
	{ "purpose-require", VAULT_ACTION_ADMIN,   1, 0, 0, { "purpose-required", NULL } },
	{ "setting",         VAULT_ACTION_ADMIN,   1, 0, 0, { "setting", NULL } },
	/* a new generation of the history key: its key-check value only,
	 * see vault_action__check_record() */
	{ "history-rekey",   VAULT_ACTION_ADMIN,   1, 0, 0, { NULL } },
	/* the recovery's threshold and custodians, in policy/settings */
	{ "recovery-setup",  VAULT_ACTION_ADMIN,   1, 0, 0, { "recovery-threshold", "recovery-custodian", NULL } },
	/* a case's key split into shares for the custodians (recovery.c) */
	{ "recovery-split",  VAULT_ACTION_MEMBER,  1, 0, 0, { "recovery", "share", "shares", NULL } },
	/* a request to recover a case for a caseworker, its approvals, and
	 * the caseworker made a member with the key recovered (plus the
	 * target's `member` line, as a grant); `handed`: the shares approved,
	 * as stored */
	{ "recovery-request", VAULT_ACTION_ADMIN,  1, 0, 0, { "request", "handed", NULL } },
	{ "recovery-approve", VAULT_ACTION_CUSTODIAN, 1, 0, 0, { "approved", "handed", NULL } },
	{ "recovery-grant",  VAULT_ACTION_RECOVERED, 1, 0, 0, { "request", "handed", "sealed", NULL } },
	/* an open request cancelled by an admin, its shares handed over wiped */
	{ "recovery-cancel", VAULT_ACTION_ADMIN,  1, 0, 0, { "request", "handed", NULL } },
	{ "case-create",     VAULT_ACTION_CASE,    1, 1, 0, { NULL } },
	/* a rw member's new label, sealed under the current epoch */
	{ "case-label",      VAULT_ACTION_MEMBER,  1, 0, 0, { "label", NULL } },
	/* keys sealed to a new member change the case's `sealed` only; these
	 * fields too when it starts an epoch, see check_epochs() */
	{ "rekey",           VAULT_ACTION_MEMBER,  0, 0, 0, { "epoch", "retired", "label", "sealed", NULL } },
	{ "write",           VAULT_ACTION_CONTENT, 1, 1, VAULT_ENTRIES_NEW,
	  { "version", "size", "mtime", "ctime", "atime", "mode", "generation", "name", "commitment", "keys",
	    NULL } },
	{ "restore",         VAULT_ACTION_CONTENT, 1, 0, 0,
	  { "version", "size", "mtime", "ctime", "generation", "name", "commitment", "keys", NULL } },
	{ "create",          VAULT_ACTION_CONTENT, 1, 1, VAULT_ENTRIES_ALWAYS, { NULL } },
	{ "mkdir",           VAULT_ACTION_CONTENT, 1, 1, VAULT_ENTRIES_ALWAYS, { NULL } },
	{ "touch",           VAULT_ACTION_CONTENT, 1, 0, 0, { "mtime", "ctime", "atime", "mode", NULL } },
	{ "move",            VAULT_ACTION_CONTENT, 1, 0, VAULT_ENTRIES_ALWAYS,
	  { "parent", "name", "generation", "ctime", "keys", NULL } },
	{ "delete",          VAULT_ACTION_CONTENT, 1, 0, VAULT_ENTRIES_ALWAYS, { "state", "ctime", NULL } },
	{ "read",            VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	/* a case's label or a folder's entries seen: a member's, as a read */
	{ "list",            VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	/* the audit key sealed to an admin or auditor who enrolled */
	{ "audit-key",       VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	{ "mount",           VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	{ "unmount",         VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	/* the mount unmounted itself after its idle time (mount --idle) */
	{ "idle-unmount",    VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	{ "unlock-failed",   VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	/* a user accepts a history put back to an older copy (trust.c) */
	{ "rollback-accepted", VAULT_ACTION_STILL, 0, 0, 0, { NULL } },
	/* a snapshot of the vault (backup.c): an admin's or an auditor's */
	{ "backup",          VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
	/* the automatic push to the witness failed (witness.c) */
	{ "witness-failed",  VAULT_ACTION_STILL,   0, 0, 0, { NULL } },
};

const vault_action *vault_action__find(const char *name)
{
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (!strcmp(actions[i].name, name))
			return &actions[i];
	return NULL;
}

/*
 * The lines of tree file `id`, each with its key: the first word, or for
 * a `member NAME ...` or `kcv EPOCH ...` line the first two (each member,
 * each epoch's key-check value, is a field).
 */
typedef struct {
	char *text;
	const char *line[64];
	size_t len[64], klen[64], n;
} record_lines;

static int record_read(record_lines *r, vault *v, const git_oid *id)
{
	git_blob *blob = NULL;
	size_t size;
	char *s, *end;

	memset(r, 0, sizeof *r);
	if (git_blob_lookup(&blob, v->repo, id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "a history file cannot be read");
	size = (size_t)git_blob_rawsize(blob);
	if ((r->text = malloc(size + 1)) == NULL) {
		git_blob_free(blob);
		return vault_error_set_oom();
	}
	memcpy(r->text, git_blob_rawcontent(blob), size);
	r->text[size] = '\0';
	git_blob_free(blob);
	for (s = r->text, end = s + size; s < end; ) {
		char *eol = memchr(s, '\n', (size_t)(end - s));
		size_t len = eol ? (size_t)(eol - s) : (size_t)(end - s);
		char *sp = memchr(s, ' ', len);
		size_t klen = sp ? (size_t)(sp - s) : len;

		if (r->n == sizeof r->line / sizeof r->line[0])
			return vault_error_set(VAULT_ECORRUPT, "a history file has too many lines");
		if (((klen == 6 && !memcmp(s, "member", 6)) || (klen == 3 && !memcmp(s, "kcv", 3)) ||
		     (klen == 11 && !memcmp(s, "history-kcv", 11))) && sp) {
			char *sp2 = memchr(sp + 1, ' ', len - klen - 1);
			klen = sp2 ? (size_t)(sp2 - s) : len;
		}
		r->line[r->n] = s;
		r->len[r->n] = len;
		r->klen[r->n++] = klen;
		s = eol ? eol + 1 : end;
	}
	return 0;
}

static int key_is(const record_lines *r, size_t i, const char *key)
{
	return strlen(key) == r->klen[i] && !memcmp(r->line[i], key, r->klen[i]);
}

static int key_in(const record_lines *r, size_t i, const char *const *keys)
{
	for (; *keys; keys++)
		if (key_is(r, i, *keys))
			return 1;
	return 0;
}

/* Does `r` hold line i of `o` (same key, same value)? */
static int has_line(const record_lines *r, const record_lines *o, size_t i)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->len[k] == o->len[i] && !memcmp(r->line[k], o->line[i], o->len[i]))
			return 1;
	return 0;
}

/*
 * Between two versions of a record, only the fields named in `may` (NULL-
 * terminated) change; the name of the first other field that changed goes
 * to `field`. 1 if so, 0 if not.
 */
static int only_fields(char *field, size_t fsize, const record_lines *a, const record_lines *b,
	const char *const *may)
{
	for (int side = 0; side < 2; side++) {
		const record_lines *x = side ? b : a, *y = side ? a : b;
		for (size_t i = 0; i < x->n; i++)
			if (!key_in(x, i, may) && !has_line(y, x, i)) {
				vault_history__copy(field, fsize, x->line[i], x->klen[i]);
				return 0;
			}
	}
	return 1;
}

/* The value of field `key` in `r`, as a string ("" if absent). */
static void record_value(char *out, size_t n, const record_lines *r, const char *key)
{
	out[0] = '\0';
	for (size_t i = 0; i < r->n; i++)
		if (key_is(r, i, key) && r->len[i] > r->klen[i])
			vault_history__copy(out, n, r->line[i] + r->klen[i] + 1, r->len[i] - r->klen[i] - 1);
}

/* Only `may` changed between the two versions of a record. */
static int check_fields(vault *v, const char *action, const git_oid *before, const git_oid *after,
	const char *const *may, const char *what, record_lines *r1)
{
	record_lines r0;
	char field[80];
	int error = 0;

	r0.text = r1->text = NULL;
	if ((error = record_read(&r0, v, before)) < 0 || (error = record_read(r1, v, after)) < 0)
		goto done;
	if (!only_fields(field, sizeof field, &r0, r1, may))
		error = vault_error_set(VAULT_ECORRUPT, "'%s' changed the field '%s' of %s", action, field, what);
done:
	free(r0.text);
	return error;
}

int vault_action__check_folder(vault *v, const vault_action *a, const git_oid *before,
	const git_oid *after, int node_new, const char *what)
{
	static const char *const may[] = { "mtime", "ctime", "folders", NULL };
	record_lines r1;
	char type[8], state[16];
	int error;

	if (!a->entries || (a->entries == VAULT_ENTRIES_NEW && !node_new))
		return vault_error_set(VAULT_ECORRUPT, "'%s' changed folder %s, which it may not", a->name, what);
	if ((error = check_fields(v, a->name, before, after, may, what, &r1)) < 0)
		goto done;
	/* Entries are only in live folders: not a file, not a deleted folder
	 * (neither changes, so `before` says the same). */
	record_value(type, sizeof type, &r1, "type");
	record_value(state, sizeof state, &r1, "state");
	if (strcmp(type, "dir") || strcmp(state, "live"))
		error = vault_error_set(VAULT_ECORRUPT, "'%s' changed %s as a folder, and it is not a live folder (%s, %s)",
			a->name, what, type, state);
done:
	free(r1.text);
	return error;
}

/* The value of `key` in `r` as an epoch (1 and up); 0 if absent or not one. */
static uint32_t record_epoch(const record_lines *r, const char *key)
{
	char value[16];

	record_value(value, sizeof value, r, key);
	if (!value[0] || strspn(value, "0123456789") != strlen(value) || strlen(value) > 9)
		return 0;
	return (uint32_t)strtoul(value, NULL, 10);
}

/* Is field `key` of `r` "yes"? */
static int record_yes(const record_lines *r, const char *key)
{
	char value[8];

	record_value(value, sizeof value, r, key);
	return !strcmp(value, "yes");
}

/* Does `r` hold a line of key `key` (with or without a value)? */
static int record_has(const record_lines *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (key_is(r, i, key))
			return 1;
	return 0;
}

/*
 * The epochs of a case record. A revoke retires the epoch (`retired yes`)
 * so that the next member's session starts the next one, sealed to the
 * remaining members only (vault_keys__settle); only that start may take
 * `retired` back, or whoever was revoked keeps reading what is written
 * next. So an epoch never goes back nor skips one, and `retired` goes
 * from yes to no only as the epoch goes up by one, by a rekey, with the
 * key-check value of the new epoch; a revoke leaves its epoch retired.
 * A passwd starts the next epoch of each case of its user the same way,
 * retired or not. `*start` is the epoch a rekey or passwd starts, or 0.
 */
static int check_epochs(uint32_t *start, const vault_action *a, const record_lines *r0,
	const record_lines *r1, const char *what)
{
	uint32_t e0 = record_epoch(r0, "epoch"), e1 = record_epoch(r1, "epoch");
	int was = record_yes(r0, "retired"), is = record_yes(r1, "retired");
	char key[24], value[2 * KCV_SIZE + 8], label[32];

	*start = 0;
	if (!e0 || !e1)
		return vault_error_set(VAULT_ECORRUPT, "'%s' left %s with a damaged epoch", a->name, what);
	if (e1 < e0)
		return vault_error_set(VAULT_ECORRUPT, "'%s' lowered the epoch of %s from %u to %u",
			a->name, what, e0, e1);
	if (e1 > e0 + 1)
		return vault_error_set(VAULT_ECORRUPT,
			"'%s' raised the epoch of %s from %u to %u, past the next one", a->name, what, e0, e1);
	if (was && !is && e1 == e0)
		return vault_error_set(VAULT_ECORRUPT,
			"'%s' took back the retirement of epoch %u of %s without starting the next epoch",
			a->name, e0, what);
	if (!strcmp(a->name, "revoke") && !is)
		return vault_error_set(VAULT_ECORRUPT, "'revoke' left epoch %u of %s not retired", e1, what);
	if (!strcmp(a->name, "passwd") && e1 == e0)
		return vault_error_set(VAULT_ECORRUPT, "'passwd' changed %s without starting its next epoch", what);
	if (e1 == e0)
		return 0;
	/* A new epoch: a rekey starts the one a revoke retired, as
	 * vault_keys__settle does; a passwd starts one in each case of its
	 * user (an old copy of their record must open nothing newer). */
	if (strcmp(a->name, "rekey") && strcmp(a->name, "passwd"))
		return vault_error_set(VAULT_ECORRUPT,
			"'%s' started epoch %u of %s, which only a rekey or a passwd does", a->name, e1, what);
	if (is)
		return vault_error_set(VAULT_ECORRUPT, "'%s' started epoch %u of %s and left it retired",
			a->name, e1, what);
	if (!was && strcmp(a->name, "passwd"))
		return vault_error_set(VAULT_ECORRUPT, "'%s' started epoch %u of %s whose epoch no revoke retired",
			a->name, e1, what);
	snprintf(key, sizeof key, "kcv %u", e1);
	record_value(value, sizeof value, r1, key);
	if (record_has(r0, key) || strlen(value) != 2 * KCV_SIZE ||
	    strspn(value, "0123456789abcdef") != 2 * KCV_SIZE)
		return vault_error_set(VAULT_ECORRUPT,
			"'%s' started epoch %u of %s without a new key-check value for it", a->name, e1, what);
	/* The label stays, or is sealed again under the new epoch. */
	snprintf(label, sizeof label, "label %u ", e1);
	if (record_has(r0, "label") && !record_has(r1, "label"))
		return vault_error_set(VAULT_ECORRUPT, "'%s' removed the label of %s", a->name, what);
	for (size_t i = 0; i < r1->n; i++)
		if (key_is(r1, i, "label") && !has_line(r0, r1, i) &&
		    (r1->len[i] <= strlen(label) || memcmp(r1->line[i], label, strlen(label))))
			return vault_error_set(VAULT_ECORRUPT,
				"'%s' sealed the label of %s again, but not under the epoch %u it started", a->name, what, e1);
	*start = e1;
	return 0;
}

/*
 * A user's own keys (enrol, passwd; `target` is that user): their own
 * record, and for a passwd the cases they are a member of. An enrol takes
 * a pending user to active; a passwd keeps its user active.
 */
static int check_self(const vault_action *a, const record_lines *r0, const record_lines *r1,
	const char *target, const char *what)
{
	char want[64], member[VAULT_NAME_MAX + 8], s0[16], s1[16];

	if (!target)
		return vault_error_set(VAULT_ECORRUPT, "'%s' names no user", a->name);
	if (!strncmp(what, "policy/cases/", 13)) {
		snprintf(member, sizeof member, "member %s", target);
		if (!strcmp(a->name, "enrol") || !record_has(r0, member))
			return vault_error_set(VAULT_ECORRUPT, "'%s' of '%s' changed %s, which is not theirs",
				a->name, target, what);
		if (record_has(r0, "key") || record_has(r1, "key"))
			return vault_error_set(VAULT_ECORRUPT, "'%s' of '%s' changed the field 'key' of %s",
				a->name, target, what);
		return 0;
	}
	vault_user__path(want, target);
	if (strcmp(what, want))
		return vault_error_set(VAULT_ECORRUPT, "'%s' of '%s' changed %s, which is not theirs",
			a->name, target, what);
	record_value(s0, sizeof s0, r0, "status");
	record_value(s1, sizeof s1, r1, "status");
	if (!strcmp(s0, !strcmp(a->name, "enrol") ? "pending" : "active") && !strcmp(s1, "active"))
		return 0;
	/* The statuses are the record's words (pending, active, ...). */
	if (!s0[0] && !s1[0])
		return vault_error_set(VAULT_ECORRUPT, "'%s' took '%s' from no status to no status", a->name, target);
	if (!s0[0])
		return vault_error_set(VAULT_ECORRUPT, "'%s' took '%s' from no status to %s", a->name, target, s1);
	if (!s1[0])
		return vault_error_set(VAULT_ECORRUPT, "'%s' took '%s' from %s to no status", a->name, target, s0);
	return vault_error_set(VAULT_ECORRUPT, "'%s' took '%s' from %s to %s", a->name, target, s0, s1);
}

int vault_action__check_record(vault *v, const vault_action *a, const git_oid *before,
	const git_oid *after, const char *target, const char *what)
{
	record_lines r0, r1;
	const char *may[14];
	char member[VAULT_NAME_MAX + 8], value[32], kcv[40], field[80];
	uint32_t start = 0, gen = 0;
	size_t k = 0;
	int error;

	r0.text = r1.text = NULL;
	if ((error = record_read(&r0, v, before)) < 0 || (error = record_read(&r1, v, after)) < 0)
		goto done;
	if (!strncmp(what, "policy/cases/", 13) && (error = check_epochs(&start, a, &r0, &r1, what)) < 0)
		goto done;
	/* A rekey that starts no epoch only seals keys to new members: the
	 * case's `sealed` alone changes. */
	if (strcmp(a->name, "rekey") || start)
		for (; a->may[k]; k++)
			may[k] = a->may[k];
	else
		may[k++] = "sealed";
	if (target && (!strcmp(a->name, "grant") || !strcmp(a->name, "revoke") ||
	    !strcmp(a->name, "recovery-grant"))) {
		snprintf(member, sizeof member, "member %s", target);
		may[k++] = member;
	}
	/* The key-check value of the epoch a rekey starts; older ones never
	 * change. */
	if (start) {
		snprintf(kcv, sizeof kcv, "kcv %u", start);
		may[k++] = kcv;
	}
	/* A new generation of the history key: its check value, added after
	 * the last one; the older ones never change. */
	if (!strcmp(a->name, "history-rekey")) {
		for (size_t i = 0; i < r0.n; i++)
			gen += r0.klen[i] > 12 && !memcmp(r0.line[i], "history-kcv ", 12);
		snprintf(kcv, sizeof kcv, "history-kcv %u", ++gen);
		may[k++] = kcv;
	}
	may[k] = NULL;
	if (!only_fields(field, sizeof field, &r0, &r1, may)) {
		if (!strcmp(a->name, "rekey") && !start)
			error = vault_error_set(VAULT_ECORRUPT,
				"'%s' changed the field '%s' of %s without starting an epoch", a->name, field, what);
		else
			error = vault_error_set(VAULT_ECORRUPT, "'%s' changed the field '%s' of %s", a->name,
				field, what);
		goto done;
	}
	if (!strcmp(a->name, "revoke") && target) {
		snprintf(member, sizeof member, "member %s", target);
		if (!record_has(&r0, member) || record_has(&r1, member)) {
			error = vault_error_set(VAULT_ECORRUPT,
				"'revoke' of '%s' did not remove its member line from %s", target, what);
			goto done;
		}
	}
	if (gen && (record_has(&r0, kcv) || !record_has(&r1, kcv))) {
		error = vault_error_set(VAULT_ECORRUPT,
			"'history-rekey' did not add generation %u of the history key to %s", gen, what);
		goto done;
	}
	if (a->kind == VAULT_ACTION_SELF && (error = check_self(a, &r0, &r1, target, what)) < 0)
		goto done;
	record_value(value, sizeof value, &r1, !strcmp(a->name, "delete") ? "state" : "status");
	if ((!strcmp(a->name, "delete") && strcmp(value, "deleted")) ||
	    (!strcmp(a->name, "user-disable") && strcmp(value, "disabled")))
		error = vault_error_set(VAULT_ECORRUPT, "'%s' left %s %s", a->name, what, value);
done:
	free(r0.text);
	free(r1.text);
	return error;
}
