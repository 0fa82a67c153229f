/*
 * verify — replay the whole history: every signature against the actor's
 * key in the policy before it, every action against the actor's role and
 * membership, every tree change against its action; then the LMDB state
 * against the head tree and every version against its manifest.
 *
 * The chain is walked from the head back to the genesis, so memory stays
 * flat however long the history is: an event needs only its own tree and
 * its parent's. Signatures, most of the work, are checked by a pool of
 * threads while the walk goes on. A failure does not stop the walk: the
 * report names the oldest failing event, the first one in the chain.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "sshsig.h"

static int is_any(const char *a, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(a, *list))
			return 1;
	return 0;
}

/* Actions that change nothing, by who may record them. */
static const char *const admin_actions[] = {
	"user-add", "user-disable", "grant", "revoke", "purpose-add", "purpose-require",
	"setting", NULL };
static const char *const content_actions[] = {
	"write", "create", "mkdir", "move", "delete", "restore", "touch", NULL };
static const char *const still_actions[] = {
	"read", "passwd", "mount", "unmount", "unlock-failed", NULL };

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

/* ---- signatures, checked by a pool of threads --------------------------- */

typedef struct {
	uint64_t depth;
	git_oid id;
	unsigned char pk[32];
	char actor[VAULT_NAME_MAX + 1];
	vault_buf sig, data;
} sig_job;

#define RING 512

typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	sig_job ring[RING];
	size_t first, count;
	int closing;
	pthread_t *threads;
	unsigned int nthreads;
	failure *fail;
} sig_pool;

static void sig_check(failure *fail, sig_job *j)
{
	if (vault_sshsig__verify(j->sig.ptr, j->sig.size, (unsigned char *)j->data.ptr,
	    j->data.size, j->pk) < 0) {
		char msg[200];
		snprintf(msg, sizeof msg, "its signature does not verify against the key of '%s'", j->actor);
		failure_note(fail, j->depth, &j->id, VAULT_ECORRUPT, msg);
	}
	vault_buf_dispose(&j->sig);
	vault_buf_dispose(&j->data);
}

static void *sig_worker(void *arg)
{
	sig_pool *p = arg;
	sig_job j;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->count == 0 && !p->closing)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->count == 0) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		j = p->ring[p->first];
		p->first = (p->first + 1) % RING;
		p->count--;
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->lock);
		sig_check(p->fail, &j);
	}
}

static int sig_pool_start(sig_pool *p, unsigned int n, failure *fail)
{
	memset(p, 0, sizeof *p);
	p->fail = fail;
	if (n <= 1)
		return 0;               /* checked inline */
	if ((p->threads = calloc(n, sizeof *p->threads)) == NULL)
		return vault_error_set_oom();
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->room, NULL);
	for (; p->nthreads < n; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, sig_worker, p) != 0)
			break;
	return 0;
}

/* Hand the job over (its buffers go with it). */
static void sig_pool_add(sig_pool *p, sig_job *j)
{
	if (p->nthreads == 0) {
		sig_check(p->fail, j);
		return;
	}
	pthread_mutex_lock(&p->lock);
	while (p->count == RING)
		pthread_cond_wait(&p->room, &p->lock);
	p->ring[(p->first + p->count) % RING] = *j;
	p->count++;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
}

/* Wait for every job, then stop the threads. */
static void sig_pool_finish(sig_pool *p)
{
	if (p->threads == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->closing = 1;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->more);
	pthread_cond_destroy(&p->room);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	p->threads = NULL;
	p->nthreads = 0;
}

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

/* ---- what a tree says --------------------------------------------------- */

/* The policy seen by the walk: cached per `policy` subtree, which changes
 * only with policy events, so runs of reads and writes look it up once. */
#define CACHE_SLOTS 64

typedef struct {
	int valid;
	char actor[VAULT_NAME_MAX + 1];
	char case_code[VAULT_CODE_SIZE];
	vault_policy_user pu;
	int member;
} cache_slot;

typedef struct {
	vault *v;
	MDB_txn *txn;
	sig_pool pool;
	failure fail;
	git_oid policy_id;
	cache_slot slot[CACHE_SLOTS];
	uint64_t version_events;
	git_oid oldest;                  /* the last event walked */
	int walked_to_genesis;           /* the walk reached an event with no parent */
} walk;

