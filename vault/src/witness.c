/*
 * witness — the push of the history to a witness, the check of what a
 * witness holds against this chain, and the push the vault makes by
 * itself when its settings name a witness.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2/sys/repository.h>

#include "export.h"
#include "history.h"
#include "hkeys.h"
#include "policy.h"
#include "settings.h"
#include "trust.h"
#include "witness.h"

/*
 * The witness's `audit` must be a commit of this chain. Its id and whether
 * it is there (0 when the witness has no `audit` yet).
 */
static int witness_head(git_oid *out, int *found, git_remote *remote, const char *url)
{
	const git_remote_head **heads;
	size_t n;

	*found = 0;
	if (git_remote_ls(&heads, &n, remote) < 0)
		return vault_error_set(VAULT_ERROR, "cannot list the branches of the witness '%s': %s",
			url, git_error_last() ? git_error_last()->message : "unknown error");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(heads[i]->name, "refs/heads/audit")) {
			*out = heads[i]->oid;
			*found = 1;
		}
	return 0;
}

/* Connect to `url` (any remote git understands, or a directory) and read its `audit`. */
static int witness_read(git_oid *out, int *found, const char *url)
{
	git_remote *remote = NULL;
	git_remote_callbacks cbs;
	int error;

	git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
	if (!url || !*url)
		return vault_error_set(VAULT_EUSAGE, "no witness given");
	/* A local path that is not there: say so, not what libgit2 guesses. */
	if (!strstr(url, "://") && (url[0] == '/' || url[0] == '.' || !strchr(url, ':')) &&
	    access(url, F_OK) != 0)
		return vault_error_set(VAULT_ENOTFOUND, "the witness '%s' does not exist: %s",
			url, strerror(errno));
	if (git_remote_create_detached(&remote, url) < 0)
		return vault_error_set(VAULT_ERROR, "'%s' is not a git remote: %s", url,
			git_error_last() ? git_error_last()->message : "unknown error");
	if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &cbs, NULL, NULL) < 0) {
		error = vault_error_set(VAULT_ERROR, "cannot reach the witness '%s': %s", url,
			git_error_last() ? git_error_last()->message : "unknown error");
		goto done;
	}
	error = witness_head(out, found, remote, url);
	git_remote_disconnect(remote);
done:
	git_remote_free(remote);
	return error;
}

int vault_audit_witness(vault_witness_result *res, vault *v, const char *url)
{
	git_oid there;
	int error;

	memset(res, 0, sizeof *res);
	if ((error = witness_read(&there, &res->found, url)) < 0 || !res->found)
		return error;
	git_oid_tostr(res->witness, sizeof res->witness, &there);
	return vault_export__behind(&res->behind, v, &there, url);
}

