/*
 * vfs — the FUSE operations of the mount, and their table.
 *
 * Every operation translates a path into the vault's "CODE/PATH" (paths.c),
 * calls the public API, and maps the result to an errno. Open files are
 * vault_file handles: a read-opening is a read event (committed before any
 * data), and a written file becomes one new version when it is flushed
 * (close), fsynced or released. A file created here enters the vault with
 * its first version: until then it is "pending", and the mount answers for
 * it from its handle.
 */
#define _GNU_SOURCE       /* RENAME_NOREPLACE, RENAME_EXCHANGE */

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "vfs_int.h"

#define XATTR_VERSION "user.casevault.version"
#define XATTR_NODE    "user.casevault.node"

/*
 * An open file, shared by every open of it on the mount (refs), so that all
 * descriptors of one file see one content, as on a local disk. A .history
 * version is never shared. FUSE may call in on several threads at once.
 */
typedef struct vfs_handle {
	pthread_rwlock_t lock;           /* reads share it, anything else is alone */
	int refs;                        /* opens using it (guarded by vfs.lock) */
	vault_file *file;
	char node[17];
	int history;                     /* a version under .history: read-only */
	int writable;
	int discard;                     /* unlinked before its first version */
	int wrote;                       /* written or truncated through the mount */
	char hidden[VPATH_MAX];          /* the name libfuse gave it when it was
	                                    unlinked while open, or "" */
	char vpath[VPATH_MAX];           /* where it was opened */
	struct vfs_handle *next;         /* in vfs.open */
} vfs_handle;

/*
 * A file hidden while open (see hide()), whose removal from the vault waits
 * for what libfuse does next on the same thread: a rename over its name
 * (the file is replaced, and keeps its history) or nothing (it was
 * unlinked; the next operation on the mount removes it).
 */
typedef struct vfs_hiding {
	char node[17];
	char vpath[VPATH_MAX];           /* the name it had */
	pthread_t thread;                /* the thread that hid it */
	struct vfs_hiding *next;
} vfs_hiding;

static vfs *vfs_get(void)
{
	return fuse_get_context()->private_data;
}

static void settle(vfs *fs);     /* files hidden by an unlink leave the vault */

/*
 * A listing in progress. Entries carry offsets (their position + 1), so a
 * listing larger than the kernel's buffer goes on where it stopped, and
 * so that libfuse passes a readdirplus entry's node and attributes on:
 * entries filled at offset 0 reach the kernel with no node, and it then
 * looks every name up again (one more round trip per file for `ls -l`).
 */
typedef struct {
	void *buf;
	fuse_fill_dir_t fill;
	int plus;                        /* readdirplus: attributes with the names */
	off_t skip;                      /* entries an earlier call sent */
	off_t next;                      /* the last entry's offset */
	int full;                        /* the kernel's buffer is full */
} fill_ctx;

/* The next entry; 1 once the buffer is full (the listing stops there). */
static int put(fill_ctx *fc, const char *name, const struct stat *st)
{
	if (fc->full)
		return 1;
	if (++fc->next <= fc->skip)
		return 0;
	if (fc->fill(fc->buf, name, st, fc->next, st && fc->plus ? FUSE_FILL_DIR_PLUS : 0))
		fc->full = 1;
	return fc->full;
}

/* A file's versions, listed as a folder under .history. */
typedef struct {
	const char *vpath;               /* the file */
	fill_ctx *fc;
} version_list;

static int version_cb(const vault_version_info *info, void *payload)
{
	version_list *w = payload;
	char name[512];

	vfs_paths__version_name(name, sizeof name, w->vpath, info);
	return put(w->fc, name, NULL);
}

/* ---- attributes --------------------------------------------------------- */

static vfs_handle *handle_of(struct fuse_file_info *fi);   /* below */

/* A file created on the mount and not yet in the vault, by its vpath. */
static vfs_handle *pending_find(const char *vpath)
{
	vfs *fs = vfs_get();
	vfs_handle *found = NULL;

	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h; h = h->next)
		if (!h->discard && vault_file_is_new(h->file) && !strcmp(h->vpath, vpath)) {
			found = h;
			break;
		}
	pthread_mutex_unlock(&fs->lock);
	return found;
}

/* Do pending files live in this folder? (rmdir must not remove it) */
static int pending_in(const char *dir)
{
	vfs *fs = vfs_get();
	size_t n = strlen(dir);
	int found = 0;

	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h && !found; h = h->next)
		found = !h->discard && vault_file_is_new(h->file) &&
			!strncmp(h->vpath, dir, n) && h->vpath[n] == '/';
	pthread_mutex_unlock(&fs->lock);
	return found;
}

/* A pending file enters the vault now (its first version). */
static int materialize(vfs_handle *h)
{
	int error;

	pthread_rwlock_wrlock(&h->lock);
	error = vault_file_commit(NULL, h->file);
	if (error == 0)
		memcpy(h->node, vault_file_node(h->file), sizeof h->node);
	pthread_rwlock_unlock(&h->lock);
	return error < 0 ? vfs_paths__errno("create") : 0;
}