static unsigned int slot_of(const char *actor, const char *code)
{
	unsigned int h = 5381;

	for (const char *s = actor; *s; s++)
		h = h * 33 + (unsigned char)*s;
	for (const char *s = code; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h % CACHE_SLOTS;
}

/* The actor's record and membership in `code` ("" for none) per `policy`. */
static int policy_lookup(cache_slot **out, walk *w, git_tree *policy, const char *actor,
	const char *code)
{
	const git_tree_entry *e = git_tree_entry_byname(policy, "policy");
	cache_slot *s;
	int error;

	if (e == NULL)
		return vault_error_set(VAULT_ECORRUPT, "its policy is missing");
	if (!git_oid_equal(git_tree_entry_id(e), &w->policy_id)) {
		memset(w->slot, 0, sizeof w->slot);
		w->policy_id = *git_tree_entry_id(e);
	}
	s = &w->slot[slot_of(actor, code)];
	if (s->valid && !strcmp(s->actor, actor) && !strcmp(s->case_code, code)) {
		*out = s;
		return 0;
	}
	memset(s, 0, sizeof *s);
	if ((error = vault_history__user(&s->pu, policy, actor, w->v)) < 0 ||
	    (code[0] && (error = vault_history__membership(&s->member, policy, code, actor, w->v)) < 0))
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
	char path[80];
	git_oid before, after;
	int had, has;
} change;

typedef struct {
	change c[MAX_CHANGES];
	size_t n;                        /* may pass MAX_CHANGES: then only counted */
} changes;

static void change_add(changes *ch, const char *prefix, const git_tree_entry *a,
	const git_tree_entry *b)
{
	if (ch->n < MAX_CHANGES) {
		change *c = &ch->c[ch->n];
		const git_tree_entry *e = a ? a : b;
		memset(c, 0, sizeof *c);
		snprintf(c->path, sizeof c->path, "%s%s", prefix, git_tree_entry_name(e));
		if ((c->had = a != NULL) != 0)
			c->before = *git_tree_entry_id(a);
		if ((c->has = b != NULL) != 0)
			c->after = *git_tree_entry_id(b);
	}
	ch->n++;
}

static int diff_trees(changes *ch, vault *v, git_tree *a, git_tree *b, const char *prefix);

/* One entry present on one side or both, with different ids. */
static int diff_entry(changes *ch, vault *v, const git_tree_entry *a, const git_tree_entry *b,
	const char *prefix)
{
	int a_tree = a && git_tree_entry_type(a) == GIT_OBJECT_TREE;
	int b_tree = b && git_tree_entry_type(b) == GIT_OBJECT_TREE;
	git_tree *ta = NULL, *tb = NULL;
	char sub[80];
	int error = 0;

	if (!a_tree && !b_tree) {
		change_add(ch, prefix, a, b);
		return 0;
	}
	if ((a && !a_tree) || (b && !b_tree))
		return vault_error_set(VAULT_ECORRUPT, "'%s%s' changed between a file and a folder",
			prefix, git_tree_entry_name(a ? a : b));
	snprintf(sub, sizeof sub, "%s%s/", prefix, git_tree_entry_name(a ? a : b));
	if ((a && git_tree_lookup(&ta, v->repo, git_tree_entry_id(a)) < 0) ||
	    (b && git_tree_lookup(&tb, v->repo, git_tree_entry_id(b)) < 0))
		error = vault_error_set(VAULT_ECORRUPT, "history folder '%s' cannot be read", sub);
	else
		error = diff_trees(ch, v, ta, tb, sub);
	git_tree_free(ta);
	git_tree_free(tb);
	return error;
}

/* The files that differ between two trees (either may be NULL: empty). */
static int diff_trees(changes *ch, vault *v, git_tree *a, git_tree *b, const char *prefix)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	size_t i = 0, j = 0;
	int error = 0;

	while (error == 0 && (i < na || j < nb) && ch->n <= MAX_CHANGES) {
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int cmp = !ea ? 1 : !eb ? -1 : git_tree_entry_cmp(ea, eb);

		if (cmp < 0) {
			error = diff_entry(ch, v, ea, NULL, prefix);
			i++;
		} else if (cmp > 0) {
			error = diff_entry(ch, v, NULL, eb, prefix);
			j++;
		} else {
			if (!git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)))
				error = diff_entry(ch, v, ea, eb, prefix);
			i++;
			j++;
		}
	}
	return error;
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
 * The tree change of a document event: exactly its node's manifest, in its
 * case; a new version only by `write` and `restore`, and then the version
 * the event names, whose record points back at this event.
 */
