/*
 * event — events as signed git commits on the LMDB object database, and
 * the runner every event goes through (see event.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "event.h"
#include "sshsig.h"
#include "trust.h"
#include "hkeys.h"

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

static int git_fail(vault *v, const char *what)
{
	if (vault_store__last_rc) {
		int rc = vault_store__last_rc;
		vault_store__last_rc = 0;
		return vault_store__error(rc, what);
	}
	return vault_error_git(what);
}

static int add_update(vault_event *ev, vault *v, MDB_txn *txn, const char *path, vault_buf *blob)
{
	git_oid oid;
	size_t i;

	if (blob->oom)
		return vault_error_set_oom();
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

/* Record `path`'s new file `b` in the event, unless making it failed. */
static int touch(vault_event *ev, vault *v, MDB_txn *txn, const char *path, vault_buf *b, int error)
{
	if (error == 0)
		error = add_update(ev, v, txn, path, b);
	vault_buf_dispose(b);
	return error;
}

/* The stored record's file goes in the event's tree. */
static int touch_stored(vault_event *ev, vault *v, MDB_txn *txn, int kind, const char *name,
	uint64_t id)
{
	vault_buf b = VAULT_BUF_INIT;
	char path[64];
	int error = vault_blob__stored(&b, path, txn, v, kind, name, id);

	return touch(ev, v, txn, path, &b, error);
}

int vault_event__touch_user(vault_event *ev, vault *v, MDB_txn *txn, const char *name)
{
	return touch_stored(ev, v, txn, VAULT_REC_USER, name, 0);
}

int vault_event__touch_case(vault_event *ev, vault *v, MDB_txn *txn, const char *code)
{
	return touch_stored(ev, v, txn, VAULT_REC_CASE, code, 0);
}

int vault_event__touch_node(vault_event *ev, vault *v, MDB_txn *txn, uint64_t id)
{
	return touch_stored(ev, v, txn, VAULT_REC_NODE, NULL, id);
}

int vault_event__touch_settings(vault_event *ev, vault *v, MDB_txn *txn)
{
	vault_buf b = VAULT_BUF_INIT;

	return touch(ev, v, txn, VAULT_SETTINGS_PATH, &b, vault_blob__settings(&b, v, txn));
}

int vault_event__seal_note(vault_event *ev, vault *v, MDB_txn *txn, const char *note)
{
	MDB_val pk;
	unsigned char *sealed;
	size_t len = strlen(note), b64len;
	int error;

	if (len > 1024)
		return vault_error_set(VAULT_EUSAGE, "purpose note is longer than 1024 bytes");
	if ((error = vault_meta__get(&pk, txn, v, "audit-pk")) < 0 || pk.mv_size != 32)
		return error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "audit key record is damaged");
	/* Seal only to the audit key the signed history names: the settings
	 * record (which holds it) must be the head event's. */
	if ((error = vault_event__settings_trusted(v, txn)) < 0)
		return error;
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
	if (ev->at)
		vault_buf_printf(m, "At: %s\n", ev->at);
	if (ev->snapshot)
		vault_buf_printf(m, "Snapshot: %s\n", ev->snapshot);
	if (ev->proof)
		vault_buf_printf(m, "Enrol-Proof: %s\n", ev->proof);
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

/*
 * The writer's half of the action table (action.h): the event's updates
 * against the state before it. *changed says whether any record changes;
 * a change the action may not make is refused here, before anything is
 * signed, so the writer never records an event that verify rejects.
 */