/* Attributes straight from an open handle. */
static void handle_stat(struct stat *st, vfs_handle *h)
{
	vfs_times t = { .folders = 0 };

	pthread_rwlock_rdlock(&h->lock);
	vault_file_times(h->file, &t.m, &t.c, &t.a);
	vfs_attrs__fill(vfs_get(), st, 0, h->writable, vault_file_mode(h->file),
		vault_file_size(h->file), &t);
	pthread_rwlock_unlock(&h->lock);
}

/* A file unlinked while open, by the hidden name libfuse gave it. */
static vfs_handle *hidden_find(const char *vpath)
{
	vfs *fs = vfs_get();
	vfs_handle *found = NULL;

	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h; h = h->next)
		if (h->hidden[0] && !strcmp(h->hidden, vpath)) {
			found = h;
			break;
		}
	pthread_mutex_unlock(&fs->lock);
	return found;
}

/* What an open file with changes not yet committed will record. */
static void open_attrs(const char *node, uint64_t *size, vfs_times *t, uint32_t *mode)
{
	vfs *fs = vfs_get();

	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h; h = h->next)
		if (h->writable && !strcmp(h->node, node) && vault_file_dirty(h->file)) {
			pthread_rwlock_rdlock(&h->lock);
			*size = vault_file_size(h->file);
			vault_file_times(h->file, &t->m, &t->c, &t->a);
			*mode = vault_file_mode(h->file);
			pthread_rwlock_unlock(&h->lock);
			break;
		}
	pthread_mutex_unlock(&fs->lock);
}

/*
 * An open, writable handle on the file at `vpath`. The kernel sends a time
 * or mode change without its file handle (futimens, fchmod), but it belongs
 * with the version being written: tar and cp -p set both before close.
 */
static vfs_handle *open_writer(const char *vpath)
{
	vfs *fs = vfs_get();
	vault_stat_info si;
	vfs_handle *found = NULL;
	int in_vault = vault_stat(&si, fs->v, vpath) == 0;

	if (in_vault && si.is_dir)
		return NULL;
	/* With a reference (handle_put() it): a close on another thread may
	 * drop the last other one meanwhile. */
	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h && !found; h = h->next)
		if (in_vault ? h->writable && !strcmp(h->node, si.node) :
		    !h->discard && vault_file_is_new(h->file) && !strcmp(h->vpath, vpath))
			found = h;
	if (found)
		found->refs++;
	pthread_mutex_unlock(&fs->lock);
	return found;
}

static int vfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();
	vault_stat_info si;
	vault_version_info info;
	vfs_path p;
	vfs_times t;
	uint32_t version;
	uint64_t size;
	int error;

	settle(vfs_get());

	if (path == NULL) {
		/* A node libfuse no longer has a path for: its open handle knows. */
		if (!fi)
			return -ESTALE;
		handle_stat(st, handle_of(fi));
		return 0;
	}
	if ((error = vfs_paths__parse(&p, path)) < 0)
		return error;
	switch (p.type) {
	case P_ROOT:
	case P_HISTROOT:
		vfs_attrs__now(&t);
		vfs_attrs__fill(fs, st, 1, 0, 0500, 0, &t);
		return 0;
	case P_NODE:
		if (vault_stat(&si, fs->v, p.vpath) < 0) {
			vfs_handle *h = NULL;
			if (vault_error_last()->code == VAULT_ENOTFOUND &&
			    (h = pending_find(p.vpath)) == NULL)
				h = hidden_find(p.vpath);
			if (!h)
				return vfs_paths__errno("getattr");
			handle_stat(st, h);
			return 0;
		}
		size = si.size;
		vfs_attrs__times(&t, &si.mtime, &si.ctime, &si.atime, si.folders);
		if (!si.is_dir)
			open_attrs(si.node, &size, &t, &si.mode);
		vfs_attrs__fill(fs, st, si.is_dir, si.writable && !fs->o->read_only, si.mode, size, &t);
		return 0;
	default:
		if ((error = vfs_paths__history(fs, &p, &si, &version, &info)) < 0)
			return error;
		if (version) {
			t.m.sec = info.time;
			t.m.nsec = 0;
			t.c = t.a = t.m;
			t.folders = 0;
			vfs_attrs__fill(fs, st, 0, 0, 0400, info.size, &t);
		} else {
			vfs_attrs__times(&t, &si.mtime, &si.ctime, &si.atime, si.folders);
			vfs_attrs__fill(fs, st, 1, 0, 0500, 0, &t);
		}
		return 0;
	}
}

/* ---- folders ------------------------------------------------------------ */

static int case_cb(const vault_case_info *c, void *payload)
{
	fill_ctx *fc = payload;
	const char *me = vault_user(vfs_get()->v);
	char name[VAULT_CODE_SIZE + 256];
	size_t i;

	/* Admins and auditors see every case in `case list`; a mount shows
	 * only the cases whose content the user can open. */
	for (i = 0; i < c->nmembers && strcmp(c->members[i].user, me); i++)
		;
	if (i == c->nmembers)
		return 0;

	vfs_paths__case_name(name, sizeof name, c->code, c->label);
	return put(fc, name, NULL);
}

static int entry_cb(const vault_entry *e, void *payload)
{
	fill_ctx *fc = payload;
	vfs *fs = vfs_get();
	struct stat st;
	uint64_t size = e->size;
	vfs_times t;
	uint32_t mode = e->mode;

	if (!fc->plus || fc->next + 1 <= fc->skip)
		return put(fc, e->name, NULL);
	/* The attributes too: `ls -l` then needs no lookup per entry. */
	vfs_attrs__times(&t, &e->mtime, &e->ctime, &e->atime, e->folders);
	if (!e->is_dir)
		open_attrs(e->node, &size, &t, &mode);
	vfs_attrs__fill(fs, &st, e->is_dir, e->writable && !fs->o->read_only, mode, size, &t);
	return put(fc, e->name, &st);
}

