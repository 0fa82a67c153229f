/*
 * Tests for reading the history (history.c): the trailers of an event's
 * message, the chain from genesis to head, the files of a tree and what
 * the policy in a tree says about users and members, a commit's signature,
 * entries of a tree and the diff of two trees.
 *
 * One vault is built through the public API with real events (users, a
 * case, two versions of a file, a grant, a read with a note, a revoke, a
 * failed unlock); every test reads it through a read transaction of its
 * own. Damage is done on copies of it with rawdb while no handle is open
 * on them; trees and commits that no honest writer makes are written in a
 * write transaction that is aborted afterwards.
 */
#define _GNU_SOURCE   /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event.h"
#include "history.h"
#include "sshsig.h"
#include "harness.h"
#include "rawdb.h"

static char base[512];           /* the vault every test reads */
static char work[512];           /* where its copies go */
static int ncopies;
static char c1[VAULT_CODE_SIZE];
static char fnode[17];           /* the node of C1/a.txt */
static unsigned char alice_pk[32], bob_pk[32];
static support_log hist;         /* the base vault's log, oldest first */

/* The events of the base vault, in the order build() records them. */
static const char *const want_actions[] = {
	"init", "user-add", "enrol", "user-add", "enrol", "user-add", "enrol",
	"user-add", "enrol", "user-disable",
	"case-create", "write", "write", "audit-key", "grant", "rekey", "read", "revoke",
	"unlock-failed", NULL
};

/* ---- helpers ------------------------------------------------------------- */

static vault *as(const char *user)
{
	return support_open_as(base, user, user ? support_pass(user) : NULL);
}

/* The commit id of event `action` (the `nth` of them) in the base history. */
static const char *event_id(const char *action, int nth)
{
	long i = support_log_find(&hist, action, nth);

	if (i < 0) {
		fprintf(stderr, "no event '%s' #%d in the base history\n", action, nth);
		harness_failures++;
		return "0000000000000000000000000000000000000000";
	}
	return hist.ev[i].commit;
}

/* A fresh copy of the base vault (closed: rawdb may edit it). */
static const char *copy_base(void)
{
	static char dir[600];

	snprintf(dir, sizeof dir, "%s/c%02d", work, ncopies++);
	CHECK(rawdb_copy_dir(base, dir) == 0);
	return dir;
}

/* A copy of the base vault without the history object `hex`. */
static const char *copy_without(const char *hex)
{
	const char *dir = copy_base();

	CHECK(rawdb_remove_object(dir, base, "dpo", hex) == 0);
	return dir;
}

/* A read snapshot of one vault, as the log and the reports take it. */
typedef struct {
	vault *v;
	MDB_txn *txn;
	git_tree *head;              /* the tree of the base vault's last event */
} walk;

static git_tree *tree_of(walk *w, const char *hex);

static int walk_begin(walk *w, const char *dir)
{
	w->txn = NULL;
	w->head = NULL;
	if ((w->v = support_open_as(dir, NULL, NULL)) == NULL)
		return -1;
	if (support_take_keys(w->v, base, "dpo") < 0) {
		vault_close(w->v);
		return -1;
	}
	if (vault_store__begin_walk(&w->txn, w->v->st) < 0 ||
	    (w->head = tree_of(w, event_id("unlock-failed", 0))) == NULL) {
		CHECK(!"cannot begin a read of the history");
		vault_store__abort(w->v->st, w->txn);
		vault_close(w->v);
		return -1;
	}
	return 0;
}

static void walk_end(walk *w)
{
	git_tree_free(w->head);
	vault_store__abort(w->v->st, w->txn);
	vault_close(w->v);
}

/* The tree of event `hex` (NULL, counted as a failure, if it cannot be read). */
static git_tree *tree_of(walk *w, const char *hex)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_oid id;

	if (git_oid_fromstr(&id, hex) < 0 || git_commit_lookup(&c, w->v->repo, &id) < 0 ||
	    git_commit_tree(&t, c) < 0)
		CHECK(!"cannot read the tree of an event");
	git_commit_free(c);
	return t;
}

/* The hex id of the entry at `path` of `tree`. */
static void entry_hex(char out[VAULT_OID_SIZE], git_tree *tree, const char *path)
{
	git_tree_entry *e = NULL;

	out[0] = '\0';
	if (git_tree_entry_bypath(&e, tree, path) == 0)
		git_oid_tostr(out, VAULT_OID_SIZE, git_tree_entry_id(e));
	CHECK(out[0] != '\0');
	git_tree_entry_free(e);
}

/* The hex id of the entry at `path` of the tree of event `event`. */
static void event_entry_hex(char out[VAULT_OID_SIZE], const char *event, const char *path)
{
	walk w;
	git_tree *t;

	out[0] = '\0';
	if (walk_begin(&w, base) < 0)
		return;
	if ((t = tree_of(&w, event)) != NULL)
		entry_hex(out, t, path);
	git_tree_free(t);
	walk_end(&w);
}

/* A read of a copy of the base vault without the object at `path` of its head tree. */
static int damaged_begin(walk *w, const char *path)
{
	char id[VAULT_OID_SIZE];

	event_entry_hex(id, event_id("unlock-failed", 0), path);
	return walk_begin(w, copy_without(id));
}

/* ---- the base vault ------------------------------------------------------ */

static void build(void)
{
	char path[64];
	vault_stat_info st;
	mem_sink sink = { 0 };
	vault *v;

	if ((v = support_vault_with_users(base)) == NULL)
		return;
	CHECK_RC(vault_user_disable(v, "carol"), 0);
	vault_close(v);

	if ((v = as("alice")) == NULL)
		return;
	memcpy(alice_pk, v->pk, 32);
	CHECK_RC(vault_case_create(c1, v, "intake"), 0);
	snprintf(path, sizeof path, "%s/a.txt", c1);
	CHECK_RC(support_put(v, path, "one", 3, NULL), 0);
	CHECK_RC(support_put(v, path, "two!", 4, NULL), 0);
	CHECK_RC(vault_stat(&st, v, path), 0);
	memcpy(fnode, st.node, sizeof fnode);
	vault_close(v);

	/* The admin grants bob read-only; alice's next session delivers the key. */
	if ((v = as("dpo")) != NULL) {
		CHECK_RC(vault_case_grant(v, c1, "bob", 1), 0);
		vault_close(v);
	}
	if ((v = as("alice")) != NULL)
		vault_close(v);
	if ((v = as("bob")) != NULL) {
		memcpy(bob_pk, v->pk, 32);
		CHECK_RC(support_get(v, path, "legal", "second opinion", &sink), 0);
		CHECK(sink.len == 4 && !memcmp(sink.data, "two!", 4));
		vault_close(v);
	}
	mem_sink_free(&sink);
	if ((v = as("dpo")) != NULL) {
		CHECK_RC(vault_case_revoke(v, c1, "bob"), 0);
		vault_close(v);
	}
	if ((v = as(NULL)) != NULL) {
		CHECK_RC(vault_unlock(v, "bob", "not-his", 7), VAULT_EAUTH);
		vault_close(v);
	}
	/* The next session records the failed unlock, and reads the history. */
	if ((v = as("dpo")) != NULL) {
		CHECK_RC(support_log_read(&hist, v, NULL), 0);
		vault_close(v);
	}
}

/* ---- vault_history__copy ------------------------------------------------- */