static int check_updates(int *changed, vault *v, const vault_action *a, const vault_event *ev,
	const git_oid *base)
{
	git_oid have;
	unsigned int mode;
	char own[64] = "";
	int error, folder, own_new = -1;   /* does it create its node? looked up if asked */

	*changed = 0;
	/* A user's own keys are their own event: no one records another's. */
	if (a->kind == VAULT_ACTION_SELF && strcmp(ev->target, v->user))
		return vault_error_set(VAULT_ERROR, "event '%s' of '%s' recorded by '%s'", a->name,
			ev->target, v->user);
	if (a->kind == VAULT_ACTION_CONTENT && ev->node)
		vault_node__path(own, ev->node);
	for (size_t i = 0; i < ev->nupdates; i++) {
		const git_tree_update *u = &ev->updates[i];
		error = vault_trees__entry(&have, &mode, v, base, u->path);
		if (error == VAULT_ENOTFOUND) {
			*changed = 1;
			if (a->creates)
				continue;
			return vault_error_set(VAULT_ERROR, "event '%s' would create %s, which it may not",
				a->name, u->path);
		}
		if (error < 0)
			return error;
		if (git_oid_equal(&have, &u->id))
			continue;
		*changed = 1;
		/* A document event's other records are the folders it changed. */
		folder = own[0] && strcmp(u->path, own);
		if (folder && own_new < 0) {
			git_oid o;
			if ((error = vault_trees__entry(&o, &mode, v, base, own)) < 0 && error != VAULT_ENOTFOUND)
				return error;
			own_new = error == VAULT_ENOTFOUND;
		}
		if ((folder ? vault_action__check_folder(v, a, &have, &u->id, own_new, u->path) :
		     vault_action__check_record(v, a, &have, &u->id, ev->target, u->path)) < 0) {
			return vault_error_wrap(VAULT_ERROR, "event not recorded");
		}
	}
	if (*changed && a->kind == VAULT_ACTION_STILL)
		return vault_error_set(VAULT_ERROR, "event '%s' may change nothing, and would", a->name);
	return 0;
}

int vault_event__append(git_oid *out, vault_event *ev, vault *v, MDB_txn *txn, int64_t when)
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

	if (signed_event && !v->unlocked)
		return vault_error_set(VAULT_EAUTH, "no user is unlocked to sign event '%s'", ev->action);
	actor = signed_event ? v->user : ev->target;

	error = vault_meta__get(&val, txn, v, "head");
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
		if ((error = vault_trees__update(&tree_oid, v, git_tree_id(base), ev->updates,
				ev->nupdates)) < 0) {
			if (vault_store__last_rc)
				error = git_fail(v, "write history");
			goto done;
		}
		if (git_tree_lookup(&tree, v->repo, &tree_oid) < 0) {
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
	error = vault_meta__put(txn, v, "head", out->id, 20);
done:
	git_buf_dispose(&raw);
	vault_buf_dispose(&msg);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	return error;
}

int vault_event__commit(git_oid *out, vault_event *ev, vault *v, MDB_txn *txn, int64_t when)
{
	const vault_action *act = vault_action__find(ev->action);
	git_oid head, base;
	MDB_val val;
	int error, changed;

	if (act == NULL)
		return vault_error_set(VAULT_ERROR, "event '%s' is not in the action table", ev->action);
	error = vault_meta__get(&val, txn, v, "head");
	if (error == 0 && val.mv_size == 20) {
		git_oid_fromraw(&head, val.mv_data);
		if ((error = vault_trees__commit_tree(&base, v, &head)) < 0)
			return error;
		if ((error = check_updates(&changed, v, act, ev, &base)) < 0)
			return error;
		if (!changed && act->must_change)
			return 1;        /* it changes nothing: no event */
	} else if (error != VAULT_ENOTFOUND) {
		return error < 0 ? error : vault_error_set(VAULT_ECORRUPT, "the head record is damaged");
	}
	return vault_event__append(out, ev, v, txn, when);
}

int vault_event__settings_trusted(vault *v, MDB_txn *txn)
{
	vault_buf b = VAULT_BUF_INIT;
	int error;

	if ((error = vault_blob__settings(&b, v, txn)) == 0)
		error = vault_event__matches_head(v, txn, VAULT_SETTINGS_PATH, &b);
	vault_buf_dispose(&b);
	return error;
}

