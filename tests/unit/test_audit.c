/*
 * Tests for the event log (history.c, report.c), replay verification
 * (verify.c), and its detection of tampering done with raw LMDB on copies
 * of a vault (flipped commit, changed role, rollback, deleted records,
 * anchors), and the unsigned event of a failed unlock.
 */
#define _GNU_SOURCE   /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "harness.h"
#include "rawdb.h"

#define MAXEV 32

static const char *vdir;
static char code[VAULT_CODE_SIZE], fpath[64];
static uint64_t fnode;
static char ids[MAXEV][VAULT_OID_SIZE];   /* event ids of the base vault, oldest first */
static size_t nids;

typedef struct {
	size_t n;
	char commit[MAXEV][VAULT_OID_SIZE];
	char action[MAXEV][32];
	char actor[MAXEV][VAULT_NAME_MAX + 1];
	char case_code[MAXEV][VAULT_CODE_SIZE];
	char node[MAXEV][17];
	char via[MAXEV][8];
	char target[MAXEV][VAULT_NAME_MAX + 1];
	uint32_t version[MAXEV];
	int64_t time[MAXEV];
} evlog;

static int log_cb(const vault_event_info *e, const char *note, void *payload)
{
	evlog *l = payload;

	if (l->n < MAXEV) {
		snprintf(l->commit[l->n], sizeof l->commit[0], "%s", e->commit);
		snprintf(l->action[l->n], sizeof l->action[0], "%s", e->action);
		snprintf(l->actor[l->n], sizeof l->actor[0], "%s", e->actor);
		snprintf(l->case_code[l->n], sizeof l->case_code[0], "%s", e->case_code);
		snprintf(l->node[l->n], sizeof l->node[0], "%s", e->node);
		snprintf(l->via[l->n], sizeof l->via[0], "%s", e->via);
		snprintf(l->target[l->n], sizeof l->target[0], "%s", e->target);
		l->version[l->n] = e->version;
		l->time[l->n] = e->time;
	}
	l->n++;
	return 0;
}

static int read_log(evlog *l, vault *v)
{
	memset(l, 0, sizeof *l);
	return vault_audit_query(v, NULL, log_cb, l);
}

static int put_str(vault *v, const char *path, const char *s)
{
	mem_src src = { (const unsigned char *)s, strlen(s), 0 };
	uint32_t ver;

	return vault_put(&ver, v, path, mem_src_read, &src);
}

static void oid_raw(unsigned char out[20], const char *hex)
{
	git_oid oid;

	memset(out, 0, 20);
	if (git_oid_fromstr(&oid, hex) == 0)
		memcpy(out, oid.id, 20);
}

/* ---- the base history ---- */

static void test_history(void)
{
	static char path[512];
	static const char *const want[] = { "init", "user-add", "enrol", "case-create", "write", "read" };
	vault *v = NULL;
	vault_verify_result res;
	mem_sink sink = { 0 };
	evlog l;
	char g[VAULT_OID_SIZE], h[VAULT_OID_SIZE];

	snprintf(path, sizeof path, "%s/v", harness_tmpdir());
	vdir = path;
	CHECK_RC(vault_init(&v, vdir, "dpo", "dpo-pass", 8, 0), 0);
	if (!v)
		return;
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_case_create(code, v, "intake"), 0);
	snprintf(fpath, sizeof fpath, "%s/intake.txt", code);
	CHECK_RC(put_str(v, fpath, "first interview, version one"), 0);
	{
		vault_get_options o = { VAULT_GET_OPTIONS_VERSION, 0, "test", NULL };
		CHECK_RC(vault_get(v, fpath, &o, mem_sink_write, &sink), 0);
		mem_sink_free(&sink);
	}

	CHECK_RC(read_log(&l, v), 0);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	CHECK(res.events == l.n);
	CHECK(res.events == 6);
	CHECK(res.versions == 1);
	CHECK(res.bad_commit[0] == '\0');
	CHECK(l.n == 6);
	for (size_t i = 0; i < 6 && i < l.n; i++) {
		if (strcmp(l.action[i], want[i]))
			fprintf(stderr, "event %zu is '%s', want '%s'\n", i, l.action[i], want[i]);
		CHECK(!strcmp(l.action[i], want[i]));
		CHECK(strlen(l.commit[i]) == 40);
		CHECK(!strcmp(l.via[i], "cli"));
		CHECK(l.time[i] > 0);
	}
	if (l.n == 6) {
		CHECK(!strcmp(l.actor[0], "dpo") && !strcmp(l.actor[1], "dpo"));
		CHECK(!strcmp(l.target[1], "alice"));
		/* The user enrols themselves: their own event. */
		CHECK(!strcmp(l.actor[2], "alice") && !strcmp(l.target[2], "alice"));
		CHECK(!strcmp(l.actor[3], "alice") && !strcmp(l.case_code[3], code));
		CHECK(!strcmp(l.actor[4], "alice") && !strcmp(l.case_code[4], code));
		CHECK(l.version[4] == 1 && l.version[5] == 1);
		CHECK(strlen(l.node[4]) == 16 && !strcmp(l.node[4], l.node[5]));
		fnode = strtoull(l.node[4], NULL, 16);
		/* The genesis is the first event, the head the last. */
		CHECK_RC(vault_genesis(g, v), 0);
		CHECK_RC(vault_head(h, v), 0);
		CHECK(!strcmp(g, l.commit[0]));
		CHECK(!strcmp(h, l.commit[5]));
	}
	/* Filters. */
	{
		evlog f;
		vault_log_options flt = VAULT_LOG_OPTIONS_INIT;

		flt.case_code = code;
		memset(&f, 0, sizeof f);
		CHECK_RC(vault_audit_query(v, &flt, log_cb, &f), 0);
		CHECK(f.n == 3);            /* case-create, write, read */
		flt.case_code = NULL;
		flt.user = "dpo";
		memset(&f, 0, sizeof f);
		CHECK_RC(vault_audit_query(v, &flt, log_cb, &f), 0);
		CHECK(f.n == 2);
	}

	/* One more write: the head is now a state change. */
	CHECK_RC(put_str(v, fpath, "first interview, version two"), 0);
	CHECK_RC(read_log(&l, v), 0);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	CHECK(l.n == 7 && res.events == 7 && res.versions == 2);
	for (size_t i = 0; i < l.n && i < MAXEV; i++)
		memcpy(ids[i], l.commit[i], VAULT_OID_SIZE);
	nids = l.n < MAXEV ? l.n : MAXEV;
	vault_close(v);
}