static void test_copy(void)
{
	char b[8];

	/* Exactly `len` bytes, NUL-terminated, whatever follows them. */
	vault_history__copy(b, sizeof b, "abc\nrest", 3);
	CHECK(!strcmp(b, "abc"));
	vault_history__copy(b, sizeof b, "xyz", 0);
	CHECK(!strcmp(b, ""));
	/* Cut to fit: n - 1 bytes at most. */
	vault_history__copy(b, sizeof b, "abcdefg", 7);
	CHECK(!strcmp(b, "abcdefg"));
	vault_history__copy(b, sizeof b, "abcdefgh", 8);
	CHECK(!strcmp(b, "abcdefg"));
	vault_history__copy(b, sizeof b, "abcdefghijklmnop", 16);
	CHECK(!strcmp(b, "abcdefg"));
	vault_history__copy(b, 1, "abc", 3);
	CHECK(b[0] == '\0');
}

/* ---- vault_history__trailers --------------------------------------------- */

static void trailers(vault_trailers *t, const char *msg)
{
	/* Whatever the struct held before is cleared. */
	memset(t, 'x', sizeof *t);
	vault_history__trailers(t, msg);
}

static int trailers_empty(const vault_trailers *t)
{
	return !t->action[0] && !t->actor[0] && !t->target[0] && !t->case_code[0] &&
		!t->node[0] && !t->purpose[0] && !t->via[0] && t->version == 0 && !t->has_note;
}

static void test_trailers(void)
{
	vault_trailers t;

	/* Every trailer event.c writes. */
	trailers(&t, "read C-7KQ2M9XD/00000000000000a1 v3\n\n"
		"Action: read\nActor: alice\nTarget: bob\nCase: C-7KQ2M9XD\n"
		"Node: 00000000000000a1\nVersion: 3\nAt: 2026-01-01T00:00:00Z\n"
		"Purpose: legal\nPurpose-Note: AAAA\nVia: fuse\n");
	CHECK(!strcmp(t.action, "read"));
	CHECK(!strcmp(t.actor, "alice"));
	CHECK(!strcmp(t.target, "bob"));
	CHECK(!strcmp(t.case_code, "C-7KQ2M9XD"));
	CHECK(!strcmp(t.node, "00000000000000a1"));
	CHECK(t.version == 3);
	CHECK(!strcmp(t.purpose, "legal"));
	CHECK(t.has_note == 1);
	CHECK(!strcmp(t.via, "fuse"));

	/* Empty messages and messages without trailers: all empty. */
	trailers(&t, "");
	CHECK(trailers_empty(&t));
	trailers(&t, "subject only");
	CHECK(trailers_empty(&t));
	trailers(&t, "subject\n\nfree text, not a trailer\n");
	CHECK(trailers_empty(&t));

	/* A missing trailer stays empty; the others are read. */
	trailers(&t, "s\n\nAction: mount\nActor: bob\n");
	CHECK(!strcmp(t.action, "mount") && !strcmp(t.actor, "bob"));
	CHECK(!t.target[0] && !t.case_code[0] && !t.node[0] && !t.via[0]);
	CHECK(t.version == 0 && !t.has_note);

	/* With a body, the subject is not read; without one, every line is. */
	trailers(&t, "Action: forged\n\nAction: read\n");
	CHECK(!strcmp(t.action, "read"));
	trailers(&t, "Action: read\nActor: bob");
	CHECK(!strcmp(t.action, "read") && !strcmp(t.actor, "bob"));
	/* Lines after a second blank line are still trailers. */
	trailers(&t, "s\n\nAction: read\n\nActor: bob\n");
	CHECK(!strcmp(t.action, "read") && !strcmp(t.actor, "bob"));

	/* A trailer repeated: the last one counts (verify reads it the same way). */
	trailers(&t, "s\n\nActor: alice\nAction: read\nActor: bob\n");
	CHECK(!strcmp(t.actor, "bob"));

	/* Empty values are empty; a key without ": " is no trailer. */
	trailers(&t, "s\n\nAction: \nActor:bob\nTarget:\nCase: C-1\nCase:\n");
	CHECK(t.action[0] == '\0');
	CHECK(t.actor[0] == '\0');
	CHECK(t.target[0] == '\0');
	CHECK(!strcmp(t.case_code, "C-1"));

	/* Keys are exact and case-sensitive, at the start of a line. */
	trailers(&t, "s\n\nactor: eve\nX-Actor: eve\n Actor: eve\nActors: eve\nVia: cli\n");
	CHECK(t.actor[0] == '\0');
	CHECK(!strcmp(t.via, "cli"));
	trailers(&t, "s\n\nPurpose-Note:x\nPurpose: a: b\n");
	CHECK(!t.has_note);
	CHECK(!strcmp(t.purpose, "a: b"));

	/* Values are cut to fit their field. */
	trailers(&t, "s\n\nAction: 0123456789012345678901234567890123456789\n"
		"Actor: abcdefghijklmnopqrstuvwxyz0123456789\nNode: 0123456789abcdef99\n"
		"Case: C-12345678XYZ\nVia: carrier-pigeon\n");
	CHECK(strlen(t.action) == sizeof t.action - 1 && !strncmp(t.action, "0123456789", 10));
	CHECK(strlen(t.actor) == VAULT_NAME_MAX && !strncmp(t.actor, "abcdef", 6));
	CHECK(!strcmp(t.node, "0123456789abcdef"));
	CHECK(!strcmp(t.case_code, "C-12345678"));
	CHECK(!strcmp(t.via, "carrier"));

	/* Version: a number, else 0. */
	trailers(&t, "s\n\nVersion: 42\n");
	CHECK(t.version == 42);
	trailers(&t, "s\n\nVersion: none\n");
	CHECK(t.version == 0);
	trailers(&t, "s\n\nVersion: 7");
	CHECK(t.version == 7);
	/* An empty Version is 0: its value ends with its line, even when the
	 * next line holds digits. */
	trailers(&t, "s\n\nVersion: \n42\n");
	CHECK(t.version == 0);
	trailers(&t, "s\n\nVersion: \n 9\nActor: bob\n");
	CHECK(t.version == 0);
	CHECK(!strcmp(t.actor, "bob"));
}

/* The trailers of real events, as event.c wrote them. */
static void test_trailers_real(void)
{
	static const struct {
		const char *action;
		int nth;
		const char *actor, *target, *purpose;
		int in_case, node;       /* node: 0 none, 1 the file, 2 the case's root */
		uint32_t version;
		int note;
	} want[] = {
		{ "init",          0, "dpo",   "dpo",   "",      0, 0, 0, 0 },
		{ "user-add",      1, "dpo",   "bob",   "",      0, 0, 0, 0 },
		{ "enrol",         1, "bob",   "bob",   "",      0, 0, 0, 0 },
		{ "case-create",   0, "alice", "",      "",      1, 2, 0, 0 },
		{ "write",         1, "alice", "",      "",      1, 1, 2, 0 },
		{ "grant",         0, "dpo",   "bob",   "",      1, 0, 0, 0 },
		{ "read",          0, "bob",   "",      "legal", 1, 1, 2, 1 },
		{ "unlock-failed", 0, "bob",   "bob",   "",      0, 0, 0, 0 },
	};
	walk w;

	if (walk_begin(&w, base) < 0)
		return;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		git_commit *c = NULL;
		vault_trailers t;
		git_oid id;

		if (git_oid_fromstr(&id, event_id(want[i].action, want[i].nth)) < 0 ||
		    git_commit_lookup(&c, w.v->repo, &id) < 0) {
			CHECK(!"cannot read a real event");
			continue;
		}
		vault_history__trailers(&t, git_commit_message(c));
		if (strcmp(t.action, want[i].action) || strcmp(t.actor, want[i].actor))
			fprintf(stderr, "event '%s': trailers say '%s' by '%s'\n", want[i].action,
				t.action, t.actor);
		CHECK(!strcmp(t.action, want[i].action));
		CHECK(!strcmp(t.actor, want[i].actor));
		CHECK(!strcmp(t.target, want[i].target));
		CHECK(!strcmp(t.case_code, want[i].in_case ? c1 : ""));
		if (want[i].node == 2)
			CHECK(strlen(t.node) == 16 && strcmp(t.node, fnode));
		else
			CHECK(!strcmp(t.node, want[i].node ? fnode : ""));
		CHECK(t.version == want[i].version);
		CHECK(!strcmp(t.purpose, want[i].purpose));
		CHECK(t.has_note == want[i].note);
		CHECK(!strcmp(t.via, "cli"));
		git_commit_free(c);
	}
	walk_end(&w);
}

