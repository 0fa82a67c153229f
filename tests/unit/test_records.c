/*
 * Tests for vault/src/records.c, the stored records and the text of their
 * files in the history tree, on a real vault:
 *
 * - every record kind (user, case, node, version, `meta`) read back field by
 *   field after it is written, committed, and the vault closed and opened
 *   again; its stored bytes where docs/formats.md puts them;
 * - damaged values (cut short, too long, another format byte, fields out of
 *   range), written with the store API in a write transaction: each is
 *   refused with VAULT_ECORRUPT and a message naming the record;
 * - user names and case codes;
 * - the exact text of the tree files (docs/history.md), the same text the
 *   history holds for the records the vault wrote itself, and node paths;
 * - the content commitment of a version.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "harness.h"
#include "support.h"

#define BS VAULT_BLOCK_SIZE
#define CUT_ALL ((size_t)-1)

static char vdir[512];
static vault *v;
static char real_case[VAULT_CODE_SIZE];    /* made by vault_case_create */

static MDB_txn *begin(int write)
{
	MDB_txn *txn = NULL;

	CHECK_RC(vault_store__begin(&txn, v->st, write), 0);
	return txn;
}

/* The last error's message names `what`. */
static int says(const char *what)
{
	const char *m = vault_error_last()->message;

	return m && strstr(m, what) != NULL;
}

/* `b` holds exactly `want`. */
static void check_text(const vault_buf *b, const char *want)
{
	if (b->ptr && !strcmp(b->ptr, want) && b->size == strlen(want))
		return;
	fprintf(stderr, "text differs:\n--- got\n%s--- want\n%s---\n", b->ptr ? b->ptr : "(null)", want);
	harness_failures++;
}

/* ---- sample records: every field set, and set apart from the others ---- */

static void sample_user(user_rec *u, vault_role_t role, int status, uint32_t seed)
{
	memset(u, 0, sizeof *u);
	u->role = role;
	u->status = status;
	fill_pattern(u->pk, sizeof u->pk, seed);
	u->kdf.opslimit = 0x0102030405060708ULL + seed;
	u->kdf.memlimit = 0x8877665544332211ULL - seed;
	fill_pattern(u->kdf.salt, sizeof u->kdf.salt, seed + 1);
	fill_pattern(u->wrapped, sizeof u->wrapped, seed + 2);
	fill_pattern(u->enrol, sizeof u->enrol, seed + 3);
	u->enrol_expires = 0x0a0b0c0d0e0f1011LL + seed;
}

/* Field `f` of the record read is the one written. */
#define SAME(f) CHECK(got->f == want->f)
#define SAME_BYTES(f, n) CHECK(!memcmp(got->f, want->f, (n)))

static void check_user(const user_rec *got, const user_rec *want)
{
	SAME(role); SAME(status);
	SAME_BYTES(pk, sizeof got->pk);
	SAME(kdf.opslimit); SAME(kdf.memlimit);
	SAME_BYTES(kdf.salt, sizeof got->kdf.salt);
	SAME_BYTES(wrapped, sizeof got->wrapped);
	SAME_BYTES(enrol, sizeof got->enrol);
	SAME(enrol_expires);
}

static void add_member(case_rec *c, const char *user, int read_only)
{
	snprintf(c->members[c->nmembers].user, sizeof c->members[0].user, "%s", user);
	c->members[c->nmembers++].read_only = read_only;
}

static unsigned char chains[3][CHAIN_SIZE];
static unsigned char kcvs[4][KCV_SIZE];

/* Case `code` at `epoch`, its chain (epoch - 1 entries) from `chains` and
 * its key-check values from `kcvs` (epoch N's: bytes 0xa0 + N), a label of
 * `label_len` bytes sealed under `label_epoch` (0: none). */
static void sample_case(case_rec *c, const char *code, uint32_t epoch, int retired, uint64_t root,
	uint32_t label_epoch, size_t label_len)
{
	memset(c, 0, sizeof *c);
	snprintf(c->code, sizeof c->code, "%s", code);
	c->epoch = epoch;
	c->retired = retired;
	c->root = root;
	c->label_epoch = label_epoch;
	c->label_len = label_len;
	fill_pattern(c->label, label_len, epoch + 100);
	for (size_t i = 0; i < 3; i++)
		fill_pattern(chains[i], CHAIN_SIZE, (uint32_t)i + 200);
	c->nchain = epoch - 1;
	c->chain = c->nchain ? chains : NULL;
	for (size_t i = 0; i < 4; i++)
		memset(kcvs[i], 0xa1 + (int)i, KCV_SIZE);
	c->kcv = kcvs;
}

/* A recovery request: id, caseworker, epoch, granted, one approval. */
static recovery_req sample_req = { "R-ABCDEFGH", "noy", 3, 0, 1, { "bob" } };
#define REQ_BYTES (1 + 10 + 1 + 3 + 4 + 1 + 1 + 1 + 3)

static void check_case(const case_rec *got, const case_rec *want)
{
	CHECK(!strcmp(got->code, want->code));
	SAME(epoch); SAME(retired); SAME(root);
	SAME(label_epoch); SAME(label_len);
	SAME_BYTES(label, want->label_len);
	SAME(nmembers);
	for (size_t i = 0; i < got->nmembers && i < want->nmembers; i++) {
		CHECK(!strcmp(got->members[i].user, want->members[i].user));
		SAME(members[i].read_only);
	}
	SAME(nchain);
	CHECK(got->nchain == 0 || (got->chain && got->chain != want->chain &&
		!memcmp(got->chain, want->chain, want->nchain * CHAIN_SIZE)));
	CHECK(got->kcv && got->kcv != want->kcv && !memcmp(got->kcv, want->kcv, want->epoch * KCV_SIZE));
	SAME(rec_epoch);
	SAME_BYTES(rec_set, RECOVERY_SET_SIZE);
	SAME(rec_threshold);
	SAME(nreq);
	for (size_t i = 0; i < got->nreq && i < want->nreq; i++) {
		CHECK(!strcmp(got->req[i].id, want->req[i].id) && !strcmp(got->req[i].user, want->req[i].user));
		SAME(req[i].epoch); SAME(req[i].granted); SAME(req[i].napproved);
		CHECK(!strcmp(got->req[i].approved[0], want->req[i].approved[0]));
	}
}

static void sample_node(node_rec *n, uint64_t id, int type, int state, const char *code,
	size_t name_len, uint32_t mode, uint32_t folders)
{
	memset(n, 0, sizeof *n);
	n->id = id;
	n->type = type;
	n->state = state;
	snprintf(n->code, sizeof n->code, "%s", code);
	n->parent = id ^ 0x1111222233334444ULL;
	n->version = 0x01020304;
	n->size = 0x0000000500000007ULL;
	n->mtime = -1500000000;              /* 1969-12-31T23:59:58.5Z */
	n->ctime = INT64_MIN;
	n->atime = INT64_MAX;
	n->generation = 0xa1b2c3d4;
	n->next_block = 0x0f0e0d0c0b0a0908ULL;
	n->name_gen = 0x55667788;
	n->name_len = name_len;
	fill_pattern(n->name, name_len, (uint32_t)id);
	fill_pattern(n->commitment, sizeof n->commitment, (uint32_t)id + 1);
	n->mode = mode;
	n->folders = folders;
	n->entries = folders ? UINT32_MAX : 0;     /* at least as many as folders */
}

static void check_node(const node_rec *got, const node_rec *want)
{
	SAME(id); SAME(type); SAME(state);
	CHECK(!strcmp(got->code, want->code));
	SAME(parent); SAME(version); SAME(size);
	SAME(mtime); SAME(ctime); SAME(atime);
	SAME(generation); SAME(next_block);
	SAME(name_gen); SAME(name_len);
	SAME_BYTES(name, want->name_len);
	SAME_BYTES(commitment, sizeof got->commitment);
	SAME(mode); SAME(folders); SAME(entries);
}

/* A version of `size` bytes; the blocks in `holes` (a bit each) never written. */
static void sample_version(version_rec *r, block_ref *blocks, uint64_t size, unsigned holes,
	uint32_t seed)
{
	memset(r, 0, sizeof *r);
	r->size = size;
	r->mtime = -1500000000 - (int64_t)seed;
	r->generation = 3 + seed;
	fill_pattern(r->commit, sizeof r->commit, seed);
	r->nblocks = (size_t)((size + BS - 1) / BS);
	r->blocks = blocks;
	for (size_t i = 0; i < r->nblocks; i++) {
		memset(blocks[i].hash, 0, sizeof blocks[i].hash);
		if (holes & (1u << i)) {
			blocks[i].id = BLOCK_HOLE;
		} else {
			blocks[i].id = 7 + 5 * i + ((uint64_t)seed << 40);
			fill_pattern(blocks[i].hash, sizeof blocks[i].hash, seed * 16 + (uint32_t)i);
		}
	}
}

