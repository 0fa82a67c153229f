/*
 * Tests for vault/src/util/errors.c: each error in English (`message`) and
 * from its format's translation (`text`), read from a real catalog that
 * the test compiles with msgfmt; an error wrapped (by a format, or by a
 * plain string naming what failed), kept and set again with both; and a
 * message cut by its buffer, which ends at a whole UTF-8 character.
 */
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/errors.h"
#include "harness.h"

/* Three messages of the library and their (test) Lao translations. */
static const char catalog[] =
	"msgid \"\"\n"
	"msgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n"
	"#, c-format\n"
	"msgid \"case '%s' not found\"\n"
	"msgstr \"ບໍ່ພົບ case '%s'\"\n\n"
	"#, c-format\n"
	"msgid \"path '%.160s%s'\"\n"
	"msgstr \"ເສັ້ນທາງ '%.160s%s'\"\n\n"
	"msgid \"open vault\"\n"
	"msgstr \"ເປີດຄັງຂໍ້ມູນ\"\n";

/* The catalog compiled under DIR/lo/LC_MESSAGES; 0 or -1. */
static int make_catalog(const char *dir)
{
	char po[512], cmd[1600];
	FILE *f;

	snprintf(po, sizeof po, "%s/lo.po", dir);
	if (!(f = fopen(po, "w")))
		return -1;
	fputs(catalog, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/lo/LC_MESSAGES' && msgfmt --check-format -o '%s/lo/LC_MESSAGES/casevault.mo' '%s'",
		dir, dir, po);
	return system(cmd) == 0 ? 0 : -1;
}

/* Every UTF-8 sequence of `s` is whole (the library's texts are valid). */
static int whole_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
			(*p & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0)
			return 0;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

static void test_english_only(void)
{
	const vault_error *e;

	CHECK(vault_error_set(VAULT_ENOTFOUND, "case '%s' not found", "C-1") == VAULT_ENOTFOUND);
	e = vault_error_last();
	CHECK(!strcmp(e->message, "case 'C-1' not found"));
	CHECK(!strcmp(e->text, e->message));
}

static void test_translated(void)
{
	vault_error_kept k;
	const vault_error *e;

	vault_error_set(VAULT_ENOTFOUND, "case '%s' not found", "C-1");
	e = vault_error_last();
	CHECK(!strcmp(e->message, "case 'C-1' not found"));
	CHECK(!strcmp(e->text, "ບໍ່ພົບ case 'C-1'"));

	/* Wrapped: each language with its own, the English untouched. */
	CHECK(vault_error_wrap(VAULT_EUSAGE, "path '%.160s%s'", "C-1/a", "") == VAULT_EUSAGE);
	e = vault_error_last();
	CHECK(!strcmp(e->message, "path 'C-1/a': case 'C-1' not found"));
	CHECK(!strcmp(e->text, "ເສັ້ນທາງ 'C-1/a': ບໍ່ພົບ case 'C-1'"));
	CHECK(e->code == VAULT_EUSAGE);

	/* Kept, overwritten, set again: both languages, the code given. */
	vault_error_keep(&k);
	vault_error_set(VAULT_ERROR, "something else");
	CHECK(vault_error_put(VAULT_ECORRUPT, &k) == VAULT_ECORRUPT);
	e = vault_error_last();
	CHECK(e->code == VAULT_ECORRUPT);
	CHECK(!strcmp(e->message, "path 'C-1/a': case 'C-1' not found"));
	CHECK(!strcmp(e->text, "ເສັ້ນທາງ 'C-1/a': ບໍ່ພົບ case 'C-1'"));

	/* What failed, a plain string (vault_store__error's): translated too;
	 * a % in it is no format. */
	vault_error_set(VAULT_ENOTFOUND, "case '%s' not found", "C-1");
	CHECK(vault_error_prefix(VAULT_ECORRUPT, "open vault") == VAULT_ECORRUPT);
	e = vault_error_last();
	CHECK(e->code == VAULT_ECORRUPT);
	CHECK(!strcmp(e->message, "open vault: case 'C-1' not found"));
	CHECK(!strcmp(e->text, "ເປີດຄັງຂໍ້ມູນ: ບໍ່ພົບ case 'C-1'"));
	vault_error_prefix(VAULT_ERROR, "100%s sure");
	CHECK(!strcmp(vault_error_last()->message, "100%s sure: open vault: case 'C-1' not found"));

	/* A message with no translation is English in both. */
	vault_error_set(VAULT_ERROR, "no catalog has '%s'", "this");
	CHECK(!strcmp(vault_error_last()->text, "no catalog has 'this'"));
}

/* Longer than either buffer: cut, and never inside a letter. */
static void test_cut_whole(void)
{
	char name[4000];
	const vault_error *e;
	size_t i;

	for (i = 0; i + 3 < sizeof name; i += 3)
		memcpy(name + i, "ກ", 3);
	name[i] = '\0';
	/* Shifted by a byte or two: the cut falls elsewhere in a letter. */
	for (int shift = 0; shift < 3; shift++) {
		vault_error_set(VAULT_ENOTFOUND, "%.*scase '%s' not found", shift, "xx", name);
		e = vault_error_last();
		CHECK(strlen(e->message) >= 1020 && strlen(e->message) < 1024);
		CHECK(whole_utf8(e->message));
		CHECK(strlen(e->text) >= 2044 && strlen(e->text) < 2048);
		CHECK(whole_utf8(e->text));
		vault_error_wrap(VAULT_ERROR, "%.*swrapped", shift, "xx");
		CHECK(whole_utf8(vault_error_last()->message));
		CHECK(whole_utf8(vault_error_last()->text));
	}
}

int main(void)
{
	const char *dir = harness_tmpdir();

	test_english_only();
	if (make_catalog(dir) < 0) {
		fprintf(stderr, "cannot compile the test catalog: is msgfmt installed (tests/deps.sh)?\n");
		return 1;
	}
	if (!setlocale(LC_ALL, "lo_LA.UTF-8")) {
		fprintf(stderr, "the locale lo_LA.UTF-8 is missing: run tests/deps.sh (it generates it)\n");
		return 1;
	}
	bindtextdomain("casevault", dir);
	test_translated();
	test_cut_whole();
	return harness_done("test_errors");
}
