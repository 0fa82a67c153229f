/*
 * vfs — the FUSE operations of the mount, and their table.
 *
 * Every operation translates a path into the vault's "CODE/PATH" (paths.c),
 * calls the public API, and maps the result to an errno. Open files are
 * vault_file handles, kept in the open-file table (handles.c): a
 * read-opening is a read event (committed before any data), and a written
 * file becomes one new version when it is flushed (close), fsynced or
 * released. A file created here enters the vault with its first version:
 * until then it is pending, and the table answers for it.
 *
 * The operations that look at the vault, all but reads and writes, first
 * settle the files hidden by an unlink (vfs_handles__settle), so that none
 * sees such a file.
 */
#define _GNU_SOURCE       /* RENAME_NOREPLACE, RENAME_EXCHANGE */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <syslog.h>

#include "vfs_int.h"

#define XATTR_VERSION "user.casevault.version"
#define XATTR_NODE    "user.casevault.node"

static vfs *vfs_peek(void)
{
	return fuse_get_context()->private_data;
}

/*
 * The mount of an operation that counts as activity for mount --idle:
 * all of them but getattr, statfs and the xattr queries, which file
 * managers, shell prompts, `df` and desktop panels send on their own while
 * nobody is there (they use vfs_peek). Listing, opening, reading, writing
 * and closing count, a desktop indexer's too.
 */
static vfs *vfs_get(void)
{
	vfs *fs = vfs_peek();

	vfs_mount__touch(fs);
	return fs;
}

static vfs_handle *handle_of(struct fuse_file_info *fi)
{
	return (vfs_handle *)(uintptr_t)fi->fh;
}

/* ---- attributes --------------------------------------------------------- */

/* A file or folder of a case: what the vault holds, and for a file open
 * for writing, what its next version will record. */
static int node_stat(vfs *fs, struct stat *st, const char *vpath)
{
	vault_stat_info si;
	vfs_times t;
	uint64_t size;

	if (vault_stat(&si, fs->v, vpath) < 0) {
		if (vault_error_last()->code != VAULT_ENOTFOUND ||
		    vfs_handles__stat_name(fs, st, vpath) < 0)
			return vfs_paths__errno("getattr");
		return 0;
	}
	size = si.size;
	vfs_attrs__times(&t, &si.mtime, &si.ctime, &si.atime, si.folders);
	if (!si.is_dir)
		vfs_handles__dirty_attrs(fs, si.node, &size, &t, &si.mode);
	vfs_attrs__fill(fs, st, si.is_dir, si.writable && !fs->o->read_only, si.mode, size, &t);
	return 0;
}

/* Under .history: folders, files as folders of versions, and versions. */
static int history_stat(vfs *fs, struct stat *st, vfs_path *p)
{
	vfs_hist h;
	vault_time when;
	vfs_times t;
	int error;

	if ((error = vfs_paths__history(fs, p, &h)) < 0)
		return error;
	if (h.version) {
		when.sec = h.info.time;
		when.nsec = 0;
		vfs_attrs__times(&t, &when, &when, &when, 0);
		vfs_attrs__fill(fs, st, 0, 0, 0400, h.info.size, &t);
	} else {
		vfs_attrs__times(&t, &h.st.mtime, &h.st.ctime, &h.st.atime, h.st.folders);
		vfs_attrs__fill(fs, st, 1, 0, 0500, 0, &t);
	}
	return 0;
}

static int vfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	vfs *fs = vfs_peek();
	vfs_path p;
	vfs_times t;
	int error;

	vfs_handles__settle(fs);

	if (path == NULL) {
		/* A node libfuse no longer has a path for: its open handle knows. */
		if (!fi)
			return -ESTALE;
		vfs_handles__stat(fs, st, handle_of(fi));
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
		return node_stat(fs, st, p.vpath);
	default:
		return history_stat(fs, st, &p);
	}
}

/* ---- folders ------------------------------------------------------------ */

/*
 * A listing in progress. Entries carry offsets (their position + 1), so a
 * listing larger than the kernel's buffer goes on where it stopped, and
 * so that libfuse passes a readdirplus entry's node and attributes on:
 * entries filled at offset 0 reach the kernel with no node, and it then
 * looks every name up again (one more round trip per file for `ls -l`).
 */