int vault_event__matches_head(vault *v, MDB_txn *txn, const char *path, const vault_buf *blob)
{
	git_oid head, tree, want, have;
	unsigned int mode;
	MDB_val val;
	int error;

	/* Outside an event (the mount's opens), the head may be under a
	 * generation of the history key that another process started. */
	if ((error = vault_hkeys__refresh(v, txn)) < 0)
		return error;
	if ((error = vault_meta__get(&val, txn, v, "head")) < 0 || val.mv_size != 20)
		return vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	if (blob->oom)
		return vault_error_set_oom();
	git_oid_fromraw(&head, val.mv_data);
	if (git_odb_hash(&want, blob->ptr ? blob->ptr : "", blob->size, GIT_OBJECT_BLOB) < 0)
		return vault_error_git("hash a history file");
	if ((error = vault_trees__commit_tree(&tree, v, &head)) < 0)
		return error;
	error = vault_trees__entry(&have, &mode, v, &tree, path);
	if (error == VAULT_ENOTFOUND || (error == 0 && !git_oid_equal(&want, &have)))
		error = vault_error_set(VAULT_ECORRUPT,
			"record '%s' does not match the signed history (run 'casevault audit verify')", path);
	return error;
}


/* ---- the runner ---------------------------------------------------------- */

#define BATCH_MAX 64

/* One queued event, on the stack of the thread that waits for it. */
struct vault_event_job {
	struct vault_event_job *next;
	const char *action;
	vault_event_fn fn;
	vault_event_post_fn post;
	void *payload;
	int done, error;
	vault_error_kept why;
};

void vault_event__group_init(vault *v)
{
	pthread_mutex_init(&v->gc_lock, NULL);
	pthread_cond_init(&v->gc_cond, NULL);
	v->gc_head = v->gc_tail = NULL;
	v->gc_leading = 0;
}

void vault_event__group_dispose(vault *v)
{
	pthread_mutex_destroy(&v->gc_lock);
	pthread_cond_destroy(&v->gc_cond);
}

/* The event's function, its signed commit and its post step, in `txn`,
 * which is the current transaction meanwhile (and only meanwhile). */
static int job_run(struct vault_event_job *j, vault *v, MDB_txn *txn)
{
	vault_event ev;
	git_oid oid;
	int error;

	vault_event__init(&ev, j->action);
	vault_store__cur = txn;
	if ((error = j->fn(&ev, v, txn, j->payload)) == 0 &&
	    (error = vault_event__commit(&oid, &ev, v, txn, ev.when ? ev.when : vault_time__now())) == 0 &&
	    (!j->post || (error = j->post(v, txn, &oid, j->payload)) == 0))
		error = vault_trust__advance(v, txn, &oid);
	if (vault_store__cur == txn)
		vault_store__cur = NULL;
	vault_event__dispose(&ev);
	return error;
}

/* The outcome of a job, with its message for the thread that waits. */
static void job_end(struct vault_event_job *j, int error)
{
	j->error = error;
	if (error < 0)
		vault_error_keep(&j->why);
}

/*
 * A batch of one or more jobs in one transaction: one fsync for all.
 * Before any job runs, the trust gate verifies what other processes
 * appended (trust.h); each job that commits moves the trusted point to its
 * own event, and a job or batch undone puts it back.
 */
