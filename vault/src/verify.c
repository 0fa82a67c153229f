/*
 * verify — replay the whole history: every signature against the actor's
 * key in the policy before it, every action against the actor's role and
 * membership, every tree change against its action; then the LMDB state
 * against the head tree and every version against its manifest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "sshsig.h"

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
	vault_policy_user pu;
	vault_trailers t;
	int error = 0, member = 0, is_genesis = index == 0;

#define FAIL(...) do { error = vault_error_set(VAULT_ECORRUPT, __VA_ARGS__); goto done; } while (0)
	if (git_commit_tree(&tree, c) < 0)
		FAIL("its tree is missing");
	if (git_commit_parentcount(c) != (is_genesis ? 0u : 1u))
		FAIL("it has %u parents", git_commit_parentcount(c));
	vault_history__trailers(&t, git_commit_message(c));
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
	if ((error = vault_history__user(&pu, policy, t.actor, v)) < 0)
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
	    (error = vault_history__membership(&member, parent_tree ? parent_tree : tree, t.case_code, t.actor, v)) < 0)
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
		vault_history__copy(name, sizeof name, k.mv_data, k.mv_size);
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
		vault_history__copy(code, sizeof code, k.mv_data, k.mv_size);
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
			if ((error = vault_history__blob(&b, tree, path, v)) == VAULT_ENOTFOUND)
				error = vault_error_set(VAULT_ECORRUPT, "the event of version %u of node %016llx has no manifest", ver, (unsigned long long)node);
			if (error == 0) {
				sodium_bin2hex(hex, sizeof hex, want, 32);
				s = vault_history__field(b.ptr, "commitment", &len);
				if (!s || len != 64 || memcmp(s, hex, 64) ||
				    !(s = vault_history__field(b.ptr, "version", &len)) || strtoul(s, NULL, 10) != ver)
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
	vault_verify_options opts = { anchor, NULL, NULL, 0 };

	return vault_audit_verify_with(res, v, &opts);
}

int vault_audit_verify_with(vault_verify_result *res, vault *v, const vault_verify_options *opts)
{
	const char *anchor = opts ? opts->anchor : NULL;
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
	if ((error = vault_history__chain(&ids, &n, res->bad_commit, v, txn)) < 0)
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

