/*
 * The registry of writes in progress (staged.c): a handle closed without
 * its version leaves nothing; a version keeps only the blocks it names of
 * what its handle stored ahead (not the ones written again since); and the attacker's forged records in
 * `meta/staged/`: one that names a committed version's blocks, with a
 * range as wide as it gets, makes the next open delete them (no more than
 * the attacker could delete), which the next read refuses and `audit
 * verify` names; a damaged one goes alone. Each open finishes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "harness.h"
#include "support.h"
#include "rawdb.h"

#define STAGED_KEY "staged/0000000000000001"

static size_t count(const char *dir, const char *table)
{
	rawdb db;
	size_t n;

	if (rawdb_open(&db, dir) != 0)
		return (size_t)-1;
	n = rawdb_count(&db, table);
	rawdb_close(&db, 0);
	return n;
}

static size_t count_staged(const char *dir)
{
	MDB_val val;
	rawdb db;
	int rc;

	if (rawdb_open(&db, dir) != 0)
		return (size_t)-1;
	rc = rawdb_get(&db, "meta", STAGED_KEY, strlen(STAGED_KEY), &val);
	rawdb_close(&db, 0);
	return rc == 0;
}

/* A record of a dead write (process id 0) naming node's blocks 0 to 2^64-1. */
static int plant(const char *dir, uint64_t node, size_t len)
{
	unsigned char rec[1 + 4 + 16 + 8 + 4 + 4 + 16];
	rawdb db;
	int rc;

	memset(rec, 0, sizeof rec);
	rec[0] = 1;
	be64_put(rec + 21, node);
	be32_put(rec + 33, 1);
	be64_put(rec + 37, 0);
	be64_put(rec + 45, UINT64_MAX);
	if ((rc = rawdb_open(&db, dir)) != 0)
		return rc;
	rc = rawdb_put(&db, "meta", STAGED_KEY, strlen(STAGED_KEY), rec, len);
	return rawdb_close(&db, rc == 0) || rc;
}

int main(void)
{
	const char *dir = harness_tmpdir();
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE | VAULT_FILE_CREATE, 0, "test", NULL, 0, 0 };
	vault_file_options ro = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_READ, 0, "test", NULL, 0, 0 };
	char vdir[512], code[VAULT_CODE_SIZE], path[128], path2[128], path3[128];
	size_t big = 20 << 20, committed;
	unsigned char *data = malloc(big);
	vault_verify_result res;
	vault_file *f = NULL;
	uint64_t node = 0;
	mem_sink out = { 0 };
	vault *v;
	rawdb db;

	fill_pattern(data, big, 7);
	snprintf(vdir, sizeof vdir, "%s/v", dir);
	vault_close(support_vault_with_users(vdir));
	if ((v = support_open_as(vdir, "alice", support_pass("alice"))) == NULL)
		return harness_done("test_staged");
	CHECK_RC(vault_case_create(code, v, NULL), 0);
	snprintf(path, sizeof path, "%s/kept.bin", code);
	snprintf(path2, sizeof path2, "%s/dropped.bin", code);
	CHECK_RC(support_put(v, path, data, 1 << 20, NULL), 0);
	CHECK_RC(vault_file_open(&f, v, path, &ro), 0);
	node = f ? strtoull(vault_file_node(f), NULL, 16) : 0;
	vault_file_close(f);

	/* Honest: 20 MiB written (two chunks stored ahead), closed without
	 * its version: the chunks go at the close. */
	CHECK_RC(vault_file_open(&f, v, path2, &o), 0);
	CHECK_RC(vault_file_write(f, data, big, 0), 0);
	vault_file_close(f);
	/* Honest: 20 MiB written, then its first 10 MiB again (stored twice
	 * ahead), then the version: it keeps only the blocks it names. */
	snprintf(path3, sizeof path3, "%s/rewritten.bin", code);
	CHECK_RC(vault_file_open(&f, v, path3, &o), 0);
	CHECK_RC(vault_file_write(f, data, big, 0), 0);
	CHECK_RC(vault_file_write(f, data + 1, big / 2, 0), 0);
	CHECK_RC(vault_file_commit(NULL, f), 0);
	vault_file_close(f);
	vault_close(v);
	committed = count(vdir, "blocks");
	CHECK(committed == 16 + 320);
	CHECK(count_staged(vdir) == 0);
	CHECK(rawdb_open(&db, vdir) == 0 && rawdb_count(&db, "meta") > 0);
	rawdb_close(&db, 0);

	/* Attack: a damaged record goes alone; nothing else changes. */
	CHECK_RC(plant(vdir, 1, 10), 0);
	v = support_open_as(vdir, "alice", support_pass("alice"));
	CHECK(v != NULL);
	vault_close(v);
	CHECK(count_staged(vdir) == 0);
	CHECK(count(vdir, "blocks") == committed);

	/* Attack: a record naming kept.bin's blocks, 0 to 2^64 - 1. */
	CHECK_RC(plant(vdir, node, 53), 0);
	v = support_open_as(vdir, "alice", support_pass("alice"));
	CHECK(v != NULL);
	CHECK(count(vdir, "blocks") == committed - 16);
	CHECK_RC(support_get(v, path, "test", NULL, &out), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "missing") != NULL);
	CHECK_RC(support_verify(&res, v, NULL), VAULT_ECORRUPT);
	CHECK(strstr(vault_error_last()->message, "block 0 is missing") != NULL);
	vault_close(v);
	mem_sink_free(&out);
	free(data);
	return harness_done("test_staged");
}