/* The head, once the gate has verified the history up to it. */
static int verified_head(git_oid *out, vault *v)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	int error;

	if ((error = vault_hkeys__require(v)) < 0 || (error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	if ((error = vault_trust__gate(v, txn)) == 0) {
		error = vault_meta__get(&val, txn, v, "head");
		if (error == VAULT_ENOTFOUND || (error == 0 && val.mv_size != 20))
			error = vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	}
	if (error == 0)
		git_oid_fromraw(out, val.mv_data);
	vault_store__abort(v->st, txn);
	return error;
}

/*
 * The repository a push reads: its objects are the vault's own (`v->odb`,
 * decrypted one by one as the pack is made), and on disk, at `refs`, only
 * its references (the head's id): nothing of the history is ever written
 * there in plain (format 6 kept a plain export of the whole history in
 * VAULT/audit.git).
 */
static int push_repo(git_repository **out, vault *v, const char *refs, const git_oid *head)
{
	git_repository *repo = NULL;
	git_reference *ref = NULL;
	int error = 0;

	*out = NULL;
	if (git_repository_open_bare(&repo, refs) < 0 && git_repository_init(&repo, refs, 1) < 0)
		return vault_error_git("push");
	if (git_repository_set_odb(repo, v->odb) < 0 ||
	    git_reference_create(&ref, repo, "refs/heads/audit", head, 1, NULL) < 0)
		error = vault_error_git("push");
	git_reference_free(ref);
	if (error < 0)
		git_repository_free(repo);
	else
		*out = repo;
	return error;
}

int vault_audit_push(vault_push_result *res, vault *v, const char *cache, const char *url)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_push_options popts;
	char *spec = "refs/heads/audit:refs/heads/audit";
	git_strarray specs = { &spec, 1 };
	git_oid there, head;
	uint64_t behind;
	int error, found;

	memset(res, 0, sizeof *res);
	git_push_options_init(&popts, GIT_PUSH_OPTIONS_VERSION);
	/* What the witness holds must be ours, before anything is written. */
	if ((error = witness_read(&there, &found, url)) < 0)
		return error;
	if (found) {
		git_oid_tostr(res->witness, sizeof res->witness, &there);
		if ((error = vault_export__behind(&behind, v, &there, url)) < 0)
			return error;
	}
	/* The history goes out of the vault's own objects: a verified head. */
	if ((error = verified_head(&head, v)) < 0)
		return error;
	git_oid_tostr(res->head, sizeof res->head, &head);
	if (found && git_oid_equal(&there, &head))
		return 0;        /* up to date */
	if ((error = push_repo(&repo, v, cache, &head)) < 0)
		return error;
	if (git_remote_create_anonymous(&remote, repo, url) < 0) {
		error = vault_error_git("push");
		goto done;
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

/* ---- the automatic push ---------------------------------------------------- */

/* Events of the chain at the last attempt: only what triggers the next. */
static uint64_t last_attempt(vault *v, MDB_txn *txn)
{
	MDB_val val;

	if (vault_meta__get(&val, txn, v, "witness-at") < 0 || val.mv_size != 8)
		return 0;
	return be64_get(val.mv_data);
}

static int note_attempt(vault *v, uint64_t events)
{
	unsigned char n[8];
	MDB_txn *txn = NULL;
	int error;

	be64_put(n, events);
	if ((error = vault_store__begin(&txn, v->st, 1)) < 0)
		return error;
	if ((error = vault_meta__put(txn, v, "witness-at", n, sizeof n)) < 0) {
		vault_store__abort(v->st, txn);
		return error;
	}
	return vault_store__commit(v->st, txn);
}

static int failed_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	(void)ev, (void)v, (void)txn, (void)payload;
	return 0;
}

int vault_witness_auto(vault_push_result *res, vault *v, int force)
{
	char url[VAULT_WITNESS_URL_MAX + 1], cache[sizeof v->dir + 16];
	vault_error_kept why;
	vault_trust_point t;
	MDB_txn *txn = NULL;
	uint64_t every = 0, at;
	int error;

	memset(res, 0, sizeof *res);
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	/* The head this would push, and the settings, verified first. */
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	if ((error = vault_trust__gate(v, txn)) == 0)
		error = vault_settings__witness(url, &every, txn, v);
	at = last_attempt(v, txn);
	vault_store__abort(v->st, txn);
	vault_trust__save(&t, v);
	/* A count above the chain's was not written by an honest attempt. */
	if (at > t.events)
		at = 0;
	if (error < 0 || !url[0] || !t.set || (!force && t.events < at + every))
		return error;
	snprintf(cache, sizeof cache, "%s/audit.git", v->dir);
	if ((error = vault_audit_push(res, v, cache, url)) == 0)
		return note_attempt(v, t.events);
	/* A failed push loses nothing: it is said, recorded, and tried again
	 * after as many events. */
	vault_error_keep(&why);
	note_attempt(v, t.events);
	vault_policy__run(v, "witness-failed", failed_fn, NULL);
	return vault_error_put(error, &why);
}

/* ---- what a witness holds after a head ------------------------------------ */

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* Events reachable from `there` and not from `head`, in `repo`. */
static int count_after(uint64_t *later, int *found, git_repository *repo, const git_oid *there,
	const git_oid *head)
{
	git_revwalk *walk = NULL;
	git_commit *c = NULL;
	git_oid id;
	int error = 0;

	*later = 0;
	*found = 0;
	if (git_commit_lookup(&c, repo, head) < 0)
		return 0;                 /* the witness lacks our head */
	git_commit_free(c);
	if (git_revwalk_new(&walk, repo) < 0 || git_revwalk_push(walk, there) < 0 ||
	    git_revwalk_hide(walk, head) < 0) {
		error = vault_error_git("count the witness's events");
		goto done;
	}
	while (git_revwalk_next(&id, walk) == 0)
		(*later)++;
	/* Our head must be below the witness's: else the two forked. */
	*found = git_graph_descendant_of(repo, there, head) == 1 || git_oid_equal(there, head);
done:
	git_revwalk_free(walk);
	return error;
}

int vault_witness__later(uint64_t *later, int *found, char url[VAULT_WITNESS_URL_MAX + 1], vault *v,
	const git_oid *head)
{
	char tmp[sizeof v->dir + 32], *spec = "refs/heads/audit:refs/heads/audit";
	git_strarray specs = { &spec, 1 };
	git_fetch_options fo;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	MDB_txn *txn = NULL;
	uint64_t every;
	git_oid there;
	int error;

	*later = 0;
	*found = 0;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	if ((error = vault_trust__gate(v, txn)) == 0)
		error = vault_settings__witness(url, &every, txn, v);
	vault_store__abort(v->st, txn);
	if (error < 0 || !url[0])
		return error;
	snprintf(tmp, sizeof tmp, "%s/.witness.XXXXXX", v->dir);
	if (mkdtemp(tmp) == NULL)
		return vault_error_set(VAULT_ERROR, "cannot make a directory in '%s': %s", v->dir,
			strerror(errno));
	if (git_repository_init(&repo, tmp, 1) < 0 ||
	    git_remote_create_anonymous(&remote, repo, url) < 0) {
		error = vault_error_git("read the witness");
		goto done;
	}
	if (git_remote_fetch(remote, &specs, &fo, NULL) < 0) {
		error = vault_error_set(VAULT_ERROR, "cannot read the witness '%s': %s", url,
			git_error_last() ? git_error_last()->message : "unknown error");
		goto done;
	}
	if (git_reference_name_to_id(&there, repo, "refs/heads/audit") < 0)
		goto done;                /* no history there yet */
	error = count_after(later, found, repo, &there, head);
done:
	git_remote_free(remote);
	git_repository_free(repo);
	nftw(tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return error;
}