/* Files created here and not yet in the vault are listed too. */
static void pending_fill(const char *dir, fill_ctx *fc)
{
	vfs *fs = vfs_get();
	size_t n = strlen(dir);

	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h; h = h->next)
		if (!h->discard && vault_file_is_new(h->file) && !strncmp(h->vpath, dir, n) &&
		    h->vpath[n] == '/' && !strchr(h->vpath + n + 1, '/') &&
		    put(fc, h->vpath + n + 1, NULL))
			break;
	pthread_mutex_unlock(&fs->lock);
}

static int vfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	vfs *fs = vfs_get();
	fill_ctx fc = { buf, fill, 0, off, 0, 0 };
	vault_stat_info si;
	vault_version_info info;
	uint32_t version;
	vfs_path p;
	int error;

	settle(vfs_get());

	(void)fi;
	if ((error = vfs_paths__parse(&p, path)) < 0)
		return error;
	if (put(&fc, ".", NULL) || put(&fc, "..", NULL))
		return 0;
	switch (p.type) {
	case P_ROOT:
		if (put(&fc, HISTORY, NULL))
			return 0;
		/* fall through */
	case P_HISTROOT:
		if (vault_case_foreach(fs->v, case_cb, &fc) < 0)
			return vfs_paths__errno("readdir");
		return 0;
	case P_NODE:
		fc.plus = (flags & FUSE_READDIR_PLUS) != 0;
		if (vault_list(fs->v, p.vpath, entry_cb, &fc) < 0)
			return vfs_paths__errno("readdir");
		fc.plus = 0;
		pending_fill(p.vpath, &fc);
		return 0;
	default:
		if ((error = vfs_paths__history(fs, &p, &si, &version, &info)) < 0)
			return error;
		if (version)
			return -ENOTDIR;
		if (si.is_dir) {
			/* Folders as they are; each file is a folder of versions. */
			if (vault_list(fs->v, p.vpath, entry_cb, &fc) < 0)
				return vfs_paths__errno("readdir");
		} else {
			version_list w = { p.vpath, &fc };
			if (vault_history(fs->v, p.vpath, version_cb, &w) < 0)
				return vfs_paths__errno("readdir");
		}
		return 0;
	}
}

static int vfs_mkdir(const char *path, mode_t mode)
{
	vfs *fs = vfs_get();
	vfs_path p;
	int error;

	settle(vfs_get());

	if ((error = vfs_paths__node(vfs_get(), &p, path, 1)) < 0)
		return error;
	if (vault_mkdir(fs->v, p.vpath) < 0)
		return vfs_paths__errno("mkdir");
	/* Folders start as 0700; another mode is a second (touch) event. */
	if ((mode & 07777) != 0700 && vault_chmod(fs->v, p.vpath, mode & 07777) < 0)
		return vfs_paths__errno("mkdir");
	return 0;
}

static int remove_node(const char *path, int want_dir)
{
	vfs *fs = vfs_get();
	vault_stat_info si;
	vfs_path p;
	int error;

	settle(vfs_get());

	if ((error = vfs_paths__node(vfs_get(), &p, path, 1)) < 0)
		return error;
	if (vault_stat(&si, fs->v, p.vpath) < 0) {
		vfs_handle *h = NULL;
		if (!want_dir && vault_error_last()->code == VAULT_ENOTFOUND) {
			if ((h = hidden_find(p.vpath)) != NULL) {
				/* libfuse's last release of an unlinked file. */
				h->hidden[0] = '\0';
				return 0;
			}
			h = pending_find(p.vpath);
		}
		if (!h)
			return vfs_paths__errno("remove");
		/* Never in the vault: it leaves no trace; its handle writes nothing. */
		h->discard = 1;
		return 0;
	}
	if (want_dir && !si.is_dir)
		return -ENOTDIR;
	if (!want_dir && si.is_dir)
		return -EISDIR;
	if (want_dir && pending_in(p.vpath))
		return -ENOTEMPTY;
	return vault_remove(fs->v, p.vpath) < 0 ? vfs_paths__errno("remove") : 0;
}

static int vfs_unlink(const char *path)
{
	return remove_node(path, 0);
}

static int vfs_rmdir(const char *path)
{
	return remove_node(path, 1);
}

/* Pending files under a folder enter the vault (before it moves). */
static int commit(vfs_handle *h, const char *path);
static void handle_put(vfs_handle *h);
static vfs_handle *handle_get(const char *node, const char *vpath);

static int materialize_under(const char *dir)
{
	vfs *fs = vfs_get();
	size_t n = strlen(dir);
	int error;

	for (;;) {
		vfs_handle *found = NULL;
		pthread_mutex_lock(&fs->lock);
		for (vfs_handle *h = fs->open; h && !found; h = h->next)
			if (!h->discard && vault_file_is_new(h->file) &&
			    !strncmp(h->vpath, dir, n) && h->vpath[n] == '/')
				found = h;
		pthread_mutex_unlock(&fs->lock);
		if (!found)
			return 0;
		if ((error = materialize(found)) < 0)
			return error;
	}
}