/* ---- tampering on copies ---- */

static void copy_vault(char *out, size_t n)
{
	static int ncopies;
	char lock[600];
	struct stat st;

	snprintf(out, n, "%s/c%02d", harness_tmpdir(), ncopies++);
	CHECK(rawdb_copy_dir(vdir, out) == 0);
	snprintf(lock, sizeof lock, "%s/lock.mdb", out);
	CHECK(stat(lock, &st) == 0);   /* the copy holds the lock file too */
}

/*
 * A copy at `dir`, no user unlocked, holding the base's history keys (an
 * insider's): the history is encrypted, and verify must judge a copy no
 * session would open.
 */
static vault *open_insider(const char *dir)
{
	vault *v = support_open_as(dir, NULL, NULL);

	if (v && support_take_keys(v, vdir, "dpo") < 0) {
		vault_close(v);
		return NULL;
	}
	return v;
}

/* Verify a tampered copy: ECORRUPT, naming an event when `names_event`. */
static void expect_corrupt(const char *dir, const char *what, int names_event)
{
	vault *v = open_insider(dir);
	vault_verify_result res;
	int rc;

	if (!v)
		return;
	rc = vault_audit_verify(&res, v, NULL);
	if (rc != VAULT_ECORRUPT)
		fprintf(stderr, "%s: verify returned %d, want VAULT_ECORRUPT\n", what, rc);
	else
		fprintf(stderr, "%s: detected: %s\n", what, vault_error_last()->message);
	CHECK(rc == VAULT_ECORRUPT);
	if (names_event && rc == VAULT_ECORRUPT) {
		if (strlen(res.bad_commit) != 40)
			fprintf(stderr, "%s: bad_commit is '%s'\n", what, res.bad_commit);
		CHECK(strlen(res.bad_commit) == 40);
	}
	vault_close(v);
}

/* (a) A byte of a commit's message changed under its old id. */
static void tamper_commit(void)
{
	char dir[512];
	unsigned char k[20], *copy;
	size_t len;
	int type;
	rawdb db;
	vault *v;
	vault_verify_result res;

	/* Encrypted again under the history key, as an insider can. */
	copy_vault(dir, sizeof dir);
	oid_raw(k, ids[4]);               /* the first write */
	CHECK(rawdb_open(&db, dir) == 0);
	if (!db.env)
		return;
	if (rawdb_object_get(&copy, &len, &type, &db, support_keyring(vdir, "dpo"), k) == 0) {
		unsigned char *via;
		CHECK(type == GIT_OBJECT_COMMIT);
		via = memmem(copy, len, "Via: cli", 8);
		CHECK(via != NULL);
		if (via)
			via[7] = 'j';         /* "Via: clj" */
		CHECK(rawdb_object_put(&db, support_keyring(vdir, "dpo"), k, type, copy, len) == 0);
		free(copy);
		CHECK(rawdb_close(&db, 1) == 0);
	} else {
		CHECK(!"commit object not found");
		rawdb_close(&db, 0);
		return;
	}
	/* The event at fault is the one whose object is damaged: verify names
	 * it in res.bad_commit, not only in the message. */
	expect_corrupt(dir, "flipped commit", 1);
	if ((v = open_insider(dir)) != NULL) {
		CHECK_RC(vault_audit_verify(&res, v, NULL), VAULT_ECORRUPT);
		CHECK(!strcmp(res.bad_commit, ids[4]));
		vault_close(v);
	}
}

