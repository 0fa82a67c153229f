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

/* A mount: what every operation works with (FUSE's private data). */
typedef struct {
	const vfs_options *o;
	vault *v;
	uid_t uid;
	gid_t gid;
	pthread_mutex_t lock;            /* guards `open` and `hiding` */
	struct vfs_handle *open;
	struct vfs_hiding *hiding;
	/* Held by settle() while it removes a hidden file, and by
	 * hiding_take(): a rename that finds its hidden target gone has to
	 * find it gone from the vault too, not being removed meanwhile. */
	pthread_mutex_t settling;
} vfs;

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

/* A path on the mount: -ENOENT where it names no case. */
int vfs_paths__parse(vfs_path *out, const char *path);

/*
 * A path whose node an operation changes (or, with need_name, makes or
 * removes): -EROFS under .history and on a read-only mount, -EACCES at the
 * top level.
 */
int vfs_paths__node(vfs *fs, vfs_path *p, const char *path, int need_name);

/* 1 if the last name of `vpath` is one libfuse hides an open file under. */
int vfs_paths__is_hidden(const char *vpath);

/* The name of a case's folder: its code, then its label if it has one. */
void vfs_paths__case_name(char *out, size_t size, const char *code, const char *label);

/* The name under .history of a version of the file at `vpath`. */
void vfs_paths__version_name(char *out, size_t size, const char *vpath,
	const vault_version_info *info);

/*
 * Resolve a .history path: a folder, a file (a folder of versions), or a
 * version. For a version, p->type becomes P_VERSION, p->vpath the file's,
 * *version its number and `info` its details; else *version is 0.
 */
int vfs_paths__history(vfs *fs, vfs_path *p, vault_stat_info *st, uint32_t *version,
	vault_version_info *info);

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

#endif
