/*
 * Event trees (trees.c): patching a history tree in place must give the
 * very tree, byte for byte, that libgit2's own tree update gives, for
 * random sets of changed files, names that sort around git's folder rule
 * included; lookups must find what was set; a damaged tree fails cleanly,
 * and so does one the memo holds but LMDB no longer does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "harness.h"

#define ROUNDS 400

/* Names around git's rule that a folder sorts as if it ended in '/':
 * "a-b" < "a.b" < "a" (as folder "a/") < "a0". */
static const char *const paths[] = {
	"nodes/00/01/0001aaaaaaaaaaaa", "nodes/00/01/0001bbbbbbbbbbbb",
	"nodes/00/ff/00ffcccccccccccc", "nodes/7f/00/7f00dddddddddddd",
	"nodes/ff/ff/ffffeeeeeeeeeeee", "policy/users/alice", "policy/users/bob",
	"policy/cases/C-1", "policy/settings", "x/a-b", "x/a.b", "x/a/inner",
	"x/a0", "x/b/c/d/e", "x/b/c/f", "top",
};
#define NPATHS (sizeof paths / sizeof *paths)

static unsigned int seed;

static unsigned int rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 16;
}

static void blob(git_oid *out, vault *v, unsigned int n)
{
	char text[32];
	int len = snprintf(text, sizeof text, "blob %u\n", n);

	CHECK(git_odb_write(out, v->odb, text, (size_t)len, GIT_OBJECT_BLOB) == 0);
}

int main(void)
{
	const char *dir = harness_tmpdir();
	char path[4096], hex[GIT_OID_HEXSZ + 1];
	git_oid base, ours, theirs, got;
	git_tree *base_tree = NULL;
	git_tree_update u[4];
	MDB_txn *txn = NULL;
	unsigned int mode;
	vault *v = NULL;

	seed = (unsigned int)time(NULL);
	fprintf(stderr, "seed %u\n", seed);
	snprintf(path, sizeof path, "%s/v", dir);
	CHECK_RC(vault_init(&v, path, "dpo", "secret-pass", 11, 0), 0);
	if (!v)
		return harness_done("test_trees");
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	vault_store__cur = txn;
	CHECK(git_odb_write(&base, v->odb, "", 0, GIT_OBJECT_TREE) == 0);

	for (int round = 0; round < ROUNDS && harness_failures == 0; round++) {
		size_t n = 1 + rnd() % 4, k = 0;

		/* Distinct paths, none a folder of another ("x/a" is taken as a
		 * folder by "x/a/inner", so no round sets a file "x/a"). */
		while (k < n) {
			const char *p = paths[rnd() % NPATHS];
			size_t j;
			for (j = 0; j < k && strcmp(u[j].path, p); j++)
				;
			if (j < k)
				continue;
			u[k].action = GIT_TREE_UPDATE_UPSERT;
			u[k].filemode = GIT_FILEMODE_BLOB;
			u[k].path = p;
			blob(&u[k].id, v, rnd() % 8);
			k++;
		}
		CHECK_RC(git_tree_lookup(&base_tree, v->repo, &base), 0);
		CHECK(git_tree_create_updated(&theirs, v->repo, base_tree, n, u) == 0);
		git_tree_free(base_tree);
		base_tree = NULL;
		CHECK_RC(vault_trees__update(&ours, v, &base, u, n), 0);
		if (!git_oid_equal(&ours, &theirs)) {
			git_oid_tostr(hex, sizeof hex, &ours);
			fprintf(stderr, "round %d: patched tree %s", round, hex);
			git_oid_tostr(hex, sizeof hex, &theirs);
			fprintf(stderr, " differs from libgit2's %s\n", hex);
			harness_failures++;
		}
		for (size_t i = 0; i < n; i++) {
			CHECK_RC(vault_trees__entry(&got, &mode, v, &ours, u[i].path), 0);
			CHECK(git_oid_equal(&got, &u[i].id) && mode == GIT_FILEMODE_BLOB);
		}
		base = ours;
	}
	CHECK_RC(vault_trees__entry(&got, &mode, v, &base, "nodes/12/34/absent"), VAULT_ENOTFOUND);
	CHECK_RC(vault_trees__entry(&got, &mode, v, &base, "top/under-a-file"), VAULT_ENOTFOUND);

	/* A damaged tree (an entry cut short) is refused, not patched. */
	{
		static const char bad[] = "100644 cut";
		git_oid bad_id;

		u[0].path = "cut/file";
		blob(&u[0].id, v, 1);
		CHECK(git_odb_write(&bad_id, v->odb, bad, sizeof bad - 1, GIT_OBJECT_TREE) == 0);
		CHECK_RC(vault_trees__update(&ours, v, &bad_id, u, 1), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, "damaged") != NULL);
	}

	vault_store__abort(v->st, txn);

	/* A tree the memo holds, removed from LMDB behind the process's back,
	 * is missing for the checks against the head, as without the memo. */
	{
		vault_buf b = VAULT_BUF_INIT;
		git_oid head, root;
		unsigned char loc[20];
		MDB_val val, key;

		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		vault_store__cur = txn;
		CHECK_RC(vault_blob__settings(&b, v, txn), 0);
		CHECK_RC(vault_event__matches_head(v, txn, "policy/settings", &b), 0);
		CHECK_RC(vault_meta__get(&val, txn, v, "head"), 0);
		git_oid_fromraw(&head, val.mv_data);
		CHECK_RC(vault_trees__commit_tree(&root, v, &head), 0);
		vault_store__abort(v->st, txn);

		CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
		vault_odb__locator(loc, &v->hk, root.id);
		key.mv_size = sizeof loc;
		key.mv_data = loc;
		CHECK(mdb_del(txn, v->st->git, &key, NULL) == 0);
		CHECK_RC(vault_store__commit(v->st, txn), 0);

		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		vault_store__cur = txn;
		CHECK_RC(vault_event__matches_head(v, txn, "policy/settings", &b), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, "missing or damaged") != NULL);
		vault_store__abort(v->st, txn);
		vault_buf_dispose(&b);
	}
	vault_close(v);
	return harness_done("test_trees");
}