/* ---- vault_history__chain ------------------------------------------------ */

static void test_chain(void)
{
	char g[VAULT_OID_SIZE], h[VAULT_OID_SIZE], bad[VAULT_OID_SIZE] = "";
	git_oid *ids = NULL;
	size_t n = 0, nwant = 0;
	walk w;

	while (want_actions[nwant])
		nwant++;
	if (walk_begin(&w, base) < 0)
		return;
	CHECK_RC(vault_history__chain(&ids, &n, bad, w.v, w.txn), 0);
	CHECK(bad[0] == '\0');
	CHECK(n == nwant);
	CHECK_RC(vault_genesis(g, w.v), 0);
	CHECK_RC(vault_head(h, w.v), 0);
	/* Oldest first: the genesis, each event the parent of the next, the head. */
	for (size_t i = 0; ids && i < n; i++) {
		char hex[VAULT_OID_SIZE];
		git_commit *c = NULL;
		vault_trailers t;

		git_oid_tostr(hex, sizeof hex, &ids[i]);
		CHECK(i != 0 || !strcmp(hex, g));
		CHECK(i != n - 1 || !strcmp(hex, h));
		if (git_commit_lookup(&c, w.v->repo, &ids[i]) < 0) {
			CHECK(!"a commit of the chain cannot be read");
			continue;
		}
		CHECK(git_commit_parentcount(c) == (i ? 1u : 0u));
		CHECK(i == 0 || (git_commit_parentcount(c) == 1 &&
			git_oid_equal(git_commit_parent_id(c, 0), &ids[i - 1])));
		vault_history__trailers(&t, git_commit_message(c));
		CHECK(i >= nwant || !strcmp(t.action, want_actions[i]));
		git_commit_free(c);
	}
	free(ids);
	/* `bad` may be NULL. */
	CHECK_RC(vault_history__chain(&ids, &n, NULL, w.v, w.txn), 0);
	CHECK(n == nwant);
	free(ids);
	walk_end(&w);
}

/* The chain of `dir` fails with VAULT_ECORRUPT, naming `want_bad` ("": none). */
static void expect_chain_corrupt(const char *what, const char *dir, const char *want_bad,
	const char *want_msg)
{
	char bad[VAULT_OID_SIZE] = "";
	git_oid *ids = (git_oid *)1;
	size_t n = 99;
	walk w;

	if (walk_begin(&w, dir) < 0)
		return;
	CHECK_RC(vault_history__chain(&ids, &n, bad, w.v, w.txn), VAULT_ECORRUPT);
	if (strcmp(bad, want_bad) || !strstr(vault_error_last()->message, want_msg))
		fprintf(stderr, "%s: bad '%s', message '%s'\n", what, bad, vault_error_last()->message);
	CHECK(ids == NULL && n == 0);
	CHECK(!strcmp(bad, want_bad));
	CHECK(strstr(vault_error_last()->message, want_msg) != NULL);
	/* Without `bad` the same error. */
	CHECK_RC(vault_history__chain(&ids, &n, NULL, w.v, w.txn), VAULT_ECORRUPT);
	CHECK(ids == NULL && n == 0);
	walk_end(&w);
}

static void test_chain_damaged(void)
{
	char id[VAULT_OID_SIZE], tree[VAULT_OID_SIZE];
	unsigned char rec[21];
	const char *dir;

	/* An event in the middle is missing: the chain stops there. */
	snprintf(id, sizeof id, "%s", event_id("grant", 0));
	expect_chain_corrupt("grant removed", copy_without(id), id, id);
	/* So does a missing genesis, the last commit the walk reads. */
	snprintf(id, sizeof id, "%s", event_id("init", 0));
	expect_chain_corrupt("genesis removed", copy_without(id), id, "is missing or damaged");
	/* A commit whose bytes no longer match its id. */
	snprintf(id, sizeof id, "%s", event_id("write", 0));
	dir = copy_base();
	CHECK(support_object_key(rec, base, "dpo", id) == 0);
	CHECK(rawdb_flip(dir, "git", rec, 20, -2, 0x01) == 0);
	expect_chain_corrupt("write flipped", dir, id, id);

	/* The head record: missing, the wrong size, or naming no commit. */
	dir = copy_base();
	CHECK(rawdb_remove(dir, "meta", "head", 4) == 0);
	expect_chain_corrupt("no head", dir, "", "no valid head record");
	dir = copy_base();
	rec[0] = REC_FORMAT;
	rawdb_oid(rec + 1, event_id("revoke", 0));
	CHECK(rawdb_set(dir, "meta", "head", 4, rec, 20) == 0);
	expect_chain_corrupt("short head", dir, "", "no valid head record");
	dir = copy_base();
	CHECK(rawdb_set(dir, "meta", "head", 4, "\x07", 1) == 0);
	{
		walk w;
		git_oid *ids = NULL;
		size_t n = 0;

		/* A record of an unknown format is an error of its own. */
		if (walk_begin(&w, dir) == 0) {
			CHECK_RC(vault_history__chain(&ids, &n, NULL, w.v, w.txn), VAULT_ECORRUPT);
			CHECK(ids == NULL && n == 0);
			walk_end(&w);
		}
	}
	/* The head names a tree, not a commit. */
	event_entry_hex(tree, event_id("revoke", 0), "policy");
	dir = copy_base();
	rawdb_oid(rec + 1, tree);
	CHECK(rawdb_set(dir, "meta", "head", 4, rec, 21) == 0);
	expect_chain_corrupt("head names a tree", dir, tree, tree);
	/* The head names an object that is not there. */
	dir = copy_base();
	memset(rec + 1, 0xab, 20);
	CHECK(rawdb_set(dir, "meta", "head", 4, rec, 21) == 0);
	expect_chain_corrupt("head names nothing", dir, "abababababababababababababababababababab",
		"abababab");
}

/* ---- vault_history__blob and vault_history__field ------------------------ */

