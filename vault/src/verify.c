/*
 * verify — replay the whole history: every signature against the actor's
 * key in the policy before it, every action against the actor's role and
 * membership, every tree change against its action; then the LMDB state
 * against the head tree and every version against its manifest.
 *
 * The chain is walked from the head back to the genesis, so memory stays
 * flat however long the history is: an event needs only its own tree and
 * its parent's. The walk only follows parents; checker threads check the
 * events, in runs, while it goes on. A failure does not stop the walk: the
 * report names the oldest failing event, the first one in the chain.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#include "action.h"
#include "event.h"
#include "history.h"
#include "odb_lmdb.h"
#include "sshsig.h"
#include "verify.h"

/* ---- the oldest failure ------------------------------------------------- */

typedef struct {
	pthread_mutex_t lock;
	int set;
	uint64_t depth;                  /* events between it and the head */
	git_oid id;
	int code;
	char msg[400];
} failure;

/* Keep the failure if it is older than the one kept. */
static void failure_note(failure *f, uint64_t depth, const git_oid *id, int code, const char *msg)
{
	pthread_mutex_lock(&f->lock);
	if (!f->set || depth > f->depth) {
		f->set = 1;
		f->depth = depth;
		f->id = *id;
		f->code = code;
		snprintf(f->msg, sizeof f->msg, "%s", msg);
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- the checkers: threads that check events ------------------------------ */

/*
 * The walk only follows parents; each event is then checked, tree change,
 * policy and signature, by one of a few checker threads. A checker has its
 * own read transaction and its own object database over the vault's store
 * (libgit2 objects are not shared between threads), and its own cache of
 * the policy. The queue between them is bounded, so memory stays flat.
 */
#define BATCH 32

/* A run of events, newest first: `depth` is the first one's distance from
 * the head. Runs keep the queue's traffic low. */
typedef struct {
	uint64_t depth;
	size_t n;
	git_oid id[BATCH];
} event_job;

#define RING 64
#define CACHE_SLOTS 512

/* The policy seen by a checker: cached per `policy` subtree, which changes
 * only with policy events, so runs of reads and writes look it up once. */
typedef struct {
	int valid;
	char actor[VAULT_NAME_MAX + 1];
	char case_code[VAULT_CODE_SIZE];
	vault_policy_user pu;
	int member;
} cache_slot;

typedef struct verifier verifier;

typedef struct {
	verifier *vf;
	struct vault view;               /* the vault's store and id, with this
	                                    checker's own repository */
	MDB_txn *txn;
	git_oid policy_id;
	git_tree *users, *cases;         /* policy/users and policy/cases of it */
	vault_history__memo memo;        /* folders the last diff read */
	cache_slot slot[CACHE_SLOTS];
	uint64_t version_events;         /* events that made a version */
	int error;                       /* an error that is not a finding */
	pthread_t thread;
} checker;

struct verifier {
	vault *v;
	failure fail;
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	event_job ring[RING];
	size_t first, count;
	unsigned int idle;               /* checkers waiting for a job */
	int full;                        /* the walk waits for room */
	int closing;
	checker *checkers;
	unsigned int nthreads;
};

static int check_run(checker *ck, const event_job *j);

static void *checker_main(void *arg)
{
	checker *ck = arg;
	verifier *vf = ck->vf;
	event_job j;

	vault_store__cur = ck->txn;
	for (;;) {
		pthread_mutex_lock(&vf->lock);
		while (vf->count == 0 && !vf->closing) {
			vf->idle++;
			pthread_cond_wait(&vf->more, &vf->lock);
			vf->idle--;
		}
		if (vf->count == 0) {
			pthread_mutex_unlock(&vf->lock);
			break;
		}
		j = vf->ring[vf->first];
		vf->first = (vf->first + 1) % RING;
		vf->count--;
		/* Wake the walk only when it waits and there is room for a batch. */
		if (vf->full && vf->count <= RING / 2)
			pthread_cond_signal(&vf->room);
		pthread_mutex_unlock(&vf->lock);
		if (ck->error == 0)
			ck->error = check_run(ck, &j);
	}
	vault_store__cur = NULL;
	return NULL;
}

static void checker_dispose(checker *ck)
{
	git_tree_free(ck->users);
	git_tree_free(ck->cases);
	vault_history__memo_dispose(&ck->memo);
	git_repository_free(ck->view.repo);
	git_odb_free(ck->view.odb);
	vault_store__abort(ck->view.st, ck->txn);
}

static int checker_init(checker *ck, verifier *vf)
{
	git_odb_backend *b = NULL;
	vault *v = vf->v;

	memset(ck, 0, sizeof *ck);
	ck->vf = vf;
	ck->view.st = v->st;
	memcpy(ck->view.dir, v->dir, sizeof ck->view.dir);
	memcpy(ck->view.id, v->id, sizeof ck->view.id);
	if (git_odb_new(&ck->view.odb) < 0 || vault_odb_lmdb__new(&b, v->st) < 0)
		return vault_error_git("verify");
	if (git_odb_add_backend(ck->view.odb, b, 1) < 0) {
		b->free(b);
		return vault_error_git("verify");
	}
	if (git_repository_wrap_odb(&ck->view.repo, ck->view.odb) < 0)
		return vault_error_git("verify");
	return vault_store__begin(&ck->txn, ck->view.st, 0);
}

static int verifier_start(verifier *vf, vault *v, unsigned int n)
{
	vf->v = v;
	pthread_mutex_init(&vf->lock, NULL);
	pthread_cond_init(&vf->more, NULL);
	pthread_cond_init(&vf->room, NULL);
	if ((vf->checkers = calloc(n, sizeof *vf->checkers)) == NULL)
		return vault_error_set_oom();
	for (; vf->nthreads < n; vf->nthreads++) {
		checker *ck = &vf->checkers[vf->nthreads];
		int error = checker_init(ck, vf);
		if (error == 0 && pthread_create(&ck->thread, NULL, checker_main, ck) != 0)
			error = vault_error_set(VAULT_ERROR, "cannot start a thread to verify");
		if (error < 0) {
			checker_dispose(ck);
			return error;
		}
	}
	return 0;
}

/* Queue a run of events for the checkers. */
static void verifier_add(verifier *vf, const event_job *j)
{
	if (j->n == 0)
		return;
	pthread_mutex_lock(&vf->lock);
	while (vf->count == RING) {
		vf->full = 1;
		pthread_cond_wait(&vf->room, &vf->lock);
		vf->full = 0;
	}
	vf->ring[(vf->first + vf->count) % RING] = *j;
	vf->count++;
	if (vf->idle)
		pthread_cond_signal(&vf->more);
	pthread_mutex_unlock(&vf->lock);
}

/* Let the checkers finish the queue, then stop them; their first error
 * that is not a finding, or 0. */
static int verifier_finish(verifier *vf, uint64_t *version_events)
{
	int error = 0;

	if (vf->checkers == NULL)
		return 0;
	pthread_mutex_lock(&vf->lock);
	vf->closing = 1;
	pthread_cond_broadcast(&vf->more);
	pthread_mutex_unlock(&vf->lock);
	for (unsigned int i = 0; i < vf->nthreads; i++) {
		checker *ck = &vf->checkers[i];
		pthread_join(ck->thread, NULL);
		if (ck->error && !error)
			error = ck->error;
		*version_events += ck->version_events;
		checker_dispose(ck);
	}
	free(vf->checkers);
	vf->checkers = NULL;
	pthread_cond_destroy(&vf->more);
	pthread_cond_destroy(&vf->room);
	pthread_mutex_destroy(&vf->lock);
	return error;
}

/* ---- what a tree says --------------------------------------------------- */

static unsigned int slot_of(const char *actor, const char *code)
{
	unsigned int h = 5381;

	for (const char *s = actor; *s; s++)
		h = h * 33 + (unsigned char)*s;
	for (const char *s = code; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h % CACHE_SLOTS;
}

/* The file `name` of folder `dir` (NULL: none), NUL-terminated;
 * VAULT_ENOTFOUND if absent. */
static int folder_file(vault_buf *out, vault *v, git_tree *dir, const char *name)
{
	const git_tree_entry *e = dir ? git_tree_entry_byname(dir, name) : NULL;
	git_blob *blob = NULL;
	int error;

	vault_buf_clear(out);
	if (e == NULL)
		return VAULT_ENOTFOUND;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB || git_blob_lookup(&blob, v->repo, git_tree_entry_id(e)) < 0)
		return vault_error_set(VAULT_ECORRUPT, "policy file '%s' cannot be read", name);
	vault_buf_put(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	vault_buf_put(out, "", 0);
	error = out->oom ? vault_error_set_oom() : 0;
	git_blob_free(blob);
	return error;
}

/* A subfolder of `dir` (NULL if it has none). */
static int subfolder(git_tree **out, vault *v, git_tree *dir, const char *name)
{
	const git_tree_entry *e = git_tree_entry_byname(dir, name);

	*out = NULL;
	if (e == NULL)
		return 0;
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE || git_tree_lookup(out, v->repo, git_tree_entry_id(e)) < 0)
		return vault_error_set(VAULT_ECORRUPT, "policy folder '%s' cannot be read", name);
	return 0;
}

/*
 * The actor's record and membership in `code` ("" for none) per `policy`.
 * The policy's folders are read once per policy (they change only with
 * policy events), and each answer is kept until then.
 */
static int policy_lookup(cache_slot **out, checker *w, git_tree *policy, const char *actor,
	const char *code)
{
	const git_tree_entry *e = git_tree_entry_byname(policy, "policy");
	vault_buf b = VAULT_BUF_INIT;
	cache_slot *s;
	int error;

	if (e == NULL)
		return vault_error_set(VAULT_ECORRUPT, "its policy is missing");
	if (!git_oid_equal(git_tree_entry_id(e), &w->policy_id)) {
		git_tree *p = NULL;

		memset(w->slot, 0, sizeof w->slot);
		memset(&w->policy_id, 0, sizeof w->policy_id);
		git_tree_free(w->users);
		git_tree_free(w->cases);
		w->users = w->cases = NULL;
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE || git_tree_lookup(&p, w->view.repo, git_tree_entry_id(e)) < 0)
			return vault_error_set(VAULT_ECORRUPT, "its policy cannot be read");
		error = subfolder(&w->users, &w->view, p, "users");
		if (error == 0)
			error = subfolder(&w->cases, &w->view, p, "cases");
		git_tree_free(p);
		if (error < 0)
			return error;
		w->policy_id = *git_tree_entry_id(e);
	}
	s = &w->slot[slot_of(actor, code)];
	if (s->valid && !strcmp(s->actor, actor) && !strcmp(s->case_code, code)) {
		*out = s;
		return 0;
	}
	memset(s, 0, sizeof *s);
	if ((error = folder_file(&b, &w->view, w->users, actor)) == 0)
		error = vault_history__user_parse(&s->pu, b.ptr, actor);
	if (error == VAULT_ENOTFOUND)
		error = 0;
	if (error == 0 && code[0]) {
		if ((error = folder_file(&b, &w->view, w->cases, code)) == 0)
			s->member = vault_history__member_parse(b.ptr, actor);
		if (error == VAULT_ENOTFOUND)
			error = 0;
	}
	vault_buf_dispose(&b);
	if (error < 0)
		return error;
	snprintf(s->actor, sizeof s->actor, "%s", actor);
	snprintf(s->case_code, sizeof s->case_code, "%s", code);
	s->valid = 1;
	*out = s;
	return 0;
}

/* ---- what an event changed ---------------------------------------------- */

#define MAX_CHANGES 4

typedef struct {
	char path[VAULT_HISTORY_PATH_MAX];
	git_oid before, after;
	int had, has;
} change;

typedef struct {
	change c[MAX_CHANGES];
	size_t n;                        /* may pass MAX_CHANGES: then only counted */
} changes;

/* Collect the changed files; stop once there are more than any rule allows. */
static int change_collect(const char *path, const git_oid *before, const git_oid *after,
	void *payload)
{
	changes *ch = payload;

	if (ch->n < MAX_CHANGES) {
		change *c = &ch->c[ch->n];
		memset(c, 0, sizeof *c);
		snprintf(c->path, sizeof c->path, "%s", path);
		if ((c->had = before != NULL) != 0)
			c->before = *before;
		if ((c->has = after != NULL) != 0)
			c->after = *after;
	}
	return ++ch->n > MAX_CHANGES;
}

/* A field of the tree file `id`, as a string. */
static int blob_field(char *out, size_t n, vault *v, const git_oid *id, const char *key)
{
	git_blob *blob = NULL;
	vault_buf b = VAULT_BUF_INIT;
	const char *s;
	size_t len;
	int error = 0;

	out[0] = '\0';
	if (git_blob_lookup(&blob, v->repo, id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "a history file cannot be read");
	vault_buf_put(&b, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	vault_buf_put(&b, "", 0);
	git_blob_free(blob);
	if (b.oom)
		error = vault_error_set_oom();
	else if ((s = vault_history__field(b.ptr, key, &len)) != NULL)
		vault_history__copy(out, n, s, len);
	vault_buf_dispose(&b);
	return error;
}

/* Does the case file `id` list `user` as a member (rw: 2, ro: 1)? */
static int blob_member(int *out, vault *v, const git_oid *id, const char *user)
{
	git_blob *blob = NULL;
	const char *s, *end;
	size_t ulen = strlen(user);

	*out = 0;
	if (git_blob_lookup(&blob, v->repo, id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "a history file cannot be read");
	s = git_blob_rawcontent(blob);
	end = s + git_blob_rawsize(blob);
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		size_t len = eol ? (size_t)(eol - s) : (size_t)(end - s);
		if (len > 7 + ulen + 1 && !memcmp(s, "member ", 7) && !memcmp(s + 7, user, ulen) &&
		    s[7 + ulen] == ' ')
			*out = len == 7 + ulen + 3 && !memcmp(s + 8 + ulen, "rw", 2) ? 2 : 1;
		s = eol ? eol + 1 : end;
	}
	git_blob_free(blob);
	return 0;
}

#define FAIL(...) do { error = vault_error_set(VAULT_ECORRUPT, __VA_ARGS__); goto done; } while (0)

/*
 * The vault's record of the version an event made: it names this event,
 * and its size, time, generation and the commitment to its block list are
 * those of the manifest the event signed. (Checked here, as the events are
 * replayed on every core, rather than by reading each event's tree again.)
 */
static int version_matches(checker *w, const vault_trailers *t, uint64_t node,
	const git_oid *manifest, const git_oid *commit)
{
	vault_buf b = VAULT_BUF_INIT;
	unsigned char want[32];
	char hex[65];
	git_blob *blob = NULL;
	version_rec r;
	const char *s;
	size_t len;
	int error;

	if ((error = vault_version__get(&r, w->txn, &w->view, node, t->version)) == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_ECORRUPT, "version %u of node %s is missing from the vault",
			t->version, t->node);
	if (error < 0)
		return error;
	if (memcmp(r.commit, commit->id, GIT_OID_RAWSZ)) {
		error = vault_error_set(VAULT_ECORRUPT, "the record of version %u of node %s names another event",
			t->version, t->node);
		goto done;
	}
	if (git_blob_lookup(&blob, w->view.repo, manifest) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "a history file cannot be read");
		goto done;
	}
	vault_buf_put(&b, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	vault_buf_put(&b, "", 0);
	if (b.oom) {
		error = vault_error_set_oom();
		goto done;
	}
	vault_version__commitment(want, &r);
	sodium_bin2hex(hex, sizeof hex, want, 32);
	if (!(s = vault_history__field(b.ptr, "commitment", &len)) || len != 64 || memcmp(s, hex, 64) ||
	    !(s = vault_history__field(b.ptr, "size", &len)) || strtoull(s, NULL, 10) != r.size ||
	    !(s = vault_history__field(b.ptr, "mtime", &len)) || strtoll(s, NULL, 10) != r.mtime ||
	    !(s = vault_history__field(b.ptr, "generation", &len)) || strtoul(s, NULL, 10) != r.generation)
		error = vault_error_set(VAULT_ECORRUPT,
			"version %u of node %s does not match the manifest its event signed", t->version, t->node);
done:
	git_blob_free(blob);
	vault_buf_dispose(&b);
	vault_version__dispose(&r);
	return error;
}

/*
 * The other records a document event changed: the folders that hold its
 * node's entry, before and after it (a move may change both), and only
 * their times; a write only when it makes the file.
 */
static int check_folders(checker *w, const vault_trailers *t, const vault_action *act,
	const changes *ch, const change *c)
{
	char parent[2][20], want[2][64], fcase[VAULT_CODE_SIZE];
	int error = 0;

	memset(parent, 0, sizeof parent);
	memset(want, 0, sizeof want);
	if ((c->had && (error = blob_field(parent[0], sizeof parent[0], &w->view, &c->before, "parent")) < 0) ||
	    (error = blob_field(parent[1], sizeof parent[1], &w->view, &c->after, "parent")) < 0)
		goto done;
	for (int k = 0; k < 2; k++)
		if (parent[k][0])
			vault_node__path(want[k], strtoull(parent[k], NULL, 16));
	for (size_t i = 0; i < ch->n && i < MAX_CHANGES; i++) {
		const change *f = &ch->c[i];
		if (f == c)
			continue;
		if (strcmp(f->path, want[0]) && strcmp(f->path, want[1]))
			FAIL("'%s' of node %s changed %s, which is not its folder", t->action, t->node, f->path);
		if (!f->had || !f->has)
			FAIL("'%s' of node %s created or removed its folder %s", t->action, t->node, f->path);
		if ((error = blob_field(fcase, sizeof fcase, &w->view, &f->after, "case")) < 0)
			goto done;
		if (strcmp(fcase, t->case_code))
			FAIL("'%s' in case %s changed folder %s of case %s", t->action, t->case_code, f->path, fcase);
		if ((error = vault_action__check_folder(&w->view, act, &f->before, &f->after, !c->had, f->path)) < 0)
			goto done;
	}
done:
	return error;
}

/*
 * The tree change of a document event: exactly its node's manifest, in its
 * case; a new version only by `write` and `restore`, and then the version
 * the event names, whose record points back at this event.
 */
static int check_content_change(checker *w, const vault_trailers *t, const changes *ch,
	const git_oid *commit)
{
	const vault_action *act = vault_action__find(t->action);
	const change *c = NULL;
	char path[64], node_case[VAULT_CODE_SIZE], ver[16], old_ver[16];
	int makes = !strcmp(t->action, "mkdir") || !strcmp(t->action, "create");
	int new_version = !strcmp(t->action, "write") || !strcmp(t->action, "restore");
	uint64_t node;
	int error = 0;

	if (strlen(t->node) != 16)
		FAIL("'%s' names no node", t->action);
	node = strtoull(t->node, NULL, 16);
	vault_node__path(path, node);
	for (size_t i = 0; i < ch->n && i < MAX_CHANGES; i++)
		if (!strcmp(ch->c[i].path, path))
			c = &ch->c[i];
	if (!c)
		FAIL("'%s' of node %s changed %s", t->action, t->node,
			ch->n == 0 ? "nothing" : "other records, not its node");
	if (ch->n > 3)
		FAIL("'%s' of node %s changed more than its node and its folders", t->action, t->node);
	if (ch->n > 1 && (error = check_folders(w, t, act, ch, c)) < 0)
		goto done;
	if (!c->has)
		FAIL("'%s' removed the manifest of node %s", t->action, t->node);
	if (makes && c->had)
		FAIL("'%s' recreated node %s", t->action, t->node);
	if (!makes && !c->had && (strcmp(t->action, "write") || t->version != 1))
		FAIL("'%s' created node %s", t->action, t->node);   /* only a first write may */
	if ((error = blob_field(node_case, sizeof node_case, &w->view, &c->after, "case")) < 0 ||
	    (error = blob_field(ver, sizeof ver, &w->view, &c->after, "version")) < 0)
		goto done;
	if (strcmp(node_case, t->case_code))
		FAIL("'%s' in case %s changed node %s of case %s", t->action, t->case_code, t->node,
			node_case);
	if (c->had) {
		char old_case[VAULT_CODE_SIZE];
		if ((error = blob_field(old_case, sizeof old_case, &w->view, &c->before, "case")) < 0 ||
		    (error = blob_field(old_ver, sizeof old_ver, &w->view, &c->before, "version")) < 0)
			goto done;
		if (strcmp(old_case, node_case))
			FAIL("node %s moved from case %s to case %s", t->node, old_case, node_case);
		if ((error = vault_action__check_record(&w->view, vault_action__find(t->action),
		    &c->before, &c->after, NULL, path)) < 0)
			goto done;
	} else {
		snprintf(old_ver, sizeof old_ver, "0");
	}
	if (new_version) {
		if (strtoul(ver, NULL, 10) != t->version || t->version != strtoul(old_ver, NULL, 10) + 1)
			FAIL("'%s' of node %s made version %s after %s, and names version %u",
				t->action, t->node, ver, old_ver, t->version);
		if ((error = version_matches(w, t, node, &c->after, commit)) < 0)
			goto done;
		w->version_events++;
	} else if (strcmp(ver, old_ver)) {
		FAIL("'%s' of node %s changed its version from %s to %s", t->action, t->node, old_ver, ver);
	}
done:
	return error;
}

/* The tree change of a policy event: the one record it is about. */
static int check_policy_change(checker *w, const vault_trailers *t, const changes *ch,
	const char *actor)
{
	char want[80];
	const change *c = &ch->c[0];
	int member, error = 0;

	if (!strcmp(t->action, "user-add") || !strcmp(t->action, "user-disable"))
		snprintf(want, sizeof want, "policy/users/%s", t->target);
	else if (!strcmp(t->action, "grant") || !strcmp(t->action, "revoke") || !strcmp(t->action, "rekey"))
		snprintf(want, sizeof want, "policy/cases/%s", t->case_code);
	else
		snprintf(want, sizeof want, "policy/settings");
	if (ch->n == 0 && !strcmp(t->action, "rekey"))
		return 0;                /* keys sealed to a new member: no record changed */
	if (ch->n != 1 || strcmp(c->path, want))
		FAIL("'%s' changed %s, not only %s", t->action,
			ch->n == 0 ? "nothing" : ch->n == 1 ? c->path : "several records", want);
	if (!c->has)
		FAIL("'%s' removed %s", t->action, want);
	if (c->had == !strcmp(t->action, "user-add"))
		FAIL("'%s' %s %s", t->action, c->had ? "replaced" : "created", want);
	if (!strncmp(want, "policy/users/", 13)) {
		char role[16], key[100];
		vault_role_t r;
		if ((error = blob_field(role, sizeof role, &w->view, &c->after, "role")) < 0 ||
		    (error = blob_field(key, sizeof key, &w->view, &c->after, "key")) < 0)
			goto done;
		if (vault_role_parse(&r, role) < 0 || strncmp(key, "ssh-ed25519 ", 12))
			FAIL("'%s' wrote a damaged record for user '%s'", t->action, t->target);
	} else if (!strcmp(want, "policy/settings")) {
		char akey[100];
		if ((error = blob_field(akey, sizeof akey, &w->view, &c->after, "audit-key")) < 0)
			goto done;
	}
	if (c->had && (error = vault_action__check_record(&w->view, vault_action__find(t->action),
	    &c->before, &c->after, t->target, want)) < 0)
		goto done;
	if (!strcmp(t->action, "grant") || !strcmp(t->action, "revoke")) {
		if ((error = blob_member(&member, &w->view, &c->after, t->target)) < 0)
			goto done;
		if ((member != 0) != !strcmp(t->action, "grant"))
			FAIL("'%s' of %s in case %s left the membership %s", t->action, t->target,
				t->case_code, member ? "in place" : "out");
	}
	(void)actor;
done:
	return error;
}

/* case-create: the new case record, with its creator as a rw member, and its root. */
static int check_case_create(checker *w, const vault_trailers *t, const changes *ch)
{
	char want_case[80], want_node[64], root_case[VAULT_CODE_SIZE];
	const change *cc = NULL, *cn = NULL;
	int member, error = 0;

	snprintf(want_case, sizeof want_case, "policy/cases/%s", t->case_code);
	vault_node__path(want_node, strtoull(t->node, NULL, 16));
	for (size_t i = 0; i < ch->n && i < MAX_CHANGES; i++) {
		if (!strcmp(ch->c[i].path, want_case))
			cc = &ch->c[i];
		else if (strlen(t->node) == 16 && !strcmp(ch->c[i].path, want_node))
			cn = &ch->c[i];
	}
	if (ch->n != 2 || !cc || !cn)
		FAIL("'case-create' of %s changed more or other than its case and its root folder",
			t->case_code);
	if (cc->had || cn->had || !cc->has || !cn->has)
		FAIL("'case-create' of %s did not create its records", t->case_code);
	if ((error = blob_member(&member, &w->view, &cc->after, t->actor)) < 0 ||
	    (error = blob_field(root_case, sizeof root_case, &w->view, &cn->after, "case")) < 0)
		goto done;
	if (member != 2)
		FAIL("the creator '%s' is not a read-write member of new case %s", t->actor, t->case_code);
	if (strcmp(root_case, t->case_code))
		FAIL("the root folder of case %s belongs to case %s", t->case_code, root_case);
done:
	return error;
}

/* Read a blob of a tree (reading checks that it is there and whole). */
static int read_blob_cb(const char *root, const git_tree_entry *e, void *payload)
{
	vault *v = payload;
	git_odb_object *obj = NULL;

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	if (git_odb_read(&obj, v->odb, git_tree_entry_id(e)) < 0)
		return -1;
	git_odb_object_free(obj);
	return 0;
}

/*
 * Check one event: `parent_tree` is the state before it (NULL for the
 * genesis, which is checked against its own policy).
 */
static int check_event(checker *w, git_commit *c, git_tree *tree, git_tree *parent_tree)
{
	vault *v = &w->view;
	const git_signature *author = git_commit_author(c);
	int is_genesis = parent_tree == NULL;
	git_tree *policy = is_genesis ? tree : parent_tree;
	vault_buf sig = VAULT_BUF_INIT, data = VAULT_BUF_INIT;
	cache_slot *pol = NULL;
	const vault_action *act;
	vault_trailers t;
	changes ch;
	int error = 0;

	memset(&ch, 0, sizeof ch);
	if (git_commit_parentcount(c) != (is_genesis ? 0u : 1u))
		FAIL("it has %u parents", git_commit_parentcount(c));
	vault_history__trailers(&t, git_commit_message(c));
	if (!t.action[0] || !t.actor[0])
		FAIL("it names no action or actor");
	if (!author || strcmp(author->name, t.actor))
		FAIL("its author is not its actor '%s'", t.actor);
	if (!author->email || strncmp(author->email, t.actor, strlen(t.actor)) ||
	    author->email[strlen(t.actor)] != '@' || strcmp(author->email + strlen(t.actor) + 1, v->id))
		FAIL("its author '%s' is not of this vault (%s)", author->email ? author->email : "", v->id);
	if (is_genesis != !strcmp(t.action, "init"))
		FAIL("'init' must be the first event and only the first");
	if (!is_genesis && (error = vault_history__diff(v, parent_tree, tree, &w->memo, change_collect, &ch)) < 0)
		goto done;
	error = 0;

	if ((act = vault_action__find(t.action)) == NULL)
		FAIL("unknown action '%s'", t.action);
	if (act->kind == VAULT_ACTION_STILL && ch.n && !strcmp(t.action, "unlock-failed"))
		FAIL("a failed unlock changed the state");
	if (act->kind == VAULT_ACTION_STILL && ch.n)
		FAIL("a '%s' event changed the state", t.action);
	if (!strcmp(t.action, "unlock-failed"))
		goto done;       /* the one unsigned event: it may change nothing */
	if ((error = policy_lookup(&pol, w, policy, t.actor, t.case_code)) < 0)
		goto done;
	if (!pol->pu.found)
		FAIL("actor '%s' is not a user at that point", t.actor);
	if (!pol->pu.active)
		FAIL("actor '%s' is disabled at that point", t.actor);

	switch (act->kind) {
	case VAULT_ACTION_GENESIS:
		if (pol->pu.role != VAULT_ROLE_ADMIN)
			FAIL("the first event is not signed by an admin");
		if (git_tree_walk(tree, GIT_TREEWALK_PRE, read_blob_cb, v) != 0)
			FAIL("a file of its state is missing or damaged");
		break;
	case VAULT_ACTION_ADMIN:
		if (pol->pu.role != VAULT_ROLE_ADMIN)
			FAIL("'%s' is not an admin but recorded '%s'", t.actor, t.action);
		if ((error = check_policy_change(w, &t, &ch, t.actor)) < 0)
			goto done;
		break;
	case VAULT_ACTION_CONTENT:
		if (pol->member != 2)
			FAIL("'%s' is not a read-write member of case '%s'", t.actor, t.case_code);
		if ((error = check_content_change(w, &t, &ch, git_commit_id(c))) < 0)
			goto done;
		break;
	case VAULT_ACTION_MEMBER:
		if (pol->member == 0)
			FAIL("'%s' is not a member of case '%s'", t.actor, t.case_code);
		if ((error = check_policy_change(w, &t, &ch, t.actor)) < 0)
			goto done;
		break;
	case VAULT_ACTION_CASE:
		if (pol->pu.role == VAULT_ROLE_AUDITOR)
			FAIL("auditor '%s' created a case", t.actor);
		if ((error = check_case_create(w, &t, &ch)) < 0)
			goto done;
		break;
	case VAULT_ACTION_STILL:
		if (!strcmp(t.action, "read") && pol->member == 0)
			FAIL("'%s' is not a member of case '%s'", t.actor, t.case_code);
		break;
	}

	if ((error = vault_history__signature(&sig, &data, v, c)) < 0)
		goto done;
	if (!sig.size)
		FAIL("it is not signed");
	if (vault_sshsig__verify(sig.ptr, sig.size, (unsigned char *)data.ptr, data.size, pol->pu.pk) < 0)
		FAIL("its signature does not verify against the key of '%s'", t.actor);
done:
	vault_buf_dispose(&sig);
	vault_buf_dispose(&data);
	return error;
}

/*
 * A checker's job: a run of events, each checked against the state before
 * it. Each event's parent is the next event of the run, so the commit and
 * tree loaded as a parent serve again as the next event.
 */
static int check_run(checker *ck, const event_job *j)
{
	git_commit *c = NULL, *p = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	int error = 0;

	for (size_t i = 0; i < j->n && error == 0; i++) {
		const git_oid *id = &j->id[i];

		if (c == NULL && (git_commit_lookup(&c, ck->view.repo, id) < 0 ||
		    git_commit_tree(&tree, c) < 0))
			error = vault_error_set(VAULT_ECORRUPT, "it or its tree is missing or damaged");
		else if (git_commit_parentcount(c) > 0 &&
			 (git_commit_parent(&p, c, 0) < 0 ||
			  (git_oid_equal(git_commit_tree_id(p), git_tree_id(tree)) ?
			   git_tree_dup(&ptree, tree) : git_commit_tree(&ptree, p)) < 0))
			error = vault_error_set(VAULT_ECORRUPT, "the event before it is missing or damaged");
		else
			error = check_event(ck, c, tree, ptree);
		if (error == VAULT_ECORRUPT) {
			failure_note(&ck->vf->fail, j->depth + i, id, error, vault_error_last()->message);
			error = 0;
		}
		git_tree_free(tree);
		git_commit_free(c);
		c = p;
		tree = ptree;
		p = NULL;
		ptree = NULL;
		/* The walk followed the same parents: if not, load afresh. */
		if (c && (!tree || i + 1 == j->n || !git_oid_equal(git_commit_id(c), &j->id[i + 1]))) {
			git_tree_free(tree);
			git_commit_free(c);
			c = NULL;
			tree = NULL;
		}
	}
	git_tree_free(ptree);
	git_commit_free(p);
	git_tree_free(tree);
	git_commit_free(c);
	return error;
}

/* What the walk found, besides the checkers' findings. */
typedef struct {
	git_oid oldest;                  /* the last event walked */
	int reached_genesis;             /* it has no parent */
	int anchor_seen;
} walk_end;

/*
 * Follow the parents from the head back to the genesis, queueing each
 * event for the checkers. A missing event ends the walk (a finding).
 */
static int walk_chain(verifier *vf, walk_end *we, vault_verify_result *res, MDB_txn *txn,
	const git_oid *head, const git_oid *anchor, const vault_verify_options *opts)
{
	vault *v = vf->v;
	event_job job;
	git_commit *c = NULL, *p = NULL;
	int64_t t_head = 0, t_genesis = 0;
	uint64_t depth = 0;
	MDB_val val;

	if (vault_meta__get(&val, txn, v, "genesis") == 0 && val.mv_size == 20) {
		git_oid g;
		git_commit *gc = NULL;
		git_oid_fromraw(&g, val.mv_data);
		if (git_commit_lookup(&gc, v->repo, &g) == 0)
			t_genesis = git_commit_time(gc);
		git_commit_free(gc);
	}
	if (git_commit_lookup(&c, v->repo, head) < 0) {
		vault_error_set(VAULT_ECORRUPT, "it is missing or damaged");
		failure_note(&vf->fail, 0, head, VAULT_ECORRUPT, vault_error_last()->message);
		return 0;
	}
	t_head = git_commit_time(c);
	job.n = 0;
	for (;;) {
		const git_oid *pid;

		if (anchor && git_oid_equal(anchor, git_commit_id(c)))
			we->anchor_seen = 1;
		res->events++;
		if ((res->events & 4095) == 0 && t_head > t_genesis)
			vault_verify__progress(opts, (uint64_t)(900.0 * (double)(t_head - git_commit_time(c)) /
				(double)(t_head - t_genesis)));
		we->oldest = *git_commit_id(c);
		if (job.n == BATCH) {
			verifier_add(vf, &job);
			job.n = 0;
		}
		if (job.n == 0)
			job.depth = depth;
		job.id[job.n++] = *git_commit_id(c);
		if (git_commit_parentcount(c) == 0) {
			we->reached_genesis = 1;
			break;
		}
		pid = git_commit_parent_id(c, 0);
		if (git_commit_lookup(&p, v->repo, pid) < 0) {
			vault_error_set(VAULT_ECORRUPT, "it is missing or damaged");
			failure_note(&vf->fail, depth + 1, pid, VAULT_ECORRUPT, vault_error_last()->message);
			break;
		}
		git_commit_free(c);
		c = p;
		p = NULL;
		depth++;
	}
	verifier_add(vf, &job);
	git_commit_free(c);
	return 0;
}

#undef FAIL

static unsigned int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (unsigned int)n;
}

int vault_audit_verify(vault_verify_result *res, vault *v, const vault_verify_options *opts)
{
	const char *anchor = opts ? opts->anchor : NULL;
	verifier vf;
	walk_end we;
	MDB_txn *txn = NULL;
	git_oid head, genesis, anchor_id;
	git_commit *hc = NULL;
	git_tree *head_tree = NULL;
	uint64_t version_events = 0, saved_max;
	MDB_stat st;
	MDB_val val;
	int error, rc;

	memset(res, 0, sizeof *res);
	if (opts && opts->version != VAULT_VERIFY_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "verify options of an unknown version");
	memset(&vf, 0, sizeof vf);
	memset(&we, 0, sizeof we);
	pthread_mutex_init(&vf.fail.lock, NULL);
	saved_max = v->st->mapped_max;
	v->st->mapped_max = VAULT_WALK_MAPPED_MAX;
	if (anchor && (strlen(anchor) != GIT_OID_HEXSZ || git_oid_fromstr(&anchor_id, anchor) < 0)) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' is not a commit id", anchor);
		goto done;
	}
	if ((error = vault_event__begin_walk(&txn, v)) < 0)
		goto done;
	if ((error = vault_meta__get(&val, txn, v, "head")) < 0 || val.mv_size != 20) {
		error = error < 0 && error != VAULT_ENOTFOUND ? error :
			vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
		goto done;
	}
	git_oid_fromraw(&head, val.mv_data);
	git_oid_tostr(res->head, sizeof res->head, &head);
	if ((error = vault_meta__get(&val, txn, v, "genesis")) < 0 || val.mv_size != 20) {
		error = vault_error_set(VAULT_ECORRUPT, "the vault has no valid genesis record");
		goto done;
	}
	git_oid_fromraw(&genesis, val.mv_data);

	if ((error = verifier_start(&vf, v, opts && opts->threads ? opts->threads : default_threads())) == 0)
		error = walk_chain(&vf, &we, res, txn, &head, anchor ? &anchor_id : NULL, opts);
	rc = verifier_finish(&vf, &version_events);
	if (error == 0)
		error = rc;
	if (error < 0)
		goto done;
	if (vf.fail.set) {
		char hex[VAULT_OID_SIZE];
		git_oid_tostr(hex, sizeof hex, &vf.fail.id);
		memcpy(res->bad_commit, hex, sizeof hex);
		res->bad_index = we.reached_genesis ? res->events - vf.fail.depth : 0;
		if (res->bad_index)
			error = vault_error_set(VAULT_ECORRUPT, "event %llu (%s) does not verify: %s",
				(unsigned long long)res->bad_index, hex, vf.fail.msg);
		else
			error = vault_error_set(VAULT_ECORRUPT, "event %s does not verify: %s", hex, vf.fail.msg);
		goto done;
	}
	if (!git_oid_equal(&we.oldest, &genesis)) {
		git_oid_tostr(res->bad_commit, sizeof res->bad_commit, &we.oldest);
		res->bad_index = 1;
		error = vault_error_set(VAULT_ECORRUPT, "the history does not start at the genesis event (it starts at %s)", res->bad_commit);
		goto done;
	}
	if (anchor && !we.anchor_seen) {
		error = vault_error_set(VAULT_ECORRUPT, "anchor %s is not in the history", anchor);
		goto done;
	}
	vault_verify__progress(opts, 900);
	memcpy(res->bad_commit, res->head, sizeof res->head);
	if (git_commit_lookup(&hc, v->repo, &head) < 0 || git_commit_tree(&head_tree, hc) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the head event cannot be read");
		goto done;
	}
	if ((error = vault_verify__state(v, txn, head_tree, &res->records)) < 0)
		goto done;
	if ((rc = mdb_stat(txn, v->st->versions, &st)) != 0) {
		error = vault_store__error(rc, "verify");
		goto done;
	}
	if (st.ms_entries != version_events) {
		error = vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: %llu version records for %llu events that made a version",
			(unsigned long long)st.ms_entries, (unsigned long long)version_events);
		goto done;
	}
	res->bad_commit[0] = '\0';
	if ((error = vault_verify__versions(res, v, txn, opts, st.ms_entries)) == 0)
		vault_verify__progress(opts, 1000);
	else if (!res->bad_commit[0])
		memcpy(res->bad_commit, res->head, sizeof res->head);
done:
	if (vf.checkers)
		verifier_finish(&vf, &version_events);
	pthread_mutex_destroy(&vf.fail.lock);
	git_tree_free(head_tree);
	git_commit_free(hc);
	vault_store__abort(v->st, txn);
	v->st->mapped_max = saved_max;
	return error;
}
