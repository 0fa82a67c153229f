/*
 * Users, roles, cases, membership and the case key flow, through the
 * library, with the internals at hand to check what each key can open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"
#include "hkeys.h"

#define PASS(s) s, strlen(s)

static int put_str(vault *v, const char *path, const char *text)
{
	return support_put(v, path, text, strlen(text), NULL);
}

static int get_str(vault *v, const char *path, mem_sink *s)
{
	vault_get_options o = VAULT_GET_OPTIONS_INIT;

	o.purpose = "test";
	mem_sink_free(s);
	return vault_get(v, path, &o, mem_sink_write, s);
}

static vault *as(const char *dir, const char *user, const char *pass)
{
	vault *v = NULL;

	if (vault_open(&v, dir) < 0 || vault_unlock(v, user, pass, strlen(pass)) < 0) {
		fprintf(stderr, "cannot unlock %s: %s\n", user, vault_error_last()->message);
		exit(1);
	}
	return v;
}

/* Every key a member can open: the case keys of all epochs it holds. */
typedef struct {
	unsigned char keys[8][32];
	size_t n;
} keyring;

static void keyring_take(keyring *kr, vault *v, const char *code)
{
	MDB_txn *txn;
	case_rec c;

	if (vault_store__begin(&txn, v->st, 0) < 0 || vault_case__get(&c, txn, v, code) < 0)
		abort();
	for (uint32_t e = 1; e <= c.epoch; e++) {
		const unsigned char *k;
		if (vault_keys__case_key(&k, txn, v, &c, e) == 0)
			memcpy(kr->keys[kr->n++], k, 32);
	}
	vault_case__dispose(&c);
	vault_store__abort(v->st, txn);
}

/* Node keys that a keyring opens (nodekeys AD: "cv-node:" node gen epoch). */
static size_t node_keys_opened(keyring *nk, vault *v, const keyring *kr)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, d;
	size_t opened = 0;

	if (vault_store__begin(&txn, v->st, 0) < 0 || mdb_cursor_open(txn, v->st->nodekeys, &cur) != 0)
		abort();
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		const unsigned char *p = d.mv_data;
		unsigned char ad[24], key[32];
		memcpy(ad, "cv-node:", 8);
		memcpy(ad + 8, k.mv_data, 12);
		memcpy(ad + 20, p + 1, 4);
		for (size_t i = 0; i < kr->n; i++)
			if (vault_vcrypto__open(key, p + 5, d.mv_size - 5, ad, 24, kr->keys[i]) == 0) {
				if (nk && nk->n < 8)
					memcpy(nk->keys[nk->n++], key, 32);
				opened++;
			}
	}
	mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	return opened;
}

/* Blocks of `node` that any key of the ring decrypts. */
static size_t blocks_opened(vault *v, uint64_t node, const keyring *nk)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, d;
	size_t opened = 0;
	unsigned char *plain = malloc(VAULT_BLOCK_SIZE);

	if (vault_store__begin(&txn, v->st, 0) < 0 || mdb_cursor_open(txn, v->st->blocks, &cur) != 0)
		abort();
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		const unsigned char *p = d.mv_data;
		unsigned char ad[20];
		if (be64_get(k.mv_data) != node)
			continue;
		memcpy(ad, k.mv_data, 16);
		memcpy(ad + 16, p + 1, 4);
		for (size_t i = 0; i < nk->n; i++)
			if (vault_vcrypto__open(plain, p + 5, d.mv_size - 5, ad, 20, nk->keys[i]) == 0)
				opened++;
	}
	mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	free(plain);
	return opened;
}

struct lookup { const char *name; uint64_t id; };

static int lookup_cb(const vault_stat_info *e, void *p)
{
	struct lookup *w = p;

	if (!strcmp(e->name, w->name))
		w->id = strtoull(e->node, NULL, 16);
	return 0;
}

static uint64_t node_of(vault *v, const char *path)
{
	const char *slash = strrchr(path, '/');
	char parent[128];
	struct lookup want = { slash + 1, 0 };

	snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
	if (vault_list(v, parent, &support_list_quiet, lookup_cb, &want) < 0)
		abort();
	return want.id;
}

