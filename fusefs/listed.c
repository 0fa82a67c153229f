/*
 * listed — the listings of the mount, and the cases this session has
 * recorded a `list` event of.
 *
 * A case's label and its folders' entries are personal data: seeing them
 * is a `list` event. On the mount it is recorded once per case per
 * session, at the first listing that shows the case's label (the top) or
 * any of its folders: file managers list folders again and again, and an
 * event per readdir would bury the log under noise. Later listings of the
 * case record nothing (VAULT_LIST_NO_EVENT).
 *
 * The set is small (a session sees few cases) and has its own lock, held
 * while a first listing records its event: FUSE runs the operations on
 * several threads, and a second listing of the case must not show its
 * entries before the event of the first has committed. The lock is taken
 * before the open-file table's (an entry's attributes ask the table),
 * never after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfs_int.h"

void vfs_listed__init(vfs_listed *l)
{
	memset(l, 0, sizeof *l);
	pthread_mutex_init(&l->lock, NULL);
}

void vfs_listed__dispose(vfs_listed *l)
{
	free(l->codes);
	pthread_mutex_destroy(&l->lock);
	memset(l, 0, sizeof *l);
}

/* Under the lock: was case `code` listed in this session? */
static int seen(const vfs_listed *l, const char *code)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->codes[i], code))
			return 1;
	return 0;
}

/* Append `code` to the array `*codes` (`*n` of `*cap` used). -ENOMEM. */
static int codes_add(char (**codes)[VAULT_CODE_SIZE], size_t *n, size_t *cap, const char *code)
{
	if (*n == *cap) {
		size_t more = *cap ? 2 * *cap : 16;
		char (*grown)[VAULT_CODE_SIZE] = realloc(*codes, more * sizeof *grown);

		if (grown == NULL)
			return -ENOMEM;
		*codes = grown;
		*cap = more;
	}
	memcpy((*codes)[(*n)++], code, VAULT_CODE_SIZE);
	return 0;
}

/* Under the lock: case `code` is listed now. -ENOMEM. */
static int mark(vfs_listed *l, const char *code)
{
	return codes_add(&l->codes, &l->n, &l->cap, code);
}

int vfs_listed__list(vfs *fs, const char *vpath,
	int (*cb)(const vault_stat_info *, void *), void *payload)
{
	vfs_listed *l = &fs->listed;
	vault_list_options o = VAULT_LIST_OPTIONS_INIT;
	char code[VAULT_CODE_SIZE];
	size_t clen = strcspn(vpath, "/");
	int error = 0;

	if (clen >= sizeof code)
		return -ENOENT;
	memcpy(code, vpath, clen);
	code[clen] = '\0';
	o.purpose = fs->o->purpose;
	pthread_mutex_lock(&l->lock);
	if (seen(l, code)) {
		pthread_mutex_unlock(&l->lock);
		o.flags = VAULT_LIST_NO_EVENT;
		return vault_list(fs->v, vpath, &o, cb, payload) < 0 ? vfs_paths__errno("readdir") : 0;
	}
	if (vault_list(fs->v, vpath, &o, cb, payload) < 0)
		error = vfs_paths__errno("readdir");
	else
		error = mark(l, code);
	pthread_mutex_unlock(&l->lock);
	return error;
}

/* What the listing of the top passes through: the cases whose labels it
 * shows for the first time in this session. */
typedef struct {
	vfs_listed *l;
	int (*cb)(const vault_case_info *, void *);
	void *payload;
	char (*fresh)[VAULT_CODE_SIZE];
	size_t n, cap;
	int error;
} top_ctx;

static int top_cb(const vault_case_info *c, void *payload)
{
	top_ctx *t = payload;

	if (c->label != NULL && !seen(t->l, c->code) &&
	    (t->error = codes_add(&t->fresh, &t->n, &t->cap, c->code)) < 0)
		return 1;
	return t->cb(c, t->payload);
}

static int no_entry(const vault_stat_info *e, void *payload)
{
	(void)e;
	(void)payload;
	return 0;
}

int vfs_listed__cases(vfs *fs, int (*cb)(const vault_case_info *, void *), void *payload)
{
	vault_list_options o = VAULT_LIST_OPTIONS_INIT;
	top_ctx t = { &fs->listed, cb, payload, NULL, 0, 0, 0 };
	int error = 0;

	/* The labels go to the kernel only when this returns: the events of
	 * the cases shown for the first time are committed before that. */
	o.flags = VAULT_LIST_NO_EVENT;
	pthread_mutex_lock(&t.l->lock);
	if (vault_case_foreach(fs->v, &o, top_cb, &t) < 0)
		error = t.error ? t.error : vfs_paths__errno("readdir");
	o.flags = 0;
	o.purpose = fs->o->purpose;
	for (size_t i = 0; i < t.n && error == 0; i++) {
		/* The listing of the case's root records the case's `list`. */
		if (vault_list(fs->v, t.fresh[i], &o, no_entry, NULL) < 0)
			error = vfs_paths__errno("readdir");
		else
			error = mark(t.l, t.fresh[i]);
	}
	pthread_mutex_unlock(&t.l->lock);
	free(t.fresh);
	return error;
}