static int check_content_change(walk *w, const vault_trailers *t, const changes *ch,
	const git_oid *commit)
{
	const change *c = &ch->c[0];
	char path[64], node_case[VAULT_CODE_SIZE], ver[16], old_ver[16];
	int makes = !strcmp(t->action, "mkdir") || !strcmp(t->action, "create");
	int new_version = !strcmp(t->action, "write") || !strcmp(t->action, "restore");
	uint64_t node;
	int error = 0;

	if (strlen(t->node) != 16)
		FAIL("'%s' names no node", t->action);
	node = strtoull(t->node, NULL, 16);
	vault_node_path(path, node);
	if (ch->n != 1 || strcmp(c->path, path))
		FAIL("'%s' of node %s changed %s", t->action, t->node,
			ch->n == 0 ? "nothing" : ch->n == 1 ? c->path : "more than its node");
	if (!c->has)
		FAIL("'%s' removed the manifest of node %s", t->action, t->node);
	if (makes && c->had)
		FAIL("'%s' recreated node %s", t->action, t->node);
	if (!makes && !c->had && (strcmp(t->action, "write") || t->version != 1))
		FAIL("'%s' created node %s", t->action, t->node);   /* only a first write may */
	if ((error = blob_field(node_case, sizeof node_case, w->v, &c->after, "case")) < 0 ||
	    (error = blob_field(ver, sizeof ver, w->v, &c->after, "version")) < 0)
		goto done;
	if (strcmp(node_case, t->case_code))
		FAIL("'%s' in case %s changed node %s of case %s", t->action, t->case_code, t->node,
			node_case);
	if (c->had) {
		char old_case[VAULT_CODE_SIZE];
		if ((error = blob_field(old_case, sizeof old_case, w->v, &c->before, "case")) < 0 ||
		    (error = blob_field(old_ver, sizeof old_ver, w->v, &c->before, "version")) < 0)
			goto done;
		if (strcmp(old_case, node_case))
			FAIL("node %s moved from case %s to case %s", t->node, old_case, node_case);
	} else {
		snprintf(old_ver, sizeof old_ver, "0");
	}
	if (new_version) {
		version_rec r;
		if (strtoul(ver, NULL, 10) != t->version || t->version != strtoul(old_ver, NULL, 10) + 1)
			FAIL("'%s' of node %s made version %s after %s, and names version %u",
				t->action, t->node, ver, old_ver, t->version);
		if ((error = vault_version__get(&r, w->txn, w->v, node, t->version)) == VAULT_ENOTFOUND)
			FAIL("version %u of node %s is missing from the vault", t->version, t->node);
		if (error < 0)
			goto done;
		error = memcmp(r.commit, commit->id, GIT_OID_RAWSZ) ? VAULT_ECORRUPT : 0;
		vault_version__dispose(&r);
		if (error)
			FAIL("the record of version %u of node %s names another event", t->version, t->node);
		w->version_events++;
	} else if (strcmp(ver, old_ver)) {
		FAIL("'%s' of node %s changed its version from %s to %s", t->action, t->node, old_ver, ver);
	}
done:
	return error;
}

