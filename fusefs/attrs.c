/*
 * attrs — a node's attributes as the mount shows them: the struct stat of
 * a folder or file, the times of what the vault does not keep, and the
 * times utimensat asks for.
 */
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vfs_int.h"

#define BLKSIZE 65536                   /* the vault's block: a good I/O size */

/* The times of what the vault does not keep (the top, .history): now. */
void vfs_attrs__now(vfs_times *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	t->m.sec = ts.tv_sec;
	t->m.nsec = (uint32_t)ts.tv_nsec;
	t->c = t->a = t->m;
	t->folders = 0;
}

void vfs_attrs__times(vfs_times *t, const vault_time *m, const vault_time *c,
	const vault_time *a, uint32_t folders)
{
	t->folders = folders;
	t->m = *m;
	t->c = *c;
	t->a = *a;
}

static void set_time(struct timespec *ts, const vault_time *t)
{
	ts->tv_sec = (time_t)t->sec;
	ts->tv_nsec = (long)t->nsec;
}

/* Everything on the mount is the user's, and read-only where they cannot
 * write. */
void vfs_attrs__fill(vfs *fs, struct stat *st, int is_dir, int writable, uint32_t mode,
	uint64_t size, const vfs_times *t)
{
	memset(st, 0, sizeof *st);
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_nlink = is_dir ? 2 + t->folders : 1;
	if (!writable)
		mode &= ~0222u;
	st->st_mode = (is_dir ? S_IFDIR : S_IFREG) | (mode & 07777);
	st->st_size = (off_t)size;
	st->st_blksize = BLKSIZE;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	set_time(&st->st_mtim, &t->m);
	set_time(&st->st_ctim, &t->c);
	set_time(&st->st_atim, &t->a);
}

const vault_time *vfs_attrs__utime(vault_time *out, const struct timespec *ts)
{
	struct timespec now;

	if (ts && ts->tv_nsec == UTIME_OMIT)
		return NULL;
	if (!ts || ts->tv_nsec == UTIME_NOW) {
		clock_gettime(CLOCK_REALTIME, &now);
		ts = &now;
	}
	out->sec = (int64_t)ts->tv_sec;
	out->nsec = (uint32_t)ts->tv_nsec;
	return out;
}
