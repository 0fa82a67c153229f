/*
 * handles — the open-file table of the mount.
 *
 * A file open on the mount has one handle, shared by all its opens (refs),
 * so that all descriptors of one file see one content, as on a local disk;
 * a version under .history has a handle of its own. The table is the one
 * place that knows what became of an open file:
 *
 *   pending   created on the mount and not yet stored. It enters the vault
 *             with its first version (or empty, when closed unwritten);
 *             until then the table answers for it by its name. Unlinked or
 *             renamed over, it is never stored.
 *   hidden    unlinked, or renamed over, while open: libfuse renames it to
 *             a ".fuse_hidden" name, and its removal from the vault waits
 *             for what libfuse does next (vfs_handles__hide).
 *   writing   a time or mode change by path goes with the version being
 *             written (vfs_handles__writer).
 *
 * FUSE calls in on several threads at once. The table's lock guards the
 * list of handles, their refs, the hidden files, and what a lookup in the
 * table reads of a handle (its node, name, hidden name, and whether it is
 * new or discarded): those are written only under it. A handle's own lock
 * orders what goes through it (its file, content, times). The table's
 * lock may be taken while a handle's is held, never the other way round;
 * nothing in the table's scans touches a handle's file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "vfs_int.h"

struct vfs_handle {
	pthread_rwlock_t lock;           /* reads share it, anything else is alone */
	vault_file *file;                /* guarded by `lock` */
	int wrote;                       /* written or truncated through the mount (`lock`) */
	int history;                     /* a version under .history: read-only (set at open) */
	int writable;                    /* set at open */
	/* Guarded by the table's lock: */
	int refs;                        /* opens using it */
	char node[17];
	int is_new;                      /* created here, not yet stored */
	int discard;                     /* unlinked or replaced: it writes nothing */
	char hidden[VPATH_MAX];          /* the name libfuse gave it when it was
	                                    unlinked while open, or "" */
	char vpath[VPATH_MAX];           /* where it was opened */
	struct vfs_handle *next;         /* in the table */
};

/*
 * A file hidden while open (see vfs_handles__hide), whose removal from the
 * vault waits for what libfuse does next on the same thread: a rename over
 * its name (the file is replaced, and keeps its history) or nothing (it was
 * unlinked; the next operation on the mount removes it).
 */
struct vfs_hiding {
	char node[17];
	char vpath[VPATH_MAX];           /* the name it had */
	pthread_t thread;                /* the thread that hid it */
	struct vfs_hiding *next;
};

void vfs_handles__init(vfs_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->settling, NULL);
	t->open = NULL;
	t->hiding = NULL;
}

void vfs_handles__dispose(vfs_table *t)
{
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->settling);
}

/* The one test of a pending file: created here, not stored, still to be
 * (under the table's lock). */
static int pending(const vfs_handle *h)
{
	return !h->discard && h->is_new;
}

/* The handle's file entered the vault as `node` (its lock held). */
static void stored(vfs *fs, vfs_handle *h)
{
	pthread_mutex_lock(&fs->table.lock);
	memcpy(h->node, vault_file_node(h->file), sizeof h->node);
	h->is_new = vault_file_is_new(h->file);
	pthread_mutex_unlock(&fs->table.lock);
}

/* Set a flag that the table's lookups read. */
static void mark(vfs *fs, int *flag, int value)
{
	pthread_mutex_lock(&fs->table.lock);
	*flag = value;
	pthread_mutex_unlock(&fs->table.lock);
}

/* Is `vpath` below the folder `dir` (n its length)? */
static int below(const char *vpath, const char *dir, size_t n)
{
	return !strncmp(vpath, dir, n) && vpath[n] == '/';
}

/* What a lookup in the table asks for, by a node id or a name. */
typedef enum {
	SHARED,          /* the node's handle that opens share */
	WRITER,          /* the node's handle that can write */
	PENDING,         /* the pending file of that name */
	PENDING_BELOW,   /* a pending file below the folder of that name */
	HIDDEN,          /* the file hidden under that name */
} lookup;