static void check_version(const version_rec *got, const version_rec *want)
{
	SAME(size); SAME(mtime); SAME(generation);
	SAME_BYTES(commit, sizeof got->commit);
	SAME(nblocks);
	CHECK(got->nblocks == (got->size + BS - 1) / BS);
	for (size_t i = 0; i < got->nblocks && i < want->nblocks; i++) {
		SAME(blocks[i].id);
		SAME_BYTES(blocks[i].hash, sizeof got->blocks[i].hash);
	}
}

/* ---- round trips ---- */

static user_rec users[3];
static const char *const user_names[3] = { "alice", "b", "a.b_c-d0123456789abcdefghijklmno" };
static case_rec cases[3];
static node_rec nodes[3];
static block_ref blocks[3][4];
static version_rec versions[3];
static const uint32_t version_nums[3] = { 1, 2, UINT32_MAX };
#define VNODE 0x42ULL

static void make_samples(void)
{
	char name[VAULT_NAME_MAX + 1];

	sample_user(&users[0], VAULT_ROLE_CASEWORKER, USER_DISABLED, 1);
	sample_user(&users[1], VAULT_ROLE_ADMIN, USER_ACTIVE, 2);
	sample_user(&users[2], VAULT_ROLE_AUDITOR, USER_ACTIVE, 3);

	/* Three chain entries, a label, read-only and read-write members. */
	sample_case(&cases[0], "C-0123ABCD", 4, 1, 0x0102030405060708ULL, 3, VCRYPTO_OVERHEAD + 11);
	add_member(&cases[0], "alice", 0);
	add_member(&cases[0], "bob", 1);
	add_member(&cases[0], "c.d-e_f", 0);
	/* Its key of epoch 3 split for a custodian set, 2 of them; a request
	 * approved by one. */
	cases[0].rec_epoch = 3;
	cases[0].rec_threshold = 2;
	memset(cases[0].rec_set, 0x5c, RECOVERY_SET_SIZE);
	cases[0].nreq = 1;
	cases[0].req = &sample_req;
	/* The most members, the longest names, no label, no chain. */
	sample_case(&cases[1], "C-ZZZZZZZZ", 1, 0, 0, 0, 0);
	for (int i = 0; i < CASE_MAX_MEMBERS; i++) {
		snprintf(name, sizeof name, "m%02d%.29s", i, "abcdefghijklmnopqrstuvwxyz0123456");
		add_member(&cases[1], name, i % 2);
	}
	/* The longest label, no member. */
	sample_case(&cases[2], "C-00000000", 2, 0, UINT64_MAX, 2, sizeof cases[2].label);

	sample_node(&nodes[0], 0x0123456789abcdefULL, NODE_FILE, NODE_DELETED, "C-0123ABCD", 45, 07777, 0);
	/* A case root: no name; times around 1970. */
	sample_node(&nodes[1], 1, NODE_DIR, NODE_LIVE, "C-ZZZZZZZZ", 0, 0700, 0xfffffffe);
	nodes[1].mtime = -1;
	nodes[1].ctime = 0;
	nodes[1].atime = 1;
	sample_node(&nodes[2], UINT64_MAX, NODE_FILE, NODE_SHREDDED, "C-00000000",
		sizeof nodes[2].name, 0, 0);

	/* Four blocks, the second a hole; none; two holes. */
	sample_version(&versions[0], blocks[0], 3 * BS + 5, 1u << 1, 1);
	sample_version(&versions[1], blocks[1], 0, 0, 2);
	sample_version(&versions[2], blocks[2], 2 * BS, 3, 3);
}

static void test_round_trips(void)
{
	MDB_txn *txn;
	user_rec u;
	case_rec c;
	node_rec n;
	version_rec r;
	MDB_val val;
	vault_buf text = VAULT_BUF_INIT;
	unsigned char long_value[1024];
	int required;

	make_samples();
	fill_pattern(long_value, sizeof long_value, 9);

	txn = begin(1);
	for (int i = 0; i < 3; i++) {
		CHECK_RC(vault_user__put(txn, v, user_names[i], &users[i]), 0);
		CHECK_RC(vault_case__put(txn, v, &cases[i]), 0);
		CHECK_RC(vault_node__put(txn, v, &nodes[i]), 0);
		CHECK_RC(vault_version__put(txn, v, VNODE, version_nums[i], &versions[i]), 0);
	}
	CHECK_RC(vault_meta__put(txn, v, "test-text", "line one\nline two", 17), 0);
	CHECK_RC(vault_meta__put(txn, v, "test-empty", "", 0), 0);
	/* The longest value a meta record holds, and one byte more. */
	CHECK_RC(vault_meta__put(txn, v, "test-long", long_value, sizeof long_value - 1), 0);
	CHECK_RC(vault_meta__put(txn, v, "test-too-long", long_value, sizeof long_value), VAULT_ERROR);
	CHECK(says("'test-too-long'"));
	CHECK_RC(vault_store__commit(v->st, txn), 0);

	/* Read from the file, not from anything the handle kept. */
	vault_close(v);
	CHECK_RC(vault_open(&v, vdir), 0);
	if (!v)
		return;
	/* the index key, for the sealed records (purposes) */
	CHECK_RC(vault_open_history(v, "cw", "cw-pass", 7), 0);

	txn = begin(0);
	for (int i = 0; i < 3; i++) {
		int failures = harness_failures;

		memset(&u, 0xee, sizeof u);
		CHECK_RC(vault_user__get(&u, txn, v, user_names[i]), 0);
		check_user(&u, &users[i]);

		CHECK_RC(vault_case__get(&c, txn, v, cases[i].code), 0);
		check_case(&c, &cases[i]);
		vault_case__dispose(&c);
		CHECK(c.chain == NULL && c.nchain == 0);

		memset(&n, 0xee, sizeof n);
		CHECK_RC(vault_node__get(&n, txn, v, nodes[i].id), 0);
		check_node(&n, &nodes[i]);

		CHECK_RC(vault_version__get(&r, txn, v, VNODE, version_nums[i]), 0);
		check_version(&r, &versions[i]);
		vault_version__dispose(&r);
		CHECK(r.blocks == NULL && r.nblocks == 0);
		if (harness_failures != failures)
			fprintf(stderr, "  (in the round trip of records [%d])\n", i);
	}
	CHECK(versions[0].nblocks == 4 && versions[2].nblocks == 2);

	/* The member entry of a user, or NULL. */
	CHECK_RC(vault_case__get(&c, txn, v, "C-0123ABCD"), 0);
	CHECK(vault_case__member(&c, "bob") == &c.members[1] && c.members[1].read_only == 1);
	CHECK(vault_case__member(&c, "alice") == &c.members[0] && c.members[0].read_only == 0);
	CHECK(vault_case__member(&c, "bo") == NULL);
	CHECK(vault_case__member(&c, "carol") == NULL);
	CHECK(vault_case__member(&c, "") == NULL);
	vault_case__dispose(&c);

	/* What is absent is VAULT_ENOTFOUND, named where the header says so. */
	CHECK_RC(vault_user__get(&u, txn, v, "nobody"), VAULT_ENOTFOUND);
	CHECK_RC(vault_case__get(&c, txn, v, "C-11111111"), VAULT_ENOTFOUND);
	CHECK(says("case 'C-11111111'"));
	CHECK(c.chain == NULL);
	CHECK_RC(vault_node__get(&n, txn, v, 0x0123456789abcdeeULL), VAULT_ENOTFOUND);
	CHECK(says("node 0123456789abcdee"));
	CHECK_RC(vault_version__get(&r, txn, v, VNODE, 3), VAULT_ENOTFOUND);
	CHECK(says("version 3"));
	CHECK(r.blocks == NULL);
	CHECK_RC(vault_version__get(&r, txn, v, VNODE + 1, 1), VAULT_ENOTFOUND);
	/* A case code that is no code is not looked up. */
	CHECK_RC(vault_case__get(&c, txn, v, "C-0123abcd"), VAULT_EUSAGE);

	/* meta: the value without its format byte; text NUL-ended, "" when absent. */
	CHECK_RC(vault_meta__get(&val, txn, v, "test-text"), 0);
	CHECK(val.mv_size == 17 && !memcmp(val.mv_data, "line one\nline two", 17));
	CHECK_RC(vault_meta__get(&val, txn, v, "test-empty"), 0);
	CHECK(val.mv_size == 0);
	CHECK_RC(vault_meta__get(&val, txn, v, "test-long"), 0);
	CHECK(val.mv_size == sizeof long_value - 1 && !memcmp(val.mv_data, long_value, val.mv_size));
	CHECK_RC(vault_meta__get(&val, txn, v, "test-too-long"), VAULT_ENOTFOUND);
	CHECK_RC(vault_meta__get(&val, txn, v, "test-absent"), VAULT_ENOTFOUND);
	CHECK_RC(vault_meta__text(&text, txn, v, "test-text"), 0);
	check_text(&text, "line one\nline two");
	vault_buf_dispose(&text);
	CHECK_RC(vault_meta__text(&text, txn, v, "test-absent"), 0);
	check_text(&text, "");
	vault_buf_dispose(&text);
	CHECK_RC(vault_meta__text(&text, txn, v, "test-empty"), 0);
	check_text(&text, "");
	vault_buf_dispose(&text);

	/* A new vault has no purposes and requires one. */
	required = -1;
	CHECK_RC(vault_meta__purposes(&text, &required, txn, v), 0);
	CHECK(required == 1);
	check_text(&text, "");
	vault_buf_dispose(&text);
	vault_store__abort(v->st, txn);

	/* Purposes and the flag, as purposes.c stores them. */
	txn = begin(1);
	CHECK_RC(vault_meta__sealed_put(txn, v, "purposes", "care\nlegal-hold", 15), 0);
	CHECK_RC(vault_meta__put(txn, v, "purpose-required", "\1", 1), 0);
	CHECK_RC(vault_meta__purposes(&text, &required, txn, v), 0);
	CHECK(required == 1);
	check_text(&text, "care\nlegal-hold");
	vault_buf_dispose(&text);
	CHECK_RC(vault_meta__put(txn, v, "purpose-required", "\0", 1), 0);
	CHECK_RC(vault_meta__purposes(&text, &required, txn, v), 0);
	CHECK(required == 0);
	vault_buf_dispose(&text);
	vault_store__abort(v->st, txn);
}

