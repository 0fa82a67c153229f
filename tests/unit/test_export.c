/*
 * Tests for vault/src/export.c: the export as one pack per run (read back
 * through libgit2), an unchanged export that writes nothing, and the
 * witness check (vault_audit_witness): up to date, behind, diverged, no
 * `audit` branch, and witnesses that are not there.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "harness.h"
#include "support.h"

static const char *base;
static vault *v;
static char code[VAULT_CODE_SIZE];

static int count_cb(const vault_event_info *e, const char *note, void *p)
{
	(void)e;
	(*(size_t *)p)++;
	return 0;
}

static size_t events(void)
{
	size_t n = 0;

	CHECK_RC(vault_audit_query(v, NULL, count_cb, &n), 0);
	return n;
}

static void read_event(void)
{
	char path[64];
	vault_get_options o = VAULT_GET_OPTIONS_INIT;
	size_t got = 0;

	o.purpose = "test";
	snprintf(path, sizeof path, "%s/a.txt", code);
	CHECK_RC(vault_get(v, path, &o, count_sink_write, &got), 0);
}

/* Files in `dir` whose name starts with `prefix` and ends with `suffix`. */
static int count_files(const char *dir, const char *prefix, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && l >= sl &&
		    !strcmp(e->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

/* No loose objects: objects/ holds only info/ and pack/. */
static int loose_dirs(const char *repo)
{
	char path[600];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof path, "%s/objects", repo);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strlen(e->d_name) == 2 && e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int odb_count_cb(const git_oid *id, void *p)
{
	(void)id;
	(*(size_t *)p)++;
	return 0;
}

static void setup(void)
{
	char path[64];
	uint32_t ver;
	mem_src s = { (const unsigned char *)"first\n", 6, 0 };

	base = harness_tmpdir();
	snprintf(path, sizeof path, "%s/vault", base);
	CHECK_RC(vault_init(&v, path, "dpo", "pass-dpo", 8, 0), 0);
	CHECK_RC(support_user_add(v, "noy", VAULT_ROLE_CASEWORKER, "pass-noy", 8), 0);
	CHECK_RC(vault_unlock(v, "noy", "pass-noy", 8), 0);
	CHECK_RC(vault_case_create(code, v, "export"), 0);
	snprintf(path, sizeof path, "%s/a.txt", code);
	CHECK_RC(vault_put(&ver, v, path, mem_src_read, &s), 0);
	read_event();
}

static void test_export_pack(void)
{
	char repo[512], pack[600];
	vault_export_result r;
	git_repository *g = NULL;
	git_revwalk *walk = NULL;
	git_odb *odb = NULL;
	git_oid id;
	size_t n = events(), walked = 0, objects = 0;
	char head[VAULT_OID_SIZE];

	snprintf(repo, sizeof repo, "%s/export.git", base);
	snprintf(pack, sizeof pack, "%s/objects/pack", repo);
	CHECK_RC(vault_audit_export(&r, v, repo), 0);
	CHECK(r.commits == n);
	CHECK(r.objects > n);
	CHECK(r.changed);
	CHECK_RC(vault_head(head, v), 0);
	CHECK(!strcmp(r.head, head));
	CHECK(count_files(pack, "pack-", ".pack") == 1);
	CHECK(count_files(pack, "pack-", ".idx") == 1);
	CHECK(count_files(pack, "tmp_", "") == 0);
	CHECK(loose_dirs(repo) == 0);

	/* Read back through libgit2: every commit on audit, every object. */
	CHECK_RC(git_repository_open_bare(&g, repo), 0);
	if (g) {
		CHECK_RC(git_revwalk_new(&walk, g), 0);
		CHECK_RC(git_revwalk_push_ref(walk, "refs/heads/audit"), 0);
		while (walk && git_revwalk_next(&id, walk) == 0) {
			git_commit *c = NULL;
			CHECK_RC(git_commit_lookup(&c, g, &id), 0);
			git_commit_free(c);
			walked++;
		}
		CHECK(walked == n);
		CHECK_RC(git_repository_odb(&odb, g), 0);
		CHECK_RC(git_odb_foreach(odb, odb_count_cb, &objects), 0);
		CHECK(objects == r.objects);
	}
	git_odb_free(odb);
	git_revwalk_free(walk);
	git_repository_free(g);

	/* Nothing new: nothing written, no new pack. */
	CHECK_RC(vault_audit_export(&r, v, repo), 0);
	CHECK(!r.changed && r.commits == 0 && r.objects == 0);
	CHECK(count_files(pack, "pack-", ".pack") == 1);

	/* Two more events: a second, small pack with just them. */
	read_event();
	read_event();
	CHECK_RC(vault_audit_export(&r, v, repo), 0);
	CHECK(r.commits == 2);
	CHECK(r.objects == 2);     /* a read changes no tree */
	CHECK(count_files(pack, "pack-", ".pack") == 2);
	CHECK(count_files(pack, "pack-", ".idx") == 2);
}

static void test_witness(void)
{
	char repo[512], url[600], head[VAULT_OID_SIZE];
	vault_witness_result w;

	snprintf(repo, sizeof repo, "%s/export.git", base);
	CHECK_RC(vault_head(head, v), 0);

	/* Up to date. */
	CHECK_RC(vault_audit_witness(&w, v, repo), 0);
	CHECK(w.found && w.behind == 0);
	CHECK(!strcmp(w.witness, head));

	/* Behind by three events, as a path and as a file:// URL. */
	read_event();
	read_event();
	read_event();
	CHECK_RC(vault_audit_witness(&w, v, repo), 0);
	CHECK(w.found && w.behind == 3);
	CHECK(strcmp(w.witness, head) == 0);
	snprintf(url, sizeof url, "file://%s", repo);
	CHECK_RC(vault_audit_witness(&w, v, url), 0);
	CHECK(w.found && w.behind == 3);
}

/* A repository whose `audit` is a commit outside the chain. */
static void make_diverged(const char *repo)
{
	git_repository *g = NULL;
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_oid blob, tree, commit;

	CHECK_RC(git_repository_init(&g, repo, 1), 0);
	if (!g)
		return;
	CHECK_RC(git_blob_create_from_buffer(&blob, g, "x\n", 2), 0);
	CHECK_RC(git_treebuilder_new(&tb, g, NULL), 0);
	CHECK_RC(git_treebuilder_insert(NULL, tb, "x", &blob, GIT_FILEMODE_BLOB), 0);
	CHECK_RC(git_treebuilder_write(&tree, tb), 0);
	CHECK_RC(git_signature_new(&sig, "mallory", "m@example.org", 1700000000, 0), 0);
	{
		git_tree *t = NULL;
		CHECK_RC(git_tree_lookup(&t, g, &tree), 0);
		CHECK_RC(git_commit_create(&commit, g, "refs/heads/audit", sig, sig, NULL,
			"init\n", t, 0, NULL), 0);
		git_tree_free(t);
	}
	git_signature_free(sig);
	git_treebuilder_free(tb);
	git_repository_free(g);
}

static void test_witness_bad(void)
{
	char repo[512], empty[512], plain[512], missing[512], file[600];
	vault_witness_result w;
	vault_export_result r;
	git_repository *g = NULL;
	FILE *f;

	/* Diverged: a commit that is not ours. */
	snprintf(repo, sizeof repo, "%s/other.git", base);
	make_diverged(repo);
	CHECK_RC(vault_audit_witness(&w, v, repo), VAULT_ECORRUPT);
	CHECK(w.found && strlen(w.witness) == 40);
	CHECK(strstr(vault_error_last()->message, w.witness) != NULL);
	CHECK(strstr(vault_error_last()->message, "not in this vault's history") != NULL);
	/* ... and the export into it writes nothing. */
	CHECK_RC(vault_audit_export(&r, v, repo), VAULT_ECORRUPT);
	snprintf(file, sizeof file, "%s/objects/pack", repo);
	CHECK(count_files(file, "pack-", "") == 0);
	CHECK(count_files(file, "tmp_", "") == 0);

	/* A repository with no audit branch: not an error, found 0. */
	snprintf(empty, sizeof empty, "%s/empty.git", base);
	CHECK_RC(git_repository_init(&g, empty, 1), 0);
	git_repository_free(g);
	CHECK_RC(vault_audit_witness(&w, v, empty), 0);
	CHECK(!w.found && w.witness[0] == '\0' && w.behind == 0);

	/* Not there, or not a repository: a clear error naming it. */
	snprintf(missing, sizeof missing, "%s/no-such-witness.git", base);
	CHECK(vault_audit_witness(&w, v, missing) < 0);
	CHECK(strstr(vault_error_last()->message, missing) != NULL);
	CHECK(!w.found);
	snprintf(plain, sizeof plain, "%s/plain", base);
	mkdir(plain, 0700);
	snprintf(file, sizeof file, "%s/file", plain);
	if ((f = fopen(file, "w")) != NULL) {
		fputs("keep\n", f);
		fclose(f);
	}
	CHECK(vault_audit_witness(&w, v, plain) < 0);
	CHECK(strstr(vault_error_last()->message, plain) != NULL);
	CHECK(vault_audit_witness(&w, v, "file:///nonexistent/witness.git") < 0);
	CHECK_RC(vault_audit_witness(&w, v, ""), VAULT_EUSAGE);
}

int main(void)
{
	umask(022);
	CHECK_RC(vault_global_init(), 0);
	setup();
	if (v && code[0]) {
		test_export_pack();
		test_witness();
		test_witness_bad();
	}
	vault_close(v);
	return harness_done("test_export");
}