/*
 * A file unlinked, or replaced by a rename, while it is open: libfuse first
 * renames it to a hidden name (and removes that at its last release), and
 * the open handles answer for that name meanwhile. An unlink ends there; a
 * rename over the file comes right after, on the same thread, while
 * libfuse holds both names. So the file stays in the vault for now: the
 * rename then replaces it (a new version, its history kept), and for an
 * unlink the next operation on the mount removes it (a `delete` event),
 * before it looks at anything (settle()).
 */
static int hide(vfs_path *p, vfs_path *q)
{
	vfs *fs = vfs_get();
	vault_stat_info si;
	vfs_hiding *e = NULL;
	int in_vault = vault_stat(&si, fs->v, p->vpath) == 0, hidden = 0;

	if (in_vault && si.is_dir)
		return -EISDIR;
	if (in_vault) {
		if ((e = calloc(1, sizeof *e)) == NULL)
			return -ENOMEM;
		memcpy(e->node, si.node, sizeof e->node);
		snprintf(e->vpath, sizeof e->vpath, "%s", p->vpath);
		e->thread = pthread_self();
	}
	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h; h = h->next) {
		int same = in_vault ? !strcmp(h->node, si.node) :
			(vault_file_is_new(h->file) && !strcmp(h->vpath, p->vpath));
		if (same && !h->discard) {
			/* Not yet in the vault: it never will be. */
			h->discard = !in_vault;
			snprintf(h->hidden, sizeof h->hidden, "%s", q->vpath);
			hidden = 1;
		}
	}
	if (e) {
		e->next = fs->hiding;
		fs->hiding = e;
	}
	pthread_mutex_unlock(&fs->lock);
	return in_vault || hidden ? 0 : -ENOENT;
}

/* This thread's hidden file of name `vpath`, which a rename now replaces:
 * it stays in the vault. */
static void hiding_take(const char *vpath)
{
	vfs *fs = vfs_get();
	vfs_hiding **pp, *e = NULL;

	pthread_mutex_lock(&fs->settling);
	pthread_mutex_lock(&fs->lock);
	for (pp = &fs->hiding; *pp; pp = &(*pp)->next)
		if (pthread_equal((*pp)->thread, pthread_self()) && !strcmp((*pp)->vpath, vpath)) {
			e = *pp;
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_unlock(&fs->settling);
	free(e);
}

/*
 * Remove the files hidden by an unlink from the vault (`delete` events);
 * their handles write nothing more. Every operation but reads and writes
 * starts here, so none sees such a file.
 */
static void settle(vfs *fs)
{
	vault_stat_info si;
	vfs_hiding *e;

	pthread_mutex_lock(&fs->lock);
	e = fs->hiding;
	pthread_mutex_unlock(&fs->lock);
	if (e == NULL)
		return;          /* the common case: nothing hidden */
	/*
	 * Another thread's entry may be one its rename is about to take (the
	 * hide and the rename over the file are two calls): removing it while
	 * that rename replaces the file would remove the replacement too. So
	 * an entry is taken and removed under `settling`, which hiding_take()
	 * waits for.
	 */
	pthread_mutex_lock(&fs->settling);
	for (;;) {
		pthread_mutex_lock(&fs->lock);
		if ((e = fs->hiding) != NULL)
			fs->hiding = e->next;
		pthread_mutex_unlock(&fs->lock);
		if (e == NULL)
			break;
		/* Only if it is still there, as it was (the CLI may have been first). */
		if (vault_stat(&si, fs->v, e->vpath) == 0 && !strcmp(si.node, e->node) &&
		    vault_remove(fs->v, e->vpath) < 0)
			syslog(LOG_WARNING, "casevault: remove: %s", vault_error_last()->message);
		pthread_mutex_lock(&fs->lock);
		for (vfs_handle *h = fs->open; h; h = h->next)
			if (!strcmp(h->node, e->node) && h->hidden[0])
				h->discard = 1;
		pthread_mutex_unlock(&fs->lock);
		free(e);
	}
	pthread_mutex_unlock(&fs->settling);
}

/*
 * After a rename, open descriptors follow the file, as on a local disk: a
 * moved file keeps its node; a file renamed over another gives its content
 * to the target's node, so its handle moves there. A target that was open
 * is gone for its descriptors (reads still see what they had).
 */
static int follow_rename(vfs_handle *src, vfs_handle *dst, const vfs_path *q, int replaced)
{
	vfs *fs = vfs_get();
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE, 0, NULL, NULL, 0, 0 };
	vault_file *moved = NULL;
	int error = 0;

	if (dst) {
		pthread_rwlock_wrlock(&dst->lock);
		dst->discard = 1;
		dst->node[0] = '\0';
		pthread_rwlock_unlock(&dst->lock);
	}
	if (!src)
		return 0;
	pthread_rwlock_wrlock(&src->lock);
	snprintf(src->vpath, sizeof src->vpath, "%s", q->vpath);
	if (replaced && src->writable) {
		/* Descriptors that could read keep reading: the target's new
		 * version is a read event of theirs. */
		if (vault_file_can_read(src->file)) {
			o.flags |= VAULT_FILE_READ;
			o.purpose = fs->o->purpose;
		}
		if (vault_file_open(&moved, fs->v, q->vpath, &o) < 0) {
			error = vfs_paths__errno("rename");
		} else {
			vault_file_close(src->file);
			src->file = moved;
			memcpy(src->node, vault_file_node(moved), sizeof src->node);
		}
	} else if (replaced) {
		src->discard = 1;
		src->node[0] = '\0';
	}
	pthread_rwlock_unlock(&src->lock);
	return error;
}

