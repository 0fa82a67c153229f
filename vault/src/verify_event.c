/*
 * verify_event — the replay of one event against the state before it: its
 * author and trailers, the actor's role and membership in the policy then,
 * what its tree changed (the one record of a policy event; the node, its
 * folders and its version of a document event; the case and root folder
 * of a new case) against its row of the action table, and its signature
 * against the actor's key then. verify.c walks the chain and hands the
 * events to its checker threads, each with a replay of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2/sys/odb_backend.h>

#include "action.h"
#include "event.h"
#include "odb_lmdb.h"
#include "hkeys.h"
#include "sshsig.h"
#include "verify.h"

/* ---- a replay's own view of the vault ----------------------------------- */

int vault_verify__replay_init(vault_verify__replay *r, vault *v)
{
	git_odb_backend *b = NULL;

	memset(r, 0, sizeof *r);
	r->view.st = v->st;
	memcpy(r->view.dir, v->dir, sizeof r->view.dir);
	memcpy(r->view.id, v->id, sizeof r->view.id);
	r->view.hk = v->hk;          /* borrowed: the view never frees them */
	if (git_odb_new(&r->view.odb) < 0 || vault_odb_lmdb__new(&b, v->st, &v->hk, v->id) < 0)
		return vault_error_git("verify");
	if (git_odb_add_backend(r->view.odb, b, 1) < 0) {
		b->free(b);
		return vault_error_git("verify");
	}
	if (git_repository_wrap_odb(&r->view.repo, r->view.odb) < 0)
		return vault_error_git("verify");
	return 0;
}

void vault_verify__replay_dispose(vault_verify__replay *r)
{
	git_tree_free(r->users);
	git_tree_free(r->cases);
	vault_history__memo_dispose(&r->memo);
	git_repository_free(r->view.repo);
	git_odb_free(r->view.odb);
	vault_store__abort(r->view.st, r->txn);
}

/* ---- the policy before an event ----------------------------------------- */

