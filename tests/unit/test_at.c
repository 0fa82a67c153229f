/*
 * Tests for vault/src/timetravel.c: vault_list_at and vault_get_at over
 * writes, overwrites, renames, moves, removals and restores at several
 * moments a second apart; the read event each look records; what is
 * refused (and then records nothing); and tampered or shredded records
 * (changed with raw LMDB on a copy of the vault, no handle open on it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"
#include "harness.h"
#include "rawdb.h"

#define BS VAULT_BLOCK_SIZE

static const char *vdir;
static char code[VAULT_CODE_SIZE];

/* The moments: every event of moment i has a time <= at[i] < the next's. */
#define MOMENTS 5
static int64_t at[MOMENTS];

static unsigned char *x_data;           /* three blocks and a bit */
static size_t x_len = 3 * BS + 123;
static const unsigned char a1[] = "first words\n";
static const unsigned char a2[] = "second, longer words\n";

/* Note the moment just passed, and wait until the clock has left it. */
static int64_t moment(void)
{
	int64_t t = (int64_t)time(NULL);
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	while ((int64_t)time(NULL) == t)
		nanosleep(&ts, NULL);
	return t;
}

static const char *P(const char *rest)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s%s%s", code, *rest ? "/" : "", rest);
	return buf[i];
}

/* ---- listings ---- */

typedef struct {
	char names[512];         /* "a.txt docs/" */
	uint32_t version[8];
	uint64_t size[8];
	int writable;
	size_t n;
} listing;

static int list_cb(const vault_stat_info *e, void *payload)
{
	listing *l = payload;
	size_t len = strlen(l->names);

	snprintf(l->names + len, sizeof l->names - len, "%s%s%s", len ? " " : "", e->name,
		e->is_dir ? "/" : "");
	if (l->n < 8) {
		l->version[l->n] = e->version;
		l->size[l->n] = e->size;
	}
	l->writable |= e->writable;
	l->n++;
	return 0;
}

static int list_at(listing *l, vault *v, const char *path, int64_t t)
{
	vault_at_options o = { VAULT_AT_OPTIONS_VERSION, t, NULL, NULL };

	memset(l, 0, sizeof *l);
	return vault_list_at(v, path, &o, list_cb, l);
}

static int get_at(mem_sink *s, uint32_t *ver, vault *v, const char *path, int64_t t)
{
	vault_at_options o = { VAULT_AT_OPTIONS_VERSION, t, NULL, NULL };

	mem_sink_free(s);
	return vault_get_at(ver, v, path, &o, mem_sink_write, s);
}

static int sink_is(const mem_sink *s, const unsigned char *data, size_t len)
{
	return s->len == len && (len == 0 || !memcmp(s->data, data, len));
}

/* The newest event of the history. */
typedef struct {
	char action[32], node[17], purpose[40], actor[40];
	uint32_t version;
	size_t n;
} last_event;

static int last_cb(const vault_event_info *e, const char *note, void *payload)
{
	last_event *l = payload;

	snprintf(l->action, sizeof l->action, "%s", e->action);
	snprintf(l->node, sizeof l->node, "%s", e->node);
	snprintf(l->purpose, sizeof l->purpose, "%s", e->purpose);
	snprintf(l->actor, sizeof l->actor, "%s", e->actor);
	l->version = e->version;
	l->n++;
	return 0;
}

static void last(last_event *l, vault *v)
{
	memset(l, 0, sizeof *l);
	CHECK_RC(vault_audit_query(v, NULL, last_cb, l), 0);
}

static void head(char out[VAULT_OID_SIZE], vault *v)
{
	CHECK_RC(vault_head(out, v), 0);
}

static int node_cb(const vault_stat_info *e, void *payload)
{
	char *out = payload;

	if (!strcmp(e->name, out + 17))
		memcpy(out, e->node, 17);
	return 0;
}

/* Node id (hex) of `name` in folder `dir` now; "" if absent. */
static void node_of(char out[17 + 256], vault *v, const char *dir, const char *name)
{
	out[0] = '\0';
	snprintf(out + 17, 256, "%s", name);
	CHECK_RC(vault_list(v, dir, &support_list_quiet, node_cb, out), 0);
}

/* ---- setup: the moments ---- */