static int matches(const vfs_handle *h, lookup what, const char *key, size_t n)
{
	switch (what) {
	case SHARED:
		return !h->history && !h->discard && key[0] && !strcmp(h->node, key);
	case WRITER:
		return h->writable && !strcmp(h->node, key);
	case PENDING:
		return pending(h) && !strcmp(h->vpath, key);
	case PENDING_BELOW:
		return pending(h) && below(h->vpath, key, n);
	case HIDDEN:
		return h->hidden[0] && !strcmp(h->hidden, key);
	}
	return 0;
}

/*
 * The first handle in the table that matches. With `ref`, a reference is
 * taken (vfs_handles__put it): a close on another thread may drop the last
 * other one meanwhile.
 */
static vfs_handle *find(vfs *fs, lookup what, const char *key, int ref)
{
	vfs_table *t = &fs->table;
	size_t n = strlen(key);
	vfs_handle *found = NULL;

	pthread_mutex_lock(&t->lock);
	for (vfs_handle *h = t->open; h && !found; h = h->next)
		if (matches(h, what, key, n))
			found = h;
	if (found && ref)
		found->refs++;
	pthread_mutex_unlock(&t->lock);
	return found;
}

/* ---- opens -------------------------------------------------------------- */

int vfs_handles__open(vfs *fs, vfs_handle **out, const char *vpath,
	const vault_file_options *o, int wrote)
{
	vfs_table *t = &fs->table;
	vfs_handle *h;
	int error;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return -ENOMEM;
	pthread_rwlock_init(&h->lock, NULL);
	h->history = o->doc_version != 0;
	h->writable = (o->flags & VAULT_FILE_WRITE) != 0;
	h->wrote = wrote;
	snprintf(h->vpath, sizeof h->vpath, "%s", vpath);
	if (vault_file_open(&h->file, fs->v, vpath, o) < 0) {
		/* An open that creates, empties or only writes is a write. */
		error = vfs_paths__open_errno(!(o->flags & VAULT_FILE_READ) ||
			(o->flags & (VAULT_FILE_CREATE | VAULT_FILE_TRUNC)));
		pthread_rwlock_destroy(&h->lock);
		free(h);
		return error;
	}
	memcpy(h->node, vault_file_node(h->file), sizeof h->node);
	h->is_new = vault_file_is_new(h->file);
	pthread_mutex_lock(&t->lock);
	h->refs = 1;
	h->next = t->open;
	t->open = h;
	pthread_mutex_unlock(&t->lock);
	*out = h;
	return 0;
}

vfs_handle *vfs_handles__get(vfs *fs, const char *node, const char *vpath)
{
	return node ? find(fs, SHARED, node, 1) : find(fs, PENDING, vpath, 1);
}

/* An open that reads is still a read event of its own; O_TRUNC empties the
 * shared content. */
int vfs_handles__join(vfs *fs, vfs_handle *h, int flags)
{
	int acc = flags & O_ACCMODE, error = 0;

	if (acc != O_RDONLY && !h->writable)
		return -EACCES;
	if (acc != O_WRONLY) {
		/* This open reads: its own read event. */
		pthread_rwlock_wrlock(&h->lock);
		error = vault_file_allow_read(h->file, fs->o->purpose, NULL);
		pthread_rwlock_unlock(&h->lock);
		if (error < 0)
			return vfs_paths__open_errno(acc != O_RDONLY);
	}
	if ((flags & O_TRUNC) && acc != O_RDONLY) {
		pthread_rwlock_wrlock(&h->lock);
		error = vault_file_truncate(h->file, 0);
		if (error == 0)
			h->wrote = 1;
		pthread_rwlock_unlock(&h->lock);
		if (error < 0)
			return vfs_paths__errno("open");
	}
	return 0;
}

