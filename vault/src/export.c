/*
 * export — the history as a stock git repository, and the push to a
 * witness.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

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
		if ((error = vault_history__blob(&blob, head, path, v)) < 0)
			break;
		if ((key = vault_history__field(blob.ptr, "key", &len)) == NULL) {
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
	if ((error = vault_history__chain(&ids, &n, NULL, v, txn)) < 0)
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