/* A folder moved: the names the open handles answer for move with it. */
static void move_prefix(char *path, size_t size, const char *from, const char *to)
{
	size_t n = strlen(from);
	char moved[VPATH_MAX];

	if (strncmp(path, from, n) || path[n] != '/')
		return;
	if ((size_t)snprintf(moved, sizeof moved, "%s%s", to, path + n) < sizeof moved)
		snprintf(path, size, "%s", moved);
}

static void follow_folder(const char *from, const char *to)
{
	vfs *fs = vfs_get();

	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h; h = h->next) {
		move_prefix(h->vpath, sizeof h->vpath, from, to);
		if (h->hidden[0])
			move_prefix(h->hidden, sizeof h->hidden, from, to);
	}
	pthread_mutex_unlock(&fs->lock);
}

static int vfs_rename(const char *from, const char *to, unsigned int flags)
{
	vfs *fs = vfs_get();
	vault_stat_info si, ti;
	vfs_handle *h, *src = NULL, *dst = NULL;
	vfs_path p, q;
	int error, replaced;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if ((error = vfs_paths__node(vfs_get(), &p, from, 1)) < 0 || (error = vfs_paths__node(vfs_get(), &q, to, 1)) < 0)
		return error;
	/* Over a file this thread just hid: a replacement, not a removal. */
	if (!vfs_paths__is_hidden(q.vpath))
		hiding_take(q.vpath);
	settle(vfs_get());
	/* Between cases (the codes differ): tools copy, then remove. */
	if (memcmp(p.vpath, q.vpath, VAULT_CODE_SIZE - 1))
		return -EXDEV;
	if (vfs_paths__is_hidden(q.vpath))
		return hide(&p, &q);
	if ((h = pending_find(p.vpath)) != NULL && (error = materialize(h)) < 0)
		return error;
	if (vault_stat(&si, fs->v, p.vpath) < 0)
		return vfs_paths__errno("rename");
	if (si.is_dir) {
		/* Files created below and not yet in the vault go with it. */
		if ((error = materialize_under(p.vpath)) < 0)
			return error;
		if (pending_in(q.vpath))
			return -ENOTEMPTY;
	}
	if ((h = pending_find(q.vpath)) != NULL) {
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		h->discard = 1;       /* replaced before it ever entered the vault */
	}
	replaced = vault_stat(&ti, fs->v, q.vpath) == 0;
	if (!si.is_dir && (src = handle_get(si.node, p.vpath)) != NULL &&
	    (error = commit(src, p.vpath)) < 0)
		goto done;            /* what was written so far goes with it */
	if (replaced && !ti.is_dir)
		dst = handle_get(ti.node, q.vpath);
	if (vault_rename(fs->v, p.vpath, q.vpath,
			(flags & RENAME_NOREPLACE) ? VAULT_RENAME_NOREPLACE : 0) < 0) {
		error = vfs_paths__errno("rename");
		goto done;
	}
	if (si.is_dir)
		follow_folder(p.vpath, q.vpath);
	error = follow_rename(src, dst, &q, replaced && !si.is_dir);
done:
	if (src)
		handle_put(src);
	if (dst)
		handle_put(dst);
	return error;
}

/* ---- files -------------------------------------------------------------- */

static void handle_register(vfs_handle *h)
{
	vfs *fs = vfs_get();

	pthread_mutex_lock(&fs->lock);
	h->refs = 1;
	h->next = fs->open;
	fs->open = h;
	pthread_mutex_unlock(&fs->lock);
}

/* One open fewer; the last one frees the handle. */
static void handle_put(vfs_handle *h)
{
	vfs *fs = vfs_get();
	int last;

	pthread_mutex_lock(&fs->lock);
	if ((last = --h->refs == 0))
		for (vfs_handle **pp = &fs->open; *pp; pp = &(*pp)->next)
			if (*pp == h) {
				*pp = h->next;
				break;
			}
	pthread_mutex_unlock(&fs->lock);
	if (!last)
		return;
	vault_file_close(h->file);
	pthread_rwlock_destroy(&h->lock);
	free(h);
}

/* The shared handle of a file already open on the mount, with a reference. */
static vfs_handle *handle_get(const char *node, const char *vpath)
{
	vfs *fs = vfs_get();
	vfs_handle *found = NULL;

	pthread_mutex_lock(&fs->lock);
	for (vfs_handle *h = fs->open; h && !found; h = h->next) {
		if (h->history || h->discard)
			continue;
		if ((node && node[0] && !strcmp(h->node, node)) ||
		    (!node && vault_file_is_new(h->file) && !strcmp(h->vpath, vpath)))
			found = h;
	}
	if (found)
		found->refs++;
	pthread_mutex_unlock(&fs->lock);
	return found;
}

/*
 * Join a file's shared handle: an open that reads is still a read event of
 * its own; O_TRUNC empties the shared content.
 */
