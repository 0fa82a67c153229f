/*
 * vfs_int — what the files of the mount share: the mount's context, a path
 * on the mount, and the functions one file offers the others. Not public:
 * the CLI knows the mount by vfs.h alone.
 *
 * A function shared between the files is named vfs_<file>__name, after the
 * file that defines it; a function of one file is static, with a short
 * name. Those that can fail return 0 (or a count) or a negative errno.
 */
#ifndef CASEVAULT_VFS_INT_H
#define CASEVAULT_VFS_INT_H

#define FUSE_USE_VERSION 31

#include <fuse.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "vault.h"
#include "vfs.h"

#define HISTORY       ".history"
#define VPATH_MAX     4200

typedef struct vfs_handle vfs_handle;     /* an open file (handles.c) */
typedef struct vfs_hiding vfs_hiding;

/* The open-file table: handles.c's alone. */
typedef struct {
	pthread_mutex_t lock;            /* guards `open` and `hiding` */
	vfs_handle *open;
	vfs_hiding *hiding;
	/* Held while a hidden file is removed from the vault, and by a rename
	 * that takes its hidden target back: a rename that finds its hidden
	 * target gone has to find it gone from the vault too, not being
	 * removed meanwhile. */
	pthread_mutex_t settling;
} vfs_table;

/* The cases whose `list` event this session recorded: listed.c's alone. */
typedef struct {
	pthread_mutex_t lock;            /* guards the set; see listed.c */
	char (*codes)[VAULT_CODE_SIZE];
	size_t n, cap;
} vfs_listed;

/* A mount: what every operation works with (FUSE's private data). */
typedef struct {
	const vfs_options *o;
	vault *v;
	uid_t uid;
	gid_t gid;
	vfs_table table;
	vfs_listed listed;
	/* mount --idle (mount.c): the time of the last activity, in ms of
	 * CLOCK_MONOTONIC (atomic), and whether the idle time ended the mount */
	int64_t active;
	int idle_ended;
} vfs;

/* A listing's next name; nonzero stops it. */
typedef int (*vfs_name_cb)(const char *name, void *payload);

/* ---- mount.c: the daemon ------------------------------------------------ */

/* An operation that counts as activity for mount --idle (vfs.c says which). */
void vfs_mount__touch(vfs *fs);

/* ---- vfs.c: the operations ----------------------------------------------- */

extern const struct fuse_operations vfs_vfs__ops;

/* ---- paths.c: what a name on the mount means ----------------------------- */

typedef enum {
	P_ROOT,          /* "/" */
	P_HISTROOT,      /* "/.history" */
	P_NODE,          /* a case folder or anything in it: vpath */
	P_HIST,          /* .history/CASE/PATH: a folder, or a file's versions */
	P_VERSION,       /* .history/CASE/PATH/NAME: one version of PATH */
} vfs_path_type;

typedef struct {
	vfs_path_type type;
	char vpath[VPATH_MAX];           /* "CODE" or "CODE/a/b" */
} vfs_path;

/* The last library error as a negative errno; `op` names the operation in
 * the message that goes to syslog for a damaged or full vault. */
int vfs_paths__errno(const char *op);
/* The same for an open: a full disk is EIO to an open that only reads. */
int vfs_paths__open_errno(int writes);

/* A path on the mount: -ENOENT where it names no case. */
int vfs_paths__parse(vfs_path *out, const char *path);

/*
 * A path whose node an operation changes (or, with need_name, makes or
 * removes): -EROFS under .history and on a read-only mount, -EACCES at the
 * top level.
 */
int vfs_paths__node(vfs *fs, vfs_path *p, const char *path, int need_name);

/*
 * A path an open reaches: a file of a case, or a version under .history
 * (*version its number, else 0), which can only be read. -EISDIR for a
 * folder or the top; -EROFS for an open that writes where nothing may
 * change.
 */
int vfs_paths__file(vfs *fs, vfs_path *p, int write, uint32_t *version);

/* 1 if the last name of `vpath` is one libfuse hides an open file under. */
int vfs_paths__is_hidden(const char *vpath);

/* The name of a case's folder: its code, then its label if it has one. */
void vfs_paths__case_name(char *out, size_t size, const char *code, const char *label);

/* The name under .history of a version of the file at `vpath`. */
void vfs_paths__version_name(char *out, size_t size, const char *vpath,
	const vault_version_info *info);

/* What a path under .history names. */
typedef struct {
	vault_stat_info st;              /* the folder or file */
	uint32_t version;                /* a version of the file: its number, or 0 */
	vault_version_info info;         /* the version's details */
} vfs_hist;

/*
 * Resolve a .history path: a folder, a file (a folder of versions), or a
 * version. For a version, p->type becomes P_VERSION and p->vpath the
 * file's.
 */
int vfs_paths__history(vfs *fs, vfs_path *p, vfs_hist *out);

/* ---- attrs.c: a node's attributes as the mount shows them ---------------- */

/* A node's three times, as the vault holds them. */
typedef struct {
	vault_time m, c, a;
	uint32_t folders;                /* a folder's subfolders: st_nlink - 2 */
} vfs_times;

void vfs_attrs__now(vfs_times *t);
void vfs_attrs__times(vfs_times *t, const vault_time *m, const vault_time *c,
	const vault_time *a, uint32_t folders);
void vfs_attrs__fill(vfs *fs, struct stat *st, int is_dir, int writable, uint32_t mode,
	uint64_t size, const vfs_times *t);

