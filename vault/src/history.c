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
			else if (IS("Snapshot")) vault_history__copy(t->snapshot, sizeof t->snapshot, val, vlen);
			else if (IS("Enrol-Proof")) vault_history__copy(t->proof, sizeof t->proof, val, vlen);
			else if (IS("Version")) {
				/* The value ends with its line: strtoul alone would
				 * skip the newline of an empty one. */
				char num[16];
				vault_history__copy(num, sizeof num, val, vlen);
				t->version = (uint32_t)strtoul(num, NULL, 10);
			}
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
	if ((error = vault_meta__get(&val, txn, v, "head")) < 0 || val.mv_size != 20)
		return error < 0 && error != VAULT_ENOTFOUND ? error :
			vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	git_oid_fromraw(&cur, val.mv_data);
	for (;;) {
		git_commit *c = NULL;
		if ((error = vault_array_grow(&ids, &cap, n, sizeof *ids, 1024)) < 0) {
			free(ids);
			return error;
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

int vault_history__blob(vault_buf *out, git_tree *tree, const char *path, vault *v)
{
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int error;

	vault_buf_clear(out);
	/* Absent is VAULT_ENOTFOUND; a folder on the way that cannot be read
	 * is damage, not absence. */
	if ((error = vault_history__entry(&e, v, tree, path, NULL)) < 0)
		return error;
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

int vault_history__user_parse(vault_policy_user *out, const char *text, const char *name)
{
	const char *s;
	size_t len;

	out->found = 1;
	if ((s = vault_history__field(text, "role", &len)) != NULL) {
		char role[16];
		vault_history__copy(role, sizeof role, s, len);
		vault_role_parse(&out->role, role);
	}
	s = vault_history__field(text, "status", &len);
	out->active = s && len == 6 && !memcmp(s, "active", 6);
	out->pending = s && len == 7 && !memcmp(s, "pending", 7);
	/* Only a user who never enrolled has no key: pending, or disabled
	 * before enrolling; never an active one, nor one of no status. */
	if ((s = vault_history__field(text, "key", &len)) == NULL && !out->active &&
	    vault_history__field(text, "status", &len) != NULL)
		return 0;
	if (s == NULL || vault_sshsig__parse_publine(out->pk, s, len) < 0)
		return vault_error_set(VAULT_ECORRUPT, "policy of user '%s' holds no valid key", name);
	return 0;
}

int vault_history__user(vault_policy_user *out, git_tree *tree, const char *name, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error;

	memset(out, 0, sizeof *out);
	vault_user__path(path, name);
	error = vault_history__blob(&b, tree, path, v);
	if (error == VAULT_ENOTFOUND)
		error = 0;
	else if (error == 0)
		error = vault_history__user_parse(out, b.ptr, name);
	vault_buf_dispose(&b);
	return error;
}

int vault_history__member_parse(const char *text, const char *user)
{
	size_t ulen = strlen(user);
	int member = 0;

	for (const char *s = text; s && *s; ) {
		const char *e = strchr(s, '\n');
		if (!strncmp(s, "member ", 7) && !strncmp(s + 7, user, ulen) && s[7 + ulen] == ' ')
			member = !strncmp(s + 8 + ulen, "rw", 2) && (s[10 + ulen] == '\n' || !s[10 + ulen]) ? 2 : 1;
		s = e ? e + 1 : NULL;
	}
	return member;
}

int vault_history__membership(int *out, git_tree *tree, const char *code, const char *user, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error;

	*out = 0;
	vault_case__path(path, code);
	error = vault_history__blob(&b, tree, path, v);
	if (error == VAULT_ENOTFOUND)
		error = 0;
	else if (error == 0)
		*out = vault_history__member_parse(b.ptr, user);
	vault_buf_dispose(&b);
	return error;
}

int vault_history__signature(vault_buf *sig, vault_buf *data, vault *v, const git_commit *c)
{
	/* The commit as parsed (its id checked when it was read): its header
	 * lines, each ending in a newline, then a blank line, then the message.
	 * Parsing stops at a NUL; the object must not hold more than that. */
	const char *s = git_commit_raw_header(c), *msg = git_commit_message_raw(c);
	const char *end = s ? s + strlen(s) : NULL;
	git_object_t type;
	size_t len;

	if (!s || !msg || git_odb_read_header(&len, &type, v->odb, git_commit_id(c)) < 0 ||
	    len != strlen(s) + 1 + strlen(msg))
		return vault_error_set(VAULT_ECORRUPT, "it is not a well-formed commit");
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *next = eol ? eol + 1 : end;

		if ((size_t)(end - s) > 7 && !memcmp(s, "gpgsig ", 7) && !sig->size) {
			vault_buf_put(sig, s + 7, (size_t)(next - s - 7));
			while (next < end && *next == ' ') {
				const char *e2 = memchr(next, '\n', (size_t)(end - next));
				const char *n2 = e2 ? e2 + 1 : end;
				vault_buf_put(sig, next + 1, (size_t)(n2 - next - 1));
				next = n2;
			}
		} else {
			vault_buf_put(data, s, (size_t)(next - s));
		}
		s = next;
	}
	vault_buf_put(data, "\n", 1);
	vault_buf_put(data, msg, strlen(msg));
	if (sig->oom || data->oom)
		return vault_error_set_oom();
	return 0;
}

void vault_history__memo_dispose(vault_history__memo *m)
{
	for (size_t i = 0; m && i < VAULT_HISTORY_MEMO; i++) {
		git_tree_free(m->tree[i]);
		m->tree[i] = NULL;
	}
}

/* Folder `id`, from the memo if it holds it; kept there for the next diff. */
static int memo_tree(git_tree **out, vault *v, vault_history__memo *m, const git_oid *id)
{
	*out = NULL;
	for (size_t i = 0; m && i < VAULT_HISTORY_MEMO; i++)
		if (m->tree[i] && git_oid_equal(git_tree_id(m->tree[i]), id))
			return git_tree_dup(out, m->tree[i]);
	if (git_tree_lookup(out, v->repo, id) < 0)
		return -1;
	if (m) {
		git_tree_free(m->tree[m->next]);
		if (git_tree_dup(&m->tree[m->next], *out) < 0)
			m->tree[m->next] = NULL;
		m->next = (m->next + 1) % VAULT_HISTORY_MEMO;
	}
	return 0;
}

int vault_history__entry(git_tree_entry **out, vault *v, git_tree *root, const char *path,
	vault_history__memo *memo)
{
	git_tree *t = NULL, *next = NULL;
	const git_tree_entry *e = NULL;
	char name[VAULT_HISTORY_PATH_MAX];
	int error = VAULT_ENOTFOUND;

	*out = NULL;
	if (git_tree_dup(&t, root) < 0)
		return vault_error_git("read history");
	for (const char *s = path;;) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);

		if (len == 0 || len >= sizeof name)
			break;
		memcpy(name, s, len);
		name[len] = '\0';
		if ((e = git_tree_entry_byname(t, name)) == NULL)
			break;
		if (!slash) {
			error = git_tree_entry_dup(out, e) < 0 ? vault_error_git("read history") : 0;
			break;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			break;
		if (memo_tree(&next, v, memo, git_tree_entry_id(e)) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "history folder '%.*s' cannot be read",
				(int)(slash - path), path);
			break;
		}
		git_tree_free(t);
		t = next;
		s = slash + 1;
	}
	git_tree_free(t);
	return error;
}