static int open_shared(vfs_handle *h, const vfs_path *p, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();
	int acc = fi->flags & O_ACCMODE, error = 0;

	if (acc != O_RDONLY && !h->writable)
		return -EACCES;
	if (acc != O_WRONLY) {
		/* This open reads: its own read event. */
		pthread_rwlock_wrlock(&h->lock);
		error = vault_file_allow_read(h->file, fs->o->purpose, NULL);
		pthread_rwlock_unlock(&h->lock);
		if (error < 0)
			return vfs_paths__errno("open");
	}
	if ((fi->flags & O_TRUNC) && acc != O_RDONLY) {
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

static int open_file(const char *path, struct fuse_file_info *fi, int create, mode_t create_mode)
{
	vfs *fs = vfs_get();
	vault_file_options o;
	vault_stat_info si;
	vault_version_info info;
	uint32_t version = 0;
	vfs_handle *h;
	vfs_path p;
	int acc = fi->flags & O_ACCMODE, trunc = (fi->flags & O_TRUNC) && acc != O_RDONLY;
	int error, exists = 0;

	if ((error = vfs_paths__parse(&p, path)) < 0)
		return error;
	/* A descriptor that cannot read gains nothing from the page cache:
	 * its writes come straight from the writer's memory, without a copy
	 * into pages that no one reads (and that need fresh memory). */
	fi->direct_io = acc == O_WRONLY;
	fi->keep_cache = 0;
	memset(&o, 0, sizeof o);
	o.version = VAULT_FILE_OPTIONS_VERSION;
	o.purpose = fs->o->purpose;
	if (p.type == P_HIST) {
		if ((error = vfs_paths__history(fs, &p, &si, &version, &info)) < 0)
			return error;
		if (!version)
			return -EISDIR;
	} else if (p.type != P_NODE) {
		return -EISDIR;
	}
	if (acc != O_RDONLY && (p.type != P_NODE || version))
		return -EROFS;
	if (acc != O_RDONLY && fs->o->read_only)
		return -EROFS;

	if (!version) {
		exists = vault_stat(&si, fs->v, p.vpath) == 0;
		if (exists && si.is_dir)
			return -EISDIR;
		/* Already open on the mount: share it. */
		if ((h = handle_get(exists ? si.node : NULL, p.vpath)) != NULL) {
			error = create && (fi->flags & O_EXCL) ? -EEXIST : open_shared(h, &p, fi);
			if (error < 0) {
				handle_put(h);
				return error;
			}
			fi->fh = (uint64_t)(uintptr_t)h;
			return 0;
		}
		/* A rw member's handle can write whatever this open asks, so a
		 * writer opening later shares it. */
		if (acc != O_RDONLY || create || (!fs->o->read_only && exists && si.writable))
			o.flags |= VAULT_FILE_WRITE;
	}
	/* An open that can read is a read event (O_WRONLY ones cannot read). */
	if (acc != O_WRONLY)
		o.flags |= VAULT_FILE_READ;
	if (trunc)
		o.flags |= VAULT_FILE_TRUNC;
	if (create) {
		o.flags |= VAULT_FILE_CREATE | VAULT_FILE_MODE;
		if (fi->flags & O_EXCL)
			o.flags |= VAULT_FILE_EXCL;
		o.mode = create_mode & 07777;
	}
	o.doc_version = version;
	if ((h = calloc(1, sizeof *h)) == NULL)
		return -ENOMEM;
	pthread_rwlock_init(&h->lock, NULL);
	h->history = version != 0;
	h->writable = (o.flags & VAULT_FILE_WRITE) != 0;
	h->wrote = trunc && exists;
	snprintf(h->vpath, sizeof h->vpath, "%s", p.vpath);
	if (vault_file_open(&h->file, fs->v, p.vpath, &o) < 0) {
		error = vfs_paths__errno("open");
		pthread_rwlock_destroy(&h->lock);
		free(h);
		return error;
	}
	memcpy(h->node, vault_file_node(h->file), sizeof h->node);
	handle_register(h);
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static vfs_handle *handle_of(struct fuse_file_info *fi)
{
	return (vfs_handle *)(uintptr_t)fi->fh;
}

static int vfs_open(const char *path, struct fuse_file_info *fi)
{
	settle(vfs_get());
	return open_file(path, fi, 0, 0);
}

static int vfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	vfs_path p;
	int error;

	settle(vfs_get());

	if ((error = vfs_paths__node(vfs_get(), &p, path, 1)) < 0)
		return error;
	return open_file(path, fi, 1, mode);
}

static int vfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	vfs_handle *h = handle_of(fi);
	size_t n;
	int error;

	/* Reads of one file run on several threads at once. */
	pthread_rwlock_rdlock(&h->lock);
	error = vault_file_read(&n, h->file, buf, size, (uint64_t)off);
	pthread_rwlock_unlock(&h->lock);
	if (error < 0)
		return vfs_paths__errno("read");
	return (int)n;
}

static int vfs_write(const char *path, const char *buf, size_t size, off_t off,
	struct fuse_file_info *fi)
{
	vfs_handle *h = handle_of(fi);
	int error;

	pthread_rwlock_wrlock(&h->lock);
	error = vault_file_write(h->file, buf, size, (uint64_t)off);
	if (error == 0)
		h->wrote = 1;
	pthread_rwlock_unlock(&h->lock);
	if (error < 0)
		return vfs_paths__errno("write");
	return (int)size;
}

/* A written file becomes one new version; nothing happens if unchanged. */
static int commit(vfs_handle *h, const char *path)
{
	int error = 0;

	pthread_rwlock_wrlock(&h->lock);
	if (!h->discard) {
		/* A new file closed before anything was written to it (a shell's
		 * `> f` closes its first descriptor before writing through the
		 * copy) enters the vault empty: a `create` event, no version. */
		if (vault_file_is_new(h->file) && !h->wrote)
			error = vault_file_create(h->file);
		else
			error = vault_file_commit(NULL, h->file);
		if (error == 0)
			memcpy(h->node, vault_file_node(h->file), sizeof h->node);
	}
	pthread_rwlock_unlock(&h->lock);
	return error < 0 ? vfs_paths__errno("commit") : 0;
}

static int vfs_flush(const char *path, struct fuse_file_info *fi)
{
	settle(vfs_get());
	return commit(handle_of(fi), path);
}

static int vfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	settle(vfs_get());
	return commit(handle_of(fi), path);
}