/* The stored bytes of a record; zeros, and a failed check, if it is missing. */
static const unsigned char *raw(MDB_val *val, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
	static const unsigned char none[1024];

	if (vault_store__get(txn, dbi, key, klen, val) == 0 && val->mv_size <= sizeof none)
		return val->mv_data;
	CHECK(!"the record is stored");
	val->mv_size = 0;
	return none;
}

/* The stored key of record `name` of `dbi` (a locator: records.h). */
static vault_rec_key at_key(MDB_dbi dbi, const char *name)
{
	vault_rec_key at = { { 0 }, 0 };

	CHECK_RC(vault_rec__key(&at, v, dbi, name), 0);
	return at;
}

/* The plain bytes of a sealed record (case, node) into *plain; zeros, and
 * a failed check, if it is missing or does not open at its key. */
static const unsigned char *opened(unsigned char **plain, MDB_val *val, MDB_txn *txn, MDB_dbi dbi,
	const char *table, const void *key, size_t klen)
{
	static const unsigned char none[1024];
	const unsigned char *p = raw(val, txn, dbi, key, klen);

	*plain = NULL;
	if (p == none || vault_rec__open(plain, &val->mv_size, v, table, key, klen, val) < 0 ||
	    val->mv_size > sizeof none) {
		CHECK(!"the sealed record opens");
		vault_rec__free(*plain, val->mv_size);
		*plain = NULL;
		val->mv_size = 0;
		return none;
	}
	return *plain;
}

/* The stored bytes are where docs/formats.md puts them. */
static void test_layout(void)
{
	MDB_txn *txn = begin(0);
	vault_rec_key at;
	unsigned char k[12], *plain = NULL;
	const unsigned char *p;
	MDB_val val;
	size_t len;

	/* users: format, role, status, key, opslimit, memlimit, salt,
	 * nonce ‖ sealed key, the enrolment code's hash and its expiry. */
	/* Stored at its locator, not under the name. */
	CHECK_RC(vault_store__get(txn, v->st->users, "alice", 5, &val), VAULT_ENOTFOUND);
	at = at_key(v->st->users, "alice");
	CHECK(at.len == VAULT_LOCATOR_SIZE);
	p = raw(&val, txn, v->st->users, at.b, at.len);
	CHECK(p[0] == REC_FORMAT && p[1] == VAULT_ROLE_CASEWORKER && p[2] == USER_DISABLED);
	CHECK(!memcmp(p + 3, users[0].pk, 32));
	CHECK(be64_get(p + 35) == users[0].kdf.opslimit && be64_get(p + 43) == users[0].kdf.memlimit);
	CHECK(!memcmp(p + 51, users[0].kdf.salt, 16));
	CHECK(!memcmp(p + 67, users[0].wrapped, 24 + 64 + 16));
	CHECK(!memcmp(p + 171, users[0].enrol, 32));
	/* The expiry (when the user was added) is encrypted: not there in plain. */
	CHECK((int64_t)be64_get(p + 203) != users[0].enrol_expires);
	{
		unsigned char e[8];
		be64_put(e, (uint64_t)users[0].enrol_expires);
		CHECK(!memmem(p, val.mv_size, e, 8));
	}
	/* 227 bytes: 1 + 1 + 1 + 32 + 8 + 8 + 16 + 24 + 80 + 32 + 8, then the
	 * checksum of the locator and those 211 (16); nothing after. */
	CHECK(val.mv_size == 227);
	{
		unsigned char sum[16];

		crypto_generichash_state st;

		crypto_generichash_init(&st, (const unsigned char *)"cv-user-sum", 11, 16);
		crypto_generichash_update(&st, at.b, at.len);
		crypto_generichash_update(&st, p, 211);
		crypto_generichash_final(&st, sum, 16);
		CHECK(!memcmp(p + 211, sum, 16));
	}

	/* cases: epoch, retired, root, label epoch, label length, label,
	 * member count, (length, name, read-only) each, chain length, chain,
	 * a key-check value per epoch. */
	CHECK_RC(vault_store__get(txn, v->st->cases, "C-0123ABCD", 10, &val), VAULT_ENOTFOUND);
	at = at_key(v->st->cases, "C-0123ABCD");
	p = opened(&plain, &val, txn, v->st->cases, "cases", at.b, at.len);
	len = 20 + cases[0].label_len;
	CHECK(val.mv_size == len + 1 + (1 + 5 + 1) + (1 + 3 + 1) + (1 + 7 + 1) + 2 + 3 * CHAIN_SIZE +
		4 * KCV_SIZE + 4 + RECOVERY_SET_SIZE + 2 + REQ_BYTES);
	CHECK(!memcmp(p + val.mv_size - REQ_BYTES - 2 - 4 - RECOVERY_SET_SIZE - 4 * KCV_SIZE, kcvs, 4 * KCV_SIZE));
	CHECK(p[0] == REC_FORMAT && be32_get(p + 1) == 4 && p[5] == 1);
	CHECK(be64_get(p + 6) == cases[0].root && be32_get(p + 14) == 3);
	CHECK(p[18] == 0 && p[19] == cases[0].label_len);
	CHECK(!memcmp(p + 20, cases[0].label, cases[0].label_len));
	CHECK(p[len] == 3 && p[len + 1] == 5 && !memcmp(p + len + 2, "alice", 5) && p[len + 7] == 0);
	CHECK(p[len + 8] == 3 && !memcmp(p + len + 9, "bob", 3) && p[len + 12] == 1);
	CHECK(p[len + 22] == 0 && p[len + 23] == 3 && !memcmp(p + len + 24, chains, 3 * CHAIN_SIZE));

	/* nodes: type, state, code length, code, ..., mode (u16), folders (u32),
	 * entries (u32). */
	be64_put(k, nodes[0].id);
	vault_rec__free(plain, val.mv_size);
	p = opened(&plain, &val, txn, v->st->nodes, "nodes", k, 8);
	CHECK(val.mv_size == 76 + 45 + 32 + 2 + 4 + 4);
	CHECK(p[0] == REC_FORMAT && p[1] == NODE_FILE && p[2] == NODE_DELETED && p[3] == 10);
	CHECK(!memcmp(p + 4, "C-0123ABCD", 10) && be64_get(p + 14) == nodes[0].parent);
	CHECK(be64_get(p + 34) == (uint64_t)nodes[0].mtime && be64_get(p + 42) == (uint64_t)INT64_MIN);
	CHECK(be32_get(p + 70) == nodes[0].name_gen && p[74] == 0 && p[75] == 45);
	CHECK(!memcmp(p + 76, nodes[0].name, 45) && !memcmp(p + 121, nodes[0].commitment, 32));
	CHECK(p[153] == 0x0f && p[154] == 0xff && be32_get(p + 155) == 0 && be32_get(p + 159) == 0);

	vault_rec__free(plain, val.mv_size);

	/* versions: size, time, generation, commit, count, (id, hash) each. */
	be64_put(k, VNODE);
	be32_put(k + 8, 1);
	p = opened(&plain, &val, txn, v->st->versions, "versions", k, 12);
	CHECK(val.mv_size == 45 + 4 * 40);
	CHECK(p[0] == REC_FORMAT && be64_get(p + 1) == 3 * BS + 5 && be32_get(p + 41) == 4);
	CHECK(be64_get(p + 45) == blocks[0][0].id && !memcmp(p + 53, blocks[0][0].hash, 32));
	CHECK(be64_get(p + 85) == BLOCK_HOLE);
	CHECK((int64_t)be64_get(p + 9) == versions[0].mtime && !memcmp(p + 21, versions[0].commit, 20));
	vault_rec__free(plain, val.mv_size);
	/* Stored sealed: neither its time nor its event's id is there in plain. */
	p = raw(&val, txn, v->st->versions, k, 12);
	CHECK(val.mv_size == 1 + VCRYPTO_OVERHEAD + 45 + 4 * 40 && p[0] == REC_FORMAT);
	be64_put(k, (uint64_t)versions[0].mtime);
	CHECK(!memmem(p, val.mv_size, k, 8) && !memmem(p, val.mv_size, versions[0].commit, 20));

	/* meta: the format byte, then the value. */
	p = raw(&val, txn, v->st->meta, "test-text", 9);
	CHECK(val.mv_size == 18 && p[0] == REC_FORMAT && !memcmp(p + 1, "line one\nline two", 17));
	vault_store__abort(v->st, txn);
}