typedef struct {
	vault *v;
	vault_history__memo *memo;
	vault_history__diff_cb cb;
	void *payload;
	char path[VAULT_HISTORY_PATH_MAX];
} diff_ctx;

static int diff_walk(diff_ctx *d, git_tree *a, git_tree *b, size_t plen);

/* One entry on one side or both (then with different ids), at `path`. */
static int diff_entry(diff_ctx *d, const git_tree_entry *a, const git_tree_entry *b, size_t plen)
{
	const git_tree_entry *e = a ? a : b;
	int a_tree = a && git_tree_entry_type(a) == GIT_OBJECT_TREE;
	int b_tree = b && git_tree_entry_type(b) == GIT_OBJECT_TREE;
	git_tree *ta = NULL, *tb = NULL;
	char *path = d->path;
	size_t len;
	int error;

	len = (size_t)snprintf(path + plen, VAULT_HISTORY_PATH_MAX - plen, "%s%s",
		plen ? "/" : "", git_tree_entry_name(e));
	if (plen + len >= VAULT_HISTORY_PATH_MAX)
		return vault_error_set(VAULT_ECORRUPT, "history path '%s' is too long", path);
	len += plen;
	if (a && b && a_tree != b_tree) {
		/* A file became a folder or the other way round: both sides. */
		if ((error = diff_entry(d, a, NULL, plen)) != 0)
			return error;
		return diff_entry(d, NULL, b, plen);
	}
	if (!a_tree && !b_tree)
		return d->cb(path, a ? git_tree_entry_id(a) : NULL, b ? git_tree_entry_id(b) : NULL, d->payload);
	if ((a && memo_tree(&ta, d->v, d->memo, git_tree_entry_id(a)) < 0) ||
	    (b && memo_tree(&tb, d->v, d->memo, git_tree_entry_id(b)) < 0))
		error = vault_error_set(VAULT_ECORRUPT, "history folder '%s' cannot be read", path);
	else
		error = diff_walk(d, ta, tb, len);
	git_tree_free(ta);
	git_tree_free(tb);
	return error;
}

static int diff_walk(diff_ctx *d, git_tree *a, git_tree *b, size_t plen)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	size_t i = 0, j = 0;
	int error = 0;

	/* Both sides are sorted the same way: walk them side by side. */
	while (error == 0 && (i < na || j < nb)) {
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int cmp = !ea ? 1 : !eb ? -1 : git_tree_entry_cmp(ea, eb);

		if (cmp < 0) {
			error = diff_entry(d, ea, NULL, plen);
			i++;
		} else if (cmp > 0) {
			error = diff_entry(d, NULL, eb, plen);
			j++;
		} else {
			if (!git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)))
				error = diff_entry(d, ea, eb, plen);
			i++;
			j++;
		}
		d->path[plen] = '\0';
	}
	return error;
}

int vault_history__diff(vault *v, git_tree *a, git_tree *b, vault_history__memo *memo,
	vault_history__diff_cb cb, void *payload)
{
	diff_ctx d;

	if (a && b && git_oid_equal(git_tree_id(a), git_tree_id(b)))
		return 0;
	d.v = v;
	d.memo = memo;
	d.cb = cb;
	d.payload = payload;
	d.path[0] = '\0';
	return diff_walk(&d, a, b, 0);
}