/* One time of utimensat: *out set, or NULL for UTIME_OMIT. */
const vault_time *vfs_attrs__utime(vault_time *out, const struct timespec *ts);

/* ---- listed.c: listings, one `list` event per case per session ----------- */

void vfs_listed__init(vfs_listed *l);
void vfs_listed__dispose(vfs_listed *l);
/* vault_list of `vpath`, recording the case's `list` event if it is the
 * session's first listing of the case. 0 or a negative errno. */
int vfs_listed__list(vfs *fs, const char *vpath,
	int (*cb)(const vault_stat_info *, void *), void *payload);
/* vault_case_foreach for the top: the cases whose labels it shows for the
 * first time are recorded, one `list` event each. 0 or a negative errno. */
int vfs_listed__cases(vfs *fs, int (*cb)(const vault_case_info *, void *), void *payload);

/* ---- handles.c: the open-file table -------------------------------------- */

void vfs_handles__init(vfs_table *t);
void vfs_handles__dispose(vfs_table *t);

/* A new handle for an open, in the table with one reference. */
int vfs_handles__open(vfs *fs, vfs_handle **out, const char *vpath,
	const vault_file_options *o, int wrote);

/*
 * The shared handle of a file already open on the mount, with a reference:
 * by its node or, with node NULL, the pending file at `vpath`. A version
 * under .history is never shared.
 */
vfs_handle *vfs_handles__get(vfs *fs, const char *node, const char *vpath);

/* Another open joins a shared handle: `flags` are the open's. */
int vfs_handles__join(vfs *fs, vfs_handle *h, int flags);

/* One reference fewer; the last one frees the handle. */
void vfs_handles__put(vfs *fs, vfs_handle *h);

/*
 * An open, writable handle on the file at `vpath`, with a reference, or
 * NULL. The kernel sends a time or mode change without its file handle
 * (futimens, fchmod), but it belongs with the version being written: tar
 * and cp -p set both before close.
 */
vfs_handle *vfs_handles__writer(vfs *fs, const char *vpath);

/* Attributes straight from an open handle. */
void vfs_handles__stat(vfs *fs, struct stat *st, vfs_handle *h);

/* What an open file of node `node` with changes not yet committed will
 * record; left as they are if there is none. */
void vfs_handles__dirty_attrs(vfs *fs, const char *node, uint64_t *size, vfs_times *times,
	uint32_t *mode);

/* How many open files hold changes not yet in the vault (pending, or
 * written and not committed): an unmount now would lose them. */
int vfs_handles__unsaved(vfs *fs);

/* Through a handle. A version under .history cannot be changed (EROFS). */
int vfs_handles__read(vfs_handle *h, char *buf, size_t size, off_t off);
int vfs_handles__write(vfs_handle *h, const char *buf, size_t size, off_t off);
int vfs_handles__truncate(vfs_handle *h, uint64_t size);
int vfs_handles__set_mode(vfs_handle *h, uint32_t mode);
int vfs_handles__set_times(vfs_handle *h, const vault_time *a, const vault_time *m);

/* A written file becomes one new version (a pending one enters the vault);
 * nothing happens if unchanged, or once the handle was discarded. */
int vfs_handles__commit(vfs *fs, vfs_handle *h);

/*
 * Pending files: created on the mount, not yet stored in the vault. The
 * table alone knows them; the operations ask it.
 *
 * Do pending files live below `dir`? (then it is not empty)
 */
int vfs_handles__pending_under(vfs *fs, const char *dir);
/* The names of the pending files right in `dir`. */
void vfs_handles__list_pending(vfs *fs, const char *dir, vfs_name_cb each, void *payload);
/* The pending file at `vpath`, if any, enters the vault now. */
int vfs_handles__store(vfs *fs, const char *vpath);
/* Every pending file below `dir` enters the vault now (before it moves). */
int vfs_handles__store_under(vfs *fs, const char *dir);
/* A rename over the pending file at `vpath`, if any: it will never be
 * stored; -EEXIST if the rename must not replace it. */
int vfs_handles__replace_pending(vfs *fs, const char *vpath, int noreplace);

/* Attributes of a name the vault does not have but an open file answers
 * for: a pending file, or one hidden while open; -ENOENT if none does. */
int vfs_handles__stat_name(vfs *fs, struct stat *st, const char *vpath);
/* An unlink of such a name; -ENOENT if no open file answers for it. */
int vfs_handles__unlink(vfs *fs, const char *vpath);

/* libfuse hides the open file at `vpath` under `hidden_name` (a rename to a
 * ".fuse_hidden" name): it leaves the vault at the next settle, unless a
 * rename over `vpath` on this thread takes it back first. A pending file
 * hidden so is never stored. */
int vfs_handles__hide(vfs *fs, const char *vpath, const char *hidden_name);
/* This thread's hidden file of name `vpath`, which a rename now replaces:
 * it stays in the vault. */
void vfs_handles__take_hidden(vfs *fs, const char *vpath);
/*
 * Remove the files hidden by an unlink from the vault (`delete` events);
 * their handles write nothing more. Every operation but reads and writes
 * starts here, so none sees such a file.
 */
void vfs_handles__settle(vfs *fs);

/* After a rename from one file onto `to` (`replaced`: over another file),
 * the handles of both follow; after a folder moved, the names below it. */
int vfs_handles__follow(vfs *fs, vfs_handle *src, vfs_handle *dst, const char *to, int replaced);
void vfs_handles__follow_folder(vfs *fs, const char *from, const char *to);

#endif