static int vfs_release(const char *path, struct fuse_file_info *fi)
{
	vfs_handle *h = handle_of(fi);
	int error;

	settle(vfs_get());
	error = commit(h, path);

	handle_put(h);
	return error;
}

static int vfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE, 0, NULL, NULL, 0, 0 };
	vault_file *f = NULL;
	vfs_path p;
	int error;

	settle(vfs_get());

	if (size < 0)
		return -EINVAL;
	if (fi) {
		vfs_handle *h = handle_of(fi);
		if (h->history)
			return -EROFS;
		pthread_rwlock_wrlock(&h->lock);
		error = vault_file_truncate(h->file, (uint64_t)size);
		if (error == 0)
			h->wrote = 1;
		pthread_rwlock_unlock(&h->lock);
		return error < 0 ? vfs_paths__errno("truncate") : 0;
	}
	if ((error = vfs_paths__node(vfs_get(), &p, path, 1)) < 0)
		return error;
	{
		/* A file open for writing takes the change into its version. */
		vfs_handle *h = open_writer(p.vpath);
		if (h) {
			pthread_rwlock_wrlock(&h->lock);
			error = vault_file_truncate(h->file, (uint64_t)size);
			if (error == 0)
				h->wrote = 1;
			pthread_rwlock_unlock(&h->lock);
			error = error < 0 ? vfs_paths__errno("truncate") : 0;
			handle_put(h);
			return error;
		}
	}
	if (vault_file_open(&f, fs->v, p.vpath, &o) < 0)
		return vfs_paths__errno("truncate");
	if (vault_file_truncate(f, (uint64_t)size) < 0 || vault_file_commit(NULL, f) < 0)
		error = vfs_paths__errno("truncate");
	vault_file_close(f);
	return error;
}

/* ---- metadata ----------------------------------------------------------- */

/*
 * Modes are stored (permission bits, a `touch` event). Through an open
 * file, a new time or mode goes with the file's next version (tar, cp -p
 * and editors set both right before they close).
 */
static int vfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	vfs_path p;
	int error;

	settle(vfs_get());

	if (!fi && vfs_paths__parse(&p, path) == 0 && p.type == P_NODE) {
		vfs_handle *h = open_writer(p.vpath);
		if (h) {
			pthread_rwlock_wrlock(&h->lock);
			error = vault_file_set_mode(h->file, mode & 07777);
			pthread_rwlock_unlock(&h->lock);
			error = error < 0 ? vfs_paths__errno("chmod") : 0;
			handle_put(h);
			return error;
		}
	}
	if (fi) {
		vfs_handle *h = handle_of(fi);
		if (h->history)
			return -EROFS;
		pthread_rwlock_wrlock(&h->lock);
		error = vault_file_set_mode(h->file, mode & 07777);
		pthread_rwlock_unlock(&h->lock);
		return error < 0 ? vfs_paths__errno("chmod") : 0;
	}
	if ((error = vfs_paths__node(vfs_get(), &p, path, 0)) < 0)
		return error;
	if (!strchr(p.vpath, '/'))
		return -EPERM;       /* a case folder */
	return vault_chmod(vfs_get()->v, p.vpath, mode & 07777) < 0 ? vfs_paths__errno("chmod") : 0;
}

static int vfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();

	if ((uid != (uid_t)-1 && uid != fs->uid) || (gid != (gid_t)-1 && gid != fs->gid))
		return -EPERM;
	return 0;
}

/* Access and modification times, to the nanosecond (a `touch` event, or
 * with the version of a file open for writing). */
static int vfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	vfs_handle *fi_handle = NULL;
	vault_time at, mt;
	const vault_time *a, *m;
	vfs_path p;
	int error;

	settle(vfs_get());
	a = vfs_attrs__utime(&at, tv ? &tv[0] : NULL);
	m = vfs_attrs__utime(&mt, tv ? &tv[1] : NULL);
	if (!a && !m)
		return 0;
	if (!fi && vfs_paths__parse(&p, path) == 0 && p.type == P_NODE)
		fi_handle = open_writer(p.vpath);
	if (fi || fi_handle) {
		vfs_handle *h = fi ? handle_of(fi) : fi_handle;
		if (h->history) {
			error = -EROFS;
		} else {
			pthread_rwlock_wrlock(&h->lock);
			error = vault_file_set_times(h->file, a, m);
			pthread_rwlock_unlock(&h->lock);
			error = error < 0 ? vfs_paths__errno("utimens") : 0;
		}
		if (fi_handle)
			handle_put(fi_handle);
		return error;
	}
	if ((error = vfs_paths__node(vfs_get(), &p, path, 0)) < 0)
		return error;
	return vault_set_times(vfs_get()->v, p.vpath, a, m) < 0 ? vfs_paths__errno("utimens") : 0;
}