void vfs_handles__put(vfs *fs, vfs_handle *h)
{
	vfs_table *t = &fs->table;
	int last;

	pthread_mutex_lock(&t->lock);
	if ((last = --h->refs == 0))
		for (vfs_handle **pp = &t->open; *pp; pp = &(*pp)->next)
			if (*pp == h) {
				*pp = h->next;
				break;
			}
	pthread_mutex_unlock(&t->lock);
	if (!last)
		return;
	vault_file_close(h->file);
	pthread_rwlock_destroy(&h->lock);
	free(h);
}

vfs_handle *vfs_handles__writer(vfs *fs, const char *vpath)
{
	vault_stat_info si;

	if (vault_stat(&si, fs->v, vpath) < 0)
		return find(fs, PENDING, vpath, 1);
	return si.is_dir ? NULL : find(fs, WRITER, si.node, 1);
}

/* ---- through a handle --------------------------------------------------- */

void vfs_handles__stat(vfs *fs, struct stat *st, vfs_handle *h)
{
	vfs_times t = { .folders = 0 };

	pthread_rwlock_rdlock(&h->lock);
	vault_file_times(h->file, &t.m, &t.c, &t.a);
	vfs_attrs__fill(fs, st, 0, h->writable, vault_file_mode(h->file),
		vault_file_size(h->file), &t);
	pthread_rwlock_unlock(&h->lock);
}

void vfs_handles__dirty_attrs(vfs *fs, const char *node, uint64_t *size, vfs_times *times,
	uint32_t *mode)
{
	vfs_handle *h = find(fs, WRITER, node, 1);

	if (!h)
		return;
	pthread_rwlock_rdlock(&h->lock);
	if (vault_file_dirty(h->file)) {
		*size = vault_file_size(h->file);
		vault_file_times(h->file, &times->m, &times->c, &times->a);
		*mode = vault_file_mode(h->file);
	}
	pthread_rwlock_unlock(&h->lock);
	vfs_handles__put(fs, h);
}

/* Reads of one file run on several threads at once. */
int vfs_handles__read(vfs_handle *h, char *buf, size_t size, off_t off)
{
	size_t n;
	int error;

	pthread_rwlock_rdlock(&h->lock);
	error = vault_file_read(&n, h->file, buf, size, (uint64_t)off);
	pthread_rwlock_unlock(&h->lock);
	return error < 0 ? vfs_paths__errno("read") : (int)n;
}

int vfs_handles__write(vfs_handle *h, const char *buf, size_t size, off_t off)
{
	int error;

	pthread_rwlock_wrlock(&h->lock);
	error = vault_file_write(h->file, buf, size, (uint64_t)off);
	if (error == 0)
		h->wrote = 1;
	pthread_rwlock_unlock(&h->lock);
	return error < 0 ? vfs_paths__errno("write") : (int)size;
}

/* A change through a handle is alone on it; a version under .history
 * does not change. */
static int change_begin(vfs_handle *h)
{
	if (h->history)
		return -EROFS;
	pthread_rwlock_wrlock(&h->lock);
	return 0;
}

static int change_end(vfs_handle *h, int error, const char *op)
{
	pthread_rwlock_unlock(&h->lock);
	return error < 0 ? vfs_paths__errno(op) : 0;
}

int vfs_handles__truncate(vfs_handle *h, uint64_t size)
{
	int error;

	if ((error = change_begin(h)) < 0)
		return error;
	if ((error = vault_file_truncate(h->file, size)) == 0)
		h->wrote = 1;
	return change_end(h, error, "truncate");
}

int vfs_handles__set_mode(vfs_handle *h, uint32_t mode)
{
	int error;

	if ((error = change_begin(h)) < 0)
		return error;
	return change_end(h, vault_file_set_mode(h->file, mode), "chmod");
}

int vfs_handles__set_times(vfs_handle *h, const vault_time *a, const vault_time *m)
{
	int error;

	if ((error = change_begin(h)) < 0)
		return error;
	return change_end(h, vault_file_set_times(h->file, a, m), "utimens");
}