static void setup(void)
{
	static char path[512];
	vault *v = NULL;
	uint32_t ver;

	snprintf(path, sizeof path, "%s/v", harness_tmpdir());
	vdir = path;
	x_data = malloc(x_len);
	fill_pattern(x_data, x_len, 7);
	CHECK_RC(vault_init(&v, vdir, "dpo", "dpo-pass", 8, 0), 0);
	if (!v)
		return;
	/* Time travel without purposes; test_events() requires them a while. */
	CHECK_RC(vault_purpose_require(v, 0), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	CHECK_RC(support_user_add(v, "bob", VAULT_ROLE_CASEWORKER, "bob-pass", 8), 0);
	vault_close(v);
	if ((v = support_open_as(vdir, "alice", "alice-pass")) == NULL)
		return;
	CHECK_RC(vault_case_create(code, v, NULL), 0);
	at[0] = moment();                                   /* empty */

	CHECK_RC(support_put(v, P("a.txt"), a1, sizeof a1 - 1, NULL), 0);
	CHECK_RC(vault_mkdir(v, P("docs")), 0);
	CHECK_RC(support_put(v, P("docs/x.bin"), x_data, x_len, NULL), 0);
	at[1] = moment();

	CHECK_RC(support_put(v, P("a.txt"), a2, sizeof a2 - 1, NULL), 0);   /* v2 */
	CHECK_RC(vault_move(v, P("docs/x.bin"), P("docs/y.bin")), 0);
	at[2] = moment();

	CHECK_RC(vault_mkdir(v, P("other")), 0);
	CHECK_RC(vault_move(v, P("a.txt"), P("other/a.txt")), 0);
	CHECK_RC(vault_remove(v, P("docs/y.bin")), 0);
	at[3] = moment();

	CHECK_RC(vault_restore(&ver, v, P("other/a.txt"), 1), 0);  /* v3 = v1 */
	CHECK(ver == 3);
	CHECK_RC(support_put(v, P("docs/x.bin"), a2, sizeof a2 - 1, NULL), 0); /* a new x.bin */
	at[4] = moment();
	vault_close(v);
}

/* ---- the state at each moment ---- */

static void test_listings(void)
{
	vault *v = support_open_as(vdir, "alice", "alice-pass");
	listing l;

	if (!v)
		return;
	CHECK_RC(list_at(&l, v, P(""), at[0]), 0);
	CHECK(l.n == 0);

	CHECK_RC(list_at(&l, v, P(""), at[1]), 0);
	CHECK(!strcmp(l.names, "a.txt docs/"));
	CHECK(l.version[0] == 1 && l.size[0] == sizeof a1 - 1);
	CHECK(!l.writable);
	CHECK_RC(list_at(&l, v, P("docs"), at[1]), 0);
	CHECK(!strcmp(l.names, "x.bin"));
	CHECK(l.size[0] == x_len);

	CHECK_RC(list_at(&l, v, P(""), at[2]), 0);
	CHECK(!strcmp(l.names, "a.txt docs/"));
	CHECK(l.version[0] == 2 && l.size[0] == sizeof a2 - 1);
	CHECK_RC(list_at(&l, v, P("docs"), at[2]), 0);
	CHECK(!strcmp(l.names, "y.bin"));

	CHECK_RC(list_at(&l, v, P(""), at[3]), 0);
	CHECK(!strcmp(l.names, "docs/ other/"));
	CHECK_RC(list_at(&l, v, P("docs"), at[3]), 0);
	CHECK(l.n == 0);
	CHECK_RC(list_at(&l, v, P("other"), at[3]), 0);
	CHECK(!strcmp(l.names, "a.txt"));

	CHECK_RC(list_at(&l, v, P("other"), at[4]), 0);
	CHECK(l.version[0] == 3 && l.size[0] == sizeof a1 - 1);
	CHECK_RC(list_at(&l, v, P("docs"), at[4]), 0);
	CHECK(!strcmp(l.names, "x.bin") && l.size[0] == sizeof a2 - 1);

	/* A time between two moments is the earlier one's state. */
	CHECK_RC(list_at(&l, v, P("docs"), at[2] + 0), 0);
	CHECK(!strcmp(l.names, "y.bin"));
	vault_close(v);
}

static void test_content(void)
{
	vault *v = support_open_as(vdir, "alice", "alice-pass");
	mem_sink s = { 0 };
	uint32_t ver = 99;

	if (!v)
		return;
	CHECK_RC(get_at(&s, &ver, v, P("a.txt"), at[1]), 0);
	CHECK(sink_is(&s, a1, sizeof a1 - 1) && ver == 1);
	CHECK_RC(get_at(&s, &ver, v, P("docs/x.bin"), at[1]), 0);
	CHECK(sink_is(&s, x_data, x_len) && ver == 1);
	/* Streamed block by block, never whole. */
	CHECK(s.calls == 4);
	CHECK_RC(get_at(&s, &ver, v, P("a.txt"), at[2]), 0);
	CHECK(sink_is(&s, a2, sizeof a2 - 1) && ver == 2);
	/* Renamed, then removed: still there as it was. */
	CHECK_RC(get_at(&s, &ver, v, P("docs/y.bin"), at[2]), 0);
	CHECK(sink_is(&s, x_data, x_len));
	CHECK_RC(get_at(&s, &ver, v, P("other/a.txt"), at[3]), 0);
	CHECK(sink_is(&s, a2, sizeof a2 - 1) && ver == 2);
	CHECK_RC(get_at(&s, &ver, v, P("other/a.txt"), at[4]), 0);
	CHECK(sink_is(&s, a1, sizeof a1 - 1) && ver == 3);
	/* The same name, another file: the one of each moment. */
	CHECK_RC(get_at(&s, &ver, v, P("docs/x.bin"), at[4]), 0);
	CHECK(sink_is(&s, a2, sizeof a2 - 1) && ver == 1);
	/* Now equals vault_get. */
	CHECK_RC(get_at(&s, &ver, v, P("other/a.txt"), (int64_t)time(NULL)), 0);
	CHECK(sink_is(&s, a1, sizeof a1 - 1) && ver == 3);
	mem_sink_free(&s);
	vault_close(v);
}

/* ---- each look is one read event ---- */

static void test_events(void)
{
	vault *v = support_open_as(vdir, "alice", "alice-pass");
	char before[VAULT_OID_SIZE], after[VAULT_OID_SIZE], node[17 + 256], docs[17 + 256];
	vault_at_options o = { VAULT_AT_OPTIONS_VERSION, 0, "review", "a note" };
	mem_sink s = { 0 };
	last_event e;
	listing l;
	size_t n;

	if (!v)
		return;
	node_of(node, v, P("other"), "a.txt");
	node_of(docs, v, P(""), "docs");
	last(&e, v);
	n = e.n;
	head(before, v);
	CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[2]), 0);
	head(after, v);
	CHECK(strcmp(before, after) != 0);
	last(&e, v);
	CHECK(e.n == n + 1);
	CHECK(!strcmp(e.action, "read") && !strcmp(e.actor, "alice"));
	CHECK(!strcmp(e.node, node) && e.version == 2);

	CHECK_RC(list_at(&l, v, P("docs"), at[1]), 0);
	last(&e, v);
	CHECK(e.n == n + 2);
	CHECK(!strcmp(e.action, "read") && !strcmp(e.node, docs) && e.version == 0);

	/* With a purpose, as get has it. */
	vault_close(v);
	if ((v = support_open_as(vdir, "dpo", "dpo-pass")) != NULL) {
		CHECK_RC(vault_purpose_add(v, "review"), 0);
		CHECK_RC(vault_purpose_require(v, 1), 0);
		vault_close(v);
	}
	if ((v = support_open_as(vdir, "alice", "alice-pass")) == NULL)
		return;
	head(before, v);
	CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[1]), VAULT_EUSAGE);
	CHECK(s.len == 0);
	CHECK_RC(list_at(&l, v, P(""), at[1]), VAULT_EUSAGE);
	CHECK(l.n == 0);
	head(after, v);
	CHECK(!strcmp(before, after));
	o.at = at[1];
	CHECK_RC(vault_list_at(v, P(""), &o, list_cb, memset(&l, 0, sizeof l)), 0);
	CHECK(!strcmp(l.names, "a.txt docs/"));
	last(&e, v);
	CHECK(!strcmp(e.action, "read") && !strcmp(e.purpose, "review"));
	mem_sink_free(&s);
	vault_close(v);
	if ((v = support_open_as(vdir, "dpo", "dpo-pass")) != NULL) {
		CHECK_RC(vault_purpose_require(v, 0), 0);
		vault_close(v);
	}
}