static void test_blob(void)
{
	vault_buf b = VAULT_BUF_INIT;
	char want[256], publine[VAULT_SSHSIG_PUBLINE_MAX];
	git_tree *head;
	walk w;

	if (walk_begin(&w, base) < 0)
		return;
	head = w.head;
	/* A user's file: the text users.c wrote, NUL-terminated. */
	CHECK(vault_sshsig__publine(publine, sizeof publine, alice_pk) == 0);
	snprintf(want, sizeof want, "name alice\nrole caseworker\nstatus active\nkey %s\n", publine);
	CHECK_RC(vault_history__blob(&b, head, "policy/users/alice", w.v), 0);
	CHECK(b.ptr && b.size > strlen(want) && !strncmp(b.ptr, want, strlen(want)) &&
		!strncmp(b.ptr + strlen(want), "wrapped ", 8));
	/* The buffer is replaced, not appended to. */
	CHECK_RC(vault_history__blob(&b, head, "policy/users/carol", w.v), 0);
	CHECK(b.ptr && !strncmp(b.ptr, "name carol\nrole caseworker\nstatus disabled\n", 43));
	CHECK_RC(vault_history__blob(&b, head, "policy/settings", w.v), 0);
	CHECK(b.ptr && !strncmp(b.ptr, "purpose-required yes\n", 21) && strstr(b.ptr, "\naudit-key "));
	/* A new vault requires a purpose from its genesis on. */
	{
		git_tree *genesis = tree_of(&w, event_id("init", 0));

		if (genesis) {
			CHECK_RC(vault_history__blob(&b, genesis, "policy/settings", w.v), 0);
			CHECK(b.ptr && !strncmp(b.ptr, "purpose-required yes\n", 21));
		}
		git_tree_free(genesis);
	}

	/* Absent: VAULT_ENOTFOUND, and the buffer emptied. */
	CHECK_RC(vault_history__blob(&b, head, "policy/users/zed", w.v), VAULT_ENOTFOUND);
	CHECK(b.size == 0);
	CHECK_RC(vault_history__blob(&b, head, "nothing/here", w.v), VAULT_ENOTFOUND);
	CHECK_RC(vault_history__blob(&b, head, "policy/users/alice/more", w.v), VAULT_ENOTFOUND);
	/* A folder is not a file. */
	CHECK_RC(vault_history__blob(&b, head, "policy/users", w.v), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "'policy/users'") != NULL);
	CHECK(b.size == 0);
	vault_buf_dispose(&b);
	walk_end(&w);
}

/* Without the object at `gone` of the head tree, its file at `path` is damaged. */
static void expect_blob_damaged(const char *gone, const char *path, const char *want_msg)
{
	vault_buf b = VAULT_BUF_INIT;
	walk w;

	if (damaged_begin(&w, gone) < 0)
		return;
	CHECK_RC(vault_history__blob(&b, w.head, path, w.v), VAULT_ECORRUPT);
	if (!strstr(vault_error_last()->message, want_msg))
		fprintf(stderr, "blob '%s': message '%s'\n", path, vault_error_last()->message);
	CHECK(strstr(vault_error_last()->message, want_msg) != NULL);
	CHECK(b.size == 0);
	vault_buf_dispose(&b);
	walk_end(&w);
}

static void test_blob_damaged(void)
{
	/* The file's object is missing. */
	expect_blob_damaged("policy/users/alice", "policy/users/alice", "'policy/users/alice'");
	/* A folder on the way is missing: damaged, not absent. */
	expect_blob_damaged("policy/users", "policy/users/alice", "'policy/users'");
	expect_blob_damaged("policy", "policy/settings", "'policy'");
}

static void test_field(void)
{
	static const char text[] =
		"name alice\nrole admin\nstatus active\nkeyring x\nkey ssh-ed25519 AAAA\n"
		"empty \nflag\nstatus disabled\nlast value";
	const char *s;
	size_t len = 99;

	s = vault_history__field(text, "name", &len);
	CHECK(s == text + 5 && len == 5);
	s = vault_history__field(text, "role", &len);
	CHECK(s && len == 5 && !strncmp(s, "admin", 5));
	/* A key that begins another is not that key. */
	s = vault_history__field(text, "key", &len);
	CHECK(s && len == 16 && !strncmp(s, "ssh-ed25519 AAAA\n", 17));
	/* Repeated: the first line counts. */
	s = vault_history__field(text, "status", &len);
	CHECK(s && len == 6 && !strncmp(s, "active", 6));
	/* An empty value is there, with length 0. */
	s = vault_history__field(text, "empty", &len);
	CHECK(s && len == 0);
	/* The last line has no newline. */
	s = vault_history__field(text, "last", &len);
	CHECK(s && len == 5 && !strcmp(s, "value"));

	/* Absent: a key with no value, a prefix of a key, a value, nothing. */
	len = 99;
	CHECK(vault_history__field(text, "flag", &len) == NULL);
	CHECK(vault_history__field(text, "nam", &len) == NULL);
	CHECK(vault_history__field(text, "alice", &len) == NULL);
	CHECK(vault_history__field(text, "ssh-ed25519", &len) == NULL);
	CHECK(vault_history__field(text, "missing", &len) == NULL);
	CHECK(vault_history__field("", "name", &len) == NULL);
	CHECK(vault_history__field(NULL, "name", &len) == NULL);
	CHECK(len == 99);
}

/* ---- vault_history__user and vault_history__membership ------------------- */

static void test_user(void)
{
	static const unsigned char zero[32];
	git_tree *head, *genesis;
	vault_policy_user pu;
	walk w;

	if (walk_begin(&w, base) < 0)
		return;
	head = w.head;
	if ((genesis = tree_of(&w, event_id("init", 0))) == NULL)
		goto done;

	CHECK_RC(vault_history__user(&pu, head, "alice", w.v), 0);
	CHECK(pu.found && pu.role == VAULT_ROLE_CASEWORKER && pu.active);
	CHECK(!memcmp(pu.pk, alice_pk, 32));
	CHECK_RC(vault_history__user(&pu, head, "bob", w.v), 0);
	CHECK(pu.found && pu.active && !memcmp(pu.pk, bob_pk, 32));
	CHECK_RC(vault_history__user(&pu, head, "dpo", w.v), 0);
	CHECK(pu.found && pu.role == VAULT_ROLE_ADMIN && pu.active);
	CHECK_RC(vault_history__user(&pu, head, "aud", w.v), 0);
	CHECK(pu.found && pu.role == VAULT_ROLE_AUDITOR);
	/* Disabled: found, not active. */
	CHECK_RC(vault_history__user(&pu, head, "carol", w.v), 0);
	CHECK(pu.found && !pu.active && pu.role == VAULT_ROLE_CASEWORKER);
	/* Not a user of that tree: not found, no error, nothing left over. */
	memset(&pu, 0x5a, sizeof pu);
	CHECK_RC(vault_history__user(&pu, head, "zed", w.v), 0);
	CHECK(!pu.found && !pu.active && pu.role == 0 && !memcmp(pu.pk, zero, 32));
	CHECK_RC(vault_history__user(&pu, genesis, "alice", w.v), 0);
	CHECK(!pu.found);
	CHECK_RC(vault_history__user(&pu, genesis, "dpo", w.v), 0);
	CHECK(pu.found && pu.role == VAULT_ROLE_ADMIN);
done:
	git_tree_free(genesis);
	walk_end(&w);
}

static void test_user_parse(void)
{
	char good[256], text[300], publine[VAULT_SSHSIG_PUBLINE_MAX];
	vault_policy_user pu;

	CHECK(vault_sshsig__publine(publine, sizeof publine, bob_pk) == 0);
	snprintf(good, sizeof good, "key %s\n", publine);

	snprintf(text, sizeof text, "name bob\nrole auditor\nstatus active\n%s", good);
	memset(&pu, 0, sizeof pu);
	CHECK_RC(vault_history__user_parse(&pu, text, "bob"), 0);
	CHECK(pu.found && pu.role == VAULT_ROLE_AUDITOR && pu.active && !memcmp(pu.pk, bob_pk, 32));

	/* Only "status active" is active. */
	snprintf(text, sizeof text, "role admin\nstatus activex\n%s", good);
	memset(&pu, 0, sizeof pu);
	CHECK_RC(vault_history__user_parse(&pu, text, "bob"), 0);
	CHECK(pu.found && !pu.active && pu.role == VAULT_ROLE_ADMIN);
	snprintf(text, sizeof text, "role admin\n%s", good);
	memset(&pu, 0, sizeof pu);
	CHECK_RC(vault_history__user_parse(&pu, text, "bob"), 0);
	CHECK(!pu.active);
	/* A role it does not know gives no role. */
	snprintf(text, sizeof text, "role superuser\nstatus active\n%s", good);
	memset(&pu, 0, sizeof pu);
	CHECK_RC(vault_history__user_parse(&pu, text, "bob"), 0);
	CHECK(pu.found && pu.role == 0);

	/* No key, an empty key, a key of another kind: VAULT_ECORRUPT naming the user. */
	memset(&pu, 0, sizeof pu);
	CHECK_RC(vault_history__user_parse(&pu, "name bob\nrole admin\nstatus active\n", "bob"),
		VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "'bob'") != NULL);
	CHECK_RC(vault_history__user_parse(&pu, "status active\nkey \n", "bob"), VAULT_ECORRUPT);
	CHECK_RC(vault_history__user_parse(&pu, "status active\nkey ssh-rsa AAAAB3NzaC1yc2E\n", "bob"),
		VAULT_ECORRUPT);
	snprintf(text, sizeof text, "status active\nkey %.30s\n", publine);
	CHECK_RC(vault_history__user_parse(&pu, text, "bob"), VAULT_ECORRUPT);
	CHECK_RC(vault_history__user_parse(&pu, "", "bob"), VAULT_ECORRUPT);
}