int vfs_handles__commit(vfs *fs, vfs_handle *h)
{
	int error = 0, discard, is_new;

	pthread_rwlock_wrlock(&h->lock);
	pthread_mutex_lock(&fs->table.lock);
	discard = h->discard;
	is_new = h->is_new;
	pthread_mutex_unlock(&fs->table.lock);
	if (!discard) {
		/* A new file closed before anything was written to it (a shell's
		 * `> f` closes its first descriptor before writing through the
		 * copy) enters the vault empty: a `create` event, no version. */
		if (is_new && !h->wrote)
			error = vault_file_create(h->file);
		else
			error = vault_file_commit(NULL, h->file);
		if (error == 0)
			stored(fs, h);
	}
	pthread_rwlock_unlock(&h->lock);
	return error < 0 ? vfs_paths__errno("commit") : 0;
}

/*
 * A file whose changes only the daemon holds: pending, or written and not
 * yet committed. The handle's lock is only tried (the table's lock is
 * held): a handle busy with a change counts as one.
 */
static int unsaved(const vfs_handle *h)
{
	vfs_handle *w = (vfs_handle *)h;
	int dirty;

	if (!h->writable || h->discard)
		return 0;
	if (h->is_new)
		return 1;
	if (pthread_rwlock_tryrdlock(&w->lock) != 0)
		return 1;
	dirty = vault_file_dirty(h->file);
	pthread_rwlock_unlock(&w->lock);
	return dirty;
}

int vfs_handles__unsaved(vfs *fs)
{
	vfs_handle *h;
	int n = 0;

	pthread_mutex_lock(&fs->table.lock);
	for (h = fs->table.open; h; h = h->next)
		n += unsaved(h);
	pthread_mutex_unlock(&fs->table.lock);
	return n;
}

/* ---- pending files ------------------------------------------------------ */

/* A pending file enters the vault now (its first version). */
static int store(vfs *fs, vfs_handle *h)
{
	int error;

	pthread_rwlock_wrlock(&h->lock);
	error = vault_file_commit(NULL, h->file);
	if (error == 0)
		stored(fs, h);
	pthread_rwlock_unlock(&h->lock);
	return error < 0 ? vfs_paths__errno("create") : 0;
}

int vfs_handles__pending_under(vfs *fs, const char *dir)
{
	return find(fs, PENDING_BELOW, dir, 0) != NULL;
}

void vfs_handles__list_pending(vfs *fs, const char *dir, vfs_name_cb each, void *payload)
{
	vfs_table *t = &fs->table;
	size_t n = strlen(dir);

	pthread_mutex_lock(&t->lock);
	for (vfs_handle *h = t->open; h; h = h->next)
		if (pending(h) && below(h->vpath, dir, n) && !strchr(h->vpath + n + 1, '/') &&
		    each(h->vpath + n + 1, payload))
			break;
	pthread_mutex_unlock(&t->lock);
}

int vfs_handles__store(vfs *fs, const char *vpath)
{
	vfs_handle *h = find(fs, PENDING, vpath, 1);
	int error;

	if (!h)
		return 0;
	error = store(fs, h);
	vfs_handles__put(fs, h);
	return error;
}

int vfs_handles__store_under(vfs *fs, const char *dir)
{
	vfs_handle *h;
	int error;

	while ((h = find(fs, PENDING_BELOW, dir, 1)) != NULL) {
		error = store(fs, h);
		vfs_handles__put(fs, h);
		if (error < 0)
			return error;
	}
	return 0;
}

int vfs_handles__replace_pending(vfs *fs, const char *vpath, int noreplace)
{
	vfs_handle *h = find(fs, PENDING, vpath, 1);

	if (!h)
		return 0;
	if (!noreplace)
		mark(fs, &h->discard, 1);    /* replaced before it ever entered the vault */
	vfs_handles__put(fs, h);
	return noreplace ? -EEXIST : 0;
}