/* ---- what is refused records nothing ---- */

static void test_refused(void)
{
	vault *v = support_open_as(vdir, "alice", "alice-pass");
	char before[VAULT_OID_SIZE], after[VAULT_OID_SIZE];
	mem_sink s = { 0 };
	listing l;
	char code2[VAULT_CODE_SIZE];

	if (!v)
		return;
	head(before, v);
	/* Before the vault's first event; in the future. */
	CHECK_RC(list_at(&l, v, P(""), 978307200), VAULT_ENOTFOUND);
	CHECK(strstr(vault_error_last()->message, "begins at") != NULL);
	CHECK_RC(list_at(&l, v, P(""), (int64_t)time(NULL) + 3600), VAULT_EUSAGE);
	CHECK(strstr(vault_error_last()->message, "future") != NULL);
	/* Not yet there, no longer there, never there. */
	CHECK_RC(get_at(&s, NULL, v, P("other/a.txt"), at[2]), VAULT_ENOTFOUND);
	CHECK_RC(get_at(&s, NULL, v, P("docs/x.bin"), at[2]), VAULT_ENOTFOUND);
	CHECK_RC(get_at(&s, NULL, v, P("docs/y.bin"), at[3]), VAULT_ENOTFOUND);
	CHECK_RC(get_at(&s, NULL, v, P("docs/nothing"), at[4]), VAULT_ENOTFOUND);
	CHECK_RC(list_at(&l, v, P("other"), at[2]), VAULT_ENOTFOUND);
	CHECK_RC(list_at(&l, v, P("a.txt/b"), at[1]), VAULT_ENOTFOUND);
	CHECK(strstr(vault_error_last()->message, "was a file") != NULL);
	CHECK_RC(list_at(&l, v, "C-ZZZZZZZZ", at[1]), VAULT_ENOTFOUND);
	/* A file is not a folder, and the other way round. */
	CHECK_RC(list_at(&l, v, P("a.txt"), at[1]), VAULT_EUSAGE);
	CHECK_RC(get_at(&s, NULL, v, P("docs"), at[1]), VAULT_EUSAGE);
	CHECK_RC(get_at(&s, NULL, v, P(""), at[1]), VAULT_EUSAGE);
	CHECK_RC(list_at(&l, v, "nonsense", at[1]), VAULT_EUSAGE);
	CHECK(s.len == 0 && l.n == 0);
	head(after, v);
	CHECK(!strcmp(before, after));
	vault_close(v);

	/* A case created later did not exist then. */
	if ((v = support_open_as(vdir, "alice", "alice-pass")) != NULL) {
		CHECK_RC(vault_case_create(code2, v, NULL), 0);
		CHECK_RC(list_at(&l, v, code2, at[1]), VAULT_ENOTFOUND);
		CHECK(strstr(vault_error_last()->message, "did not exist") != NULL);
		CHECK_RC(list_at(&l, v, code2, (int64_t)time(NULL)), 0);
		CHECK(l.n == 0);
		vault_close(v);
	}

	/* Not a member: neither now nor then. */
	if ((v = support_open_as(vdir, "bob", "bob-pass")) != NULL) {
		head(before, v);
		CHECK_RC(list_at(&l, v, P(""), at[1]), VAULT_EACCES);
		CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[1]), VAULT_EACCES);
		head(after, v);
		CHECK(!strcmp(before, after) && s.len == 0 && l.n == 0);
		vault_close(v);
	}
	if ((v = support_open_as(vdir, "dpo", "dpo-pass")) != NULL) {
		CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[1]), VAULT_EACCES);
		vault_close(v);
	}
	mem_sink_free(&s);
}

