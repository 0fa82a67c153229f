/*
 * rawrec — raw record edits of a vault directory for the scenario tests,
 * by name: the records of users and cases lie at locators (records.h),
 * which this tool computes with the index key it takes from the vault as
 * USER (vault_open_history with the passphrase in PASSFILE: no session,
 * nothing written), as an insider who can write the file would.
 *
 *   rawrec DIR USER PASSFILE locate TABLE KEY
 *       the stored key of record KEY of TABLE, in hex (mdb_dump's form)
 *   rawrec DIR USER PASSFILE flip-sealed TABLE KEY OFFSET
 *       flip bit 0 of byte OFFSET (negative: from the end) of the plain
 *       bytes of a sealed record ("cases"), and seal it again
 *   rawrec DIR USER PASSFILE move TABLE FROM TO
 *       the record of FROM (as stored) put at TO's place
 *   rawrec DIR USER PASSFILE delete TABLE KEY
 *       record KEY gone
 *   rawrec DIR USER PASSFILE damage TABLE KEY OFFSET
 *       flip bit 6 of byte OFFSET of record KEY as stored, as damage does
 *       (a user record's checksum is not recomputed)
 *   rawrec DIR USER PASSFILE drop-entry dirents NODE
 *       delete the first entry of folder NODE (16 hex digits)
 *
 * Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rawdb.h"
#include "internal.h"

/* The passphrase: the file's first line. */
static int read_pass(char *out, size_t n, const char *path)
{
	FILE *f = fopen(path, "r");
	int ok = f && fgets(out, (int)n, f) != NULL;

	if (f)
		fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int locate(const char *dir, const char *table, const char *key)
{
	unsigned char loc[VAULT_LOCATOR_SIZE];
	rawdb db;
	MDB_val k;
	int rc;

	if (rawdb_open(&db, dir) != 0)
		return 1;
	if ((rc = rawdb_locate(&k, loc, &db, table, key, strlen(key))) == 0) {
		for (size_t i = 0; i < k.mv_size; i++)
			printf("%02x", ((unsigned char *)k.mv_data)[i]);
		printf("\n");
	}
	rawdb_close(&db, 0);
	return rc != 0;
}

static int move(const char *dir, const char *table, const char *from, const char *to)
{
	size_t len;
	unsigned char *val = rawdb_fetch(dir, table, from, strlen(from), &len);
	int rc = val ? rawdb_set(dir, table, to, strlen(to), val, len) : 1;

	free(val);
	return rc != 0;
}

/* The first entry of folder `node` (hex) deleted: an entry lost. */
static int drop_entry(const char *dir, const char *node)
{
	unsigned char prefix[8];
	MDB_cursor *cur;
	MDB_dbi d;
	MDB_val k = { 8, prefix }, v;
	rawdb db;
	int rc;

	be64_put(prefix, strtoull(node, NULL, 16));
	if (rawdb_open(&db, dir) != 0)
		return 1;
	rc = mdb_dbi_open(db.txn, "dirents", 0, &d);
	if (rc == 0)
		rc = mdb_cursor_open(db.txn, d, &cur);
	if (rc == 0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && (k.mv_size != 24 || memcmp(k.mv_data, prefix, 8)))
			rc = MDB_NOTFOUND;
		if (rc == 0)
			rc = mdb_cursor_del(cur, 0);
		mdb_cursor_close(cur);
	}
	if (rc != 0) {
		fprintf(stderr, "rawrec: no entry of folder %s: %s\n", node, mdb_strerror(rc));
		rawdb_close(&db, 0);
		return 1;
	}
	return rawdb_close(&db, 1) != 0;
}

int main(int argc, char **argv)
{
	char pass[1024];

	if (argc < 7 || vault_global_init() < 0 || read_pass(pass, sizeof pass, argv[3]) < 0) {
		fprintf(stderr, "usage: rawrec DIR USER PASSFILE locate|flip-sealed|move|delete|damage|drop-entry TABLE KEY [ARG]\n");
		return 1;
	}
	if (rawdb_names(argv[1], argv[2], pass) < 0)
		return 1;
	if (!strcmp(argv[4], "locate"))
		return locate(argv[1], argv[5], argv[6]);
	if (!strcmp(argv[4], "flip-sealed") && argc == 8)
		return rawdb_flip_sealed(argv[1], argv[5], argv[6], strlen(argv[6]), atol(argv[7]), 0x01) != 0;
	if (!strcmp(argv[4], "delete"))
		return rawdb_remove(argv[1], argv[5], argv[6], strlen(argv[6])) != 0;
	if (!strcmp(argv[4], "move") && argc == 8)
		return move(argv[1], argv[5], argv[6], argv[7]);
	if (!strcmp(argv[4], "damage") && argc == 8) {
		rawdb_damage_users = 1;
		return rawdb_flip(argv[1], argv[5], argv[6], strlen(argv[6]), atol(argv[7]), 0x40) != 0;
	}
	if (!strcmp(argv[4], "drop-entry") && argc == 7 && !strcmp(argv[5], "dirents"))
		return drop_entry(argv[1], argv[6]);
	fprintf(stderr, "rawrec: unknown command '%s'\n", argv[4]);
	return 1;
}