/* ---- names the vault does not have -------------------------------------- */

int vfs_handles__stat_name(vfs *fs, struct stat *st, const char *vpath)
{
	vfs_handle *h;

	/* A reference held: the last release may come meanwhile. */
	if ((h = find(fs, PENDING, vpath, 1)) == NULL && (h = find(fs, HIDDEN, vpath, 1)) == NULL)
		return -ENOENT;
	vfs_handles__stat(fs, st, h);
	vfs_handles__put(fs, h);
	return 0;
}

int vfs_handles__unlink(vfs *fs, const char *vpath)
{
	vfs_handle *h;

	if ((h = find(fs, HIDDEN, vpath, 1)) != NULL) {
		/* libfuse's last release of an unlinked file. */
		pthread_mutex_lock(&fs->table.lock);
		h->hidden[0] = '\0';
		pthread_mutex_unlock(&fs->table.lock);
	} else if ((h = find(fs, PENDING, vpath, 1)) != NULL) {
		/* Never in the vault: it leaves no trace; its handle writes nothing. */
		mark(fs, &h->discard, 1);
	} else {
		return -ENOENT;
	}
	vfs_handles__put(fs, h);
	return 0;
}

/* ---- files hidden while open -------------------------------------------- */

/*
 * A file unlinked, or replaced by a rename, while it is open: libfuse first
 * renames it to a hidden name (and removes that at its last release), and
 * the open handles answer for that name meanwhile. An unlink ends there; a
 * rename over the file comes right after, on the same thread, while
 * libfuse holds both names. So the file stays in the vault for now: the
 * rename then replaces it (a new version, its history kept), and for an
 * unlink the next operation on the mount removes it (a `delete` event),
 * before it looks at anything (vfs_handles__settle).
 */
int vfs_handles__hide(vfs *fs, const char *vpath, const char *hidden_name)
{
	vfs_table *t = &fs->table;
	vault_stat_info si;
	vfs_hiding *e = NULL;
	int in_vault = vault_stat(&si, fs->v, vpath) == 0, hidden = 0;

	if (in_vault && si.is_dir)
		return -EISDIR;
	if (in_vault) {
		if ((e = calloc(1, sizeof *e)) == NULL)
			return -ENOMEM;
		memcpy(e->node, si.node, sizeof e->node);
		snprintf(e->vpath, sizeof e->vpath, "%s", vpath);
		e->thread = pthread_self();
	}
	pthread_mutex_lock(&t->lock);
	for (vfs_handle *h = t->open; h; h = h->next)
		if (in_vault ? !h->discard && !strcmp(h->node, si.node) :
		    pending(h) && !strcmp(h->vpath, vpath)) {
			/* Not yet in the vault: it never will be. */
			h->discard = !in_vault;
			snprintf(h->hidden, sizeof h->hidden, "%s", hidden_name);
			hidden = 1;
		}
	if (e) {
		e->next = t->hiding;
		t->hiding = e;
	}
	pthread_mutex_unlock(&t->lock);
	return in_vault || hidden ? 0 : -ENOENT;
}