static int vfs_statfs(const char *path, struct statvfs *st)
{
	if (statvfs(vfs_get()->o->vault_dir, st) < 0)
		return -errno;
	st->f_namemax = VAULT_FILENAME_MAX;
	return 0;
}

static int vfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	vfs *fs = vfs_get();
	vault_stat_info si;
	vfs_path p;
	char text[32];
	const char *s;
	int error;

	settle(vfs_get());

	/* `ls -l` asks every file for its ACL and security label: answer
	 * names that are not ours before looking anything up. */
	if (strcmp(name, XATTR_VERSION) && strcmp(name, XATTR_NODE))
		return -ENODATA;
	if ((error = vfs_paths__parse(&p, path)) < 0)
		return error;
	if (p.type != P_NODE)
		return -ENODATA;
	if (vault_stat(&si, fs->v, p.vpath) < 0)
		return vfs_paths__errno("getxattr");
	if (!strcmp(name, XATTR_VERSION) && !si.is_dir) {
		snprintf(text, sizeof text, "%u", si.version);
		s = text;
	} else if (!strcmp(name, XATTR_NODE)) {
		s = si.node;
	} else {
		return -ENODATA;
	}
	if (size == 0)
		return (int)strlen(s);
	if (size < strlen(s))
		return -ERANGE;
	memcpy(value, s, strlen(s));
	return (int)strlen(s);
}

/*
 * The two casevault attributes are read by name only: listed, rsync -aX
 * and cp -a would try to remove them from a copy made here (the source
 * lacks them) and fail, or copy them out onto other disks.
 */
static int vfs_listxattr(const char *path, char *list, size_t size)
{
	return 0;
}

/*
 * No attribute is stored, and the casevault ones are read-only: ENOTSUP,
 * which cp -a, mv and rsync -X take as "not supported here" and go on
 * (EPERM would fail them).
 */
static int vfs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	return -ENOTSUP;
}

static int vfs_removexattr(const char *path, const char *name)
{
	return -ENOTSUP;
}

/* Links and special files have no place in a case folder (EPERM); where
 * nothing can be made at all, the same answer as for anything else. */
static int refuse_special(const char *path)
{
	vfs_path p;
	int error = vfs_paths__node(vfs_get(), &p, path, 1);

	return error < 0 ? error : -EPERM;
}

static int vfs_symlink(const char *target, const char *path)
{
	return refuse_special(path);
}

static int vfs_link(const char *from, const char *to)
{
	return refuse_special(to);
}

static int vfs_mknod(const char *path, mode_t mode, dev_t dev)
{
	return refuse_special(path);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void *vfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	vfs *fs = vfs_get();

	/* The CLI (another process) may change the vault at any time. */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	/* An unlinked file that is still open keeps working (fstat, reads):
	 * libfuse renames it to a hidden name, see hide(). */
	cfg->hard_remove = 0;
	/* O_TRUNC comes with the open (one handle, one version), not as a
	 * separate truncate before it. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Large writes: fewer round trips for each 64 KiB block stored. It
	 * also sets the largest request (max_pages): reads ahead come as large
	 * as the readahead window, see tune_readahead() in mount.c. */
	conn->max_write = 1 << 20;
	if (vault_mount_event(fs->v, 1, fs->o->purpose) < 0)
		syslog(LOG_WARNING, "casevault: mount event: %s", vault_error_last()->message);
	return fs;
}

static void vfs_destroy(void *private_data)
{
	vfs *fs = private_data;

	settle(fs);

	if (vault_mount_event(fs->v, 0, NULL) < 0)
		syslog(LOG_WARNING, "casevault: unmount event: %s", vault_error_last()->message);
}

const struct fuse_operations vfs_vfs__ops = {
	.init        = vfs_init,
	.destroy     = vfs_destroy,
	.getattr     = vfs_getattr,
	.readdir     = vfs_readdir,
	.mkdir       = vfs_mkdir,
	.rmdir       = vfs_rmdir,
	.unlink      = vfs_unlink,
	.rename      = vfs_rename,
	.open        = vfs_open,
	.create      = vfs_create,
	.read        = vfs_read,
	.write       = vfs_write,
	.flush       = vfs_flush,
	.fsync       = vfs_fsync,
	.release     = vfs_release,
	.truncate    = vfs_truncate,
	.chmod       = vfs_chmod,
	.chown       = vfs_chown,
	.utimens     = vfs_utimens,
	.statfs      = vfs_statfs,
	.getxattr    = vfs_getxattr,
	.listxattr   = vfs_listxattr,
	.setxattr    = vfs_setxattr,
	.removexattr = vfs_removexattr,
	.symlink     = vfs_symlink,
	.link        = vfs_link,
	.mknod       = vfs_mknod,
};