/* (b) A user's role changed in the state. */
static void tamper_role(void)
{
	char dir[512];
	unsigned char *copy;
	rawdb db;
	MDB_val val;

	copy_vault(dir, sizeof dir);
	CHECK(rawdb_open(&db, dir) == 0);
	if (!db.env)
		return;
	if (rawdb_get(&db, "users", "alice", 5, &val) == 0) {
		copy = malloc(val.mv_size);
		memcpy(copy, val.mv_data, val.mv_size);
		CHECK(copy[0] == 1 && copy[1] == VAULT_ROLE_CASEWORKER);
		copy[1] = VAULT_ROLE_ADMIN;
		CHECK(rawdb_put(&db, "users", "alice", 5, copy, val.mv_size) == 0);
		free(copy);
		CHECK(rawdb_close(&db, 1) == 0);
	} else {
		CHECK(!"user record not found");
		rawdb_close(&db, 0);
		return;
	}
	/* A state record that does not match the head tree ends verify's
	 * state walk early: each cursor it opened is closed once (the
	 * sanitizer run catches a double close on this path). */
	expect_corrupt(dir, "role changed", 1);
}

static void set_head(const char *dir, const char *hex)
{
	unsigned char rec[21];
	rawdb db;

	rec[0] = 1;
	oid_raw(rec + 1, hex);
	CHECK(rawdb_open(&db, dir) == 0);
	if (!db.env)
		return;
	CHECK(rawdb_put(&db, "meta", "head", 4, rec, sizeof rec) == 0);
	CHECK(rawdb_close(&db, 1) == 0);
}

/* (c) The head set back to its parent. */
static void tamper_rollback(void)
{
	char dir[512], newhead[VAULT_OID_SIZE];
	vault_verify_result res;
	mem_sink sink = { 0 };
	vault *v;
	int rc;

	/* The head is the second write: rolling it back leaves a state that
	 * the parent's tree does not describe. */
	copy_vault(dir, sizeof dir);
	set_head(dir, ids[nids - 2]);
	expect_corrupt(dir, "rollback of a write", 1);

	/*
	 * A read changes no state: rolling back a read event leaves a vault
	 * consistent with itself. The witness (an anchor: the head pushed
	 * elsewhere) is what detects it.
	 */
	copy_vault(dir, sizeof dir);
	if ((v = support_open_as(dir, "alice", "alice-pass")) != NULL) {
		vault_get_options o = { VAULT_GET_OPTIONS_VERSION, 0, "test", NULL };
		CHECK_RC(vault_get(v, fpath, &o, mem_sink_write, &sink), 0);
		CHECK_RC(vault_head(newhead, v), 0);
		CHECK(strcmp(newhead, ids[nids - 1]) != 0);
		CHECK_RC(support_verify(&res, v, newhead), 0);
		vault_close(v);
	}
	mem_sink_free(&sink);
	set_head(dir, ids[nids - 1]);
	if ((v = open_insider(dir)) != NULL) {
		CHECK_RC(support_verify(&res, v, newhead), VAULT_ECORRUPT);
		/* Without the anchor the shortened chain is self-consistent. */
		rc = vault_audit_verify(&res, v, NULL);
		if (rc == 0)
			fprintf(stderr, "note: rollback of a read event is detected only with an anchor\n");
		vault_close(v);
	}
}

/* (d) One version record deleted. */
static void tamper_version(uint32_t ver)
{
	char dir[512], what[64];
	unsigned char k[12];
	rawdb db;

	copy_vault(dir, sizeof dir);
	be64_put(k, fnode);
	be32_put(k + 8, ver);
	CHECK(rawdb_open(&db, dir) == 0);
	if (!db.env)
		return;
	CHECK(rawdb_count(&db, "versions") == 2);
	CHECK(rawdb_del(&db, "versions", k, 12) == 0);
	CHECK(rawdb_close(&db, 1) == 0);
	/* Every file node has its version records 1..N (verify_state checks
	 * each node's versions are complete): a deleted one is caught. */
	snprintf(what, sizeof what, "version %u record deleted", ver);
	expect_corrupt(dir, what, 1);
}