/* ---- damage ---- */

/* One damage to a stored value: cut bytes off its end, append zero bytes,
 * then write `to` big-endian in the `n` bytes from `at`. */
typedef struct {
	const char *what;
	size_t cut;
	size_t grow;
	size_t at, n;
	uint64_t to;
	int ok;          /* still a good record (the value as written) */
} damage;

/* A record to damage: where it is, how it is read, what the error names. */
typedef struct {
	const char *kind;
	MDB_dbi *dbi;
	const void *key;
	size_t klen;
	int (*read)(MDB_txn *txn);
	const char *names;
	const char *sealed;   /* the table whose records are sealed at their key, or NULL */
} target;

/* Store plain record bytes `buf` as `t` holds them: sealed at its key, or as they are. */
static int put_as(MDB_txn *txn, const target *t, const unsigned char *buf, size_t n)
{
	unsigned char *sealed;
	size_t slen;
	int error;

	if (!t->sealed)
		return vault_store__put(txn, *t->dbi, t->key, t->klen, buf, n, 0);
	if ((error = vault_rec__seal(&sealed, &slen, v, t->sealed, t->key, t->klen, buf, n)) < 0)
		return error;
	error = vault_store__put(txn, *t->dbi, t->key, t->klen, sealed, slen, 0);
	free(sealed);
	return error;
}

#define DAMAGED_USER "mallory"
#define DAMAGED_CASE "C-DAMAGE00"
#define DAMAGED_NODE 0xdeadULL
#define DAMAGED_VERSION 7

static int read_user(MDB_txn *txn)
{
	user_rec u;

	return vault_user__get(&u, txn, v, DAMAGED_USER);
}

static int read_case(MDB_txn *txn)
{
	case_rec c;
	int error = vault_case__get(&c, txn, v, DAMAGED_CASE);

	vault_case__dispose(&c);
	return error;
}

static int read_node(MDB_txn *txn)
{
	node_rec n;

	return vault_node__get(&n, txn, v, DAMAGED_NODE);
}

static int read_version(MDB_txn *txn)
{
	version_rec r;
	int error = vault_version__get(&r, txn, v, DAMAGED_NODE, DAMAGED_VERSION);

	vault_version__dispose(&r);
	return error;
}

static int read_meta(MDB_txn *txn)
{
	MDB_val val;

	return vault_meta__get(&val, txn, v, "test-value");
}

static int read_purposes(MDB_txn *txn)
{
	vault_buf b = VAULT_BUF_INIT;
	int required, error = vault_meta__purposes(&b, &required, txn, v);

	vault_buf_dispose(&b);
	return error;
}

static int read_settings(MDB_txn *txn)
{
	vault_buf b = VAULT_BUF_INIT;
	int error = vault_blob__settings(&b, v, txn);

	vault_buf_dispose(&b);
	return error;
}

/* Store the record damaged each way of `d` in turn and read it: each must
 * fail with VAULT_ECORRUPT naming the record, but the intact value. The
 * value given is stored again at the end. */
static void damage_rows(MDB_txn *txn, const target *t, const unsigned char *good, size_t len,
	const damage *d, size_t nd)
{
	unsigned char buf[1024];

	for (size_t i = 0; i < nd; i++) {
		size_t n = len - (d[i].cut < len ? d[i].cut : len);
		uint64_t to;
		int error;

		memcpy(buf, good, n);
		memset(buf + n, 0, d[i].grow);
		n += d[i].grow;
		if (n > sizeof buf || d[i].at + d[i].n > n) {
			CHECK(!"the damage fits the value");
			continue;
		}
		to = d[i].to;
		for (size_t j = d[i].n; j-- > 0; to >>= 8)
			buf[d[i].at + j] = (unsigned char)to;
		CHECK_RC(put_as(txn, t, buf, n), 0);
		vault_error_clear();
		error = t->read(txn);
		if (d[i].ok ? error != 0 : error != VAULT_ECORRUPT || !says(t->names)) {
			fprintf(stderr, "%s record, %s: read gives %d (%s), want %s naming \"%s\"\n",
				t->kind, d[i].what, error,
				vault_error_last()->message, d[i].ok ? "0" : "VAULT_ECORRUPT", t->names);
			harness_failures++;
		}
	}
	CHECK_RC(put_as(txn, t, good, len), 0);
}

/* The sealed record stored at `from` put at `t`'s key instead (a record
 * of another case or node moved there), then one byte of `t`'s own
 * ciphertext flipped: each read fails, naming the record. */
static void check_moved(MDB_txn *txn, const target *t, const void *from, size_t flen, const char *names)
{
	unsigned char own[1024], *copy;
	MDB_val val;
	size_t len;
	int error;

	if (vault_store__get(txn, *t->dbi, t->key, t->klen, &val) < 0 || val.mv_size > sizeof own) {
		CHECK(!"the record is stored");
		return;
	}
	len = val.mv_size;
	memcpy(own, val.mv_data, len);
	CHECK_RC(vault_store__get(txn, *t->dbi, from, flen, &val), 0);
	if ((copy = malloc(val.mv_size)) == NULL)
		return;
	memcpy(copy, val.mv_data, val.mv_size);
	CHECK_RC(vault_store__put(txn, *t->dbi, t->key, t->klen, copy, val.mv_size, 0), 0);
	free(copy);
	error = t->read(txn);
	CHECK(error == VAULT_ECORRUPT && says(names) && says("moved there"));
	own[len / 2] ^= 1;
	CHECK_RC(vault_store__put(txn, *t->dbi, t->key, t->klen, own, len, 0), 0);
	error = t->read(txn);
	CHECK(error == VAULT_ECORRUPT && says(names));
	own[len / 2] ^= 1;
	CHECK_RC(vault_store__put(txn, *t->dbi, t->key, t->klen, own, len, 0), 0);
	CHECK_RC(t->read(txn), 0);
}

/* What any stored value may suffer; and one whose fields fix its length. */
static const damage common_damage[] = {
	{ "intact", .ok = 1 },
	{ "empty", .cut = CUT_ALL },
	{ "format byte 0", .at = 0, .n = 1, .to = 0 },
	{ "format byte 2", .at = 0, .n = 1, .to = 2 },
};
static const damage sized_damage[] = {
	{ "one byte short", .cut = 1 },
	{ "one byte more", .grow = 1 },
};

#define N(a) (sizeof a / sizeof *a)

/* The common damage, then (`sized`) the length's, then the record's own. */
static void check_damage(MDB_txn *txn, const target *t, const unsigned char *good, size_t len,
	int sized, const damage *d, size_t nd)
{
	damage_rows(txn, t, good, len, common_damage, N(common_damage));
	if (sized)
		damage_rows(txn, t, good, len, sized_damage, N(sized_damage));
	damage_rows(txn, t, good, len, d, nd);
}

/* Write a good record with the API, then keep a copy of its stored bytes. */
static size_t stored(unsigned char *out, size_t size, MDB_txn *txn, const target *t)
{
	MDB_val val;
	unsigned char *plain = NULL;

	if (vault_store__get(txn, *t->dbi, t->key, t->klen, &val) < 0 ||
	    (t->sealed && vault_rec__open(&plain, &val.mv_size, v, t->sealed, t->key, t->klen, &val) < 0) ||
	    val.mv_size > size) {
		CHECK(!"the good record is stored");
		vault_rec__free(plain, val.mv_size);
		return 0;
	}
	memcpy(out, plain ? plain : val.mv_data, val.mv_size);
	vault_rec__free(plain, val.mv_size);
	return val.mv_size;
}

static const damage user_damage[] = {
	{ "cut inside the enrolment code's hash", .cut = 20 },
	{ "cut inside the sealed key", .cut = 80 },
	{ "cut inside the key", .cut = 190 },
	{ "role 0", .at = 1, .n = 1, .to = 0 },
	{ "role 4", .at = 1, .n = 1, .to = 4 },
	{ "role 255", .at = 1, .n = 1, .to = 255 },
	{ "status 3", .at = 2, .n = 1, .to = 3 },
	{ "status 255", .at = 2, .n = 1, .to = 255 },
};