void vfs_handles__take_hidden(vfs *fs, const char *vpath)
{
	vfs_table *t = &fs->table;
	vfs_hiding **pp, *e = NULL;

	pthread_mutex_lock(&t->settling);
	pthread_mutex_lock(&t->lock);
	for (pp = &t->hiding; *pp; pp = &(*pp)->next)
		if (pthread_equal((*pp)->thread, pthread_self()) && !strcmp((*pp)->vpath, vpath)) {
			e = *pp;
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_unlock(&t->settling);
	free(e);
}

void vfs_handles__settle(vfs *fs)
{
	vfs_table *t = &fs->table;
	vault_stat_info si;
	vfs_hiding *e;

	pthread_mutex_lock(&t->lock);
	e = t->hiding;
	pthread_mutex_unlock(&t->lock);
	if (e == NULL)
		return;          /* the common case: nothing hidden */
	/*
	 * Another thread's entry may be one its rename is about to take (the
	 * hide and the rename over the file are two calls): removing it while
	 * that rename replaces the file would remove the replacement too. So
	 * an entry is taken and removed under `settling`, which
	 * vfs_handles__take_hidden waits for.
	 */
	pthread_mutex_lock(&t->settling);
	for (;;) {
		pthread_mutex_lock(&t->lock);
		if ((e = t->hiding) != NULL)
			t->hiding = e->next;
		pthread_mutex_unlock(&t->lock);
		if (e == NULL)
			break;
		/* Only if it is still there, as it was (the CLI may have been first). */
		if (vault_stat(&si, fs->v, e->vpath) == 0 && !strcmp(si.node, e->node) &&
		    vault_remove(fs->v, e->vpath) < 0)
			syslog(LOG_WARNING, "casevault: remove: %s", vault_error_last()->message);
		pthread_mutex_lock(&t->lock);
		for (vfs_handle *h = t->open; h; h = h->next)
			if (!strcmp(h->node, e->node) && h->hidden[0])
				h->discard = 1;
		pthread_mutex_unlock(&t->lock);
		free(e);
	}
	pthread_mutex_unlock(&t->settling);
}

/* ---- renames ------------------------------------------------------------ */

/*
 * After a rename, open descriptors follow the file, as on a local disk: a
 * moved file keeps its node; a file renamed over another gives its content
 * to the target's node, so its handle moves there. A target that was open
 * is gone for its descriptors (reads still see what they had).
 */
int vfs_handles__follow(vfs *fs, vfs_handle *src, vfs_handle *dst, const char *to, int replaced)
{
	vfs_table *t = &fs->table;
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE, 0, NULL, NULL, 0, 0 };
	vault_file *moved = NULL, *old = NULL;
	int error = 0;

	if (dst) {
		pthread_mutex_lock(&t->lock);
		dst->discard = 1;
		dst->node[0] = '\0';
		pthread_mutex_unlock(&t->lock);
	}
	if (!src)
		return 0;
	pthread_rwlock_wrlock(&src->lock);
	if (replaced && src->writable) {
		/* Descriptors that could read keep reading: the target's new
		 * version is a read event of theirs. */
		if (vault_file_can_read(src->file)) {
			o.flags |= VAULT_FILE_READ;
			o.purpose = fs->o->purpose;
		}
		if (vault_file_open(&moved, fs->v, to, &o) < 0)
			error = vfs_paths__errno("rename");
	}
	pthread_mutex_lock(&t->lock);
	snprintf(src->vpath, sizeof src->vpath, "%s", to);
	if (moved) {
		old = src->file;
		src->file = moved;
		memcpy(src->node, vault_file_node(moved), sizeof src->node);
		src->is_new = 0;
	} else if (replaced && !src->writable) {
		src->discard = 1;
		src->node[0] = '\0';
	}
	pthread_mutex_unlock(&t->lock);
	pthread_rwlock_unlock(&src->lock);
	vault_file_close(old);
	return error;
}

/* A folder moved: the names the open handles answer for move with it. */
static void move_prefix(char *path, size_t size, const char *from, const char *to)
{
	size_t n = strlen(from);
	char moved[VPATH_MAX];

	if (!below(path, from, n))
		return;
	if ((size_t)snprintf(moved, sizeof moved, "%s%s", to, path + n) < sizeof moved)
		snprintf(path, size, "%s", moved);
}

void vfs_handles__follow_folder(vfs *fs, const char *from, const char *to)
{
	vfs_table *t = &fs->table;

	pthread_mutex_lock(&t->lock);
	for (vfs_handle *h = t->open; h; h = h->next) {
		move_prefix(h->vpath, sizeof h->vpath, from, to);
		if (h->hidden[0])
			move_prefix(h->hidden, sizeof h->hidden, from, to);
	}
	pthread_mutex_unlock(&t->lock);
}