/* The tree change of a policy event: the one record it is about. */
static int check_policy_change(walk *w, const vault_trailers *t, const changes *ch,
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
	if (!strcmp(t->action, "grant") || !strcmp(t->action, "revoke")) {
		if ((error = blob_member(&member, w->v, &c->after, t->target)) < 0)
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
static int check_case_create(walk *w, const vault_trailers *t, const changes *ch)
{
	char want_case[80], want_node[64], root_case[VAULT_CODE_SIZE];
	const change *cc = NULL, *cn = NULL;
	int member, error = 0;

	snprintf(want_case, sizeof want_case, "policy/cases/%s", t->case_code);
	vault_node_path(want_node, strtoull(t->node, NULL, 16));
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
	if ((error = blob_member(&member, w->v, &cc->after, t->actor)) < 0 ||
	    (error = blob_field(root_case, sizeof root_case, w->v, &cn->after, "case")) < 0)
		goto done;
	if (member != 2)
		FAIL("the creator '%s' is not a read-write member of new case %s", t->actor, t->case_code);
	if (strcmp(root_case, t->case_code))
		FAIL("the root folder of case %s belongs to case %s", t->case_code, root_case);
done:
	return error;
}

/*
 * Check one event: `parent_tree` is the state before it (NULL for the
 * genesis, which is checked against its own policy). The signature goes
 * to the pool.
 */
static int check_event(walk *w, git_commit *c, git_tree *tree, git_tree *parent_tree,
	uint64_t depth)
{
	vault *v = w->v;
	const git_signature *author = git_commit_author(c);
	int is_genesis = parent_tree == NULL;
	git_tree *policy = is_genesis ? tree : parent_tree;
	sig_job job;
	cache_slot *pol = NULL;
	vault_trailers t;
	changes ch;
	int error = 0;

	memset(&job, 0, sizeof job);
	memset(&ch, 0, sizeof ch);
	if (git_commit_parentcount(c) != (is_genesis ? 0u : 1u))
		FAIL("it has %u parents", git_commit_parentcount(c));
	vault_history__trailers(&t, git_commit_message(c));
	if (!t.action[0] || !t.actor[0])
		FAIL("it names no action or actor");
	if (!author || strcmp(author->name, t.actor))
		FAIL("its author is not its actor '%s'", t.actor);
	if (is_genesis != !strcmp(t.action, "init"))
		FAIL("'init' must be the first event and only the first");
	if (!is_genesis && !git_oid_equal(git_tree_id(tree), git_tree_id(parent_tree)) &&
	    (error = diff_trees(&ch, v, parent_tree, tree, "")) < 0)
		goto done;

	if (!strcmp(t.action, "unlock-failed")) {
		/* The one unsigned event: it may change nothing. */
		if (ch.n)
			FAIL("a failed unlock changed the state");
		goto done;
	}
	if ((error = policy_lookup(&pol, w, policy, t.actor, t.case_code)) < 0)
		goto done;
	if (!pol->pu.found)
		FAIL("actor '%s' is not a user at that point", t.actor);
	if (!pol->pu.active)
		FAIL("actor '%s' is disabled at that point", t.actor);

	if (is_genesis) {
		if (pol->pu.role != VAULT_ROLE_ADMIN)
			FAIL("the first event is not signed by an admin");
	} else if (is_any(t.action, admin_actions)) {
		if (pol->pu.role != VAULT_ROLE_ADMIN)
			FAIL("'%s' is not an admin but recorded '%s'", t.actor, t.action);
		if ((error = check_policy_change(w, &t, &ch, t.actor)) < 0)
			goto done;
	} else if (is_any(t.action, content_actions)) {
		if (pol->member != 2)
			FAIL("'%s' is not a read-write member of case '%s'", t.actor, t.case_code);
		if ((error = check_content_change(w, &t, &ch, git_commit_id(c))) < 0)
			goto done;
	} else if (!strcmp(t.action, "rekey")) {
		if (pol->member == 0)
			FAIL("'%s' is not a member of case '%s'", t.actor, t.case_code);
		if ((error = check_policy_change(w, &t, &ch, t.actor)) < 0)
			goto done;
	} else if (!strcmp(t.action, "case-create")) {
		if (pol->pu.role == VAULT_ROLE_AUDITOR)
			FAIL("auditor '%s' created a case", t.actor);
		if ((error = check_case_create(w, &t, &ch)) < 0)
			goto done;
	} else if (is_any(t.action, still_actions)) {
		if (!strcmp(t.action, "read") && pol->member == 0)
			FAIL("'%s' is not a member of case '%s'", t.actor, t.case_code);
		if (ch.n)
			FAIL("a '%s' event changed the state", t.action);
	} else {
		FAIL("unknown action '%s'", t.action);
	}

	job.depth = depth;
	job.id = *git_commit_id(c);
	memcpy(job.pk, pol->pu.pk, sizeof job.pk);
	snprintf(job.actor, sizeof job.actor, "%s", t.actor);
	if ((error = commit_signature(&job.sig, &job.data, v, &job.id)) < 0)
		goto done;
	if (!job.sig.size)
		FAIL("it is not signed");
	sig_pool_add(&w->pool, &job);
	return 0;
done:
	vault_buf_dispose(&job.sig);
	vault_buf_dispose(&job.data);
	return error;
}

/* Note a failure of event `id`; VAULT_ECORRUPT is a finding, the walk goes on. */
static int walk_fail(walk *w, int error, uint64_t depth, const git_oid *id)
{
	if (error != VAULT_ECORRUPT)
		return error;
	failure_note(&w->fail, depth, id, error, vault_error_last()->message);
	return 0;
}

static void progress(const vault_verify_options *o, uint64_t done)
{
	if (o && o->progress)
		o->progress(done, 1000, o->payload);
}

/*
 * Walk from the head back to the genesis. On return, `n` is the number of
 * events walked, and `complete` whether the walk reached the genesis.
 */
static int walk_chain(walk *w, vault_verify_result *res, const git_oid *head,
	const git_oid *anchor, int *anchor_seen, const vault_verify_options *opts,
	git_tree **head_tree)
{
	git_commit *c = NULL, *p = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	int64_t t_head = 0, t_genesis = 0;
	uint64_t depth = 0;
	int error = 0;
	MDB_val val;

	if (vault__meta_get(&val, w->txn, w->v, "genesis") == 0 && val.mv_size == 20) {
		git_oid g;
		git_commit *gc = NULL;
		git_oid_fromraw(&g, val.mv_data);
		if (git_commit_lookup(&gc, w->v->repo, &g) == 0)
			t_genesis = git_commit_time(gc);
		git_commit_free(gc);
	}
	if (git_commit_lookup(&c, w->v->repo, head) < 0 || git_commit_tree(&tree, c) < 0) {
		error = walk_fail(w, vault_error_set(VAULT_ECORRUPT, "it is missing or damaged"), 0, head);
		goto done;
	}
	t_head = git_commit_time(c);
	if (git_tree_dup(head_tree, tree) < 0) {
		error = vault__git_error("verify");
		goto done;
	}
	for (;;) {
		const git_oid *pid;

		if (anchor && git_oid_equal(anchor, git_commit_id(c)))
			*anchor_seen = 1;
		res->events++;
		if ((res->events & 4095) == 0 && t_head > t_genesis)
			progress(opts, (uint64_t)(900.0 * (double)(t_head - git_commit_time(c)) /
				(double)(t_head - t_genesis)));
		w->oldest = *git_commit_id(c);
		if (git_commit_parentcount(c) == 0) {
			w->walked_to_genesis = 1;
			if ((error = check_event(w, c, tree, NULL, depth)) < 0)
				error = walk_fail(w, error, depth, git_commit_id(c));
			break;
		}
		pid = git_commit_parent_id(c, 0);
		if (git_commit_lookup(&p, w->v->repo, pid) < 0) {
			error = walk_fail(w, vault_error_set(VAULT_ECORRUPT, "it is missing or damaged"),
				depth + 1, pid);
			break;
		}
		if (git_oid_equal(git_commit_tree_id(p), git_tree_id(tree)))
			error = git_tree_dup(&ptree, tree);
		else
			error = git_commit_tree(&ptree, p);
		if (error < 0) {
			error = walk_fail(w, vault_error_set(VAULT_ECORRUPT, "its tree is missing"),
				depth + 1, pid);
			break;
		}
		if ((error = check_event(w, c, tree, ptree, depth)) < 0 &&
		    (error = walk_fail(w, error, depth, git_commit_id(c))) < 0)
			break;
		git_commit_free(c);
		git_tree_free(tree);
		c = p;
		tree = ptree;
		p = NULL;
		ptree = NULL;
		depth++;
	}
done:
	git_commit_free(p);
	git_tree_free(ptree);
	git_commit_free(c);
	git_tree_free(tree);
	return error;
}


#undef FAIL

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

static int verify_state(vault *v, MDB_txn *txn, git_tree *head, uint64_t *records)
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
		if ((have & 15) == 0)
			vault_store__trim(v->st, d.mv_data);
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
	*records = have;
	vault_buf_dispose(&b);
	return error;
}


/* Every version's blocks against its record, and its record against the
 * manifest its event signed. That each record names an event of the chain
 * was checked by the walk (one record per version-making event). */
static int verify_versions(vault_verify_result *res, vault *v, MDB_txn *txn,
	const vault_verify_options *opts, uint64_t total)
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
		if ((res->versions & 15) == 0)
			vault_store__trim(v->st, d.mv_data);
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
		/* Its manifest, as its event signed it, commits to this record. */
		git_oid_tostr(res->bad_commit, sizeof res->bad_commit, &oid);
		if (git_commit_lookup(&c, v->repo, &oid) < 0 || git_commit_tree(&tree, c) < 0) {
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
			if ((res->versions & 1023) == 0 && total)
				progress(opts, 900 + 100 * res->versions / total);
		}
	}
	mdb_cursor_close(cur);
	vault_buf_dispose(&b);
	return error;
}

