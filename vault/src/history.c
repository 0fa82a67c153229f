/*
 * history — reading the signed history, and the event log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "sshsig.h"


void vault_history__copy(char *dst, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

void vault_history__trailers(vault_trailers *t, const char *msg)
{
	const char *s = strstr(msg, "\n\n");

	memset(t, 0, sizeof *t);
	for (s = s ? s + 2 : msg; *s; ) {
		const char *e = strchr(s, '\n'), *colon;
		size_t len = e ? (size_t)(e - s) : strlen(s);

		colon = memchr(s, ':', len);
		if (colon && colon + 1 < s + len && colon[1] == ' ') {
			size_t klen = (size_t)(colon - s);
			const char *val = colon + 2;
			size_t vlen = len - klen - 2;
#define IS(k) (klen == sizeof(k) - 1 && !memcmp(s, k, klen))
			if (IS("Action"))       vault_history__copy(t->action, sizeof t->action, val, vlen);
			else if (IS("Actor"))   vault_history__copy(t->actor, sizeof t->actor, val, vlen);
			else if (IS("Target"))  vault_history__copy(t->target, sizeof t->target, val, vlen);
			else if (IS("Case"))    vault_history__copy(t->case_code, sizeof t->case_code, val, vlen);
			else if (IS("Node"))    vault_history__copy(t->node, sizeof t->node, val, vlen);
			else if (IS("Purpose")) vault_history__copy(t->purpose, sizeof t->purpose, val, vlen);
			else if (IS("Purpose-Note")) t->has_note = 1;
			else if (IS("Via"))     vault_history__copy(t->via, sizeof t->via, val, vlen);
			else if (IS("Version")) t->version = (uint32_t)strtoul(val, NULL, 10);
#undef IS
		}
		s = e ? e + 1 : s + len;
	}
}

int vault_history__chain(git_oid **out, size_t *n_out, char *bad, vault *v, MDB_txn *txn)
{
	git_oid *ids = NULL, cur;
	size_t n = 0, cap = 0;
	MDB_val val;
	int error;

	*out = NULL;
	*n_out = 0;
	if ((error = vault__meta_get(&val, txn, v, "head")) < 0 || val.mv_size != 20)
		return error < 0 && error != VAULT_ENOTFOUND ? error :
			vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	git_oid_fromraw(&cur, val.mv_data);
	for (;;) {
		git_commit *c = NULL;
		if (n == cap) {
			void *p = realloc(ids, (cap = cap ? cap * 2 : 1024) * sizeof *ids);
			if (!p) {
				free(ids);
				return vault_error_set_oom();
			}
			ids = p;
		}
		ids[n++] = cur;
		if (git_commit_lookup(&c, v->repo, &cur) < 0) {
			char hex[VAULT_OID_SIZE];
			git_oid_tostr(hex, sizeof hex, &cur);
			if (bad)
				memcpy(bad, hex, VAULT_OID_SIZE);
			free(ids);
			return vault_error_set(VAULT_ECORRUPT, "event %s is missing or damaged in the history", hex);
		}
		if (git_commit_parentcount(c) == 0) {
			git_commit_free(c);
			break;
		}
		cur = *git_commit_parent_id(c, 0);
		git_commit_free(c);
	}
	for (size_t i = 0; i < n / 2; i++) {
		git_oid t = ids[i];
		ids[i] = ids[n - 1 - i];
		ids[n - 1 - i] = t;
	}
	*out = ids;
	*n_out = n;
	return 0;
}

int vault_audit_log(vault *v, const vault_log_filter *f,
	int (*cb)(const vault_event_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	git_oid *ids = NULL;
	size_t n = 0;
	int error;

	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	vault_store__cur = txn;
	if ((error = vault_history__chain(&ids, &n, NULL, v, txn)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		git_commit *c = NULL;
		vault_event_info info;
		char hex[VAULT_OID_SIZE], subject[200];
		vault_trailers t;
		const char *summary;

		if (git_commit_lookup(&c, v->repo, &ids[i]) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "event %zu of the history cannot be read", i);
			goto done;
		}
		vault_history__trailers(&t, git_commit_message(c));
		memset(&info, 0, sizeof info);
		git_oid_tostr(hex, sizeof hex, &ids[i]);
		summary = git_commit_summary(c);
		snprintf(subject, sizeof subject, "%s", summary ? summary : "");
		info.commit = hex;
		info.time = git_commit_time(c);
		info.actor = t.actor;
		info.action = t.action;
		info.case_code = t.case_code;
		info.node = t.node;
		info.version = t.version;
		info.purpose = t.purpose;
		info.via = t.via;
		info.subject = subject;
		info.target = t.target;
		git_commit_free(c);
		if (f) {
			if (f->case_code && strcmp(f->case_code, t.case_code))
				continue;
			if (f->user && strcmp(f->user, t.actor))
				continue;
			if (f->since && info.time < f->since)
				continue;
			if (f->until && info.time > f->until)
				continue;
		}
		if ((error = cb(&info, payload)) != 0)
			goto done;
	}
done:
	free(ids);
	vault_store__cur = NULL;
	vault_store__abort(v->st, txn);
	return error;
}


int vault_history__blob(vault_buf *out, git_tree *tree, const char *path, vault *v)
{
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int error;

	vault_buf_clear(out);
	if (git_tree_entry_bypath(&e, tree, path) < 0)
		return VAULT_ENOTFOUND;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&blob, v->repo, git_tree_entry_id(e)) < 0) {
		git_tree_entry_free(e);
		return vault_error_set(VAULT_ECORRUPT, "history object '%s' cannot be read", path);
	}
	vault_buf_put(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	vault_buf_put(out, "", 0);
	error = out->oom ? vault_error_set_oom() : 0;
	git_blob_free(blob);
	git_tree_entry_free(e);
	return error;
}

const char *vault_history__field(const char *text, const char *key, size_t *len)
{
	size_t klen = strlen(key);

	for (const char *s = text; s && *s; ) {
		const char *e = strchr(s, '\n');
		if (!strncmp(s, key, klen) && s[klen] == ' ') {
			*len = e ? (size_t)(e - s - (long)klen - 1) : strlen(s + klen + 1);
			return s + klen + 1;
		}
		s = e ? e + 1 : NULL;
	}
	return NULL;
}

int vault_history__user(vault_policy_user *out, git_tree *tree, const char *name, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	const char *s;
	size_t len;
	int error;

	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "policy/users/%s", name);
	error = vault_history__blob(&b, tree, path, v);
	if (error == VAULT_ENOTFOUND) {
		error = 0;
		goto done;
	}
	if (error < 0)
		goto done;
	out->found = 1;
	if ((s = vault_history__field(b.ptr, "role", &len)) != NULL) {
		char role[16];
		vault_history__copy(role, sizeof role, s, len);
		vault_role_parse(&out->role, role);
	}
	s = vault_history__field(b.ptr, "status", &len);
	out->active = s && len == 6 && !memcmp(s, "active", 6);
	if ((s = vault_history__field(b.ptr, "key", &len)) == NULL ||
	    vault_sshsig__parse_publine(out->pk, s, len) < 0)
		error = vault_error_set(VAULT_ECORRUPT, "policy of user '%s' holds no valid key", name);
done:
	vault_buf_dispose(&b);
	return error;
}

int vault_history__membership(int *out, git_tree *tree, const char *code, const char *user, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error;

	*out = 0;
	snprintf(path, sizeof path, "policy/cases/%s", code);
	error = vault_history__blob(&b, tree, path, v);
	if (error == VAULT_ENOTFOUND)
		error = 0;
	else if (error == 0) {
		size_t ulen = strlen(user);
		for (const char *s = b.ptr; s && *s; ) {
			const char *e = strchr(s, '\n');
			if (!strncmp(s, "member ", 7) && !strncmp(s + 7, user, ulen) && s[7 + ulen] == ' ')
				*out = !strncmp(s + 8 + ulen, "rw", 2) ? 2 : 1;
			s = e ? e + 1 : NULL;
		}
	}
	vault_buf_dispose(&b);
	return error;
}