static void test_membership(void)
{
	static const struct {
		const char *event;
		const char *user;
		int want;
	} cases[] = {
		{ "user-disable", "alice", 0 },   /* before the case exists */
		{ "case-create",  "alice", 2 },   /* its creator: read-write */
		{ "case-create",  "bob",   0 },
		{ "grant",        "bob",   1 },   /* granted read-only */
		{ "read",         "bob",   1 },
		{ "revoke",       "bob",   0 },
		{ "revoke",       "alice", 2 },
		{ "revoke",       "carol", 0 },
		{ "revoke",       "al",    0 },   /* a prefix of a member's name */
		{ "revoke",       "alicex", 0 },
	};
	walk w;

	if (walk_begin(&w, base) < 0)
		return;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		git_tree *t = tree_of(&w, event_id(cases[i].event, 0));
		int m = -1;

		if (!t)
			continue;
		CHECK_RC(vault_history__membership(&m, t, c1, cases[i].user, w.v), 0);
		if (m != cases[i].want)
			fprintf(stderr, "membership of %s after %s: %d, want %d\n", cases[i].user,
				cases[i].event, m, cases[i].want);
		CHECK(m == cases[i].want);
		/* A case the tree does not hold: no member, no error. */
		m = -1;
		CHECK_RC(vault_history__membership(&m, t, "C-00000000", cases[i].user, w.v), 0);
		CHECK(m == 0);
		git_tree_free(t);
	}
	walk_end(&w);
}

static void test_member_parse(void)
{
	static const char text[] = "case C-1\nepoch 1\nmember alice rw\nmember bob ro\nmember al.x rw\n";
	static const struct {
		const char *text, *user;
		int want;
	} cases[] = {
		{ text, "alice", 2 },
		{ text, "bob", 1 },
		{ text, "al.x", 2 },
		/* A name is whole: not a prefix, not longer, not another field. */
		{ text, "al", 0 },
		{ text, "alic", 0 },
		{ text, "alicee", 0 },
		{ text, "carol", 0 },
		{ text, "C-1", 0 },
		{ "", "alice", 0 },
		/* The last line has no newline. */
		{ "member alice rw", "alice", 2 },
		{ "member alice ro", "alice", 1 },
		/* Only exactly "rw" is read-write: anything else on the line is less. */
		{ "member alice rwx\n", "alice", 1 },
		{ "member alice rw \n", "alice", 1 },
		{ "member alice \n", "alice", 1 },
		/* A line without access, or not a member line, is no membership. */
		{ "member alice\n", "alice", 0 },
		{ "member alice", "alice", 0 },
		{ "xmember alice rw\n", "alice", 0 },
		{ "member  alice rw\n", "alice", 0 },
		{ "members alice rw\n", "alice", 0 },
		/* Repeated: the last line counts. */
		{ "member alice ro\nmember alice rw\n", "alice", 2 },
		{ "member alice rw\nmember alice ro\n", "alice", 1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = vault_history__member_parse(cases[i].text, cases[i].user);

		if (got != cases[i].want)
			fprintf(stderr, "member_parse of '%s' in case %zu: %d, want %d\n", cases[i].user, i,
				got, cases[i].want);
		CHECK(got == cases[i].want);
	}
}

/* What the policy of a damaged head tree says: errors, not "no such user". */
static void test_policy_damaged(void)
{
	vault_policy_user pu;
	walk w;
	int m = -1;

	if (damaged_begin(&w, "policy/users/alice") == 0) {
		CHECK_RC(vault_history__user(&pu, w.head, "alice", w.v), VAULT_ECORRUPT);
		CHECK_RC(vault_history__user(&pu, w.head, "bob", w.v), 0);
		CHECK(pu.found);
		walk_end(&w);
	}
	if (damaged_begin(&w, "policy/users") == 0) {
		CHECK_RC(vault_history__user(&pu, w.head, "alice", w.v), VAULT_ECORRUPT);
		walk_end(&w);
	}
	if (damaged_begin(&w, "policy/cases") == 0) {
		CHECK_RC(vault_history__membership(&m, w.head, c1, "alice", w.v), VAULT_ECORRUPT);
		CHECK(m == 0);
		walk_end(&w);
	}
}

/* ---- vault_history__signature -------------------------------------------- */

static void test_signature(void)
{
	vault_buf sig = VAULT_BUF_INIT, data = VAULT_BUF_INIT;
	git_commit *c = NULL;
	git_odb_object *raw = NULL;
	git_oid id;
	walk w;

	if (walk_begin(&w, base) < 0)
		return;
	/* A signed event: the signature of its actor over the rest. */
	if (git_oid_fromstr(&id, event_id("write", 1)) < 0 || git_commit_lookup(&c, w.v->repo, &id) < 0) {
		CHECK(!"cannot read the write event");
		goto done;
	}
	CHECK_RC(vault_history__signature(&sig, &data, w.v, c), 0);
	CHECK(sig.size > 60 && !strncmp(sig.ptr, "-----BEGIN SSH SIGNATURE-----\n", 30));
	CHECK(strstr(sig.ptr, "-----END SSH SIGNATURE-----") != NULL);
	CHECK(strstr(sig.ptr, "\n ") == NULL);
	CHECK(data.size > 0 && !memmem(data.ptr, data.size, "gpgsig", 6));
	CHECK(!strncmp(data.ptr, "tree ", 5));
	/* Against the object itself: the data is the object without its gpgsig
	 * header, byte for byte; the signature is that header's value, each
	 * continuation line without its leading space. */
	if (git_odb_read(&raw, w.v->odb, &id) == 0) {
		const char *o = git_odb_object_data(raw), *g, *end;
		size_t olen = git_odb_object_size(raw);
		vault_buf want = VAULT_BUF_INIT;

		g = memmem(o, olen, "\ngpgsig ", 8);
		for (end = g ? g + 1 : NULL; end && (end = memchr(end, '\n', olen - (size_t)(end - o))) &&
		     end[1] == ' '; end++)
			;
		CHECK(g && end);
		if (g && end) {
			size_t head = (size_t)(g + 1 - o), tail = olen - (size_t)(end + 1 - o);

			CHECK(data.size == head + tail);
			CHECK(!memcmp(data.ptr, o, head) && !memcmp(data.ptr + head, end + 1, tail));
			for (const char *s = g + 8; s <= end; s++)
				if (s[-1] != '\n' || *s != ' ')
					vault_buf_put(&want, s, 1);
			CHECK(want.size == sig.size && !memcmp(want.ptr, sig.ptr, sig.size));
		}
		vault_buf_dispose(&want);
		git_odb_object_free(raw);
		raw = NULL;
	} else {
		CHECK(!"cannot read the write event's object");
	}
	/* It verifies with alice's key, and with no other key or data. */
	CHECK(vault_sshsig__verify(sig.ptr, sig.size, (unsigned char *)data.ptr, data.size, alice_pk) == 0);
	CHECK(vault_sshsig__verify(sig.ptr, sig.size, (unsigned char *)data.ptr, data.size, bob_pk) < 0);
	data.ptr[data.size - 2] ^= 1;
	CHECK(vault_sshsig__verify(sig.ptr, sig.size, (unsigned char *)data.ptr, data.size, alice_pk) < 0);
	git_commit_free(c);
	c = NULL;

	/* The failed unlock is unsigned: no signature, the whole commit as data. */
	vault_buf_clear(&sig);
	vault_buf_clear(&data);
	if (git_oid_fromstr(&id, event_id("unlock-failed", 0)) < 0 ||
	    git_commit_lookup(&c, w.v->repo, &id) < 0 || git_odb_read(&raw, w.v->odb, &id) < 0) {
		CHECK(!"cannot read the failed unlock");
		goto done;
	}
	CHECK_RC(vault_history__signature(&sig, &data, w.v, c), 0);
	CHECK(sig.size == 0);
	CHECK(data.size == git_odb_object_size(raw) && !memcmp(data.ptr, git_odb_object_data(raw), data.size));
done:
	git_odb_object_free(raw);
	git_commit_free(c);
	vault_buf_dispose(&sig);
	vault_buf_dispose(&data);
	walk_end(&w);
}

/*
 * A write transaction on the base vault for objects that no honest writer
 * makes; everything written is dropped by write_end().
 */
static int write_begin(walk *w)
{
	w->txn = NULL;
	w->head = NULL;
	if ((w->v = support_open_as(base, NULL, NULL)) == NULL)
		return -1;
	if (support_take_keys(w->v, base, "dpo") < 0) {
		vault_close(w->v);
		return -1;
	}
	if (vault_store__begin(&w->txn, w->v->st, 1) < 0) {
		CHECK(!"cannot begin a write transaction");
		vault_close(w->v);
		return -1;
	}
	vault_store__cur = w->txn;
	return 0;
}

#define write_end walk_end

/* Commit object `raw`, written in `w`'s transaction, as read back. */
static git_commit *commit_from(walk *w, const char *raw, size_t len)
{
	git_commit *c = NULL;
	git_oid id;

	if (git_odb_write(&id, w->v->odb, raw, len, GIT_OBJECT_COMMIT) < 0 ||
	    git_commit_lookup(&c, w->v->repo, &id) < 0)
		CHECK(!"cannot write a commit object");
	return c;
}

#define HDR "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" \
	"author eve <eve@x> 1700000000 +0000\ncommitter eve <eve@x> 1700000000 +0000\n"

static void test_signature_forms(void)
{
	/* Continuation lines joined; a second gpgsig is signed data, not signature. */
	static const char two[] = HDR "gpgsig -----BEGIN-----\n AAAA\n \n -----END-----\n"
		"gpgsig second\n\nmsg\n";
	static const char nul[] = HDR "\nmsg\0hidden\n";
	vault_buf sig = VAULT_BUF_INIT, data = VAULT_BUF_INIT;
	git_commit *c;
	walk w;

	if (write_begin(&w) < 0)
		return;
	if ((c = commit_from(&w, two, sizeof two - 1)) != NULL) {
		CHECK_RC(vault_history__signature(&sig, &data, w.v, c), 0);
		CHECK(sig.ptr && !strcmp(sig.ptr, "-----BEGIN-----\nAAAA\n\n-----END-----\n"));
		CHECK(data.ptr && !strcmp(data.ptr, HDR "gpgsig second\n\nmsg\n"));
		git_commit_free(c);
	}
	/* A NUL in the object: what the parser read is not all it holds. */
	vault_buf_clear(&sig);
	vault_buf_clear(&data);
	if ((c = commit_from(&w, nul, sizeof nul - 1)) != NULL) {
		CHECK_RC(vault_history__signature(&sig, &data, w.v, c), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, "not a well-formed commit") != NULL);
		git_commit_free(c);
	}
	vault_buf_dispose(&sig);
	vault_buf_dispose(&data);
	write_end(&w);
}