static unsigned int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (unsigned int)n;
}

int vault_audit_verify(vault_verify_result *res, vault *v, const char *anchor)
{
	vault_verify_options opts = { anchor, NULL, NULL, 0 };

	return vault_audit_verify_with(res, v, &opts);
}

int vault_audit_verify_with(vault_verify_result *res, vault *v, const vault_verify_options *opts)
{
	const char *anchor = opts ? opts->anchor : NULL;
	walk w;
	git_oid head, genesis, anchor_id;
	git_tree *head_tree = NULL;
	MDB_stat st;
	MDB_val val;
	int error, anchor_seen = 0, rc;

	memset(res, 0, sizeof *res);
	memset(&w, 0, sizeof w);
	w.v = v;
	if (anchor && (strlen(anchor) != GIT_OID_HEXSZ || git_oid_fromstr(&anchor_id, anchor) < 0))
		return vault_error_set(VAULT_EUSAGE, "'%s' is not a commit id", anchor);
	if ((error = vault__begin(&w.txn, v, 0)) < 0)
		return error;
	vault_store__cur = w.txn;
	pthread_mutex_init(&w.fail.lock, NULL);
	if ((error = vault__meta_get(&val, w.txn, v, "head")) < 0 || val.mv_size != 20) {
		error = error < 0 && error != VAULT_ENOTFOUND ? error :
			vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
		goto done;
	}
	git_oid_fromraw(&head, val.mv_data);
	git_oid_tostr(res->head, sizeof res->head, &head);
	if ((error = vault__meta_get(&val, w.txn, v, "genesis")) < 0 || val.mv_size != 20) {
		error = vault_error_set(VAULT_ECORRUPT, "the vault has no valid genesis record");
		goto done;
	}
	git_oid_fromraw(&genesis, val.mv_data);

	if ((error = sig_pool_start(&w.pool, opts && opts->threads ? opts->threads : default_threads(),
	    &w.fail)) < 0)
		goto done;
	error = walk_chain(&w, res, &head, anchor ? &anchor_id : NULL, &anchor_seen, opts, &head_tree);
	sig_pool_finish(&w.pool);
	if (error < 0)
		goto done;
	if (w.fail.set) {
		char hex[VAULT_OID_SIZE];
		git_oid_tostr(hex, sizeof hex, &w.fail.id);
		memcpy(res->bad_commit, hex, sizeof hex);
		res->bad_index = w.walked_to_genesis ? res->events - w.fail.depth : 0;
		if (res->bad_index)
			error = vault_error_set(VAULT_ECORRUPT, "event %llu (%s) does not verify: %s",
				(unsigned long long)res->bad_index, hex, w.fail.msg);
		else
			error = vault_error_set(VAULT_ECORRUPT, "event %s does not verify: %s", hex, w.fail.msg);
		goto done;
	}
	if (!git_oid_equal(&w.oldest, &genesis)) {
		git_oid_tostr(res->bad_commit, sizeof res->bad_commit, &w.oldest);
		res->bad_index = 1;
		error = vault_error_set(VAULT_ECORRUPT, "the history does not start at the genesis event (it starts at %s)", res->bad_commit);
		goto done;
	}
	if (anchor && !anchor_seen) {
		error = vault_error_set(VAULT_ECORRUPT, "anchor %s is not in the history", anchor);
		goto done;
	}
	progress(opts, 900);
	if ((error = verify_state(v, w.txn, head_tree, &res->records)) < 0) {
		memcpy(res->bad_commit, res->head, sizeof res->head);
		goto done;
	}
	if ((rc = mdb_stat(w.txn, v->st->versions, &st)) != 0) {
		error = vault_store__error(rc, "verify");
		goto done;
	}
	if (st.ms_entries != w.version_events) {
		error = vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: %llu version records for %llu events that made a version",
			(unsigned long long)st.ms_entries, (unsigned long long)w.version_events);
		memcpy(res->bad_commit, res->head, sizeof res->head);
		goto done;
	}
	if ((error = verify_versions(res, v, w.txn, opts, st.ms_entries)) == 0)
		progress(opts, 1000);
done:
	sig_pool_finish(&w.pool);
	pthread_mutex_destroy(&w.fail.lock);
	git_tree_free(head_tree);
	vault_store__cur = NULL;
	vault_store__abort(v->st, w.txn);
	return error;
}
