/*
 * audit — events as signed git commits on the LMDB object database,
 * the event log, and replay-verification of the whole chain.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sshsig.h"

/* ---- building one event ------------------------------------------------- */

void vault_event__init(vault_event *ev, const char *action)
{
	memset(ev, 0, sizeof *ev);
	ev->action = action;
}

void vault_event__dispose(vault_event *ev)
{
	free(ev->note);
	ev->note = NULL;
}

void vault_node_path(char out[64], uint64_t id)
{
	char hex[17];

	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)id);
	snprintf(out, 64, "nodes/%.2s/%.2s/%s", hex, hex + 2, hex);
}

static int git_fail(vault *v, const char *what)
{
	if (vault_store__last_rc) {
		int rc = vault_store__last_rc;
		vault_store__last_rc = 0;
		return vault_store__error(rc, what);
	}
	return vault__git_error(what);
}

static int add_update(vault_event *ev, vault *v, MDB_txn *txn, const char *path, vault_buf *blob)
{
	git_oid oid;
	size_t i;

	if (blob->oom)
		return vault_error_set_oom();
	vault_store__cur = txn;
	if (git_odb_write(&oid, v->odb, blob->ptr ? blob->ptr : "", blob->size, GIT_OBJECT_BLOB) < 0)
		return git_fail(v, "write history");
	for (i = 0; i < ev->nupdates; i++)
		if (!strcmp(ev->paths[i], path))
			break;
	if (i == EVENT_MAX_UPDATES)
		return vault_error_set(VAULT_ERROR, "event '%s' changes too many objects", ev->action);
	if (i == ev->nupdates)
		ev->nupdates++;
	snprintf(ev->paths[i], sizeof ev->paths[i], "%s", path);
	ev->updates[i].action = GIT_TREE_UPDATE_UPSERT;
	ev->updates[i].id = oid;
	ev->updates[i].filemode = GIT_FILEMODE_BLOB;
	ev->updates[i].path = ev->paths[i];
	return 0;
}

int vault_event__touch_user(vault_event *ev, vault *v, MDB_txn *txn, const char *name)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	user_rec u;
	int error;

	if ((error = vault_user__get(&u, txn, v, name)) < 0)
		return error;
	if ((error = vault_blob__user(&b, name, &u)) == 0) {
		snprintf(path, sizeof path, "policy/users/%s", name);
		error = add_update(ev, v, txn, path, &b);
	}
	vault_buf_dispose(&b);
	return error;
}

int vault_event__touch_case(vault_event *ev, vault *v, MDB_txn *txn, const char *code)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	case_rec c;
	int error;

	if ((error = vault_case__get(&c, txn, v, code)) < 0)
		return error;
	if ((error = vault_blob__case(&b, &c)) == 0) {
		snprintf(path, sizeof path, "policy/cases/%s", code);
		error = add_update(ev, v, txn, path, &b);
	}
	vault_case__dispose(&c);
	vault_buf_dispose(&b);
	return error;
}

int vault_event__touch_node(vault_event *ev, vault *v, MDB_txn *txn, uint64_t id)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	node_rec n;
	int error;

	if ((error = vault_node__get(&n, txn, v, id)) < 0)
		return error;
	if ((error = vault_blob__node(&b, &n)) == 0) {
		vault_node_path(path, id);
		error = add_update(ev, v, txn, path, &b);
	}
	vault_buf_dispose(&b);
	return error;
}

int vault_event__touch_settings(vault_event *ev, vault *v, MDB_txn *txn)
{
	vault_buf b = VAULT_BUF_INIT;
	int error;

	if ((error = vault_blob__settings(&b, v, txn)) == 0)
		error = add_update(ev, v, txn, "policy/settings", &b);
	vault_buf_dispose(&b);
	return error;
}

int vault_event__seal_note(vault_event *ev, vault *v, MDB_txn *txn, const char *note)
{
	MDB_val pk;
	unsigned char *sealed;
	size_t len = strlen(note), b64len;
	int error;

	if (len > 1024)
		return vault_error_set(VAULT_EUSAGE, "purpose note is longer than 1024 bytes");
	if ((error = vault__meta_get(&pk, txn, v, "audit-pk")) < 0 || pk.mv_size != 32)
		return error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "audit key record is damaged");
	if ((sealed = malloc(len + VCRYPTO_SEALBYTES)) == NULL)
		return vault_error_set_oom();
	crypto_box_seal(sealed, (const unsigned char *)note, len, pk.mv_data);
	b64len = sodium_base64_ENCODED_LEN(len + VCRYPTO_SEALBYTES, sodium_base64_VARIANT_ORIGINAL);
	free(ev->note);
	if ((ev->note = malloc(b64len)) == NULL) {
		free(sealed);
		return vault_error_set_oom();
	}
	sodium_bin2base64(ev->note, b64len, sealed, len + VCRYPTO_SEALBYTES, sodium_base64_VARIANT_ORIGINAL);
	free(sealed);
	return 0;
}