static unsigned int slot_of(const char *actor, const char *code)
{
	unsigned int h = 5381;

	for (const char *s = actor; *s; s++)
		h = h * 33 + (unsigned char)*s;
	for (const char *s = code; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h % VAULT_VERIFY_SLOTS;
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
static int policy_lookup(vault_verify__actor **out, vault_verify__replay *w, git_tree *policy,
	const char *actor, const char *code)
{
	const git_tree_entry *e = git_tree_entry_byname(policy, "policy");
	vault_buf b = VAULT_BUF_INIT;
	vault_verify__actor *s;
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

/* As many records as one event may change: a passwd changes its user's
 * record and each of their cases. */
#define MAX_CHANGES EVENT_MAX_UPDATES

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

/* ---- what each kind of event may change --------------------------------- */

#define FAIL(...) do { error = vault_error_set(VAULT_ECORRUPT, __VA_ARGS__); goto done; } while (0)

/*
 * The vault's record of the version an event made: it names this event,
 * and its size, time, generation and the commitment to its block list are
 * those of the manifest the event signed. (Checked here, as the events are
 * replayed on every core, rather than by reading each event's tree again.)
 */
static int version_matches(vault_verify__replay *w, const vault_trailers *t, uint64_t node,
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
static int check_folders(vault_verify__replay *w, const vault_trailers *t, const vault_action *act,
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
static int check_content_change(vault_verify__replay *w, const vault_trailers *t, const changes *ch,
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
	if (!c && ch->n == 0)
		FAIL("'%s' of node %s changed nothing", t->action, t->node);
	if (!c)
		FAIL("'%s' of node %s changed other records, not its node", t->action, t->node);
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
static int check_policy_change(vault_verify__replay *w, const vault_trailers *t, const changes *ch,
	const char *actor)
{
	char want[80];
	const change *c = &ch->c[0];
	int member, error = 0;

	if (!strcmp(t->action, "user-add") || !strcmp(t->action, "user-disable") ||
	    !strcmp(t->action, "user-enable"))
		vault_user__path(want, t->target);
	else if (!strcmp(t->action, "grant") || !strcmp(t->action, "revoke") || !strcmp(t->action, "rekey") ||
		 !strcmp(t->action, "case-label") ||
		 (!strncmp(t->action, "recovery-", 9) && strcmp(t->action, "recovery-setup")))
		vault_case__path(want, t->case_code);
	else
		snprintf(want, sizeof want, "%s", VAULT_SETTINGS_PATH);
	if (ch->n == 0 && !strcmp(t->action, "rekey"))
		return 0;                /* keys sealed to a new member: no record changed */
	if (ch->n == 0)
		FAIL("'%s' changed nothing, not only %s", t->action, want);
	if (ch->n > 1)
		FAIL("'%s' changed several records, not only %s", t->action, want);
	if (strcmp(c->path, want))
		FAIL("'%s' changed %s, not only %s", t->action, c->path, want);
	if (!c->has)
		FAIL("'%s' removed %s", t->action, want);
	if (c->had && !strcmp(t->action, "user-add"))
		FAIL("'%s' replaced %s", t->action, want);
	if (!c->had && strcmp(t->action, "user-add"))
		FAIL("'%s' created %s", t->action, want);
	if (!strncmp(want, "policy/users/", 13)) {
		char role[16], key[100], status[16];
		vault_role_t r;
		if ((error = blob_field(role, sizeof role, &w->view, &c->after, "role")) < 0 ||
		    (error = blob_field(key, sizeof key, &w->view, &c->after, "key")) < 0 ||
		    (error = blob_field(status, sizeof status, &w->view, &c->after, "status")) < 0)
			goto done;
		if (vault_role_parse(&r, role) < 0 || (key[0] && strncmp(key, "ssh-ed25519 ", 12)))
			FAIL("'%s' wrote a damaged record for user '%s'", t->action, t->target);
		/* The admin adds a user without a key: the user makes it (enrol). */
		if ((!strcmp(t->action, "user-add") || !strcmp(t->action, "user-enable")) && key[0])
			FAIL("'%s' made '%s' %s with a key, not pending without a key", t->action, t->target,
				status);
		if ((!strcmp(t->action, "user-add") || !strcmp(t->action, "user-enable")) &&
		    strcmp(status, "pending"))
			FAIL("'%s' made '%s' %s, not pending without a key", t->action, t->target, status);
		/* Only a disabled user is enabled: never a way to a new key
		 * for an active one behind their back. */
		if (!strcmp(t->action, "user-enable")) {
			if ((error = blob_field(status, sizeof status, &w->view, &c->before, "status")) < 0)
				goto done;
			if (strcmp(status, "disabled"))
				FAIL("'user-enable' of '%s', who was %s, not disabled", t->target, status);
		}
	} else if (!strncmp(want, "policy/cases/", 13)) {
		/* Every epoch a member can reach has its key-check value. */
		char epoch[16], field[32], kcv[40];
		if ((error = blob_field(epoch, sizeof epoch, &w->view, &c->after, "epoch")) < 0)
			goto done;
		snprintf(field, sizeof field, "kcv %s", epoch);
		if ((error = blob_field(kcv, sizeof kcv, &w->view, &c->after, field)) < 0)
			goto done;
		if (strlen(kcv) != 2 * KCV_SIZE)
			FAIL("'%s' left case %s without a key-check value of epoch %s", t->action,
				t->case_code, epoch);
	} else if (!strcmp(want, VAULT_SETTINGS_PATH)) {
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
		if (member && strcmp(t->action, "grant"))
			FAIL("'%s' of %s in case %s left the membership in place", t->action, t->target,
				t->case_code);
		if (!member && !strcmp(t->action, "grant"))
			FAIL("'%s' of %s in case %s left the membership out", t->action, t->target,
				t->case_code);
	}
	(void)actor;
done:
	return error;
}

/* case-create: the new case record, with its creator as a rw member, and its root. */
static int check_case_create(vault_verify__replay *w, const vault_trailers *t, const changes *ch)
{
	char want_case[80], want_node[64], root_case[VAULT_CODE_SIZE], kcv[40];
	const change *cc = NULL, *cn = NULL;
	int member, error = 0;

	vault_case__path(want_case, t->case_code);
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
	    (error = blob_field(root_case, sizeof root_case, &w->view, &cn->after, "case")) < 0 ||
	    (error = blob_field(kcv, sizeof kcv, &w->view, &cc->after, "kcv 1")) < 0)
		goto done;
	if (strlen(kcv) != 2 * KCV_SIZE)
		FAIL("new case %s has no key-check value of its first key", t->case_code);
	if (member != 2)
		FAIL("the creator '%s' is not a read-write member of new case %s", t->actor, t->case_code);
	if (strcmp(root_case, t->case_code))
		FAIL("the root folder of case %s belongs to case %s", t->case_code, root_case);
done:
	return error;
}

/*
 * An enrol proves its author knew the code an admin recorded: the proof
 * trailer, signed by the code's key pair (the `enrol` of the record before,
 * which the admin's `user-add` or `user-enable` signed in), over the new
 * key `pk`. A key written without the code enrols no one.
 */
static int check_enrol_proof(vault_verify__replay *w, const vault_trailers *t, const git_oid *before,
	const unsigned char pk[32])
{
	char field[100];
	unsigned char enrol[32];
	size_t len = 0;
	int error;

	if ((error = blob_field(field, sizeof field, &w->view, before, "enrol")) < 0)
		return error;
	if (strlen(field) < 2 * sizeof enrol || (field[2 * sizeof enrol] && field[2 * sizeof enrol] != ' ') ||
	    sodium_hex2bin(enrol, sizeof enrol, field, 2 * sizeof enrol, NULL, &len, NULL) != 0 ||
	    len != sizeof enrol)
		FAIL("'%s' was pending without an enrolment key before its enrol", t->actor);
	if (vault_hkeys__enrol_proven(&w->view, t->actor, enrol, pk, t->proof) < 0)
		FAIL("the enrol of '%s' does not prove the enrolment code an admin recorded (no valid "
			"Enrol-Proof)", t->actor);
done:
	return error;
}

/*
 * A user's own keys. `enrol`: only the actor's record, pending before,
 * active with a key after; signed with that key (`pk` gets it). `passwd`:
 * the actor's key, and a new epoch of cases the actor is a member of (the
 * fields a rekey changes); signed with the key before.
 */
static int check_self_change(vault_verify__replay *w, const vault_trailers *t, const changes *ch,
	git_tree *policy, unsigned char pk[32])
{
	const vault_action *act = vault_action__find(t->action);
	const change *self = NULL;
	char path[80], status[16], key[100];
	int enrol = !strcmp(t->action, "enrol"), member, error = 0;

	vault_user__path(path, t->actor);
	if (ch->n > MAX_CHANGES)
		FAIL("'%s' of '%s' changed more records than an event may", t->action, t->actor);
	for (size_t i = 0; i < ch->n; i++) {
		const change *c = &ch->c[i];

		if (!strcmp(c->path, path)) {
			self = c;
			continue;
		}
		if (enrol || strncmp(c->path, "policy/cases/", 13) || !c->had || !c->has)
			FAIL("'%s' of '%s' changed %s", t->action, t->actor, c->path);
		if ((error = vault_history__membership(&member, policy, c->path + 13, t->actor, &w->view)) < 0)
			goto done;
		if (!member)
			FAIL("'%s' of '%s' changed case %s, which they are no member of", t->action, t->actor,
				c->path + 13);
		if ((error = vault_action__check_record(&w->view, act, &c->before, &c->after, t->actor,
		    c->path)) < 0)
			goto done;
	}
	/* A passwd over more cases than one event may change goes on in
	 * events of cases only, signed with the key the first one made. */
	if (!self && !enrol && ch->n > 0)
		goto done;
	if (!self || !self->had || !self->has)
		FAIL("'%s' of '%s' did not change their record", t->action, t->actor);
	if ((error = vault_action__check_record(&w->view, act, &self->before, &self->after, t->actor,
	    path)) < 0 ||
	    (error = blob_field(status, sizeof status, &w->view, &self->after, "status")) < 0 ||
	    (error = blob_field(key, sizeof key, &w->view, &self->after, "key")) < 0)
		goto done;
	if (strcmp(status, "active") || vault_sshsig__parse_publine(pk, key, strlen(key)) < 0) {
		if (!key[0])
			FAIL("'%s' left '%s' %s without a key", t->action, t->actor, status);
		FAIL("'%s' left '%s' %s", t->action, t->actor, status);
	}
	if (enrol)
		error = check_enrol_proof(w, t, &self->before, pk);
done:
	return error;
}

/* ---- one event ---------------------------------------------------------- */

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
 * A user is disabled only once they are a member of no case (each removal
 * a `revoke` before it), so that no key of a later epoch is theirs. The
 * cases are those of the policy in force, which a `user-disable` leaves
 * as they were.
 */
static int check_disabled_out(vault_verify__replay *w, const vault_trailers *t)
{
	vault_buf b = VAULT_BUF_INIT;
	size_t n = w->cases ? git_tree_entrycount(w->cases) : 0;
	int error = 0;

	for (size_t i = 0; i < n && error == 0; i++) {
		const char *code = git_tree_entry_name(git_tree_entry_byindex(w->cases, i));

		if ((error = folder_file(&b, &w->view, w->cases, code)) == 0 &&
		    vault_history__member_parse(b.ptr, t->target))
			error = vault_error_set(VAULT_ECORRUPT,
				"'user-disable' of '%s' left them a member of case %s", t->target, code);
	}
	vault_buf_dispose(&b);
	return error;
}

/*
 * A grant makes a member of an active caseworker only: admins and auditors
 * hold no case keys, and a disabled user gets nothing new (as the policy
 * in force before the event says).
 */
static int check_grantee(vault_verify__replay *w, git_tree *policy, const vault_trailers *t)
{
	vault_verify__actor *g = NULL;
	int error;

	if ((error = policy_lookup(&g, w, policy, t->target, "")) < 0)
		return error;
	if (!g->pu.found)
		FAIL("'grant' made '%s', who is no user, a member of case %s", t->target, t->case_code);
	if (g->pu.role == VAULT_ROLE_ADMIN)
		FAIL("'grant' made admin '%s' a member of case %s", t->target, t->case_code);
	if (g->pu.role != VAULT_ROLE_CASEWORKER)
		FAIL("'grant' made auditor '%s' a member of case %s", t->target, t->case_code);
	if (!g->pu.active)
		FAIL("'grant' made disabled user '%s' a member of case %s", t->target, t->case_code);
done:
	return error;
}

/* Who took up a recovered case: a caseworker, not a member yet. A sentence
 * for each other role, and for a member already. */
static int recovered_by(const vault_trailers *t, const vault_verify__actor *pol)
{
	switch (pol->pu.role) {
	case VAULT_ROLE_CASEWORKER:
		return !pol->member ? 0 : vault_error_set(VAULT_ECORRUPT,
			"'%s' took up case '%s' as caseworker, a member already", t->actor, t->case_code);
	case VAULT_ROLE_ADMIN:
		return pol->member ?
			vault_error_set(VAULT_ECORRUPT, "'%s' took up case '%s' as admin, a member already",
				t->actor, t->case_code) :
			vault_error_set(VAULT_ECORRUPT, "'%s' took up case '%s' as admin", t->actor, t->case_code);
	default:
		return pol->member ?
			vault_error_set(VAULT_ECORRUPT, "'%s' took up case '%s' as auditor, a member already",
				t->actor, t->case_code) :
			vault_error_set(VAULT_ECORRUPT, "'%s' took up case '%s' as auditor", t->actor, t->case_code);
	}
}

/*
 * Check one event: `parent_tree` is the state before it (NULL for the
 * genesis, which is checked against its own policy).
 */
int vault_verify__event(vault_verify__replay *w, git_commit *c, git_tree *tree,
	git_tree *parent_tree)
{
	vault *v = &w->view;
	const git_signature *author = git_commit_author(c);
	int is_genesis = parent_tree == NULL;
	git_tree *policy = is_genesis ? tree : parent_tree;
	vault_buf sig = VAULT_BUF_INIT, data = VAULT_BUF_INIT;
	vault_verify__actor *pol = NULL;
	const vault_action *act;
	unsigned char pk[32];
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
	/* A pending user's one event is their enrolment; only theirs. */
	if (pol->pu.pending && strcmp(t.action, "enrol"))
		FAIL("actor '%s' is pending (not enrolled) at that point and recorded '%s'", t.actor, t.action);
	if (!pol->pu.pending && !strcmp(t.action, "enrol"))
		FAIL("actor '%s' is not pending at that point and recorded '%s'", t.actor, t.action);
	if (!pol->pu.active && !pol->pu.pending)
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
		if (!strcmp(t.action, "user-disable") && (error = check_disabled_out(w, &t)) < 0)
			goto done;
		if (!strncmp(t.action, "recovery-", 9) &&
		    (error = vault_verify__recovery(v, &t, parent_tree, tree)) < 0)
			goto done;
		if (!strcmp(t.action, "grant")) {
			/* The lookup may take the actor's slot: keep the key. */
			memcpy(pk, pol->pu.pk, sizeof pk);
			if ((error = check_grantee(w, policy, &t)) < 0)
				goto done;
			pol = NULL;
		}
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
		if (pol->member != 2 && !strcmp(t.action, "case-label"))
			FAIL("'%s' is not a read-write member of case '%s'", t.actor, t.case_code);
		if ((error = check_policy_change(w, &t, &ch, t.actor)) < 0)
			goto done;
		if (!strcmp(t.action, "recovery-split") &&
		    (error = vault_verify__recovery(v, &t, parent_tree, tree)) < 0)
			goto done;
		break;
	case VAULT_ACTION_CUSTODIAN:
	case VAULT_ACTION_RECOVERED:
		/* Custodians of any role approve (verify_recovery.c checks they
		 * hold a share); the key goes to a caseworker, not yet a member. */
		if (act->kind == VAULT_ACTION_RECOVERED && (error = recovered_by(&t, pol)) < 0)
			goto done;
		if ((error = check_policy_change(w, &t, &ch, t.actor)) < 0 ||
		    (error = vault_verify__recovery(v, &t, parent_tree, tree)) < 0)
			goto done;
		break;
	case VAULT_ACTION_CASE:
		if (pol->pu.role == VAULT_ROLE_ADMIN)
			FAIL("admin '%s' created a case", t.actor);
		if (pol->pu.role != VAULT_ROLE_CASEWORKER)
			FAIL("auditor '%s' created a case", t.actor);
		if ((error = check_case_create(w, &t, &ch)) < 0)
			goto done;
		break;
	case VAULT_ACTION_SELF:
		if ((error = check_self_change(w, &t, &ch, policy, pk)) < 0)
			goto done;
		if (!strcmp(t.action, "enrol"))
			pol = NULL;        /* signed with the key it made */
		break;
	case VAULT_ACTION_STILL:
		/* Reads and listings show personal data: only to members. */
		if ((!strcmp(t.action, "read") || !strcmp(t.action, "list")) && pol->member == 0)
			FAIL("'%s' is not a member of case '%s'", t.actor, t.case_code);
		if (!strcmp(t.action, "audit-key") && pol->pu.role == VAULT_ROLE_CASEWORKER)
			FAIL("caseworker '%s' passed on the audit key", t.actor);
		/* A copy of every case and of the history: the organisation's. */
		if (!strcmp(t.action, "backup") && pol->pu.role == VAULT_ROLE_CASEWORKER)
			FAIL("caseworker '%s' recorded a backup", t.actor);
		if (!strcmp(t.action, "backup") && !t.snapshot[0])
			FAIL("a 'backup' event names no snapshot");
		break;
	}

	if ((error = vault_history__signature(&sig, &data, v, c)) < 0)
		goto done;
	if (!sig.size)
		FAIL("it is not signed");
	if (vault_sshsig__verify(sig.ptr, sig.size, (unsigned char *)data.ptr, data.size,
	    pol ? pol->pu.pk : pk) < 0)
		FAIL("its signature does not verify against the key of '%s'", t.actor);
done:
	vault_buf_dispose(&sig);
	vault_buf_dispose(&data);
	return error;
}