/* The damaged case: label of DL bytes; members alice (rw), bob (ro); two
 * chain entries, three key-check values (K bytes). M: the member count's
 * byte. */
#define DL 45
#define M (20 + DL)
#define R (4 + RECOVERY_SET_SIZE + 2)   /* the recovery: epoch, set, threshold, no request */
#define K (3 * KCV_SIZE + R)
static const damage case_damage[] = {
	{ "only the format byte", .cut = M + 15 + 2 * CHAIN_SIZE + K - 1 },
	{ "cut inside the header", .cut = M + 15 + 2 * CHAIN_SIZE + K - 19 },
	{ "cut inside the label", .cut = 15 + 2 * CHAIN_SIZE + K + 1 },
	{ "cut inside a member", .cut = 2 * CHAIN_SIZE + K + 4 },
	{ "cut inside the chain", .cut = CHAIN_SIZE + K },
	{ "a key-check value short", .cut = KCV_SIZE },
	{ "a key-check value more", .grow = KCV_SIZE },
	{ "epoch 0", .at = 1, .n = 4, .to = 0 },
	{ "epoch past the chain", .at = 4, .n = 1, .to = 4 },
	{ "label length past the value", .at = 18, .n = 2, .to = 257 },
	{ "label length 65535", .at = 18, .n = 2, .to = 0xffff },
	{ "member count 65", .at = M, .n = 1, .to = CASE_MAX_MEMBERS + 1 },
	{ "member count 255", .at = M, .n = 1, .to = 255 },
	{ "member count one more", .at = M, .n = 1, .to = 3 },
	{ "member count one fewer", .at = M, .n = 1, .to = 1 },
	{ "member count 0", .at = M, .n = 1, .to = 0 },
	{ "member name length 0", .at = M + 1, .n = 1, .to = 0 },
	{ "member name length 33", .at = M + 1, .n = 1, .to = VAULT_NAME_MAX + 1 },
	{ "member name length 32, into the chain", .at = M + 8, .n = 1, .to = VAULT_NAME_MAX },
	{ "chain length one more", .at = M + 14, .n = 1, .to = 3 },
	{ "chain length one fewer", .at = M + 14, .n = 1, .to = 1 },
	/* A name holding a NUL byte ("al\0ce") is no user name. */
	{ "NUL inside a member name", .at = M + 4, .n = 1, .to = 0 },
	{ "recovery epoch past the case's", .at = M + 15 + 2 * CHAIN_SIZE + 3 * KCV_SIZE, .n = 4, .to = 4 },
};

static const damage too_many_members[] = {
	{ "65 members", .ok = 0 },
};

/* The damaged node: a file whose sealed name is DN bytes. */
#define DN 45
#define MODE_AT (76 + DN + 32)
#define NAME_MAX_SEALED (VCRYPTO_OVERHEAD + VAULT_FILENAME_MAX)
static const damage node_damage[] = {
	{ "only the format byte", .cut = MODE_AT + 10 - 1 },
	{ "only the first four bytes", .cut = MODE_AT + 10 - 4 },
	{ "cut before the name length", .cut = MODE_AT + 10 - 75 },
	{ "cut inside the name", .cut = 32 + 6 + 1 },
	{ "type 0", .at = 1, .n = 1, .to = 0 },
	{ "type 3", .at = 1, .n = 1, .to = 3 },
	{ "state 0", .at = 2, .n = 1, .to = 0 },
	{ "state 4", .at = 2, .n = 1, .to = 4 },
	{ "code length 9", .at = 3, .n = 1, .to = 9 },
	{ "code length 11", .at = 3, .n = 1, .to = 11 },
	{ "name length past the value", .at = 74, .n = 2, .to = 257 },
	/* 296, one past the longest sealed name, and that many bytes there:
	 * only the bound refuses it. */
	{ "name length 296", .grow = NAME_MAX_SEALED + 1 - DN, .at = 74, .n = 2, .to = NAME_MAX_SEALED + 1 },
	{ "name length 557", .at = 74, .n = 1, .to = 2 },
	{ "name length one fewer", .at = 75, .n = 1, .to = DN - 1 },
	{ "mode 010000", .at = MODE_AT, .n = 2, .to = 010000 },
	{ "mode 0177777", .at = MODE_AT, .n = 2, .to = 0177777 },
	{ "folders on a file", .at = MODE_AT + 5, .n = 1, .to = 1 },
	{ "entries on a file", .at = MODE_AT + 9, .n = 1, .to = 1 },
};

/* The damaged version: 2 * BS + 1 bytes, three blocks. */
#define VB 3
#define VE 40         /* a block list entry: id, hash */
static const damage version_damage[] = {
	{ "only the format byte", .cut = 44 + VB * VE },
	{ "cut inside the block count", .cut = 2 + VB * VE },
	{ "a block short", .cut = VE },
	{ "a block more", .grow = VE },
	{ "block count one more", .at = 44, .n = 1, .to = VB + 1 },
	{ "block count one fewer", .at = 44, .n = 1, .to = VB - 1 },
	{ "block count 0", .at = 44, .n = 1, .to = 0 },
	{ "block count 0xff000003", .at = 41, .n = 4, .to = 0xff000003 },
	{ "block count one more, and its block", .grow = VE, .at = 44, .n = 1, .to = VB + 1 },
	{ "size a block more", .at = 1, .n = 8, .to = 3 * BS + 1 },
	{ "size a block less", .at = 1, .n = 8, .to = 2 * BS },
	{ "size 0", .at = 1, .n = 8, .to = 0 },
};

/* The damaged version again, empty: no block. */
static const damage empty_version_damage[] = {
	{ "size 1, no block", .at = 8, .n = 1, .to = 1 },
	{ "size 2^56 - 1, no block", .at = 1, .n = 8, .to = (1ULL << 56) - 1 },
	{ "size 2^64 - 2^16, no block", .at = 1, .n = 8, .to = UINT64_MAX - BS + 1 },
	/* The block count of a size near 2^64 must not wrap to 0. */
	{ "size 2^64 - 1, no block", .at = 1, .n = 8, .to = UINT64_MAX },
};

static const damage purpose_required_damage[] = {
	/* The flag is one byte: any other length is damage, not "no". */
	{ "no flag byte", .cut = 1 },
	{ "two flag bytes", .grow = 1, .at = 2, .n = 1, .to = 1 },
};

