/*
 * verify — `audit verify`: replay the whole history, every event against
 * the state before it (verify_event.c: its signature against the actor's
 * key in the policy then, its action against the actor's role and
 * membership, its tree change against its action); then the LMDB state
 * against the head tree and every version against its manifest
 * (verify_state.c). This file holds the walk, its checker threads and
 * vault_audit_verify.
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

#include "hkeys.h"
#include "verify.h"

/* ---- the oldest failure ------------------------------------------------- */

typedef struct {
	pthread_mutex_t lock;
	int set;
	uint64_t depth;                  /* events between it and the head */
	git_oid id;
	int code;
	vault_error_kept why;            /* in both languages */
} failure;

/* Keep the failure, this thread's last error, if it is older than the one
 * kept. */
static void failure_note(failure *f, uint64_t depth, const git_oid *id, int code)
{
	pthread_mutex_lock(&f->lock);
	if (!f->set || depth > f->depth) {
		f->set = 1;
		f->depth = depth;
		f->id = *id;
		f->code = code;
		vault_error_keep(&f->why);
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

typedef struct verifier verifier;

typedef struct {
	verifier *vf;
	vault_verify__replay replay;
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

	/* This thread's own snapshot, which its object reads go through. */
	ck->error = vault_store__begin_walk(&ck->replay.txn, ck->replay.view.st);
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
	vault_store__abort(ck->replay.view.st, ck->replay.txn);
	ck->replay.txn = NULL;
	return NULL;
}

static int checker_init(checker *ck, verifier *vf)
{
	memset(ck, 0, sizeof *ck);
	ck->vf = vf;
	return vault_verify__replay_init(&ck->replay, vf->v);
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
			vault_verify__replay_dispose(&ck->replay);
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
		*version_events += ck->replay.version_events;
		vault_verify__replay_dispose(&ck->replay);
	}
	free(vf->checkers);
	vf->checkers = NULL;
	pthread_cond_destroy(&vf->more);
	pthread_cond_destroy(&vf->room);
	pthread_mutex_destroy(&vf->lock);
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

		if (c == NULL && (git_commit_lookup(&c, ck->replay.view.repo, id) < 0 ||
		    git_commit_tree(&tree, c) < 0))
			error = vault_error_set(VAULT_ECORRUPT, "it or its tree is missing or damaged");
		else if (git_commit_parentcount(c) > 0 &&
			 (git_commit_parent(&p, c, 0) < 0 ||
			  (git_oid_equal(git_commit_tree_id(p), git_tree_id(tree)) ?
			   git_tree_dup(&ptree, tree) : git_commit_tree(&ptree, p)) < 0))
			error = vault_error_set(VAULT_ECORRUPT, "the event before it is missing or damaged");
		else
			error = vault_verify__event(&ck->replay, c, tree, ptree);
		if (error == VAULT_ECORRUPT) {
			failure_note(&ck->vf->fail, j->depth + i, id, error);
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
	int stop_seen;                   /* the walk met `stop` */
} walk_end;

/*
 * Follow the parents from the head back to the genesis, or to `stop` (not
 * walked: it is trusted), queueing each event for the checkers. A missing
 * event ends the walk (a finding).
 */
static int walk_chain(verifier *vf, walk_end *we, vault_verify_result *res, MDB_txn *txn,
	const git_oid *head, const git_oid *anchor, const git_oid *stop, const vault_verify_options *opts)
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
		failure_note(&vf->fail, 0, head, VAULT_ECORRUPT);
		return 0;
	}
	t_head = git_commit_time(c);
	job.n = 0;
	for (;;) {
		const git_oid *pid;

		if (stop && git_oid_equal(stop, git_commit_id(c))) {
			we->stop_seen = 1;
			break;
		}
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
			failure_note(&vf->fail, depth + 1, pid, VAULT_ECORRUPT);
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

/*
 * The snapshot verify reads, its pages accounted for first (pages.c): a
 * page both in use and listed free is damage that only shows once a
 * write has reused it. Writes that reuse the snapshot's meta page before
 * it is found make it begin again.
 */
static int begin_checked(MDB_txn **txn, vault_store *st)
{
	int error;

	for (int tries = 0; tries < 10; tries++) {
		if ((error = vault_store__begin_walk(txn, st)) < 0)
			return error;
		if ((error = vault_store__check_pages(st, *txn)) != VAULT_EBUSY)
			return error;
		vault_store__abort(st, *txn);
		*txn = NULL;
	}
	return vault_error_set(VAULT_EBUSY, "verify: the vault changes too fast to find a snapshot to check");
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

	if ((error = vault_hkeys__require(v)) < 0)
		return error;

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
	if ((error = begin_checked(&txn, v->st)) < 0)
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

	if ((error = verifier_start(&vf, v, vault_verify__threads(opts))) == 0)
		error = walk_chain(&vf, &we, res, txn, &head, anchor ? &anchor_id : NULL, NULL, opts);
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
		vault_error_put(VAULT_ECORRUPT, &vf.fail.why);
		if (res->bad_index)
			error = vault_error_wrap(VAULT_ECORRUPT, "event %llu (%s) does not verify",
				(unsigned long long)res->bad_index, hex);
		else
			error = vault_error_wrap(VAULT_ECORRUPT, "event %s does not verify", hex);
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
	if ((error = vault_store__check(v->st, txn)) < 0 ||
	    (error = vault_verify__state(v, txn, head_tree, &res->records)) < 0)
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

/* ---- the events since a checkpoint (the trust gate's check) ---------------- */

/* Events this close to the head are checked in the calling thread: starting
 * checker threads would cost more than checking them. */
#define INLINE_MAX 64

/*
 * The events from `head` back to `stop`, if that many or fewer: ids into
 * `ids`, newest first. 1 when the walk ended (at `stop` or at a root),
 * 0 when there are more.
 */
static int walk_short(git_oid *ids, size_t *n, walk_end *we, vault *v, const git_oid *head,
	const git_oid *stop)
{
	git_commit *c = NULL;
	git_oid id = *head;

	*n = 0;
	for (;;) {
		if (stop && git_oid_equal(stop, &id)) {
			we->stop_seen = 1;
			return 1;
		}
		if (*n == INLINE_MAX)
			return 0;
		if (git_commit_lookup(&c, v->repo, &id) < 0)
			return vault_error_set(VAULT_ECORRUPT, "event %s of the history is missing or damaged",
				git_oid_tostr_s(&id));
		ids[(*n)++] = id;
		we->oldest = id;
		if (git_commit_parentcount(c) == 0) {
			we->reached_genesis = 1;
			git_commit_free(c);
			return 1;
		}
		id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
	}
}

/* Check a short run in this thread, through the caller's transaction. */
static int check_inline(verifier *vf, vault *v, MDB_txn *txn, const git_oid *ids, size_t n)
{
	checker ck;
	int error;

	if ((error = checker_init(&ck, vf)) == 0) {
		ck.replay.txn = txn;
		for (size_t i = 0; i < n && error == 0; i += BATCH) {
			event_job j;
			j.depth = i;
			j.n = n - i < BATCH ? n - i : BATCH;
			memcpy(j.id, ids + i, j.n * sizeof *ids);
			error = check_run(&ck, &j);
		}
		ck.replay.txn = NULL;      /* the caller's, not the replay's */
	}
	vault_verify__replay_dispose(&ck.replay);
	return error;
}

int vault_verify__since(vault_verify_since *out, vault *v, MDB_txn *txn, const git_oid *head,
	const git_oid *stop, const git_oid *genesis)
{
	git_oid ids[INLINE_MAX];
	vault_verify_result res;
	uint64_t version_events = 0;
	verifier vf;
	walk_end we;
	size_t n;
	int error;

	memset(out, 0, sizeof *out);
	memset(&vf, 0, sizeof vf);
	memset(&we, 0, sizeof we);
	memset(&res, 0, sizeof res);
	pthread_mutex_init(&vf.fail.lock, NULL);
	vf.v = v;
	if ((error = walk_short(ids, &n, &we, v, head, stop)) == 1) {
		res.events = n;
		error = check_inline(&vf, v, txn, ids, n);
	} else if (error == 0) {
		memset(&we, 0, sizeof we);
		if ((error = verifier_start(&vf, v, vault_verify__threads(NULL))) == 0)
			error = walk_chain(&vf, &we, &res, txn, head, NULL, stop, NULL);
		int rc = verifier_finish(&vf, &version_events);
		if (error == 0)
			error = rc;
	}
	if (error < 0)
		goto done;
	out->events = res.events;
	out->reached = we.stop_seen;
	if (vf.fail.set) {
		out->bad = vf.fail.id;
		out->bad_depth = vf.fail.depth;
		out->failed = 1;
		out->why = vf.fail.why;
	} else if (!stop && !git_oid_equal(&we.oldest, genesis)) {
		out->bad = we.oldest;
		out->bad_depth = res.events ? res.events - 1 : 0;
		out->failed = 1;
		vault_error_set(VAULT_ECORRUPT, "the history does not start at the genesis event");
		vault_error_keep(&out->why);
	}
done:
	pthread_mutex_destroy(&vf.fail.lock);
	return error;
}