/* ---- vault_history__entry ------------------------------------------------ */

static void test_entry(void)
{
	static const char *const absent[] = {
		"policy/users/zed", "policy/users/alice/more", "", "/policy", "policy/",
		"policy//users", "nodes/zz", NULL
	};
	char longname[300], want[VAULT_OID_SIZE], got[VAULT_OID_SIZE];
	vault_history__memo memo;
	git_tree_entry *e = NULL;
	git_tree *head;
	walk w;

	if (walk_begin(&w, base) < 0)
		return;
	head = w.head;
	/* A file, three folders deep. */
	entry_hex(want, head, "policy/users/alice");
	CHECK_RC(vault_history__entry(&e, w.v, head, "policy/users/alice", NULL), 0);
	CHECK(e && git_tree_entry_type(e) == GIT_OBJECT_BLOB);
	if (e) {
		git_oid_tostr(got, sizeof got, git_tree_entry_id(e));
		CHECK(!strcmp(got, want));
		CHECK(!strcmp(git_tree_entry_name(e), "alice"));
	}
	git_tree_entry_free(e);
	/* A folder is an entry too. */
	CHECK_RC(vault_history__entry(&e, w.v, head, "policy", NULL), 0);
	CHECK(e && git_tree_entry_type(e) == GIT_OBJECT_TREE);
	git_tree_entry_free(e);
	CHECK_RC(vault_history__entry(&e, w.v, head, "policy/users", NULL), 0);
	CHECK(e && git_tree_entry_type(e) == GIT_OBJECT_TREE);
	git_tree_entry_free(e);

	/* Absent, empty parts, a file taken for a folder, a name too long. */
	for (size_t i = 0; absent[i]; i++) {
		e = (git_tree_entry *)1;
		CHECK_RC(vault_history__entry(&e, w.v, head, absent[i], NULL), VAULT_ENOTFOUND);
		CHECK(e == NULL);
	}
	memset(longname, 'a', sizeof longname);
	memcpy(longname, "policy/", 7);
	longname[7 + VAULT_HISTORY_PATH_MAX] = '\0';
	CHECK_RC(vault_history__entry(&e, w.v, head, longname, NULL), VAULT_ENOTFOUND);

	/* Through a memo: the folders read are kept, and served again. */
	memset(&memo, 0, sizeof memo);
	CHECK_RC(vault_history__entry(&e, w.v, head, "policy/users/alice", &memo), 0);
	git_tree_entry_free(e);
	CHECK(memo.next == 2 && memo.tree[0] && memo.tree[1] && !memo.tree[2]);
	CHECK_RC(vault_history__entry(&e, w.v, head, "policy/users/bob", &memo), 0);
	CHECK(e && !strcmp(git_tree_entry_name(e), "bob"));
	git_tree_entry_free(e);
	CHECK(memo.next == 2);
	CHECK_RC(vault_history__entry(&e, w.v, head, "policy/cases", &memo), 0);
	git_tree_entry_free(e);
	CHECK(memo.next == 2);
	vault_history__memo_dispose(&memo);
	for (size_t i = 0; i < VAULT_HISTORY_MEMO; i++)
		CHECK(memo.tree[i] == NULL);
	vault_history__memo_dispose(NULL);
	walk_end(&w);
}