static int take_code(const vault_case_info *c, void *p)
{
	snprintf(p, VAULT_CODE_SIZE, "%s", c->code);
	return 0;
}

static int count_cases(const vault_case_info *c, void *p)
{
	(*(int *)p)++;
	return 0;
}

/* A vault in DIR/NAME (its path in `vdir`): dpo, and alice, who made case
 * `code` labelled `label`; alice's session, or NULL. */
static vault *vault_with_case(char vdir[512], const char *dir, const char *name,
	char code[VAULT_CODE_SIZE], const char *label)
{
	vault *v = NULL;

	snprintf(vdir, 512, "%s/%s", dir, name);
	CHECK_RC(vault_init(&v, vdir, "dpo", PASS("dpo-pass-1"), 0), 0);
	if (!v)
		return NULL;
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, PASS("alice-pass")), 0);
	CHECK_RC(vault_unlock(v, "alice", PASS("alice-pass")), 0);
	CHECK_RC(vault_case_create(code, v, label), 0);
	return v;
}

/*
 * Two sessions of the same member unlock at once after a grant: both find
 * the new member's key to deliver (a `rekey`); the second finds it done
 * meanwhile. That must record nothing, not an empty rekey that names no
 * case (which verify rejects: "not a member of case ''").
 */
static void test_rekey_race(const char *dir)
{
	char vdir[512], code[VAULT_CODE_SIZE], user[16];
	vault_verify_result res;
	vault *v;

	if ((v = vault_with_case(vdir, dir, "race", code, "race")) == NULL)
		return;
	vault_close(v);
	for (int round = 0; round < 12; round++) {
		int gate[2];
		pid_t kid[2];

		CHECK_RC(vault_open(&v, vdir), 0);
		CHECK_RC(vault_unlock(v, "dpo", PASS("dpo-pass-1")), 0);
		snprintf(user, sizeof user, "u%d", round);
		CHECK_RC(support_user_add(v, user, VAULT_ROLE_CASEWORKER, PASS("user-pass")), 0);
		CHECK_RC(vault_case_grant(v, code, user, 0), 0);
		vault_close(v);
		if (pipe(gate) < 0)
			return;
		for (int k = 0; k < 2; k++) {
			if ((kid[k] = fork()) == 0) {
				char c;
				vault *w = NULL;
				close(gate[1]);
				if (vault_open(&w, vdir) < 0 || read(gate[0], &c, 1) != 1)
					_exit(2);
				_exit(vault_unlock(w, "alice", PASS("alice-pass")) < 0);
			}
		}
		close(gate[0]);
		if (write(gate[1], "gg", 2) != 2)
			CHECK(!"gate");
		close(gate[1]);
		for (int k = 0; k < 2; k++) {
			int st = 0;
			waitpid(kid[k], &st, 0);
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}
	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	vault_close(v);
}

static int take_label(const vault_case_info *c, void *payload)
{
	snprintf(payload, 300, "%s", c->label ? c->label : "(none)");
	return 0;
}

/*
 * A label as long as the record holds (256 bytes, one past what `case
 * create` accepts), sealed by a member with the case key: the listing
 * opens it whole, into a buffer that has room for it (ASan watches), and
 * a label that fails authentication is an error naming the case, with its
 * message kept.
 */
static void test_long_label(const char *dir)
{
	char vdir[512], code[VAULT_CODE_SIZE], got[300], want[257];
	const unsigned char *key;
	unsigned char ad[32];
	MDB_txn *txn = NULL;
	case_rec c;
	vault *v;

	if ((v = vault_with_case(vdir, dir, "label", code, "short")) == NULL)
		return;
	memset(want, 'L', 256);
	want[256] = '\0';
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	CHECK_RC(vault_case__get(&c, txn, v, code), 0);
	CHECK_RC(vault_keys__case_key(&key, txn, v, &c, c.label_epoch), 0);
	snprintf((char *)ad, sizeof ad, "cv-label:%s", code);
	vault_vcrypto__seal(c.label, (const unsigned char *)want, 256, ad, strlen((char *)ad), key);
	c.label_len = VCRYPTO_OVERHEAD + 256;
	CHECK_RC(vault_case__put(txn, v, &c), 0);
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	/* The record was edited here, not by an event: read it without one. */
	CHECK_RC(vault_case_foreach(v, &support_list_quiet, take_label, got), 0);
	CHECK(!strcmp(got, want));

	/* One byte of the sealed label changed. */
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	c.label[VCRYPTO_NONCEBYTES] ^= 1;
	CHECK_RC(vault_case__put(txn, v, &c), 0);
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	CHECK_RC(vault_case_foreach(v, &support_list, take_label, got), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, code) != NULL);
	vault_case__dispose(&c);
	vault_close(v);
}