static void batch_txn(vault *v, struct vault_event_job *batch)
{
	struct vault_event_job *j;
	vault_trust_point base, before, done;
	MDB_txn *txn = NULL, *child;
	int error, stored = 0;

	if ((error = vault_store__begin(&txn, v->st, 1)) == 0) {
		/* The gate reads the history through the batch's transaction. */
		vault_store__cur = txn;
		error = vault_hkeys__refresh(v, txn);
		if (error == 0)
			error = vault_trust__gate(v, txn);
		/* The history's keys against the verified head, before anything is
		 * written under them (a rotation elsewhere brings a new one). */
		if (error == 0 && v->unlocked)
			error = vault_hkeys__check(v, txn);
		vault_store__cur = NULL;
	}
	if (error < 0) {
		for (j = batch; j; j = j->next)
			job_end(j, error);
		vault_store__abort(v->st, txn);
		return;
	}
	vault_trust__save(&base, v);
	if (!batch->next) {
		/* Alone: no nested transaction needed. */
		job_end(batch, job_run(batch, v, txn));
		stored = batch->error == 0;
	} else {
		for (j = batch; j; j = j->next) {
			vault_trust__save(&before, v);
			if ((error = vault_store__begin_nested(&child, v->st, txn)) == 0) {
				if ((error = job_run(j, v, child)) == 0)
					error = vault_store__commit(v->st, child);
				else
					vault_store__abort(v->st, child);
			}
			if (error != 0)
				vault_trust__restore(v, &before);
			job_end(j, error);
			stored |= error == 0;
		}
	}
	if (!stored) {
		vault_trust__restore(v, &base);
		vault_store__abort(v->st, txn);
		return;
	}
	vault_trust__save(&done, v);     /* the writer lock is still ours */
	if ((error = vault_store__commit(v->st, txn)) < 0) {
		vault_trust__restore(v, &base);
		for (j = batch; j; j = j->next)
			if (j->error == 0)
				job_end(j, error);
		return;
	}
	vault_trust__committed(v, &done);
}

/*
 * The batch, then the map: a job that met a full map is not run again (its
 * function may have changed its payload), but the map grows for the next
 * one, and the job's error says to do it again; if the map cannot grow,
 * it says the disk is full. The room checked before every write (store.h)
 * makes this rare: an event larger than the headroom.
 */
static void batch_run(vault *v, struct vault_event_job *batch)
{
	struct vault_event_job *j;
	int grown = 0;

	batch_txn(v, batch);
	for (j = batch; j; j = j->next) {
		if (j->error != VAULT_ENOSPC)
			continue;
		if (grown == 0 && (grown = vault_store__map_grown(v->st)) == 0)
			break;      /* the disk, not the map: the message says so */
		if (grown > 0) {
			j->error = vault_error_set(VAULT_EBUSY, "the event did not fit in the room left "
				"in the vault's map, which has grown since: run it again");
			vault_error_keep(&j->why);
		} else {
			job_end(j, vault_error_last()->code);
		}
	}
}

/* Run one batch as its leader; called and returns with gc_lock held. */
static void lead(vault *v)
{
	struct vault_event_job *batch, *last, *j, *next;
	int n = 1;

	v->gc_leading = 1;
	batch = last = v->gc_head;
	while (last->next && n < BATCH_MAX) {
		last = last->next;
		n++;
	}
	v->gc_head = last->next;
	if (!v->gc_head)
		v->gc_tail = NULL;
	last->next = NULL;
	pthread_mutex_unlock(&v->gc_lock);

	batch_run(v, batch);

	pthread_mutex_lock(&v->gc_lock);
	for (j = batch; j; j = next) {
		next = j->next;
		j->done = 1;
	}
	v->gc_leading = 0;
	pthread_cond_broadcast(&v->gc_cond);
}

int vault_event__run(vault *v, const char *action, vault_event_fn fn, vault_event_post_fn post,
	void *payload, unsigned int flags)
{
	struct vault_event_job j;

	memset(&j, 0, sizeof j);
	j.action = action;
	j.fn = fn;
	j.post = post;
	j.payload = payload;
	if (!(flags & VAULT_EVENT_GROUP)) {
		batch_run(v, &j);
		return j.error < 0 ? vault_error_put(j.error, &j.why) : j.error;
	}
	pthread_mutex_lock(&v->gc_lock);
	if (v->gc_tail)
		v->gc_tail->next = &j;
	else
		v->gc_head = &j;
	v->gc_tail = &j;
	while (!j.done) {
		if (!v->gc_leading)
			lead(v);
		else
			pthread_cond_wait(&v->gc_cond, &v->gc_lock);
	}
	pthread_mutex_unlock(&v->gc_lock);
	if (j.error < 0)
		return vault_error_put(j.error, &j.why);
	return j.error;
}