static void test_damage(void)
{
	MDB_txn *txn = begin(1);
	unsigned char good[1024], k[12];
	user_rec u;
	case_rec c;
	node_rec n;
	version_rec r;
	block_ref b[VB];
	vault_rec_key ku, kc;
	size_t len;
	target t;

	be64_put(k, DAMAGED_NODE);
	be32_put(k + 8, DAMAGED_VERSION);

	sample_user(&u, VAULT_ROLE_AUDITOR, USER_ACTIVE, 50);
	CHECK_RC(vault_user__put(txn, v, DAMAGED_USER, &u), 0);
	ku = at_key(v->st->users, DAMAGED_USER);
	t = (target){ "user", &v->st->users, ku.b, ku.len, read_user, "user '" DAMAGED_USER "'", NULL };
	len = stored(good, sizeof good, txn, &t);
	check_damage(txn, &t, good, len, 1, user_damage, N(user_damage));

	sample_case(&c, DAMAGED_CASE, 3, 0, 9, 2, DL);
	add_member(&c, "alice", 0);
	add_member(&c, "bob", 1);
	CHECK_RC(vault_case__put(txn, v, &c), 0);
	kc = at_key(v->st->cases, DAMAGED_CASE);
	t = (target){ "case", &v->st->cases, kc.b, kc.len, read_case, "case '" DAMAGED_CASE "'", "cases" };
	len = stored(good, sizeof good, txn, &t);
	CHECK(len == M + 15 + 2 * CHAIN_SIZE + K);
	check_damage(txn, &t, good, len, 1, case_damage, N(case_damage));
	{
		vault_rec_key other = at_key(v->st->cases, "C-0123ABCD");
		check_moved(txn, &t, other.b, other.len, "policy/cases/" DAMAGED_CASE);
	}

	/* 65 members, each whole: only the bound refuses them. */
	sample_case(&c, DAMAGED_CASE, 1, 0, 9, 0, 0);
	for (int i = 0; i < CASE_MAX_MEMBERS; i++) {
		char name[8];
		snprintf(name, sizeof name, "m%02d", i);
		add_member(&c, name, 0);
	}
	CHECK_RC(vault_case__put(txn, v, &c), 0);
	len = stored(good, sizeof good, txn, &t);
	CHECK(len == 20 + 1 + CASE_MAX_MEMBERS * 5 + 2 + KCV_SIZE + R && good[20] == CASE_MAX_MEMBERS);
	good[20] = CASE_MAX_MEMBERS + 1;
	/* a member more, then no chain, the key-check value, the recovery */
	memmove(good + len - 2 - KCV_SIZE - R + 5, good + len - 2 - KCV_SIZE - R, 2 + KCV_SIZE + R);
	memcpy(good + len - 2 - KCV_SIZE - R, "\3m64\0", 5);
	damage_rows(txn, &t, good, len + 5, too_many_members, N(too_many_members));

	sample_node(&n, DAMAGED_NODE, NODE_FILE, NODE_LIVE, "C-0123ABCD", DN, 0400, 0);
	CHECK_RC(vault_node__put(txn, v, &n), 0);
	t = (target){ "node", &v->st->nodes, k, 8, read_node, "node 000000000000dead", "nodes" };
	len = stored(good, sizeof good, txn, &t);
	CHECK(len == MODE_AT + 10);
	check_damage(txn, &t, good, len, 1, node_damage, N(node_damage));
	{
		unsigned char other[8];
		be64_put(other, nodes[0].id);
		check_moved(txn, &t, other, 8, "nodes/00/00/000000000000dead");
	}

	t = (target){ "version", &v->st->versions, k, 12, read_version,
		"version 7 of node 000000000000dead", "versions" };
	sample_version(&r, b, 2 * BS + 1, 0, 5);
	CHECK_RC(vault_version__put(txn, v, DAMAGED_NODE, DAMAGED_VERSION, &r), 0);
	len = stored(good, sizeof good, txn, &t);
	CHECK(len == 45 + VB * VE);
	check_damage(txn, &t, good, len, 1, version_damage, N(version_damage));
	{
		unsigned char other[12];
		be64_put(other, DAMAGED_NODE);
		be32_put(other + 8, DAMAGED_VERSION + 1);
		CHECK_RC(vault_version__put(txn, v, DAMAGED_NODE, DAMAGED_VERSION + 1, &r), 0);
		check_moved(txn, &t, other, 12, "version 7 of node 000000000000dead");
	}
	sample_version(&r, b, 0, 0, 5);
	CHECK_RC(vault_version__put(txn, v, DAMAGED_NODE, DAMAGED_VERSION, &r), 0);
	len = stored(good, sizeof good, txn, &t);
	check_damage(txn, &t, good, len, 1, empty_version_damage, N(empty_version_damage));

	CHECK_RC(vault_meta__put(txn, v, "test-value", "abc", 3), 0);
	t = (target){ "meta", &v->st->meta, "test-value", 10, read_meta, "'test-value'", NULL };
	len = stored(good, sizeof good, txn, &t);
	check_damage(txn, &t, good, len, 0, NULL, 0);
	/* The text of a damaged value is no text. */
	{
		vault_buf text = VAULT_BUF_INIT;
		good[0] = 2;
		CHECK_RC(vault_store__put(txn, v->st->meta, "test-value", 10, good, len, 0), 0);
		CHECK_RC(vault_meta__text(&text, txn, v, "test-value"), VAULT_ECORRUPT);
		CHECK(says("'test-value'"));
		vault_buf_dispose(&text);
	}

	CHECK_RC(vault_meta__put(txn, v, "purpose-required", "\1", 1), 0);
	t = (target){ "meta", &v->st->meta, "purpose-required", 16, read_purposes, "'purpose-required'", NULL };
	len = stored(good, sizeof good, txn, &t);
	check_damage(txn, &t, good, len, 0, purpose_required_damage, N(purpose_required_damage));

	t = (target){ "audit key", &v->st->meta, "audit-pk", 8, read_settings, "audit", NULL };
	len = stored(good, sizeof good, txn, &t);
	check_damage(txn, &t, good, len, 1, NULL, 0);

	vault_store__abort(v->st, txn);
}

/* ---- names and codes ---- */

static void test_names(void)
{
	static const char *const good_names[] = {
		"a", "z", "0", "alice", "a.b", "a_b", "a-b", "a.", "9lives",
		"abcdefghijklmnopqrstuvwxyz012345",        /* 32 */
	};
	static const char *const bad_names[] = {
		"", "abcdefghijklmnopqrstuvwxyz0123456",   /* 33 */
		"Alice", "aliCe", ".a", "_a", "-a", "a b", "a/b", "a\n", "a@b", "a:b",
		"caf\xc3\xa9", " a", "a\t",
	};
	static const char *const good_codes[] = {
		"C-0123ABCD", "C-ZZZZZZZZ", "C-00000000", "C-VWXYZ123", "C-EFGHJKMN", "C-PQRST456",
	};
	static const char *const bad_codes[] = {
		"", "C", "C-", "C-0123ABC", "C-0123ABCDE", "c-0123ABCD", "D-0123ABCD", "C_0123ABCD",
		"CC0123ABCD", "C-0123abcd", "C-0123ABCI", "C-0123ABCL", "C-0123ABCO", "C-0123ABCU",
		"C-0123 ABC", "C-0123-ABC", "-C0123ABCD",
	};

	for (size_t i = 0; i < N(good_names); i++)
		CHECK_RC(vault_user__check_name(good_names[i], NAME_USER), 0);
	for (size_t i = 0; i < N(bad_names); i++) {
		vault_error_clear();
		CHECK_RC(vault_user__check_name(bad_names[i], NAME_MEMBER), VAULT_EUSAGE);
		CHECK(says("member name"));
	}
	for (size_t i = 0; i < N(good_codes); i++)
		CHECK_RC(vault_case__check_code(good_codes[i]), 0);
	for (size_t i = 0; i < N(bad_codes); i++) {
		vault_error_clear();
		CHECK_RC(vault_case__check_code(bad_codes[i]), VAULT_EUSAGE);
		CHECK(says("not a case code"));
	}
}

/* ---- the files of the history tree ---- */

/* "KEY HEX\n": BLAKE2b-256 of `domain` (NUL-ended) then `n` parts. */
static void hash_line(char *out, size_t size, const char *key, const char *domain, size_t n, ...)
{
	crypto_generichash_state st;
	unsigned char h[32];
	char hex[65];
	va_list ap;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = va_arg(ap, const unsigned char *);
		size_t len = va_arg(ap, size_t);
		crypto_generichash_update(&st, p, len);
	}
	va_end(ap);
	crypto_generichash_final(&st, h, 32);
	sodium_bin2hex(hex, sizeof hex, h, 32);
	snprintf(out, size, "%s %s\n", key, hex);
}