typedef struct {
	vfs *fs;
	void *buf;
	fuse_fill_dir_t fill;
	int plus;                        /* readdirplus: attributes with the names */
	off_t skip;                      /* entries an earlier call sent */
	off_t next;                      /* the last entry's offset */
	int full;                        /* the kernel's buffer is full */
	const char *vpath;               /* a file whose versions are listed */
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

static int name_cb(const char *name, void *payload)
{
	return put(payload, name, NULL);
}

static int case_cb(const vault_case_info *c, void *payload)
{
	fill_ctx *fc = payload;
	const char *me = vault_user(fc->fs->v);
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

static int entry_cb(const vault_stat_info *e, void *payload)
{
	fill_ctx *fc = payload;
	vfs *fs = fc->fs;
	struct stat st;
	uint64_t size = e->size;
	vfs_times t;
	uint32_t mode = e->mode;

	if (!fc->plus || fc->next + 1 <= fc->skip)
		return put(fc, e->name, NULL);
	/* The attributes too: `ls -l` then needs no lookup per entry. */
	vfs_attrs__times(&t, &e->mtime, &e->ctime, &e->atime, e->folders);
	if (!e->is_dir)
		vfs_handles__dirty_attrs(fs, e->node, &size, &t, &mode);
	vfs_attrs__fill(fs, &st, e->is_dir, e->writable && !fs->o->read_only, mode, size, &t);
	return put(fc, e->name, &st);
}

static int version_cb(const vault_version_info *info, void *payload)
{
	fill_ctx *fc = payload;
	char name[512];

	vfs_paths__version_name(name, sizeof name, fc->vpath, info);
	return put(fc, name, NULL);
}

/* Under .history, folders as they are; each file is a folder of versions. */
static int history_list(vfs *fs, vfs_path *p, fill_ctx *fc)
{
	vfs_hist h;
	int error;

	if ((error = vfs_paths__history(fs, p, &h)) < 0)
		return error;
	if (h.version)
		return -ENOTDIR;
	if (h.st.is_dir) {
		if ((error = vfs_listed__list(fs, p->vpath, entry_cb, fc)) < 0)
			return error;
	} else {
		fc->vpath = p->vpath;
		if (vault_history(fs->v, p->vpath, version_cb, fc) < 0)
			return vfs_paths__errno("readdir");
	}
	return 0;
}

static int vfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	vfs *fs = vfs_get();
	fill_ctx fc = { fs, buf, fill, 0, off, 0, 0, NULL };
	vfs_path p;
	int error;

	vfs_handles__settle(fs);

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
		return vfs_listed__cases(fs, case_cb, &fc);
	case P_NODE:
		fc.plus = (flags & FUSE_READDIR_PLUS) != 0;
		if ((error = vfs_listed__list(fs, p.vpath, entry_cb, &fc)) < 0)
			return error;
		/* Files created here and not yet in the vault are listed too. */
		fc.plus = 0;
		vfs_handles__list_pending(fs, p.vpath, name_cb, &fc);
		return 0;
	default:
		return history_list(fs, &p, &fc);
	}
}

/* An operation that makes or removes a node at `path` starts here: files
 * hidden by an unlink settled, the path resolved. */
static int node_op(vfs *fs, vfs_path *p, const char *path)
{
	vfs_handles__settle(fs);
	return vfs_paths__node(fs, p, path, 1);
}