/* A member granted later sees what was there before; once revoked, nothing. */
static void test_membership(void)
{
	vault *v;
	mem_sink s = { 0 };
	listing l;

	if ((v = support_open_as(vdir, "dpo", "dpo-pass")) != NULL) {
		CHECK_RC(vault_case_grant(v, code, "bob", 1), 0);
		vault_close(v);
	}
	/* alice's session passes the key on. */
	if ((v = support_open_as(vdir, "alice", "alice-pass")) != NULL)
		vault_close(v);
	if ((v = support_open_as(vdir, "bob", "bob-pass")) != NULL) {
		CHECK_RC(list_at(&l, v, P(""), at[1]), 0);
		CHECK(!strcmp(l.names, "a.txt docs/"));
		CHECK_RC(get_at(&s, NULL, v, P("docs/y.bin"), at[2]), 0);
		CHECK(sink_is(&s, x_data, x_len));
		vault_close(v);
	}
	if ((v = support_open_as(vdir, "dpo", "dpo-pass")) != NULL) {
		CHECK_RC(vault_case_revoke(v, code, "bob"), 0);
		vault_close(v);
	}
	if ((v = support_open_as(vdir, "bob", "bob-pass")) != NULL) {
		CHECK_RC(list_at(&l, v, P(""), at[1]), VAULT_EACCES);
		CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[1]), VAULT_EACCES);
		vault_close(v);
	}
	/* Content written under the new epoch reads at its moment too. */
	if ((v = support_open_as(vdir, "alice", "alice-pass")) != NULL) {
		CHECK_RC(support_put(v, P("late.txt"), a1, sizeof a1 - 1, NULL), 0);
		CHECK_RC(get_at(&s, NULL, v, P("late.txt"), (int64_t)time(NULL)), 0);
		CHECK(sink_is(&s, a1, sizeof a1 - 1));
		CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[1]), 0);
		CHECK(sink_is(&s, a1, sizeof a1 - 1));
		vault_close(v);
	}
	mem_sink_free(&s);
}