static void event_message(vault_buf *m, const vault_event *ev, const char *actor, vault *v)
{
	char node[17] = "";

	if (ev->node)
		snprintf(node, sizeof node, "%016llx", (unsigned long long)ev->node);
	vault_buf_printf(m, "%s", ev->action);
	if (ev->case_code[0]) {
		vault_buf_printf(m, " %s", ev->case_code);
		if (ev->node)
			vault_buf_printf(m, "/%s", node);
		if (ev->version)
			vault_buf_printf(m, " v%u", ev->version);
	}
	if (ev->target[0] && strcmp(ev->target, actor))
		vault_buf_printf(m, " %s", ev->target);
	vault_buf_printf(m, "\n\nAction: %s\nActor: %s\n", ev->action, actor);
	if (ev->target[0])
		vault_buf_printf(m, "Target: %s\n", ev->target);
	if (ev->case_code[0])
		vault_buf_printf(m, "Case: %s\n", ev->case_code);
	if (ev->node)
		vault_buf_printf(m, "Node: %s\n", node);
	if (ev->version)
		vault_buf_printf(m, "Version: %u\n", ev->version);
	if (ev->purpose && *ev->purpose)
		vault_buf_printf(m, "Purpose: %s\n", ev->purpose);
	if (ev->note)
		vault_buf_printf(m, "Purpose-Note: %s\n", ev->note);
	vault_buf_printf(m, "Via: %s\n", v->via == VAULT_VIA_FUSE ? "fuse" : "cli");
}

static int empty_tree(git_tree **out, vault *v)
{
	git_treebuilder *tb = NULL;
	git_oid oid;
	int error = 0;

	if (git_treebuilder_new(&tb, v->repo, NULL) < 0 || git_treebuilder_write(&oid, tb) < 0 ||
	    git_tree_lookup(out, v->repo, &oid) < 0)
		error = git_fail(v, "write history");
	git_treebuilder_free(tb);
	return error;
}

int vault_event__commit(git_oid *out, vault_event *ev, vault *v, MDB_txn *txn, int64_t when)
{
	git_commit *parent = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_buf raw = { NULL, 0, 0 };
	vault_buf msg = VAULT_BUF_INIT;
	char email[VAULT_NAME_MAX + VAULT_ID_SIZE + 2], armor[VAULT_SSHSIG_ARMOR_MAX];
	const char *actor;
	git_oid head, tree_oid;
	MDB_val val;
	int error, signed_event = strcmp(ev->action, "unlock-failed") != 0;

	vault_store__cur = txn;
	if (signed_event && !v->unlocked)
		return vault_error_set(VAULT_EAUTH, "no user is unlocked to sign event '%s'", ev->action);
	actor = signed_event ? v->user : ev->target;

	error = vault__meta_get(&val, txn, v, "head");
	if (error == 0 && val.mv_size == 20) {
		git_oid_fromraw(&head, val.mv_data);
		if (git_commit_lookup(&parent, v->repo, &head) < 0 ||
		    git_commit_tree(&base, parent) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "the head event of the history cannot be read");
			goto done;
		}
	} else if (error == VAULT_ENOTFOUND) {
		if ((error = empty_tree(&base, v)) < 0)
			goto done;
	} else {
		error = error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "the head record is damaged");
		goto done;
	}
	if (ev->nupdates) {
		if (git_tree_create_updated(&tree_oid, v->repo, base, ev->nupdates, ev->updates) < 0 ||
		    git_tree_lookup(&tree, v->repo, &tree_oid) < 0) {
			error = git_fail(v, "write history");
			goto done;
		}
	}
	event_message(&msg, ev, actor, v);
	snprintf(email, sizeof email, "%s@%s", actor, v->id);
	if (msg.oom || git_signature_new(&sig, actor, email, (git_time_t)when, 0) < 0) {
		error = msg.oom ? vault_error_set_oom() : git_fail(v, "write history");
		goto done;
	}
	if (git_commit_create_buffer(&raw, v->repo, sig, sig, NULL, msg.ptr,
			tree ? tree : base, parent ? 1 : 0, (const git_commit **)&parent) < 0) {
		error = git_fail(v, "write history");
		goto done;
	}
	if (signed_event) {
		if ((error = vault_sshsig__sign(armor, sizeof armor, (unsigned char *)raw.ptr, raw.size, v->sk)) < 0)
			goto done;
		if (git_commit_create_with_signature(out, v->repo, raw.ptr, armor, NULL) < 0) {
			error = git_fail(v, "write history");
			goto done;
		}
	} else if (git_odb_write(out, v->odb, raw.ptr, raw.size, GIT_OBJECT_COMMIT) < 0) {
		error = git_fail(v, "write history");
		goto done;
	}
	error = vault__meta_put(txn, v, "head", out->id, 20);
done:
	git_buf_dispose(&raw);
	vault_buf_dispose(&msg);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	return error;
}

int vault_audit__matches_head(vault *v, MDB_txn *txn, const char *path, const vault_buf *blob)
{
	git_commit *head = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_oid want, id;
	MDB_val val;
	int error;

	vault_store__cur = txn;
	if ((error = vault__meta_get(&val, txn, v, "head")) < 0 || val.mv_size != 20)
		return vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	git_oid_fromraw(&id, val.mv_data);
	if (blob->oom)
		return vault_error_set_oom();
	if (git_odb_hash(&want, blob->ptr ? blob->ptr : "", blob->size, GIT_OBJECT_BLOB) < 0 ||
	    git_commit_lookup(&head, v->repo, &id) < 0 || git_commit_tree(&tree, head) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the head event of the history cannot be read");
		goto done;
	}
	if (git_tree_entry_bypath(&e, tree, path) < 0 || !git_oid_equal(&want, git_tree_entry_id(e)))
		error = vault_error_set(VAULT_ECORRUPT,
			"record '%s' does not match the signed history (run 'casevault audit verify')", path);
	else
		error = 0;
done:
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(head);
	return error;
}

/* ---- reading events ----------------------------------------------------- */

typedef struct {
	char action[32], actor[VAULT_NAME_MAX + 1], target[VAULT_NAME_MAX + 1];
	char case_code[VAULT_CODE_SIZE], node[17], purpose[40], via[8];
	uint32_t version;
	int has_note;
} trailers;