static int vfs_mkdir(const char *path, mode_t mode)
{
	vfs *fs = vfs_get();
	vfs_path p;
	int error;

	if ((error = node_op(fs, &p, path)) < 0)
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

	if ((error = node_op(fs, &p, path)) < 0)
		return error;
	if (vault_stat(&si, fs->v, p.vpath) < 0) {
		/* Not in the vault: perhaps a name an open file answers for. */
		if (!want_dir && vault_error_last()->code == VAULT_ENOTFOUND &&
		    vfs_handles__unlink(fs, p.vpath) == 0)
			return 0;
		return vfs_paths__errno("remove");
	}
	if (want_dir && !si.is_dir)
		return -ENOTDIR;
	if (!want_dir && si.is_dir)
		return -EISDIR;
	if (want_dir && vfs_handles__pending_under(fs, p.vpath))
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

/*
 * What a rename moves must be in the vault first: a pending file, or the
 * pending files below a folder. A pending file at the target is replaced
 * before it ever enters the vault.
 */
static int rename_prepare(vfs *fs, const vfs_path *p, const vfs_path *q,
	vault_stat_info *si, unsigned int flags)
{
	int error;

	if ((error = vfs_handles__store(fs, p->vpath)) < 0)
		return error;
	if (vault_stat(si, fs->v, p->vpath) < 0)
		return vfs_paths__errno("rename");
	if (si->is_dir) {
		if ((error = vfs_handles__store_under(fs, p->vpath)) < 0)
			return error;
		if (vfs_handles__pending_under(fs, q->vpath))
			return -ENOTEMPTY;
	}
	return vfs_handles__replace_pending(fs, q->vpath, (flags & RENAME_NOREPLACE) != 0);
}

static int vfs_rename(const char *from, const char *to, unsigned int flags)
{
	vfs *fs = vfs_get();
	vault_stat_info si, ti;
	vfs_handle *src = NULL, *dst = NULL;
	vfs_path p, q;
	int error, replaced;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if ((error = vfs_paths__node(fs, &p, from, 1)) < 0 ||
	    (error = vfs_paths__node(fs, &q, to, 1)) < 0)
		return error;
	/* Over a file this thread just hid: a replacement, not a removal. */
	if (!vfs_paths__is_hidden(q.vpath))
		vfs_handles__take_hidden(fs, q.vpath);
	vfs_handles__settle(fs);
	/* Between cases (the codes differ): tools copy, then remove. */
	if (memcmp(p.vpath, q.vpath, VAULT_CODE_SIZE - 1))
		return -EXDEV;
	if (vfs_paths__is_hidden(q.vpath))
		return vfs_handles__hide(fs, p.vpath, q.vpath);
	if ((error = rename_prepare(fs, &p, &q, &si, flags)) < 0)
		return error;
	replaced = vault_stat(&ti, fs->v, q.vpath) == 0;
	if (!si.is_dir && (src = vfs_handles__get(fs, si.node, p.vpath)) != NULL &&
	    (error = vfs_handles__commit(fs, src)) < 0)
		goto done;            /* what was written so far goes with it */
	if (replaced && !ti.is_dir)
		dst = vfs_handles__get(fs, ti.node, q.vpath);
	if (vault_rename(fs->v, p.vpath, q.vpath,
			(flags & RENAME_NOREPLACE) ? VAULT_RENAME_NOREPLACE : 0) < 0) {
		error = vfs_paths__errno("rename");
		goto done;
	}
	if (si.is_dir)
		vfs_handles__follow_folder(fs, p.vpath, q.vpath);
	error = vfs_handles__follow(fs, src, dst, q.vpath, replaced && !si.is_dir);
done:
	if (src)
		vfs_handles__put(fs, src);
	if (dst)
		vfs_handles__put(fs, dst);
	return error;
}

/* ---- files -------------------------------------------------------------- */

/* Join the handle of a file already open on the mount. */
static int open_shared(vfs *fs, vfs_handle *h, struct fuse_file_info *fi, int create)
{
	int error = create && (fi->flags & O_EXCL) ? -EEXIST : vfs_handles__join(fs, h, fi->flags);

	if (error < 0) {
		vfs_handles__put(fs, h);
		return error;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int open_file(const char *path, struct fuse_file_info *fi, int create, mode_t create_mode)
{
	vfs *fs = vfs_get();
	vault_file_options o = VAULT_FILE_OPTIONS_INIT;
	vault_stat_info si;
	uint32_t version;
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
	if ((error = vfs_paths__file(fs, &p, acc != O_RDONLY, &version)) < 0)
		return error;
	if (!version) {
		exists = vault_stat(&si, fs->v, p.vpath) == 0;
		if (exists && si.is_dir)
			return -EISDIR;
		/* Already open on the mount (or pending there): share it. */
		if ((h = vfs_handles__get(fs, exists ? si.node : NULL, p.vpath)) != NULL)
			return open_shared(fs, h, fi, create);
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
	o.purpose = fs->o->purpose;
	o.doc_version = version;
	if ((error = vfs_handles__open(fs, &h, p.vpath, &o, trunc && exists)) < 0)
		return error;
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int vfs_open(const char *path, struct fuse_file_info *fi)
{
	vfs_handles__settle(vfs_get());
	return open_file(path, fi, 0, 0);
}

static int vfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();
	vfs_path p;
	int error;

	if ((error = node_op(fs, &p, path)) < 0)
		return error;
	return open_file(path, fi, 1, mode);
}

static int vfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	vfs_mount__touch(vfs_peek());
	return vfs_handles__read(handle_of(fi), buf, size, off);
}

static int vfs_write(const char *path, const char *buf, size_t size, off_t off,
	struct fuse_file_info *fi)
{
	vfs_mount__touch(vfs_peek());
	return vfs_handles__write(handle_of(fi), buf, size, off);
}

static int vfs_flush(const char *path, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();

	vfs_handles__settle(fs);
	return vfs_handles__commit(fs, handle_of(fi));
}

static int vfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();

	vfs_handles__settle(fs);
	return vfs_handles__commit(fs, handle_of(fi));
}

static int vfs_release(const char *path, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();
	vfs_handle *h = handle_of(fi);
	int error;

	vfs_handles__settle(fs);
	error = vfs_handles__commit(fs, h);
	vfs_handles__put(fs, h);
	return error;
}

static int vfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE, 0, NULL, NULL, 0, 0 };
	vault_file *f = NULL;
	vfs_handle *h;
	vfs_path p;
	int error;

	vfs_handles__settle(fs);

	if (size < 0)
		return -EINVAL;
	if (fi)
		return vfs_handles__truncate(handle_of(fi), (uint64_t)size);
	if ((error = vfs_paths__node(fs, &p, path, 1)) < 0)
		return error;
	/* A file open for writing takes the change into its version. */
	if ((h = vfs_handles__writer(fs, p.vpath)) != NULL) {
		error = vfs_handles__truncate(h, (uint64_t)size);
		vfs_handles__put(fs, h);
		return error;
	}
	if (vault_file_open(&f, fs->v, p.vpath, &o) < 0)
		return vfs_paths__errno("truncate");
	if (vault_file_truncate(f, (uint64_t)size) < 0 || vault_file_commit(NULL, f) < 0)
		error = vfs_paths__errno("truncate");
	vault_file_close(f);
	return error;
}