static void test_blobs(void)
{
	static const struct { int64_t ns; const char *text; } times[] = {
		{ 0, "0.000000000" },
		{ 1, "0.000000001" },
		{ 999999999, "0.999999999" },
		{ 1700000000123456789LL, "1700000000.123456789" },
		/* Before 1970: the seconds rounded down, the nanoseconds after them. */
		{ -1, "-1.999999999" },
		{ -1000000000, "-1.000000000" },
		{ -1500000000, "-2.500000000" },
		{ INT64_MAX, "9223372036.854775807" },
		{ INT64_MIN, "-9223372037.145224192" },
	};
	static const struct { vault_role_t role; int status; const char *text; } roles[] = {
		{ VAULT_ROLE_ADMIN, USER_ACTIVE, "role admin\nstatus active\n" },
		{ VAULT_ROLE_CASEWORKER, USER_ACTIVE, "role caseworker\nstatus active\n" },
		{ VAULT_ROLE_AUDITOR, USER_DISABLED, "role auditor\nstatus disabled\n" },
	};
	static const struct { int type, state; const char *text; } kinds[] = {
		{ NODE_DIR, NODE_LIVE, "type dir\nstate live\n" },
		{ NODE_FILE, NODE_DELETED, "type file\nstate deleted\n" },
		{ NODE_FILE, NODE_SHREDDED, "type file\nstate shredded\n" },
	};
	vault_buf b = VAULT_BUF_INIT;
	MDB_txn *txn;
	user_rec u;
	case_rec c;
	node_rec n;
	char want[512], wrapped[80], sealed[80], keys[80];
	unsigned char ops[8], mem[8];

	/* policy/users/NAME: the hash of what the passphrase unwraps. */
	sample_user(&u, VAULT_ROLE_CASEWORKER, USER_DISABLED, 0);
	for (int i = 0; i < 32; i++)
		u.pk[i] = (unsigned char)i;
	be64_put(ops, u.kdf.opslimit);
	be64_put(mem, u.kdf.memlimit);
	hash_line(wrapped, sizeof wrapped, "wrapped", "cv-wrapped", 4, ops, (size_t)8, mem, (size_t)8,
		u.kdf.salt, sizeof u.kdf.salt, u.wrapped, sizeof u.wrapped);
	CHECK_RC(vault_blob__user(&b, "alice", &u), 0);
	snprintf(want, sizeof want, "name alice\nrole caseworker\nstatus disabled\n"
		"key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n%s",
		wrapped);
	check_text(&b, want);
	for (size_t i = 0; i < N(roles); i++) {
		u.role = roles[i].role;
		u.status = roles[i].status;
		vault_buf_dispose(&b);
		CHECK_RC(vault_blob__user(&b, "bob", &u), 0);
		CHECK(b.ptr && !strncmp(b.ptr, "name bob\n", 9));
		CHECK(b.ptr && !strncmp(b.ptr + 9, roles[i].text, strlen(roles[i].text)));
	}
	vault_buf_dispose(&b);
	/* A pending user: no key yet, the code's hash and its expiry. */
	memset(u.pk, 0, sizeof u.pk);
	memset(u.enrol, 0xab, sizeof u.enrol);
	u.enrol_expires = 1700000000;
	u.status = USER_PENDING;
	CHECK_RC(vault_blob__user(&b, "carol", &u), 0);
	check_text(&b, "name carol\nrole auditor\nstatus pending\n"
		"enrol abababababababababababababababababababababababababababababababab 1700000000\n");
	vault_buf_dispose(&b);

	/* policy/cases/CODE: the label as EPOCH BASE64, a line per member,
	 * the hash of its sealed keys (none stored for these codes). */
	txn = begin(0);
	hash_line(sealed, sizeof sealed, "sealed", "cv-sealed-set", 0);
	sample_case(&c, "C-0123ABCD", 3, 1, 0x2a, 2, 5);
	memcpy(c.label, "hello", 5);
	add_member(&c, "alice", 0);
	add_member(&c, "bob", 1);
	CHECK_RC(vault_blob__case(&b, txn, v, &c), 0);
	snprintf(want, sizeof want, "case C-0123ABCD\nepoch 3\nretired yes\nroot 000000000000002a\n"
		"label 2 aGVsbG8=\nmember alice rw\nmember bob ro\n"
		"kcv 1 a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\n"
		"kcv 2 a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2\n"
		"kcv 3 a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3\n%s", sealed);
	check_text(&b, want);
	vault_buf_dispose(&b);
	/* No label, no member, not retired. */
	sample_case(&c, "C-ZZZZZZZZ", 1, 0, 0xfedcba9876543210ULL, 0, 0);
	CHECK_RC(vault_blob__case(&b, txn, v, &c), 0);
	snprintf(want, sizeof want, "case C-ZZZZZZZZ\nepoch 1\nretired no\nroot fedcba9876543210\n"
		"kcv 1 a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\n%s", sealed);
	check_text(&b, want);
	vault_buf_dispose(&b);

	/* nodes/AB/CD/NODEID: a file, before 1970. */
	sample_node(&n, 0x77, NODE_FILE, NODE_DELETED, "C-0123ABCD", 2, 0640, 0);
	n.parent = 0x10;
	n.version = 3;
	n.size = 70000;
	n.mtime = -1500000000;
	n.ctime = 0;
	n.atime = 1700000000123456789LL;
	n.generation = 2;
	n.name_gen = 1;
	memcpy(n.name, "hi", 2);
	for (int i = 0; i < 32; i++)
		n.commitment[i] = (unsigned char)i;
	hash_line(keys, sizeof keys, "keys", "cv-nodekeys", 0);
	CHECK_RC(vault_blob__node(&b, txn, v, &n), 0);
	snprintf(want, sizeof want, "case C-0123ABCD\nparent 0000000000000010\ntype file\nstate deleted\n"
		"version 3\nsize 70000\nmtime -2.500000000\nctime 0.000000000\n"
		"atime 1700000000.123456789\nmode 0640\ngeneration 2\nname 1 aGk=\n"
		"commitment 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n%s", keys);
	check_text(&b, want);
	vault_buf_dispose(&b);
	/* A case root: folders, no name, no commitment. */
	sample_node(&n, 1, NODE_DIR, NODE_LIVE, "C-0123ABCD", 0, 0700, 3);
	n.parent = 0;
	n.version = 0;
	n.size = 0;
	n.mtime = n.ctime = n.atime = 1000000000;
	n.generation = 1;
	CHECK_RC(vault_blob__node(&b, txn, v, &n), 0);
	snprintf(want, sizeof want, "case C-0123ABCD\nparent 0000000000000000\ntype dir\nstate live\n"
		"version 0\nsize 0\nmtime 1.000000000\nctime 1.000000000\natime 1.000000000\n"
		"mode 0700\ngeneration 1\nfolders 3\n%s", keys);
	check_text(&b, want);
	vault_buf_dispose(&b);
	/* Every time as SECONDS.NANOSECONDS, every type and state by its word. */
	for (size_t i = 0; i < N(times); i++) {
		n.mtime = times[i].ns;
		CHECK_RC(vault_blob__node(&b, txn, v, &n), 0);
		snprintf(want, sizeof want, "\nmtime %s\n", times[i].text);
		CHECK(b.ptr && strstr(b.ptr, want));
		vault_buf_dispose(&b);
	}
	for (size_t i = 0; i < N(kinds); i++) {
		n.type = kinds[i].type;
		n.state = kinds[i].state;
		CHECK_RC(vault_blob__node(&b, txn, v, &n), 0);
		CHECK(b.ptr && strstr(b.ptr, kinds[i].text));
		vault_buf_dispose(&b);
	}
	vault_store__abort(v->st, txn);

	/* policy/settings: nothing set but the audit key and the genesis's
	 * purpose required. */
	txn = begin(1);
	{
		unsigned char pk[32];
		for (int i = 0; i < 32; i++)
			pk[i] = (unsigned char)(0xe0 + i);
		CHECK_RC(vault_meta__put(txn, v, "audit-pk", pk, 32), 0);
		/* the history keys' check values: the index key's, generation 1's */
		for (int i = 0; i < 32; i++)
			pk[i] = (unsigned char)(0x10 + i);
		CHECK_RC(vault_meta__put(txn, v, "history-kcv", pk, 32), 0);
	}
	{
		int error = vault_store__del(txn, v->st->meta, "purposes", 8);
		CHECK(error == 0 || error == VAULT_ENOTFOUND);
	}
	CHECK_RC(vault_blob__settings(&b, v, txn), 0);
	check_text(&b, "purpose-required yes\n"
		"audit-key e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n"
		"history-index 101112131415161718191a1b1c1d1e1f\nhistory-kcv 1 202122232425262728292a2b2c2d2e2f\n");
	vault_buf_dispose(&b);
	/* Purposes, required, and two settings. */
	CHECK_RC(vault_meta__sealed_put(txn, v, "purposes", "care\nlegal-hold", 15), 0);
	CHECK_RC(vault_meta__put(txn, v, "purpose-required", "\1", 1), 0);
	CHECK_RC(vault_meta__sealed_put(txn, v, "settings", "reads-per-hour 50\nquiet-hours 22-6\n", 35), 0);
	CHECK_RC(vault_blob__settings(&b, v, txn), 0);
	check_text(&b, "purpose-required yes\npurpose care\npurpose legal-hold\n"
		"audit-key e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n"
		"history-index 101112131415161718191a1b1c1d1e1f\nhistory-kcv 1 202122232425262728292a2b2c2d2e2f\n"
		"setting reads-per-hour 50\nsetting quiet-hours 22-6\n");
	vault_buf_dispose(&b);
	/* No audit key: no text. */
	CHECK_RC(vault_store__del(txn, v->st->meta, "audit-pk", 8), 0);
	CHECK(vault_blob__settings(&b, v, txn) < 0);
	vault_buf_dispose(&b);
	vault_store__abort(v->st, txn);
}

/* nodes/AB/CD/NODEID: the id in 16 hex digits, its first two pairs as folders. */
static void test_node_path(void)
{
	static const struct { uint64_t id; const char *path; } paths[] = {
		{ 0, "nodes/00/00/0000000000000000" },
		{ 1, "nodes/00/00/0000000000000001" },
		{ 0x0123456789abcdefULL, "nodes/01/23/0123456789abcdef" },
		{ 0xfedcba9876543210ULL, "nodes/fe/dc/fedcba9876543210" },
		{ UINT64_MAX, "nodes/ff/ff/ffffffffffffffff" },
	};
	char path[64];

	for (size_t i = 0; i < N(paths); i++) {
		memset(path, 'x', sizeof path);
		vault_node__path(path, paths[i].id);
		CHECK(!strcmp(path, paths[i].path));
	}
}

/* What the vault wrote itself: each record's generated text is the very
 * file the head of the history holds at its path. */