static void test_entry_damaged(void)
{
	git_tree_entry *e = (git_tree_entry *)1;
	walk w;

	if (damaged_begin(&w, "policy/users") < 0)
		return;
	CHECK_RC(vault_history__entry(&e, w.v, w.head, "policy/users/alice", NULL), VAULT_ECORRUPT);
	CHECK(e == NULL);
	CHECK(strstr(vault_error_last()->message, "'policy/users'") != NULL);
	/* The folder's own entry is still there, in its parent. */
	CHECK_RC(vault_history__entry(&e, w.v, w.head, "policy/users", NULL), 0);
	git_tree_entry_free(e);
	walk_end(&w);
}

/* ---- vault_history__diff ------------------------------------------------- */

#define MAXCH 64

typedef struct {
	size_t n;
	char path[MAXCH][VAULT_HISTORY_PATH_MAX];
	char change[MAXCH];                /* 'A', 'M', 'D' */
	git_oid before[MAXCH], after[MAXCH];
	size_t stop_at;                    /* return 7 at this call (1-based); 0: never */
} changes;

static int change_cb(const char *path, const git_oid *before, const git_oid *after, void *payload)
{
	changes *ch = payload;

	if (ch->n < MAXCH) {
		snprintf(ch->path[ch->n], sizeof ch->path[0], "%s", path);
		ch->change[ch->n] = !before ? 'A' : !after ? 'D' : 'M';
		if (before)
			ch->before[ch->n] = *before;
		if (after)
			ch->after[ch->n] = *after;
	}
	ch->n++;
	return ch->stop_at && ch->n == ch->stop_at ? 7 : 0;
}

static int diff(changes *ch, walk *w, git_tree *a, git_tree *b, vault_history__memo *memo)
{
	size_t stop = ch->stop_at;

	memset(ch, 0, sizeof *ch);
	ch->stop_at = stop;
	return vault_history__diff(w->v, a, b, memo, change_cb, ch);
}

/* The files of a tree, in the order git keeps them. */
static int list_cb(const char *root, const git_tree_entry *e, void *payload)
{
	changes *ch = payload;

	if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
		return 0;
	if (ch->n < MAXCH)
		snprintf(ch->path[ch->n], sizeof ch->path[0], "%s%s", root, git_tree_entry_name(e));
	ch->n++;
	return 0;
}

static int same_paths(const changes *a, const changes *b)
{
	if (a->n != b->n || a->n > MAXCH)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->path[i], b->path[i]))
			return 0;
	return 1;
}

static void test_diff(void)
{
	char npath[64], want[VAULT_OID_SIZE], got[VAULT_OID_SIZE];
	git_tree *genesis = NULL, *created = NULL, *v1 = NULL, *v2 = NULL, *read = NULL;
	vault_history__memo memo;
	changes ch, files;
	walk w;

	if (walk_begin(&w, base) < 0)
		return;
	genesis = tree_of(&w, event_id("init", 0));
	created = tree_of(&w, event_id("case-create", 0));
	v1 = tree_of(&w, event_id("write", 0));
	v2 = tree_of(&w, event_id("write", 1));
	read = tree_of(&w, event_id("read", 0));
	if (!genesis || !created || !v1 || !v2 || !read)
		goto done;
	vault_node__path(npath, strtoull(fnode, NULL, 16));

	/* A second version changes the file's node, nothing else. */
	CHECK_RC(diff(&ch, &w, v1, v2, NULL), 0);
	CHECK(ch.n == 1 && !strcmp(ch.path[0], npath) && ch.change[0] == 'M');
	entry_hex(want, v1, npath);
	git_oid_tostr(got, sizeof got, &ch.before[0]);
	CHECK(!strcmp(got, want));
	entry_hex(want, v2, npath);
	git_oid_tostr(got, sizeof got, &ch.after[0]);
	CHECK(!strcmp(got, want));
	/* The other way round, the same path with the ids swapped. */
	CHECK_RC(diff(&ch, &w, v2, v1, NULL), 0);
	CHECK(ch.n == 1 && !strcmp(ch.path[0], npath) && ch.change[0] == 'M');
	git_oid_tostr(got, sizeof got, &ch.before[0]);
	CHECK(!strcmp(got, want));

	/* A first version adds its node and changes its folder's. */
	CHECK_RC(diff(&ch, &w, created, v1, NULL), 0);
	CHECK(ch.n == 2);
	{
		/* Which of the two sorts first depends on the ids: find each. */
		int added = -1, changed = -1;

		for (size_t i = 0; i < ch.n && i < MAXCH; i++) {
			if (!strcmp(ch.path[i], npath) && ch.change[i] == 'A')
				added = (int)i;
			else if (!strncmp(ch.path[i], "nodes/", 6) && ch.change[i] == 'M')
				changed = (int)i;
		}
		CHECK(added >= 0 && changed >= 0);
		CHECK(ch.n != 2 || strcmp(ch.path[0], ch.path[1]) < 0);
	}
	/* A read changes nothing; a tree against itself, or two empty sides. */
	CHECK_RC(diff(&ch, &w, v2, v2, NULL), 0);
	CHECK(ch.n == 0);
	CHECK_RC(diff(&ch, &w, NULL, NULL, NULL), 0);
	CHECK(ch.n == 0);

	/* Against nothing: every file added, or removed, in the tree's order. */
	memset(&files, 0, sizeof files);
	CHECK(git_tree_walk(v1, GIT_TREEWALK_PRE, list_cb, &files) == 0);
	CHECK(files.n > 5);
	CHECK_RC(diff(&ch, &w, NULL, v1, NULL), 0);
	CHECK(same_paths(&ch, &files));
	for (size_t i = 0; i < ch.n && i < MAXCH; i++)
		CHECK(ch.change[i] == 'A');
	CHECK_RC(diff(&ch, &w, v1, NULL, NULL), 0);
	CHECK(same_paths(&ch, &files));
	for (size_t i = 0; i < ch.n && i < MAXCH; i++)
		CHECK(ch.change[i] == 'D');

	/* The genesis to the revoke: users added, one disabled, the case and its file. */
	CHECK_RC(diff(&ch, &w, genesis, read, NULL), 0);
	{
		static const char *const want_paths[] = {
			"policy/users/alice", "policy/users/aud", "policy/users/bob", "policy/users/carol"
		};
		size_t found = 0;

		for (size_t i = 0; i < ch.n && i < MAXCH; i++)
			for (size_t k = 0; k < 4; k++)
				if (!strcmp(ch.path[i], want_paths[k]) && ch.change[i] == 'A')
					found++;
		CHECK(found == 4);
	}

	/* A non-zero return from the callback stops the walk and is returned. */
	ch.stop_at = 2;
	CHECK_RC(diff(&ch, &w, NULL, v1, NULL), 7);
	CHECK(ch.n == 2);
	ch.stop_at = 0;

	/* Through a memo: the same answer, the folders kept for the next diff. */
	memset(&memo, 0, sizeof memo);
	CHECK_RC(diff(&ch, &w, v1, v2, &memo), 0);
	CHECK(ch.n == 1 && !strcmp(ch.path[0], npath));
	CHECK(memo.tree[0] != NULL && memo.next > 0);
	{
		size_t next = memo.next;

		/* The same diff again reads every folder from the memo. */
		CHECK_RC(diff(&ch, &w, v1, v2, &memo), 0);
		CHECK(ch.n == 1 && !strcmp(ch.path[0], npath));
		CHECK(memo.next == next);
	}
	vault_history__memo_dispose(&memo);
	CHECK(memo.tree[0] == NULL);
done:
	git_tree_free(genesis);
	git_tree_free(created);
	git_tree_free(v1);
	git_tree_free(v2);
	git_tree_free(read);
	walk_end(&w);
}

/* A blob of `text`, in `w`'s write transaction. */
static git_oid blob(walk *w, const char *text)
{
	git_oid id;

	memset(&id, 0, sizeof id);
	CHECK(git_blob_create_from_buffer(&id, w->v->repo, text, strlen(text)) == 0);
	return id;
}