/* (e) A node record deleted. */
static void tamper_node(void)
{
	char dir[512];
	unsigned char k[8];
	rawdb db;

	copy_vault(dir, sizeof dir);
	be64_put(k, fnode);
	CHECK(rawdb_open(&db, dir) == 0);
	if (!db.env)
		return;
	CHECK(rawdb_del(&db, "nodes", k, 8) == 0);
	CHECK(rawdb_close(&db, 1) == 0);
	expect_corrupt(dir, "node record deleted", 1);
}

/* (a') The head commit object removed from the history. */
static void tamper_missing_commit(void)
{
	char dir[512];

	copy_vault(dir, sizeof dir);
	CHECK(rawdb_remove_object(dir, vdir, "dpo", ids[3]) == 0);   /* case-create, in the middle */
	expect_corrupt(dir, "commit removed", 0);
}

/* (f) Anchors. */
static void test_anchor(void)
{
	vault *v = support_open_as(vdir, "dpo", "dpo-pass");
	vault_verify_result res;
	char g[VAULT_OID_SIZE];

	if (!v)
		return;
	CHECK_RC(vault_genesis(g, v), 0);
	CHECK_RC(support_verify(&res, v, g), 0);
	CHECK(res.events == nids);
	CHECK_RC(support_verify(&res, v, ids[nids - 1]), 0);
	CHECK_RC(support_verify(&res, v, ids[3]), 0);
	/* Not in the history. */
	CHECK_RC(support_verify(&res, v, "0123456789abcdef0123456789abcdef01234567"), VAULT_ECORRUPT);
	{
		/* A real commit id with one digit changed. */
		char other[VAULT_OID_SIZE];
		memcpy(other, g, sizeof other);
		other[39] = other[39] == '0' ? '1' : '0';
		CHECK_RC(support_verify(&res, v, other), VAULT_ECORRUPT);
	}
	/* Not a commit id at all. */
	CHECK_RC(support_verify(&res, v, "xyz"), VAULT_EUSAGE);
	{
		char shortid[VAULT_OID_SIZE];
		memcpy(shortid, g, sizeof shortid);
		shortid[39] = '\0';
		CHECK_RC(support_verify(&res, v, shortid), VAULT_EUSAGE);
	}
	/* Options of a version this library does not know. */
	{
		vault_verify_options o = VAULT_VERIFY_OPTIONS_INIT;
		o.version = VAULT_VERIFY_OPTIONS_VERSION + 1;
		CHECK_RC(vault_audit_verify(&res, v, &o), VAULT_EUSAGE);
	}
	vault_close(v);
}

/*
 * A wrong passphrase: refused. The failing process holds no key of the
 * history: it leaves a sealed note, and the next session records the
 * event, unsigned, with the time of the failure; the history verifies.
 */
static void test_failed_unlock(void)
{
	char dir[512], h1[VAULT_OID_SIZE], h2[VAULT_OID_SIZE];
	vault *v;
	vault_verify_result res;
	evlog l;

	copy_vault(dir, sizeof dir);
	if ((v = support_open_as(dir, NULL, NULL)) == NULL)
		return;
	CHECK_RC(vault_head(h1, v), 0);
	CHECK_RC(vault_unlock(v, "alice", "wrong-pass", 10), VAULT_EAUTH);
	CHECK(vault_user(v) == NULL);
	CHECK_RC(vault_head(h2, v), 0);
	CHECK(!strcmp(h1, h2));
	/* An empty passphrase and a near miss are wrong too; an unknown user
	 * records nothing; the right one works. */
	CHECK_RC(vault_unlock(v, "alice", "", 0), VAULT_EAUTH);
	CHECK_RC(vault_unlock(v, "alice", "alice-pas", 9), VAULT_EAUTH);
	CHECK_RC(vault_unlock(v, "nobody", "x", 1), VAULT_EAUTH);
	CHECK_RC(vault_head(h2, v), 0);
	CHECK(!strcmp(h1, h2));
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK(vault_user(v) && !strcmp(vault_user(v), "alice"));
	CHECK_RC(read_log(&l, v), 0);
	CHECK(l.n == nids + 3);
	for (size_t i = nids; i < l.n && i < MAXEV; i++) {
		CHECK(!strcmp(l.action[i], "unlock-failed"));
		CHECK(!strcmp(l.actor[i], "alice"));
	}
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	CHECK(res.events == nids + 3);
	vault_close(v);
}

int main(void)
{
	umask(022);
	CHECK_RC(vault_global_init(), 0);
	test_history();
	/* The tampering tests name the base history's events by index: they
	 * run on the history test_history checked, whose failure shows. */
	if (harness_failures == 0) {
		tamper_commit();
		tamper_role();
		tamper_rollback();
		tamper_version(1);
		tamper_version(2);
		tamper_node();
		tamper_missing_commit();
		test_anchor();
		test_failed_unlock();
	}
	return harness_done("test_audit");
}