/* Keys sealed to user "bob" (of case `code`, any epoch up to 8, and the
 * audit key; not the history's: a rotation shuts him out of those), and
 * copies of them. */
typedef struct {
	size_t n;
	char key[9][64];
	unsigned char val[9][128];
	size_t len[9];
} bob_keys;

/* Found by name: the records lie at locators (rawdb_names first). */
static size_t sealed_to_bob(const char *dir, const char *code, bob_keys *b)
{
	memset(b, 0, sizeof *b);
	for (uint32_t e = 0; e <= 8; e++) {
		unsigned char *val;
		size_t len;

		if (e == 0)
			snprintf(b->key[b->n], sizeof b->key[b->n], "@audit/bob");
		else
			vault_rec__sealed_name(b->key[b->n], sizeof b->key[b->n], code, e, "bob");
		if ((val = rawdb_fetch(dir, "sealed", b->key[b->n], strlen(b->key[b->n]), &len)) == NULL)
			continue;
		if (len <= sizeof b->val[b->n]) {
			memcpy(b->val[b->n], val, len);
			b->len[b->n++] = len;
		}
		free(val);
	}
	return b->n;
}

/* A session of `user` as a build of their own would open it: the key pair
 * from the record as it is, with no check against the signed history. */
static vault *own_build_session(const char *dir, const char *user, const char *pass)
{
	unsigned char *sk = NULL;
	MDB_txn *txn = NULL;
	user_rec u;
	vault *v = NULL;

	if (vault_open(&v, dir) < 0 || vault_store__begin(&txn, v->st, 0) < 0 ||
	    vault_user__get(&u, txn, v, user) < 0 ||
	    vault_users__unwrap(&sk, &u, v, user, pass, strlen(pass)) < 0) {
		fprintf(stderr, "cannot open %s's old record: %s\n", user, vault_error_last()->message);
		exit(1);
	}
	vault_policy__begin_session(v, user, &u, sk);
	/* the history's keys sealed to him, as they are */
	if (vault_hkeys__load(v, txn) < 0) {
		fprintf(stderr, "cannot open %s's history keys: %s\n", user, vault_error_last()->message);
		exit(1);
	}
	v->hk.checked = v->hk.held;
	vault_store__abort(v->st, txn);
	return v;
}

/*
 * Disable means out: bob, disabled, keeps a copy of his record and of the
 * keys once sealed to him, and puts them back into the vault file. He
 * reads nothing written after the disabling; and when he also writes
 * himself back into the case, the next member's session refuses (the case
 * record does not match the signed history) and seals him nothing.
 */