/* A tree of up to four entries (name, id, mode); names NULL-ended. */
typedef struct {
	const char *name;
	git_oid id;
	git_filemode_t mode;
} ent;

static git_tree *mktree(walk *w, const ent *e, size_t n)
{
	git_treebuilder *tb = NULL;
	git_tree *t = NULL;
	git_oid id;

	if (git_treebuilder_new(&tb, w->v->repo, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		CHECK(git_treebuilder_insert(NULL, tb, e[i].name, &e[i].id, e[i].mode) == 0);
	if (git_treebuilder_write(&id, tb) < 0 || git_tree_lookup(&t, w->v->repo, &id) < 0)
		CHECK(!"cannot write a tree");
	git_treebuilder_free(tb);
	return t;
}

static git_oid tree_id(git_tree *t)
{
	git_oid id;

	memset(&id, 0, sizeof id);
	if (t)
		id = *git_tree_id(t);
	return id;
}

static void test_diff_forms(void)
{
	git_oid x, y, y2, z;
	git_tree *dir_a = NULL, *dir_b = NULL, *sub = NULL, *a = NULL, *b = NULL;
	git_tree *deep = NULL, *top = NULL;
	char name[VAULT_HISTORY_PATH_MAX + 8];
	changes ch;
	walk w;

	if (write_begin(&w) < 0)
		return;
	x = blob(&w, "x");
	y = blob(&w, "y");
	y2 = blob(&w, "y2");
	z = blob(&w, "z");
	{
		ent da[] = { { "f", y, GIT_FILEMODE_BLOB } };
		ent db[] = { { "f", y2, GIT_FILEMODE_BLOB }, { "g", z, GIT_FILEMODE_BLOB } };
		ent s[] = { { "inner", x, GIT_FILEMODE_BLOB } };

		dir_a = mktree(&w, da, 1);
		dir_b = mktree(&w, db, 2);
		sub = mktree(&w, s, 1);
	}
	{
		/* "a" is a file before and a folder after. */
		ent ea[] = { { "a", x, GIT_FILEMODE_BLOB }, { "dir", tree_id(dir_a), GIT_FILEMODE_TREE },
			{ "same", z, GIT_FILEMODE_BLOB }, { "gone", z, GIT_FILEMODE_BLOB } };
		ent eb[] = { { "a", tree_id(sub), GIT_FILEMODE_TREE }, { "dir", tree_id(dir_b), GIT_FILEMODE_TREE },
			{ "same", z, GIT_FILEMODE_BLOB }, { "new", y, GIT_FILEMODE_BLOB } };

		a = mktree(&w, ea, 4);
		b = mktree(&w, eb, 4);
	}
	if (!a || !b)
		goto done;
	CHECK_RC(diff(&ch, &w, a, b, NULL), 0);
	{
		static const char *const want_path = "a a/inner dir/f dir/g gone new";
		static const char want_change[] = "DAMADA";
		char got[128] = "";

		for (size_t i = 0; i < ch.n && i < MAXCH; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", ch.path[i]);
		if (strcmp(got, want_path))
			fprintf(stderr, "diff of a file that became a folder: '%s'\n", got);
		CHECK(!strcmp(got, want_path));
		for (size_t i = 0; i < ch.n && i < 6; i++)
			CHECK(ch.change[i] == want_change[i]);
		CHECK(ch.n == 6 && git_oid_equal(&ch.before[0], &x) && git_oid_equal(&ch.after[1], &x));
		CHECK(git_oid_equal(&ch.before[2], &y) && git_oid_equal(&ch.after[2], &y2));
	}
	/* And back: the folder goes first, then the file comes. */
	CHECK_RC(diff(&ch, &w, b, a, NULL), 0);
	CHECK(ch.n == 6 && !strcmp(ch.path[0], "a") && ch.change[0] == 'A');
	CHECK(!strcmp(ch.path[1], "a/inner") && ch.change[1] == 'D');

	/* Paths up to VAULT_HISTORY_PATH_MAX - 1 bytes; longer is VAULT_ECORRUPT. */
	memset(name, 'n', sizeof name);
	name[VAULT_HISTORY_PATH_MAX - 3] = '\0';      /* "d/" + name: 255 bytes */
	{
		ent e1[] = { { name, x, GIT_FILEMODE_BLOB } };
		deep = mktree(&w, e1, 1);
	}
	{
		ent e2[] = { { "d", tree_id(deep), GIT_FILEMODE_TREE } };
		top = mktree(&w, e2, 1);
	}
	CHECK_RC(diff(&ch, &w, NULL, top, NULL), 0);
	CHECK(ch.n == 1 && strlen(ch.path[0]) == VAULT_HISTORY_PATH_MAX - 1);
	git_tree_free(deep);
	git_tree_free(top);
	name[VAULT_HISTORY_PATH_MAX - 3] = 'n';
	name[VAULT_HISTORY_PATH_MAX - 2] = '\0';      /* 256 bytes */
	{
		ent e1[] = { { name, x, GIT_FILEMODE_BLOB } };
		deep = mktree(&w, e1, 1);
	}
	{
		ent e2[] = { { "d", tree_id(deep), GIT_FILEMODE_TREE } };
		top = mktree(&w, e2, 1);
	}
	CHECK_RC(diff(&ch, &w, NULL, top, NULL), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "too long") != NULL);
	CHECK(ch.n == 0);
done:
	git_tree_free(deep);
	git_tree_free(top);
	git_tree_free(dir_a);
	git_tree_free(dir_b);
	git_tree_free(sub);
	git_tree_free(a);
	git_tree_free(b);
	write_end(&w);
}

/* A folder that one side of a diff holds cannot be read: VAULT_ECORRUPT. */
static void test_diff_damaged(void)
{
	char npath[64], folder[64], id[VAULT_OID_SIZE];
	git_tree *v1 = NULL, *v2 = NULL;
	changes ch;
	walk w;

	vault_node__path(npath, strtoull(fnode, NULL, 16));
	snprintf(folder, sizeof folder, "%.11s", npath);      /* nodes/AB/CD */
	event_entry_hex(id, event_id("write", 1), folder);
	if (walk_begin(&w, copy_without(id)) < 0)
		return;
	v1 = tree_of(&w, event_id("write", 0));
	v2 = tree_of(&w, event_id("write", 1));
	if (v1 && v2) {
		CHECK_RC(diff(&ch, &w, v1, v2, NULL), VAULT_ECORRUPT);
		if (!strstr(vault_error_last()->message, folder))
			fprintf(stderr, "damaged diff: %s\n", vault_error_last()->message);
		CHECK(strstr(vault_error_last()->message, folder) != NULL);
		CHECK(ch.n == 0);
	}
	git_tree_free(v1);
	git_tree_free(v2);
	walk_end(&w);
}

int main(void)
{
	umask(022);
	CHECK_RC(vault_global_init(), 0);
	snprintf(base, sizeof base, "%s/v", harness_tmpdir());
	snprintf(work, sizeof work, "%s", harness_tmpdir());
	build();
	if (harness_failures == 0 && hist.n) {
		test_copy();
		test_trailers();
		test_trailers_real();
		test_chain();
		test_chain_damaged();
		test_blob();
		test_blob_damaged();
		test_field();
		test_user();
		test_user_parse();
		test_membership();
		test_member_parse();
		test_policy_damaged();
		test_signature();
		test_signature_forms();
		test_entry();
		test_entry_damaged();
		test_diff();
		test_diff_forms();
		test_diff_damaged();
	}
	support_log_free(&hist);
	return harness_done("test_history");
}