static void test_blobs_match_history(void)
{
	vault_buf want = VAULT_BUF_INIT, got = VAULT_BUF_INIT;
	MDB_txn *txn = begin(0);
	char path[128];
	git_oid head;
	MDB_val val;
	user_rec u;
	case_rec c;
	node_rec n;

	CHECK_RC(vault_meta__get(&val, txn, v, "head"), 0);
	if (val.mv_size != 20) {
		CHECK(!"the head is a commit id");
		vault_store__abort(v->st, txn);
		return;
	}
	git_oid_fromraw(&head, val.mv_data);

	CHECK_RC(vault_user__get(&u, txn, v, "dpo"), 0);
	CHECK(u.role == VAULT_ROLE_ADMIN && u.status == USER_ACTIVE);
	CHECK_RC(vault_blob__user(&want, "dpo", &u), 0);
	CHECK_RC(vault_trees__blob(&got, v, &head, "policy/users/dpo"), 0);
	check_text(&got, want.ptr ? want.ptr : "");
	vault_buf_dispose(&want);

	CHECK_RC(vault_blob__settings(&want, v, txn), 0);
	CHECK_RC(vault_trees__blob(&got, v, &head, "policy/settings"), 0);
	check_text(&got, want.ptr ? want.ptr : "");
	vault_buf_dispose(&want);

	CHECK_RC(vault_case__get(&c, txn, v, real_case), 0);
	CHECK(c.epoch == 1 && c.nmembers == 1);
	CHECK(!strcmp(c.members[0].user, "cw") && !c.members[0].read_only);
	CHECK_RC(vault_blob__case(&want, txn, v, &c), 0);
	snprintf(path, sizeof path, "policy/cases/%s", real_case);
	CHECK_RC(vault_trees__blob(&got, v, &head, path), 0);
	check_text(&got, want.ptr ? want.ptr : "");
	vault_buf_dispose(&want);

	/* The case's root folder, at its node path. */
	CHECK_RC(vault_node__get(&n, txn, v, c.root), 0);
	CHECK(n.type == NODE_DIR && n.state == NODE_LIVE && !strcmp(n.code, real_case) && n.name_len == 0);
	CHECK_RC(vault_blob__node(&want, txn, v, &n), 0);
	vault_node__path(path, c.root);
	CHECK_RC(vault_trees__blob(&got, v, &head, path), 0);
	check_text(&got, want.ptr ? want.ptr : "");
	vault_case__dispose(&c);

	vault_buf_dispose(&want);
	vault_buf_dispose(&got);
	vault_store__abort(v->st, txn);
}

/* ---- the content commitment ---- */

/* BLAKE2b-256 over (block id ‖ block hash) of each block, as
 * docs/formats.md says. */
static void commitment_of(unsigned char out[32], const block_ref *b, size_t n)
{
	unsigned char buf[4 * 40];

	for (size_t i = 0; i < n; i++) {
		be64_put(buf + 40 * i, b[i].id);
		memcpy(buf + 40 * i + 8, b[i].hash, 32);
	}
	crypto_generichash(out, 32, buf, 40 * n, NULL, 0);
}

static void test_commitment(void)
{
	block_ref a[4], same[4];
	version_rec r, other;
	unsigned char want[32], got[32], changed[32];

	sample_version(&r, a, 3 * BS + 5, 1u << 1, 1);
	commitment_of(want, a, 4);
	vault_version__commitment(got, &r);
	CHECK(!memcmp(got, want, 32));

	/* An equal block list, whatever else differs, commits to the same. */
	sample_version(&other, same, 3 * BS + 5, 1u << 1, 1);
	other.size = 3 * BS + 6;
	other.mtime = 0;
	other.generation = 99;
	memset(other.commit, 0, sizeof other.commit);
	vault_version__commitment(changed, &other);
	CHECK(!memcmp(changed, got, 32));

	/* Any bit of any id or hash changes it. */
	for (size_t i = 0; i < 4; i++) {
		for (int bit = 0; bit < 64; bit += 9) {
			same[i].id ^= 1ULL << bit;
			vault_version__commitment(changed, &other);
			CHECK(memcmp(changed, got, 32) != 0);
			same[i].id ^= 1ULL << bit;
		}
		for (size_t j = 0; j < 32; j++) {
			same[i].hash[j] ^= 0x80;
			vault_version__commitment(changed, &other);
			CHECK(memcmp(changed, got, 32) != 0);
			same[i].hash[j] ^= 0x80;
		}
	}
	vault_version__commitment(changed, &other);
	CHECK(!memcmp(changed, got, 32));

	/* So does the order of the blocks, and their number. */
	same[0] = a[2];
	same[2] = a[0];
	vault_version__commitment(changed, &other);
	CHECK(memcmp(changed, got, 32) != 0);
	other.blocks = a;
	other.nblocks = 3;
	vault_version__commitment(changed, &other);
	CHECK(memcmp(changed, got, 32) != 0);

	/* No block: the hash of nothing. */
	other.nblocks = 0;
	commitment_of(want, a, 0);
	vault_version__commitment(changed, &other);
	CHECK(!memcmp(changed, want, 32));
}

/* A vault where a caseworker made one case: the history holds its files. */
static int setup(void)
{
	snprintf(vdir, sizeof vdir, "%s/v", harness_tmpdir());
	CHECK_RC(vault_init(&v, vdir, "dpo", "dpo-pass", 8, 64ULL << 20), 0);
	if (!v)
		return -1;
	CHECK_RC(support_user_add(v, "cw", VAULT_ROLE_CASEWORKER, "cw-pass", 7), 0);
	CHECK_RC(vault_unlock(v, "cw", "cw-pass", 7), 0);
	CHECK_RC(vault_case_create(real_case, v, "records"), 0);
	return real_case[0] ? 0 : -1;
}

static int count_user(const char *name, const user_rec *u, void *payload)
{
	(void)name;
	(void)u;
	(*(int *)payload)++;
	return 0;
}

static int count_case(case_rec *c, void *payload)
{
	(void)c;
	(*(int *)payload)++;
	return 0;
}

/*
 * The walks of every user and every case: each record once, and a name
 * in their list (meta `users`, `cases`) that is no user name or case code
 * (a NUL inside, a character no name has, a length out of range), or
 * that has no record, is damage, VAULT_ECORRUPT naming the kind of
 * record, not a shorter name looked up or a usage error.
 */
static void test_walks(void)
{
	static const struct {
		int users;               /* the users sub-database, or cases */
		const char *key;
		size_t len;
	} bad[] = {
		{ 1, "zz\0x", 4 },
		{ 1, "Bad/Name", 8 },
		{ 1, "a-name-longer-than-thirty-two-bytes", 35 },
		{ 0, "C-\0\0\0\0\0\0\0\0", 10 },
		{ 0, "C-abcdefgh", 10 },
		{ 0, "C-ABCDEFG", 9 },
	};
	MDB_txn *txn = begin(0);
	user_rec u;
	case_rec c;
	int n = 0, error;

	CHECK_RC(vault_user__each(txn, v, count_user, &n), 0);
	CHECK(n >= 1);                       /* dpo, and the users of the round trips */
	n = 0;
	CHECK_RC(vault_case__each(txn, v, count_case, &n), 0);
	CHECK(n >= 1);
	CHECK_RC(vault_user__get(&u, txn, v, "dpo"), 0);
	CHECK_RC(vault_case__get(&c, txn, v, real_case), 0);
	vault_store__abort(v->st, txn);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0] + 2; i++) {
		int in_users = i < sizeof bad / sizeof bad[0] ? bad[i].users : i % 2 == 0;
		const char *list = in_users ? "users" : "cases";
		vault_buf text = VAULT_BUF_INIT;

		txn = begin(1);
		/* The bad name in the list of names the walks follow; the
		 * last two: a good name with no record. */
		CHECK_RC(vault_meta__sealed_text(&text, txn, v, list), 0);
		if (i < sizeof bad / sizeof bad[0])
			vault_buf_put(&text, bad[i].key, bad[i].len);
		else
			vault_buf_put(&text, in_users ? "nobody" : "C-ZZZZZZZ9", in_users ? 6 : 10);
		vault_buf_put(&text, "\n", 1);
		CHECK_RC(vault_meta__sealed_put(txn, v, list, text.ptr, text.size), 0);
		vault_buf_dispose(&text);
		n = 0;
		vault_error_clear();
		error = in_users ? vault_user__each(txn, v, count_user, &n) :
			vault_case__each(txn, v, count_case, &n);
		if (error != VAULT_ECORRUPT || !says(in_users ? "user record" : "case record")) {
			fprintf(stderr, "walk over key %zu (%d walked): %d (%s)\n", i, n, error,
				vault_error_last() ? vault_error_last()->message : "");
			harness_failures++;
		}
		vault_store__abort(v->st, txn);
	}
	vault_case__dispose(&c);
}

int main(void)
{
	CHECK_RC(vault_global_init(), 0);
	test_names();
	test_node_path();
	test_commitment();
	if (setup() == 0) {
		test_blobs_match_history();
		test_round_trips();
		if (v) {
			test_layout();
			test_damage();
			test_blobs();
			test_walks();
		}
	}
	vault_close(v);
	return harness_done("test_records");
}
