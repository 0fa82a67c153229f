/*
 * casevault CLI — what the batch commands share (put -r, get -r, rm -r,
 * mkdir -p, mv into a folder): the tree under a folder of the vault, a
 * chain of folders made as needed, a question on the terminal.
 *
 * One command, one unlock: each file or folder is still its own library
 * call and its own signed event (its history stays its own), committed
 * before the next starts, so a failure half-way leaves every earlier step
 * complete and nothing half-written.
 */
#define _GNU_SOURCE	/* YESSTR */
#include <langinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

void cli_tree_dispose(cli_tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->items[i].path);
	free(t->items);
	t->items = NULL;
	t->n = t->cap = 0;
}

/* Move `it` to the end of `t`. */
static int tree_push(cli_tree *t, cli_tree_item *it)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		cli_tree_item *items = realloc(t->items, cap * sizeof *items);

		if (items == NULL)
			return -1;
		t->items = items;
		t->cap = cap;
	}
	t->items[t->n++] = *it;
	it->path = NULL;
	return 0;
}

char *cli_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s%s%s", dir, *dir ? "/" : "", name);
	return s;
}

int cli_tree_add(cli_tree *t, const char *dir, const char *name, int is_dir)
{
	cli_tree_item it;

	if ((it.path = cli_join(dir, name)) == NULL)
		return -1;
	it.is_dir = is_dir;
	it.dev = 0;
	it.ino = 0;
	if (tree_push(t, &it) < 0) {
		free(it.path);
		return -1;
	}
	return 0;
}

typedef struct {
	cli_tree *t;
	const char *dir;
	int oom;
} tree_walk;

static int add_entry(const vault_stat_info *e, void *payload)
{
	tree_walk *w = payload;

	if (cli_tree_add(w->t, w->dir, e->name, e->is_dir) < 0) {
		w->oom = 1;
		return 1;
	}
	return 0;
}

int cli_tree_list(cli_tree *t, vault *v, const char *dir, const vault_list_options *opts)
{
	cli_tree here = { NULL, 0, 0 };
	tree_walk w = { &here, dir, 0 };
	size_t i;
	int rc = 0;

	cli_error_on(CLI_ON_PATH, dir);
	if (vault_list(v, dir, opts, add_entry, &w) < 0 && !w.oom)
		rc = cli_fail_vault("cannot list '%s'", dir);
	/* Depth first: each folder, then what it holds. */
	for (i = 0; rc == 0 && !w.oom && i < here.n; i++) {
		const char *path = here.items[i].path;
		int is_dir = here.items[i].is_dir;

		if (tree_push(t, &here.items[i]) < 0)
			w.oom = 1;
		else if (is_dir)
			rc = cli_tree_list(t, v, path, opts);
	}
	if (rc == 0 && w.oom)
		rc = cli_error(CLI_EXIT_ERROR, "free some memory and try again",
			"cannot list '%s': out of memory", dir);
	cli_tree_dispose(&here);
	return rc;
}

size_t cli_tree_count(const cli_tree *t, int dirs)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		n += (t->items[i].is_dir != 0) == (dirs != 0);
	return n;
}

/* One folder of a chain: made unless it is there. */
static int mkdir_one(vault *v, const char *path, size_t *made)
{
	vault_stat_info st;

	cli_error_on(CLI_ON_PATH, path);
	if (vault_stat(&st, v, path) == 0) {
		if (st.is_dir)
			return 0;
		return cli_error(CLI_EXIT_ERROR, "choose another name, or move the file away",
			"cannot create folder '%s': a file has that name", path);
	}
	if (vault_error_last()->code != VAULT_ENOTFOUND || vault_mkdir(v, path) < 0)
		return cli_fail_vault("cannot create folder '%s'", path);
	if (made != NULL)
		(*made)++;
	return 0;
}

int cli_mkdir_p(vault *v, char *path, size_t *made)
{
	char *slash = strchr(path, '/');
	int rc = 0;

	/* "CODE" is the case itself: nothing to make. */
	while (rc == 0 && slash != NULL) {
		slash = strchr(slash + 1, '/');
		if (slash != NULL)
			*slash = '\0';
		rc = mkdir_one(v, path, made);
		if (slash != NULL)
			*slash = '/';
	}
	return rc;
}

/*
 * y, Y and yes in every language (what the prompt shows, and what scripts
 * and the English help say), and the locale's own: its word for yes
 * (ແມ່ນ, ใช่) or its one letter (ມ, ช), which glibc's LC_MESSAGES knows.
 * Anything else is a no.
 */
static int said_yes(char *answer)
{
	const char *word = nl_langinfo(YESSTR);

	answer[strcspn(answer, "\n")] = '\0';
	if (strcmp(answer, "y") == 0 || strcmp(answer, "Y") == 0 || strcmp(answer, "yes") == 0)
		return 1;
	if (*word != '\0' && strcmp(answer, word) == 0)
		return 1;
	return (unsigned char) answer[0] >= 0x80 &&
		cli_utf8_len((const unsigned char *) answer) == strlen(answer) &&
		rpmatch(answer) == 1;
}

int cli_confirm(int yes, cli_confirm_t when, const char *fmt, ...)
{
	char question[512], answer[16];
	va_list ap;

	if (yes)
		return 0;
	va_start(ap, fmt);
	vsnprintf(question, sizeof question, _(fmt), ap);
	va_end(ap);
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		if (when == CLI_CONFIRM_AT_TTY)
			return 0;
		return cli_error(CLI_EXIT_USAGE, "pass --yes to do it without a question (scripts)",
			"will not %s without a confirmation: no terminal to ask on", question);
	}
	fprintf(stderr, _("%s? [y/N] "), question);
	fflush(stderr);
	if (fgets(answer, sizeof answer, stdin) == NULL || !said_yes(answer))
		return cli_error(CLI_EXIT_ERROR, "answer y to go on, or pass --yes",
			"did not %s: not confirmed", question);
	return 0;
}