/* ---- metadata ----------------------------------------------------------- */

/* The file open for writing that a change by path belongs to, or NULL. */
static vfs_handle *writer_at(vfs *fs, const char *path)
{
	vfs_path p;

	if (vfs_paths__parse(&p, path) < 0 || p.type != P_NODE)
		return NULL;
	return vfs_handles__writer(fs, p.vpath);
}

/*
 * Modes are stored (permission bits, a `touch` event). Through an open
 * file, a new time or mode goes with the file's next version (tar, cp -p
 * and editors set both right before they close).
 */
static int vfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	vfs *fs = vfs_get();
	vfs_handle *h;
	vfs_path p;
	int error;

	vfs_handles__settle(fs);

	if (fi)
		return vfs_handles__set_mode(handle_of(fi), mode & 07777);
	if ((h = writer_at(fs, path)) != NULL) {
		error = vfs_handles__set_mode(h, mode & 07777);
		vfs_handles__put(fs, h);
		return error;
	}
	if ((error = vfs_paths__node(fs, &p, path, 0)) < 0)
		return error;
	if (!strchr(p.vpath, '/'))
		return -EPERM;       /* a case folder */
	return vault_chmod(fs->v, p.vpath, mode & 07777) < 0 ? vfs_paths__errno("chmod") : 0;
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
	vfs *fs = vfs_get();
	vault_time at, mt;
	const vault_time *a, *m;
	vfs_handle *h;
	vfs_path p;
	int error;

	vfs_handles__settle(fs);
	a = vfs_attrs__utime(&at, tv ? &tv[0] : NULL);
	m = vfs_attrs__utime(&mt, tv ? &tv[1] : NULL);
	if (!a && !m)
		return 0;
	if (fi)
		return vfs_handles__set_times(handle_of(fi), a, m);
	if ((h = writer_at(fs, path)) != NULL) {
		error = vfs_handles__set_times(h, a, m);
		vfs_handles__put(fs, h);
		return error;
	}
	if ((error = vfs_paths__node(fs, &p, path, 0)) < 0)
		return error;
	return vault_set_times(fs->v, p.vpath, a, m) < 0 ? vfs_paths__errno("utimens") : 0;
}

static int vfs_statfs(const char *path, struct statvfs *st)
{
	if (statvfs(vfs_peek()->o->vault_dir, st) < 0)
		return -errno;
	st->f_namemax = VAULT_FILENAME_MAX;
	return 0;
}

static int vfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	vfs *fs = vfs_peek();
	vault_stat_info si;
	vfs_path p;
	char text[32];
	const char *s;
	int error;

	vfs_handles__settle(fs);

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
	 * libfuse renames it to a hidden name, see vfs_handles__hide(). */
	cfg->hard_remove = 0;
	/* O_TRUNC comes with the open (one handle, one version), not as a
	 * separate truncate before it. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Large writes: fewer round trips for each 64 KiB block stored. It
	 * also sets the largest request (max_pages): reads ahead come as large
	 * as the readahead window, see tune_readahead() in mount.c. */
	conn->max_write = 1 << 20;
	if (vault_mount_event(fs->v, VAULT_MOUNTED, fs->o->purpose) < 0)
		syslog(LOG_WARNING, "casevault: mount event: %s", vault_error_last()->message);
	return fs;
}

static void vfs_destroy(void *private_data)
{
	vfs *fs = private_data;
	vault_push_result res;

	vfs_handles__settle(fs);

	if (vault_mount_event(fs->v, __atomic_load_n(&fs->idle_ended, __ATOMIC_ACQUIRE) ?
	    VAULT_UNMOUNTED_IDLE : VAULT_UNMOUNTED, NULL) < 0)
		syslog(LOG_WARNING, "casevault: unmount event: %s", vault_error_last()->message);
	else if (vault_witness_auto(&res, fs->v, 1) < 0)
		syslog(LOG_WARNING, "casevault: the push to the witness failed (recorded): %s",
			vault_error_last()->message);
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