static void copy_field(char *dst, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void parse_trailers(trailers *t, const char *msg)
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
			if (IS("Action"))       copy_field(t->action, sizeof t->action, val, vlen);
			else if (IS("Actor"))   copy_field(t->actor, sizeof t->actor, val, vlen);
			else if (IS("Target"))  copy_field(t->target, sizeof t->target, val, vlen);
			else if (IS("Case"))    copy_field(t->case_code, sizeof t->case_code, val, vlen);
			else if (IS("Node"))    copy_field(t->node, sizeof t->node, val, vlen);
			else if (IS("Purpose")) copy_field(t->purpose, sizeof t->purpose, val, vlen);
			else if (IS("Purpose-Note")) t->has_note = 1;
			else if (IS("Via"))     copy_field(t->via, sizeof t->via, val, vlen);
			else if (IS("Version")) t->version = (uint32_t)strtoul(val, NULL, 10);
#undef IS
		}
		s = e ? e + 1 : s + len;
	}
}

/* The chain from genesis to head, oldest first (malloc'd). */
static int chain_collect(git_oid **out, size_t *n_out, char *bad, vault *v, MDB_txn *txn)
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
	if ((error = chain_collect(&ids, &n, NULL, v, txn)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		git_commit *c = NULL;
		vault_event_info info;
		char hex[VAULT_OID_SIZE], subject[200];
		trailers t;
		const char *summary;

		if (git_commit_lookup(&c, v->repo, &ids[i]) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "event %zu of the history cannot be read", i);
			goto done;
		}
		parse_trailers(&t, git_commit_message(c));
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

/* ---- verification ------------------------------------------------------- */

/* What the policy in one tree says about a user or a case. */
typedef struct {
	int found;
	vault_role_t role;
	int active;
	unsigned char pk[32];
} policy_user;

static int tree_blob(vault_buf *out, git_tree *tree, const char *path, vault *v)
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

/* Value of "key VALUE" lines; NULL if absent. Points into `text`. */
static const char *field(const char *text, const char *key, size_t *len)
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

static int policy_user_get(policy_user *out, git_tree *tree, const char *name, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	const char *s;
	size_t len;
	int error;

	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "policy/users/%s", name);
	error = tree_blob(&b, tree, path, v);
	if (error == VAULT_ENOTFOUND) {
		error = 0;
		goto done;
	}
	if (error < 0)
		goto done;
	out->found = 1;
	if ((s = field(b.ptr, "role", &len)) != NULL) {
		char role[16];
		copy_field(role, sizeof role, s, len);
		vault_role_parse(&out->role, role);
	}
	s = field(b.ptr, "status", &len);
	out->active = s && len == 6 && !memcmp(s, "active", 6);
	if ((s = field(b.ptr, "key", &len)) == NULL ||
	    vault_sshsig__parse_publine(out->pk, s, len) < 0)
		error = vault_error_set(VAULT_ECORRUPT, "policy of user '%s' holds no valid key", name);
done:
	vault_buf_dispose(&b);
	return error;
}

/* 2: rw member, 1: ro member, 0: not a member. */
static int policy_membership(int *out, git_tree *tree, const char *code, const char *user, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error;

	*out = 0;
	snprintf(path, sizeof path, "policy/cases/%s", code);
	error = tree_blob(&b, tree, path, v);
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

static const git_oid *subtree_id(git_tree *tree, const char *path, git_tree_entry **hold)
{
	if (git_tree_entry_bypath(hold, tree, path) < 0) {
		*hold = NULL;
		return NULL;
	}
	return git_tree_entry_id(*hold);
}

/* Does the subtree at `path` differ between two trees? */
static int subtree_changed(git_tree *a, git_tree *b, const char *path)
{
	git_tree_entry *ea, *eb;
	const git_oid *ia = subtree_id(a, path, &ea), *ib = subtree_id(b, path, &eb);
	int changed = (ia == NULL) != (ib == NULL) || (ia && !git_oid_equal(ia, ib));

	git_tree_entry_free(ea);
	git_tree_entry_free(eb);
	return changed;
}

static int is_any(const char *a, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(a, *list))
			return 1;
	return 0;
}

static const char *const admin_actions[] = {
	"user-add", "user-disable", "grant", "revoke", "purpose-add", "purpose-require", NULL };
static const char *const content_actions[] = {
	"write", "create", "mkdir", "move", "delete", "restore", "touch", NULL };

/*
 * Split a raw commit into its `gpgsig` signature (continuation lines joined,
 * the leading space removed) and the signed data (the commit without that
 * header). An unsigned commit gives an empty signature.
 */