static void test_disabled_old_copy(const char *dir)
{
	char vdir[512], code[VAULT_CODE_SIZE], before_txt[128], after_txt[128];
	unsigned char *old_user, *old_case;
	size_t old_user_len, old_case_len;
	bob_keys old, now;
	vault_verify_result res;
	mem_sink s = { 0 };
	vault *v;

	if ((v = vault_with_case(vdir, dir, "disable", code, "disable")) == NULL)
		return;
	snprintf(before_txt, sizeof before_txt, "%s/before.txt", code);
	snprintf(after_txt, sizeof after_txt, "%s/after.txt", code);
	CHECK_RC(put_str(v, before_txt, "written while bob was in"), 0);
	rawdb_names_from(v);
	vault_close(v);
	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(support_user_add(v, "bob", VAULT_ROLE_CASEWORKER, PASS("bob-pass-1")), 0);
	CHECK_RC(vault_case_grant(v, code, "bob", 0), 0);
	vault_close(v);
	vault_close(as(vdir, "alice", "alice-pass"));      /* delivers bob's key */
	v = as(vdir, "bob", "bob-pass-1");
	CHECK_RC(get_str(v, before_txt, &s), 0);
	vault_close(v);

	/* What bob keeps: his record, his case's record, his sealed keys. */
	old_user = rawdb_fetch(vdir, "users", "bob", 3, &old_user_len);
	old_case = rawdb_fetch(vdir, "cases", code, strlen(code), &old_case_len);
	CHECK(sealed_to_bob(vdir, code, &old) == 1);

	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(vault_user_disable(v, "bob"), 0);
	vault_close(v);
	CHECK(sealed_to_bob(vdir, code, &now) == 0);
	v = as(vdir, "alice", "alice-pass");
	CHECK_RC(put_str(v, after_txt, "written after bob left"), 0);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	vault_close(v);

	/* bob puts back his record (active again) and his keys. */
	if (!old_user || !old_case)
		return;
	CHECK(rawdb_set(vdir, "users", "bob", 3, old_user, old_user_len) == 0);
	for (size_t i = 0; i < old.n; i++)
		CHECK(rawdb_set(vdir, "sealed", old.key[i], strlen(old.key[i]), old.val[i], old.len[i]) == 0);
	/* casevault refuses the session: his record is not the signed one. */
	CHECK_RC(vault_open(&v, vdir), 0);
	CHECK_RC(vault_unlock(v, "bob", PASS("bob-pass-1")), VAULT_ECORRUPT);
	vault_close(v);
	/* His own build, which skips that check, holds no key of what came after. */
	v = own_build_session(vdir, "bob", "bob-pass-1");
	CHECK_RC(get_str(v, after_txt, &s), VAULT_EACCES);
	vault_close(v);
	/* ... and writes himself back into the case. */
	CHECK(rawdb_set(vdir, "cases", code, strlen(code), old_case, old_case_len) == 0);
	/* The member's next write would be under the epoch bob holds: refused. */
	v = as(vdir, "alice", "alice-pass");
	{
		char later[128];
		snprintf(later, sizeof later, "%s/later.txt", code);
		CHECK_RC(put_str(v, later, "written after the rollback"), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, "does not match the signed history") != NULL);
	}
	vault_close(v);
	CHECK(sealed_to_bob(vdir, code, &now) == old.n);           /* nothing new sealed */
	v = own_build_session(vdir, "bob", "bob-pass-1");
	CHECK_RC(get_str(v, after_txt, &s), VAULT_ECORRUPT);
	CHECK(vault_audit_verify(&res, v, NULL) == VAULT_ECORRUPT);
	vault_close(v);
	free(old_user);
	free(old_case);
	mem_sink_free(&s);
}