/* ---- tampered and shredded records, on copies ---- */

static void copy_vault(char *out, size_t n)
{
	snprintf(out, n, "%s/copy", harness_tmpdir());
	CHECK(rawdb_copy_dir(vdir, out) == 0);
}

static uint64_t node_id(const char *dir, const char *name)
{
	char buf[17 + 256];
	vault *v = support_open_as(vdir, "alice", "alice-pass");

	if (!v)
		return 0;
	node_of(buf, v, dir, name);
	vault_close(v);
	return strtoull(buf, NULL, 16);
}

static void test_tamper(void)
{
	char dir[512], before[VAULT_OID_SIZE], after[VAULT_OID_SIZE];
	uint64_t a = node_id(P("other"), "a.txt"), docs = node_id(P(""), "docs");
	unsigned char k[12];
	mem_sink s = { 0 };
	listing l;
	vault_verify_result res;
	vault *v;

	CHECK(a != 0 && docs != 0);
	/* 1. A version's block list no longer matches its manifest. */
	copy_vault(dir, sizeof dir);
	be64_put(k, a);
	be32_put(k + 8, 2);
	CHECK(rawdb_flip(dir, "versions", k, 12, 45 + 8 + 3, 0x01) == 0);
	if ((v = support_open_as(dir, "alice", "alice-pass")) != NULL) {
		head(before, v);
		CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[2]), VAULT_ECORRUPT);
		CHECK(s.len == 0);
		head(after, v);
		CHECK(!strcmp(before, after));
		/* The other versions are unharmed. */
		CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[1]), 0);
		CHECK(sink_is(&s, a1, sizeof a1 - 1));
		vault_close(v);
	}

	/* 2. A node shredded since: its name is gone, so it is not listed. */
	copy_vault(dir, sizeof dir);
	be64_put(k, a);
	CHECK(rawdb_names(dir, "alice", "alice-pass") == 0);
	CHECK(rawdb_flip_sealed(dir, "nodes", k, 8, 2, NODE_LIVE ^ NODE_SHREDDED) == 0);
	for (uint32_t gen = 1; gen <= 4; gen++) {
		be32_put(k + 8, gen);
		rawdb_remove(dir, "nodekeys", k, 12);
	}
	if ((v = support_open_as(dir, "alice", "alice-pass")) != NULL) {
		CHECK_RC(list_at(&l, v, P(""), at[1]), 0);
		CHECK(!strcmp(l.names, "docs/"));
		CHECK_RC(get_at(&s, NULL, v, P("a.txt"), at[1]), VAULT_ENOTFOUND);
		vault_close(v);
	}

	/* 3. A node key gone without a shred: damage, not absence. */
	copy_vault(dir, sizeof dir);
	be64_put(k, a);
	for (uint32_t gen = 1; gen <= 4; gen++) {
		be32_put(k + 8, gen);
		rawdb_remove(dir, "nodekeys", k, 12);
	}
	if ((v = support_open_as(dir, "alice", "alice-pass")) != NULL) {
		CHECK_RC(list_at(&l, v, P(""), at[1]), VAULT_ECORRUPT);
		vault_close(v);
	}

	/* The original verifies after all the looks. */
	if ((v = support_open_as(vdir, "alice", "alice-pass")) != NULL) {
		CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
		vault_close(v);
	}
	mem_sink_free(&s);
}

int main(void)
{
	umask(022);
	CHECK_RC(vault_global_init(), 0);
	setup();
	if (code[0]) {
		test_listings();
		test_content();
		test_events();
		test_refused();
		test_membership();
		test_tamper();
	}
	free(x_data);
	return harness_done("test_at");
}