static int commit_signature(vault_buf *sig, vault_buf *data, vault *v, const git_oid *id)
{
	git_odb_object *obj = NULL;
	const char *s, *end, *hdr_end;
	int error = 0;

	if (git_odb_read(&obj, v->odb, id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "it cannot be read");
	s = git_odb_object_data(obj);
	end = s + git_odb_object_size(obj);
	hdr_end = NULL;
	for (const char *p = s; p + 1 < end; p++)
		if (p[0] == '\n' && p[1] == '\n') {
			hdr_end = p + 1;
			break;
		}
	if (!hdr_end) {
		error = vault_error_set(VAULT_ECORRUPT, "it is not a well-formed commit");
		goto done;
	}
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *next = eol ? eol + 1 : end;

		if (s < hdr_end && (size_t)(hdr_end - s) > 7 && !memcmp(s, "gpgsig ", 7) && !sig->size) {
			vault_buf_put(sig, s + 7, (size_t)(next - s - 7));
			while (next < hdr_end && *next == ' ') {
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
	if (sig->oom || data->oom)
		error = vault_error_set_oom();
done:
	git_odb_object_free(obj);
	return error;
}

/* Check one event against the policy of its parent (or, for genesis, its own tree). */
static int verify_event(vault *v, git_commit *c, git_tree *parent_tree, size_t index)
{
	git_tree *tree = NULL;
	vault_buf sig = VAULT_BUF_INIT, data = VAULT_BUF_INIT;
	const git_signature *author = git_commit_author(c);
	git_tree *policy;
	policy_user pu;
	trailers t;
	int error = 0, member = 0, is_genesis = index == 0;

#define FAIL(...) do { error = vault_error_set(VAULT_ECORRUPT, __VA_ARGS__); goto done; } while (0)
	if (git_commit_tree(&tree, c) < 0)
		FAIL("its tree is missing");
	if (git_commit_parentcount(c) != (is_genesis ? 0u : 1u))
		FAIL("it has %u parents", git_commit_parentcount(c));
	parse_trailers(&t, git_commit_message(c));
	if (!t.action[0] || !t.actor[0])
		FAIL("it names no action or actor");
	if (!author || strcmp(author->name, t.actor))
		FAIL("its author is not its actor '%s'", t.actor);
	if (is_genesis != !strcmp(t.action, "init"))
		FAIL("'init' must be the first event and only the first");

	if (!strcmp(t.action, "unlock-failed")) {
		/* The one unsigned event: it may change nothing. */
		if (!git_oid_equal(git_tree_id(tree), git_tree_id(parent_tree)))
			FAIL("a failed unlock changed the state");
		goto done;
	}
	policy = is_genesis ? tree : parent_tree;
	if ((error = policy_user_get(&pu, policy, t.actor, v)) < 0)
		goto done;
	if (!pu.found)
		FAIL("actor '%s' is not a user at that point", t.actor);
	if (!pu.active)
		FAIL("actor '%s' is disabled at that point", t.actor);
	if ((error = commit_signature(&sig, &data, v, git_commit_id(c))) < 0)
		goto done;
	if (!sig.size)
		FAIL("it is not signed");
	if (vault_sshsig__verify(sig.ptr, sig.size, (unsigned char *)data.ptr, data.size, pu.pk) < 0)
		FAIL("its signature does not verify against the key of '%s'", t.actor);

	if (t.case_code[0] &&
	    (error = policy_membership(&member, parent_tree ? parent_tree : tree, t.case_code, t.actor, v)) < 0)
		goto done;
	if (is_any(t.action, admin_actions) || is_genesis) {
		if (pu.role != VAULT_ROLE_ADMIN)
			FAIL("'%s' is not an admin but recorded '%s'", t.actor, t.action);
		if (!is_genesis && subtree_changed(tree, parent_tree, "nodes"))
			FAIL("policy event '%s' changed documents", t.action);
	} else if (is_any(t.action, content_actions)) {
		if (member != 2)
			FAIL("'%s' is not a read-write member of case '%s'", t.actor, t.case_code);
		if (subtree_changed(tree, parent_tree, "policy"))
			FAIL("document event '%s' changed the policy", t.action);
	} else if (!strcmp(t.action, "read")) {
		if (member == 0)
			FAIL("'%s' is not a member of case '%s'", t.actor, t.case_code);
		if (!git_oid_equal(git_tree_id(tree), git_tree_id(parent_tree)))
			FAIL("a read changed the state");
	} else if (!strcmp(t.action, "rekey")) {
		if (member == 0)
			FAIL("'%s' is not a member of case '%s'", t.actor, t.case_code);
		if (subtree_changed(tree, parent_tree, "nodes") || subtree_changed(tree, parent_tree, "policy/users"))
			FAIL("a rekey changed more than its case");
	} else if (!strcmp(t.action, "case-create")) {
		if (pu.role == VAULT_ROLE_AUDITOR)
			FAIL("auditor '%s' created a case", t.actor);
		if (subtree_changed(tree, parent_tree, "policy/users"))
			FAIL("a case creation changed users");
	} else if (!strcmp(t.action, "passwd") || !strcmp(t.action, "mount") ||
		   !strcmp(t.action, "unmount")) {
		if (!git_oid_equal(git_tree_id(tree), git_tree_id(parent_tree)))
			FAIL("a '%s' event changed the state", t.action);
	} else {
		FAIL("unknown action '%s'", t.action);
	}
#undef FAIL
done:
	vault_buf_dispose(&sig);
	vault_buf_dispose(&data);
	git_tree_free(tree);
	return error;
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* Compare one record's expected tree file with the head tree. */
static int state_entry(vault *v, git_tree *head, const char *path, vault_buf *blob, size_t *count)
{
	git_tree_entry *e = NULL;
	git_oid want;
	int same;

	if (blob->oom)
		return vault_error_set_oom();
	if (git_odb_hash(&want, blob->ptr ? blob->ptr : "", blob->size, GIT_OBJECT_BLOB) < 0)
		return vault__git_error("verify");
	if (git_tree_entry_bypath(&e, head, path) < 0)
		return vault_error_set(VAULT_ECORRUPT, "vault state does not match the history: '%s' is not in the head event", path);
	same = git_oid_equal(&want, git_tree_entry_id(e));
	git_tree_entry_free(e);
	if (!same)
		return vault_error_set(VAULT_ECORRUPT, "vault state does not match the history: record '%s' differs from the head event", path);
	(*count)++;
	return 0;
}

static int count_blobs_cb(const char *root, const git_tree_entry *e, void *payload)
{
	if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
		(*(size_t *)payload)++;
	return 0;
}

/* A file has a record for each of its versions 1..N. */
static int versions_complete(vault *v, MDB_txn *txn, const node_rec *n)
{
	unsigned char k[12];
	MDB_val val;

	be64_put(k, n->id);
	for (uint32_t ver = 1; ver <= n->version; ver++) {
		be32_put(k + 8, ver);
		if (vault_store__get(txn, v->st->versions, k, 12, &val) != 0)
			return vault_error_set(VAULT_ECORRUPT,
				"vault state does not match the history: version %u of node %016llx is missing",
				ver, (unsigned long long)n->id);
	}
	return 0;
}

static int verify_state(vault *v, MDB_txn *txn, git_tree *head)
{
	vault_buf b = VAULT_BUF_INIT;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	size_t have = 0, want = 0;
	char path[80];
	int rc, error = 0;

	/* users */
	if ((rc = mdb_cursor_open(txn, v->st->users, &cur)) != 0)
		return vault_store__error(rc, "verify");
	while (error == 0 && mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		char name[VAULT_NAME_MAX + 1];
		user_rec u;
		if (k.mv_size == 0 || k.mv_size > VAULT_NAME_MAX) {
			error = vault_error_set(VAULT_ECORRUPT, "vault state holds a user record with a bad name");
			break;
		}
		copy_field(name, sizeof name, k.mv_data, k.mv_size);
		vault_buf_clear(&b);
		if ((error = vault_user__get(&u, txn, v, name)) < 0 ||
		    (error = vault_blob__user(&b, name, &u)) < 0)
			break;
		snprintf(path, sizeof path, "policy/users/%s", name);
		error = state_entry(v, head, path, &b, &have);
	}
	mdb_cursor_close(cur);
	cur = NULL;
	/* cases */
	if (error == 0 && (rc = mdb_cursor_open(txn, v->st->cases, &cur)) != 0)
		error = vault_store__error(rc, "verify");
	while (error == 0 && mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		char code[VAULT_CODE_SIZE];
		case_rec c;
		copy_field(code, sizeof code, k.mv_data, k.mv_size);
		vault_buf_clear(&b);
		if ((error = vault_case__get(&c, txn, v, code)) < 0)
			break;
		error = vault_blob__case(&b, &c);
		vault_case__dispose(&c);
		snprintf(path, sizeof path, "policy/cases/%s", code);
		if (error == 0)
			error = state_entry(v, head, path, &b, &have);
	}
	mdb_cursor_close(cur);
	cur = NULL;
	/* nodes */
	if (error == 0 && (rc = mdb_cursor_open(txn, v->st->nodes, &cur)) != 0)
		error = vault_store__error(rc, "verify");
	while (error == 0 && mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		node_rec n;
		if (k.mv_size != 8) {
			error = vault_error_set(VAULT_ECORRUPT, "vault state holds a node record with a bad id");
			break;
		}
		vault_buf_clear(&b);
		if ((error = vault_node__get(&n, txn, v, be64_get(k.mv_data))) < 0 ||
		    (error = vault_blob__node(&b, &n)) < 0)
			break;
		vault_node_path(path, n.id);
		if ((error = state_entry(v, head, path, &b, &have)) == 0 && n.type == NODE_FILE)
			error = versions_complete(v, txn, &n);
	}
	mdb_cursor_close(cur);
	/* settings */
	if (error == 0) {
		vault_buf_clear(&b);
		if ((error = vault_blob__settings(&b, v, txn)) == 0)
			error = state_entry(v, head, "policy/settings", &b, &have);
	}
	if (error == 0) {
		git_tree_walk(head, GIT_TREEWALK_PRE, count_blobs_cb, &want);
		if (want != have)
			error = vault_error_set(VAULT_ECORRUPT,
				"vault state does not match the history: the head event lists %zu objects, the vault holds %zu",
				want, have);
	}
	vault_buf_dispose(&b);
	return error;
}

static int verify_versions(vault_verify_result *res, vault *v, MDB_txn *txn,
	const git_oid *sorted, size_t n)
{
	vault_buf b = VAULT_BUF_INIT;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(txn, v->st->versions, &cur)) != 0)
		return vault_store__error(rc, "verify");
	while (error == 0 && (rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		uint64_t node;
		uint32_t ver;
		version_rec r;
		unsigned char want[32];
		git_commit *c = NULL;
		git_tree *tree = NULL;
		git_oid oid;
		char path[64], hex[65];
		const char *s;
		size_t len;

		if (k.mv_size != 12) {
			error = vault_error_set(VAULT_ECORRUPT, "a version record has a bad key");
			break;
		}
		node = be64_get(k.mv_data);
		ver = be32_get((unsigned char *)k.mv_data + 8);
		if ((error = vault_version__get(&r, txn, v, node, ver)) < 0)
			break;
		/* Every block is there, of this node, with the listed tag. */
		for (size_t i = 0; i < r.nblocks && error == 0; i++) {
			unsigned char bk[16];
			MDB_val bv;
			if (r.blocks[i].id == BLOCK_HOLE)
				continue;    /* zeros never written: no record */
			be64_put(bk, node);
			be64_put(bk + 8, r.blocks[i].id);
			if (vault_store__get(txn, v->st->blocks, bk, 16, &bv) < 0 ||
			    bv.mv_size < 1 + 4 + VCRYPTO_OVERHEAD ||
			    bv.mv_size > 1 + 4 + VCRYPTO_OVERHEAD + VAULT_BLOCK_SIZE ||
			    sodium_memcmp((unsigned char *)bv.mv_data + bv.mv_size - VCRYPTO_TAGBYTES,
				r.blocks[i].tag, VCRYPTO_TAGBYTES) != 0)
				error = vault_error_set(VAULT_ECORRUPT,
					"block %llu of node %016llx version %u is missing or does not match its version",
					(unsigned long long)r.blocks[i].id, (unsigned long long)node, ver);
			else
				vault_store__forget((unsigned char *)bv.mv_data + bv.mv_size - VCRYPTO_TAGBYTES,
					VCRYPTO_TAGBYTES);
		}
		vault_version__commitment(want, &r);
		git_oid_fromraw(&oid, r.commit);
		vault_version__dispose(&r);
		if (error)
			break;
		/* The version's event is in the chain and its manifest commits to it. */
		git_oid_tostr(res->bad_commit, sizeof res->bad_commit, &oid);
		if (!bsearch(&oid, sorted, n, sizeof *sorted, oid_cmp) ||
		    git_commit_lookup(&c, v->repo, &oid) < 0 || git_commit_tree(&tree, c) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "version %u of node %016llx names an event that is not in the history",
				ver, (unsigned long long)node);
		} else {
			vault_node_path(path, node);
			if ((error = tree_blob(&b, tree, path, v)) == VAULT_ENOTFOUND)
				error = vault_error_set(VAULT_ECORRUPT, "the event of version %u of node %016llx has no manifest", ver, (unsigned long long)node);
			if (error == 0) {
				sodium_bin2hex(hex, sizeof hex, want, 32);
				s = field(b.ptr, "commitment", &len);
				if (!s || len != 64 || memcmp(s, hex, 64) ||
				    !(s = field(b.ptr, "version", &len)) || strtoul(s, NULL, 10) != ver)
					error = vault_error_set(VAULT_ECORRUPT,
						"version %u of node %016llx does not match the manifest its event signed",
						ver, (unsigned long long)node);
			}
		}
		git_tree_free(tree);
		git_commit_free(c);
		if (error == 0) {
			res->versions++;
			res->bad_commit[0] = '\0';
		}
	}
	mdb_cursor_close(cur);
	vault_buf_dispose(&b);
	return error;
}

int vault_audit_verify(vault_verify_result *res, vault *v, const char *anchor)
{
	MDB_txn *txn = NULL;
	git_oid *ids = NULL, *sorted = NULL, genesis;
	git_tree *parent_tree = NULL, *tree = NULL;
	MDB_val val;
	size_t n = 0;
	int error;

	memset(res, 0, sizeof *res);
	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	vault_store__cur = txn;
	if ((error = chain_collect(&ids, &n, res->bad_commit, v, txn)) < 0)
		goto done;
	if ((error = vault__meta_get(&val, txn, v, "genesis")) < 0 || val.mv_size != 20) {
		error = vault_error_set(VAULT_ECORRUPT, "the vault has no valid genesis record");
		goto done;
	}
	git_oid_fromraw(&genesis, val.mv_data);
	if (!git_oid_equal(&genesis, &ids[0])) {
		git_oid_tostr(res->bad_commit, sizeof res->bad_commit, &ids[0]);
		error = vault_error_set(VAULT_ECORRUPT, "the history does not start at the genesis event (it starts at %s)", res->bad_commit);
		goto done;
	}
	if (anchor) {
		git_oid a;
		size_t i;
		if (git_oid_fromstrp(&a, anchor) < 0 || strlen(anchor) != 40) {
			error = vault_error_set(VAULT_EUSAGE, "'%s' is not a commit id", anchor);
			goto done;
		}
		for (i = 0; i < n && !git_oid_equal(&a, &ids[i]); i++)
			;
		if (i == n) {
			error = vault_error_set(VAULT_ECORRUPT, "anchor %s is not in the history", anchor);
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		git_commit *c = NULL;

		if (git_commit_lookup(&c, v->repo, &ids[i]) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "it cannot be read");
		} else {
			error = verify_event(v, c, parent_tree, i);
			git_tree_free(parent_tree);
			parent_tree = NULL;
			if (git_commit_tree(&parent_tree, c) < 0 && error == 0)
				error = vault_error_set(VAULT_ECORRUPT, "its tree is missing");
		}
		git_commit_free(c);
		if (error < 0) {
			char msg[400];
			git_oid_tostr(res->bad_commit, sizeof res->bad_commit, &ids[i]);
			snprintf(msg, sizeof msg, "%s", vault_error_last()->message);
			error = vault_error_set(VAULT_ECORRUPT, "event %zu (%s) does not verify: %s", i + 1, res->bad_commit, msg);
			goto done;
		}
		res->events++;
	}
	if ((error = verify_state(v, txn, parent_tree)) < 0) {
		git_oid_tostr(res->bad_commit, sizeof res->bad_commit, &ids[n - 1]);
		goto done;
	}
	if ((sorted = malloc(n * sizeof *sorted)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	memcpy(sorted, ids, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, oid_cmp);
	error = verify_versions(res, v, txn, sorted, n);
done:
	git_tree_free(parent_tree);
	git_tree_free(tree);
	free(ids);
	free(sorted);
	vault_store__cur = NULL;
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- export to a stock git repository ----------------------------------- */

typedef struct {
	git_repository *repo;            /* the vault's history */
	git_odb *from, *to;
	uint64_t written;
} copier;

/* Copy one object (and, for a tree, what it names) unless `to` has it.
 * Children go first, so a tree that is there is there whole. */
static int copy_object(copier *c, const git_oid *id)
{
	git_odb_object *obj = NULL;
	git_tree *tree = NULL;
	git_oid out;
	int error = 0;

	if (git_odb_exists(c->to, id))
		return 0;
	if (git_odb_read(&obj, c->from, id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "history object %s cannot be read", git_oid_tostr_s(id));
	if (git_odb_object_type(obj) == GIT_OBJECT_TREE) {
		git_odb_object_free(obj);
		obj = NULL;
		if (git_tree_lookup(&tree, c->repo, id) < 0) {
			error = vault__git_error("export");
			goto done;
		}
		for (size_t i = 0; i < git_tree_entrycount(tree) && error == 0; i++)
			error = copy_object(c, git_tree_entry_id(git_tree_entry_byindex(tree, i)));
		if (error < 0)
			goto done;
		if (git_odb_read(&obj, c->from, id) < 0) {
			error = vault__git_error("export");
			goto done;
		}
	}
	if (git_odb_write(&out, c->to, git_odb_object_data(obj), git_odb_object_size(obj),
			git_odb_object_type(obj)) < 0) {
		error = vault__git_error("export");
		goto done;
	}
	c->written++;
done:
	git_tree_free(tree);
	git_odb_object_free(obj);
	return error;
}

/* allowed_signers for stock git: every user's key, as NAME@VAULT-ID. */
static int signers_text(vault_buf *out, vault *v, git_tree *head)
{
	git_tree_entry *users = NULL;
	git_tree *t = NULL;
	vault_buf blob = VAULT_BUF_INIT;
	int error = 0;

	if (git_tree_entry_bypath(&users, head, "policy/users") < 0 ||
	    git_tree_lookup(&t, v->repo, git_tree_entry_id(users)) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the head event lists no users");
		goto done;
	}
	for (size_t i = 0; i < git_tree_entrycount(t) && error == 0; i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(t, i));
		char path[80];
		const char *key;
		size_t len;

		snprintf(path, sizeof path, "policy/users/%s", name);
		if ((error = tree_blob(&blob, head, path, v)) < 0)
			break;
		if ((key = field(blob.ptr, "key", &len)) == NULL) {
			error = vault_error_set(VAULT_ECORRUPT, "user '%s' has no key in the head event", name);
			break;
		}
		vault_buf_printf(out, "%s@%s namespaces=\"git\" %.*s\n", name, v->id, (int)len, key);
	}
	if (error == 0 && out->oom)
		error = vault_error_set_oom();
done:
	vault_buf_dispose(&blob);
	git_tree_free(t);
	git_tree_entry_free(users);
	return error;
}

/* Write `text` to DIR/NAME unless it already holds exactly that. */
static int write_if_changed(const char *dir, const char *name, const vault_buf *text, int *changed)
{
	char path[4200], *old = NULL;
	FILE *f;
	long n = -1;
	int error = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (size_t)n == text->size &&
		    (old = malloc((size_t)n + 1)) != NULL) {
			rewind(f);
			if (fread(old, 1, (size_t)n, f) != (size_t)n)
				n = -1;
		}
		fclose(f);
		if (old && n >= 0 && (size_t)n == text->size && !memcmp(old, text->ptr, text->size)) {
			free(old);
			return 0;
		}
		free(old);
	}
	if ((f = fopen(path, "wb")) == NULL || fwrite(text->ptr, 1, text->size, f) != text->size)
		error = vault_error_set(VAULT_ERROR, "cannot write '%s'", path);
	if (f && fclose(f) != 0 && error == 0)
		error = vault_error_set(VAULT_ERROR, "cannot write '%s'", path);
	*changed = 1;
	return error;
}

static int dir_missing_or_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return errno == ENOENT;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Set a config value unless it is already so (an unchanged export writes nothing). */
static int config_ensure(git_config *cfg, const char *name, const char *value, int *changed)
{
	git_buf have = { NULL, 0, 0 };
	int same = git_config_get_string_buf(&have, cfg, name) == 0 && !strcmp(have.ptr, value);

	git_buf_dispose(&have);
	if (same)
		return 0;
	*changed = 1;
	return git_config_set_string(cfg, name, value);
}

int vault_audit_export(vault_export_result *res, vault *v, const char *dir)
{
	MDB_txn *txn = NULL;
	git_repository *repo = NULL;
	git_reference *ref = NULL, *out_ref = NULL;
	git_config *cfg = NULL;
	git_commit *head = NULL;
	git_tree *head_tree = NULL;
	git_oid *ids = NULL;
	vault_buf signers = VAULT_BUF_INIT;
	copier c = { v->repo, v->odb, NULL, 0 };
	char abs[4096], signers_path[4200];
	size_t n = 0, start = 0;
	int error, changed = 0;

	memset(res, 0, sizeof *res);
	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	vault_store__cur = txn;
	if ((error = chain_collect(&ids, &n, NULL, v, txn)) < 0)
		goto done;
	/* An existing repository, or a new bare one in a missing or empty
	 * directory (never in one that holds anything else). */
	if (git_repository_open_bare(&repo, dir) < 0) {
		if (!dir_missing_or_empty(dir)) {
			error = vault_error_set(VAULT_EEXISTS,
				"'%s' is not a git repository and is not empty", dir);
			goto done;
		}
		if (git_repository_init(&repo, dir, 1) < 0) {
			error = vault_error_set(VAULT_ERROR, "'%s' is not a git repository and cannot become one: %s",
				dir, git_error_last() ? git_error_last()->message : "unknown error");
			goto done;
		}
		changed = 1;
	}
	if (realpath(git_repository_path(repo), abs) == NULL) {
		error = vault_error_set(VAULT_ERROR, "cannot resolve '%s'", dir);
		goto done;
	}
	if (git_repository_odb(&c.to, repo) < 0) {
		error = vault__git_error("export");
		goto done;
	}
	/* What is there already must be a beginning of this history. */
	if (git_reference_lookup(&ref, repo, "refs/heads/audit") == 0) {
		const git_oid *there = git_reference_target(ref);
		for (start = 0; start < n && !git_oid_equal(&ids[start], there); start++)
			;
		if (start == n) {
			git_oid_tostr(res->diverged, sizeof res->diverged, there);
			error = vault_error_set(VAULT_ECORRUPT,
				"'%s' holds a history (audit at %s) that is not a beginning of this vault's",
				dir, res->diverged);
			goto done;
		}
		start++;
	}
	for (size_t i = start; i < n; i++) {
		git_commit *commit = NULL;
		if (git_commit_lookup(&commit, v->repo, &ids[i]) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "event %s cannot be read", git_oid_tostr_s(&ids[i]));
			goto done;
		}
		error = copy_object(&c, git_commit_tree_id(commit));
		git_commit_free(commit);
		if (error < 0 || (error = copy_object(&c, &ids[i])) < 0)
			goto done;
		res->commits++;
	}
	res->objects = c.written;
	if (start < n) {
		if (git_reference_create(&out_ref, repo, "refs/heads/audit", &ids[n - 1], 1,
				"casevault audit export") < 0 ||
		    git_repository_set_head(repo, "refs/heads/audit") < 0) {
			error = vault__git_error("export");
			goto done;
		}
		changed = 1;
	}
	/* allowed_signers beside it, and the config that points stock git at it. */
	if (git_commit_lookup(&head, v->repo, &ids[n - 1]) < 0 || git_commit_tree(&head_tree, head) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the head event cannot be read");
		goto done;
	}
	if ((error = signers_text(&signers, v, head_tree)) < 0 ||
	    (error = write_if_changed(abs, "allowed_signers", &signers, &changed)) < 0)
		goto done;
	snprintf(signers_path, sizeof signers_path, "%s/allowed_signers", abs);
	if (git_repository_config(&cfg, repo) < 0 ||
	    config_ensure(cfg, "gpg.format", "ssh", &changed) < 0 ||
	    config_ensure(cfg, "gpg.ssh.allowedSignersFile", signers_path, &changed) < 0) {
		error = vault__git_error("export");
		goto done;
	}
	res->changed = changed || c.written;
	git_oid_tostr(res->head, sizeof res->head, &ids[n - 1]);
done:
	git_config_free(cfg);
	vault_buf_dispose(&signers);
	git_tree_free(head_tree);
	git_commit_free(head);
	git_reference_free(out_ref);
	git_reference_free(ref);
	git_odb_free(c.to);
	git_repository_free(repo);
	free(ids);
	vault_store__cur = NULL;
	vault_store__abort(v->st, txn);
	return error;
}

/* ---- push to a witness -------------------------------------------------- */

/*
 * The witness's `audit` must be a commit of this chain. Its id and whether
 * it is there (0 when the witness has no `audit` yet).
 */
static int witness_head(git_oid *out, int *found, git_remote *remote)
{
	const git_remote_head **heads;
	size_t n;

	*found = 0;
	if (git_remote_ls(&heads, &n, remote) < 0)
		return vault__git_error("push");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(heads[i]->name, "refs/heads/audit")) {
			*out = heads[i]->oid;
			*found = 1;
		}
	return 0;
}

int vault_audit_push(vault_push_result *res, vault *v, const char *cache, const char *url)
{
	vault_export_result ex;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_remote_callbacks cbs;
	git_push_options popts;
	char *spec = "refs/heads/audit:refs/heads/audit";
	git_strarray specs = { &spec, 1 };
	git_oid there, head;
	int error, found;

	memset(res, 0, sizeof *res);
	git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
	git_push_options_init(&popts, GIT_PUSH_OPTIONS_VERSION);
	/* The history goes out through a local export of it. */
	if ((error = vault_audit_export(&ex, v, cache)) < 0)
		return error;
	git_oid_fromstr(&head, ex.head);
	snprintf(res->head, sizeof res->head, "%s", ex.head);
	if (git_repository_open_bare(&repo, cache) < 0 ||
	    git_remote_create_anonymous(&remote, repo, url) < 0) {
		error = vault__git_error("push");
		goto done;
	}
	if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &cbs, NULL, NULL) < 0) {
		error = vault_error_set(VAULT_ERROR, "cannot reach the witness '%s': %s", url,
			git_error_last() ? git_error_last()->message : "unknown error");
		goto done;
	}
	error = witness_head(&there, &found, remote);
	git_remote_disconnect(remote);
	if (error < 0)
		goto done;
	if (found) {
		git_oid_tostr(res->witness, sizeof res->witness, &there);
		/* Ours must extend what the witness holds: it is in our chain. */
		if (!git_oid_equal(&there, &head) &&
		    git_graph_descendant_of(repo, &head, &there) != 1) {
			error = vault_error_set(VAULT_ECORRUPT,
				"the witness '%s' holds %s, which is not in this vault's history: "
				"one of them was rolled back or rewritten", url, res->witness);
			goto done;
		}
		if (git_oid_equal(&there, &head))
			goto done;       /* up to date */
	}
	if (git_remote_push(remote, &specs, &popts) < 0) {
		error = vault_error_set(VAULT_ERROR, "pushing to the witness '%s' failed: %s", url,
			git_error_last() ? git_error_last()->message : "unknown error");
		goto done;
	}
	res->pushed = 1;
done:
	git_remote_free(remote);
	git_repository_free(repo);
	return error;
}