int main(void)
{
	const char *dir = harness_tmpdir();
	char vdir[512], code[VAULT_CODE_SIZE], f[128], g[128], before[VAULT_OID_SIZE], after[VAULT_OID_SIZE];
	vault *v;
	mem_sink s = { 0 };
	keyring bob_cases = { .n = 0 }, bob_nodes = { .n = 0 };
	vault_verify_result res;
	int n;

	vault_global_init();
	snprintf(vdir, sizeof vdir, "%s/v", dir);
	CHECK_RC(vault_init(&v, vdir, "dpo", PASS("dpo-pass-1"), 0), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, PASS("alice-pass")), 0);
	CHECK_RC(support_user_add(v, "bob", VAULT_ROLE_CASEWORKER, PASS("bob-pass-1")), 0);
	CHECK_RC(support_user_add(v, "carol", VAULT_ROLE_CASEWORKER, PASS("carol-pass")), 0);
	CHECK_RC(support_user_add(v, "audra", VAULT_ROLE_AUDITOR, PASS("audra-pass")), 0);
	CHECK_RC(support_user_add(v, "bob", VAULT_ROLE_CASEWORKER, PASS("bob-pass-2")), VAULT_EEXISTS);
	CHECK_RC(support_user_add(v, "Bad/Name", VAULT_ROLE_CASEWORKER, PASS("bob-pass-2")), VAULT_EUSAGE);
	CHECK_RC(vault_user_disable(v, "dpo"), VAULT_EREFUSED);   /* the last admin */
	vault_close(v);

	/* Roles: only admins manage users; auditors create no cases. */
	v = as(vdir, "alice", "alice-pass");
	CHECK_RC(support_user_add(v, "eve", VAULT_ROLE_ADMIN, PASS("eve-pass-1")), VAULT_EACCES);
	CHECK_RC(vault_case_grant(v, "C-00000000", "bob", 0), VAULT_EACCES);
	CHECK_RC(vault_case_create(code, v, "Family of N., Savannakhet"), 0);
	snprintf(f, sizeof f, "%s/intake.txt", code);
	snprintf(g, sizeof g, "%s/after.txt", code);
	CHECK_RC(put_str(v, f, "first intake"), 0);
	vault_close(v);
	v = as(vdir, "audra", "audra-pass");
	{
		char none[VAULT_CODE_SIZE];
		CHECK_RC(vault_case_create(none, v, NULL), VAULT_EACCES);
		CHECK(none[0] == '\0');
	}
	vault_close(v);
	v = as(vdir, "alice", "alice-pass");
	n = 0;
	CHECK_RC(vault_case_foreach(v, &support_list, count_cases, &n), 0);
	CHECK(n == 1);
	{
		char listed[VAULT_CODE_SIZE] = "";
		vault_case_foreach(v, &support_list, take_code, listed);
		CHECK(!strcmp(listed, code));
	}
	vault_close(v);

	/* Non-members, the admin and auditors read nothing. */
	v = as(vdir, "bob", "bob-pass-1");
	CHECK_RC(get_str(v, f, &s), VAULT_EACCES);
	vault_close(v);
	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(get_str(v, f, &s), VAULT_EACCES);
	/* The admin grants bob; the admin holds no key, so bob waits. */
	CHECK_RC(vault_case_grant(v, code, "bob", 0), 0);
	CHECK_RC(vault_case_grant(v, code, "carol", 1), 0);
	/* Admins and auditors are never members: they hold no case keys. */
	CHECK_RC(vault_case_grant(v, code, "audra", 0), VAULT_EACCES);
	CHECK_RC(vault_case_grant(v, code, "dpo", 0), VAULT_EACCES);
	CHECK_RC(vault_case_grant(v, code, "bob", 0), VAULT_EEXISTS);
	vault_close(v);
	v = as(vdir, "bob", "bob-pass-1");
	CHECK_RC(get_str(v, f, &s), VAULT_EACCES);
	vault_close(v);
	/* alice's next session delivers the key (a rekey event). */
	v = as(vdir, "alice", "alice-pass");
	vault_close(v);
	v = as(vdir, "bob", "bob-pass-1");
	CHECK_RC(get_str(v, f, &s), 0);
	CHECK(s.len == 12 && !memcmp(s.data, "first intake", 12));
	keyring_take(&bob_cases, v, code);
	CHECK(bob_cases.n == 1);
	vault_close(v);
	/* A read-only member reads but cannot write. */
	v = as(vdir, "carol", "carol-pass");
	CHECK_RC(get_str(v, f, &s), 0);
	vault_head(before, v);
	CHECK_RC(put_str(v, f, "carol was here"), VAULT_EACCES);
	CHECK_RC(vault_mkdir(v, "x"), VAULT_EUSAGE);
	vault_head(after, v);
	CHECK(!strcmp(before, after));
	vault_close(v);

	/* Everything bob could ever open, before he is revoked. */
	v = as(vdir, "bob", "bob-pass-1");
	CHECK(node_keys_opened(&bob_nodes, v, &bob_cases) == 1);   /* intake.txt */
	vault_close(v);

	/* Revocation retires the epoch; the next member session starts a new one. */
	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(vault_case_revoke(v, code, "bob"), 0);
	CHECK_RC(vault_case_revoke(v, code, "bob"), VAULT_ENOTFOUND);
	vault_close(v);
	v = as(vdir, "alice", "alice-pass");
	CHECK_RC(put_str(v, f, "second intake, after bob left"), 0);
	CHECK_RC(put_str(v, g, "a new file after bob left"), 0);
	{
		uint64_t nf = node_of(v, f), ng = node_of(v, g);
		size_t old_blocks = blocks_opened(v, nf, &bob_nodes);
		/* bob's keys open the first version's block only, nothing newer. */
		CHECK(old_blocks == 1);
		CHECK(blocks_opened(v, ng, &bob_nodes) == 0);
		/* No node key written after the revocation opens with bob's case keys. */
		CHECK(node_keys_opened(NULL, v, &bob_cases) == bob_nodes.n);
	}
	vault_close(v);
	v = as(vdir, "bob", "bob-pass-1");
	CHECK_RC(get_str(v, f, &s), VAULT_EACCES);
	vault_close(v);
	/* carol (ro) got the new epoch and reads the new content. */
	v = as(vdir, "carol", "carol-pass");
	CHECK_RC(get_str(v, g, &s), 0);
	CHECK(s.len == 25 && !memcmp(s.data, "a new file after bob left", 25));
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	vault_close(v);

	/* Disabled users cannot unlock; passphrase changes keep the key. */
	v = as(vdir, "dpo", "dpo-pass-1");
	CHECK_RC(vault_user_disable(v, "carol"), 0);
	CHECK_RC(vault_user_disable(v, "carol"), VAULT_EEXISTS);
	CHECK_RC(vault_user_passwd(v, PASS("dpo-pass-2")), 0);
	vault_close(v);
	CHECK_RC(vault_open(&v, vdir), 0);
	CHECK_RC(vault_unlock(v, "carol", PASS("carol-pass")), VAULT_EAUTH);
	CHECK_RC(vault_unlock(v, "dpo", PASS("dpo-pass-1")), VAULT_EAUTH);
	CHECK_RC(vault_unlock(v, "nobody", PASS("dpo-pass-1")), VAULT_EAUTH);
	CHECK_RC(vault_unlock(v, "dpo", PASS("dpo-pass-2")), 0);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	vault_close(v);

	/*
	 * An edit of the LMDB records alone, with no signed event: eve is
	 * slipped into the member list. No session seals her a key; the
	 * member's unlock reports the mismatch instead.
	 */
	v = as(vdir, "dpo", "dpo-pass-2");
	CHECK_RC(support_user_add(v, "eve", VAULT_ROLE_CASEWORKER, PASS("eve-pass-1")), 0);
	{
		MDB_txn *txn;
		case_rec c;
		char skey[64];
		MDB_val val;

		CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
		CHECK_RC(vault_case__get(&c, txn, v, code), 0);
		snprintf(c.members[c.nmembers].user, sizeof c.members[0].user, "eve");
		c.members[c.nmembers++].read_only = 0;
		CHECK_RC(vault_case__put(txn, v, &c), 0);
		CHECK_RC(vault_store__commit(v->st, txn), 0);
		vault_close(v);

		CHECK_RC(vault_open(&v, vdir), 0);
		CHECK_RC(vault_unlock(v, "alice", PASS("alice-pass")), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, "does not match the signed history") != NULL);
		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		snprintf(skey, sizeof skey, "%s/%08x/eve", code, c.epoch);
		CHECK(vault_rec__get(txn, v, v->st->sealed, skey, &val) == VAULT_ENOTFOUND);
		vault_store__abort(v->st, txn);
		vault_case__dispose(&c);
		CHECK_RC(vault_audit_verify(&res, v, NULL), VAULT_ECORRUPT);
		vault_close(v);
	}

	mem_sink_free(&s);
	test_rekey_race(dir);
	test_long_label(dir);
	test_disabled_old_copy(dir);
	return harness_done("test_policy");
}
