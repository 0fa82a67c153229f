#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "store.h"
#include "util/errors.h"

_Thread_local MDB_txn *vault_store__cur;
_Thread_local int vault_store__last_rc;

uint64_t vault_store__headroom = VAULT_MAP_HEADROOM;

static _Thread_local int map_full;         /* the last write met a full map */
static _Thread_local unsigned int held;    /* top-level transactions this thread holds */
static _Thread_local MDB_txn *nested;      /* the nested one it holds, if any */

/* LMDB's result `rc`, after `what` (translated: vault_error_prefix). */
int vault_store__error(int rc, const char *what)
{
	int code;

	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		code = vault_error_set(VAULT_ENOTFOUND, "not found");
		break;
	case MDB_MAP_FULL:
		map_full = 1;
		code = vault_error_set(VAULT_ENOSPC, "the vault's map is full");
		break;
	case ENOSPC:
		return vault_error_set(VAULT_ENOSPC, "cannot record the event: the disk holding the vault is "
			"full; reads are recorded too, so no document can be read until space is freed");
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	/* What a sound file never gives: a tree deeper than LMDB's cursor
	 * (a page that points back up), a page that overflows, a transaction
	 * poisoned by one of these earlier, a table whose flags (kept in the
	 * file's table of tables) no longer fit how it is opened. */
	case MDB_CURSOR_FULL:
	case MDB_INCOMPATIBLE:
	case MDB_PAGE_FULL:
	case MDB_BAD_TXN:
		code = vault_error_set(VAULT_ECORRUPT, "the vault file is damaged or not a vault (%s)",
			mdb_strerror(rc));
		break;
	case MDB_VERSION_MISMATCH:
		code = vault_error_set(VAULT_EVERSION, "the vault file has an unknown LMDB format");
		break;
	case EACCES:
		code = vault_error_set(VAULT_EACCES, "permission denied");
		break;
	default:
		code = vault_error_set(VAULT_ERROR, "%s", mdb_strerror(rc));
		break;
	}
	return vault_error_prefix(code, what);
}

static int dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int check_magic(const char *path, const char *dir);

/* The map, for the fault guard: found again when another process grew it. */
static void map_register(vault_store *st)
{
	MDB_envinfo info;
	MDB_stat stat;
	int fd;

	vault_fault__map_remove(st->fault_base);
	st->fault_base = 0;
	if (mdb_env_get_fd(st->env, &fd) != 0 || mdb_env_info(st->env, &info) != 0 ||
	    mdb_env_stat(st->env, &stat) != 0)
		return;
	st->psize = stat.ms_psize;
	if ((st->fault_base = vault_fault__map_of(fd)) != 0)
		vault_fault__map_add(st->fault_base, info.me_mapsize);
	st->fault_size = info.me_mapsize;
}

static int check_dir(const char *dir, int mode)
{
	int create = mode == VAULT_STORE_CREATE;
	struct stat st;
	char path[4096];

	if (stat(dir, &st) < 0) {
		if (errno == ENOENT && create) {
			if (mkdir(dir, 0700) < 0)
				return vault_error_set(VAULT_ERROR, "cannot create directory '%s': %s",
					dir, strerror(errno));
			return 0;
		}
		if (errno == ENOENT)
			return vault_error_set(VAULT_ENOTFOUND, "no vault at '%s': no such directory", dir);
		return vault_error_set(VAULT_ERROR, "cannot open '%s': %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return vault_error_set(VAULT_ECORRUPT, "'%s' is not a vault: it is a file, not a vault directory", dir);

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (create) {
		if (access(path, F_OK) == 0)
			return vault_error_set(VAULT_EEXISTS, "'%s' already holds a vault", dir);
		if (dir_is_empty(dir) != 1)
			return vault_error_set(VAULT_EEXISTS, "'%s' is not empty", dir);
		return 0;
	}
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return vault_error_set(VAULT_ENOTFOUND, "no vault at '%s': it holds no data.mdb", dir);
		return vault_error_set(VAULT_ERROR, "cannot open '%s': %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return vault_error_set(VAULT_ECORRUPT, "'%s' is not a vault file", path);
	if (st.st_size < 2 * 4096)
		return vault_error_set(VAULT_ECORRUPT, "'%s' is not a vault file: it is too short (%lld bytes)",
			path, (long long)st.st_size);
	/* A snapshot is read only, and tools that copy it off-site may not
	 * keep its mode. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) && mode != VAULT_STORE_SNAPSHOT)
		return vault_error_set(VAULT_EACCES,
			"'%s' is readable or writable by group or others (mode %03o)",
			path, (unsigned)(st.st_mode & 0777));
	return check_magic(path, dir);
}

/*
 * An LMDB data file starts with a meta page: a 16-byte page header, then the
 * magic 0xBEEFC0DE (host order). Checked before LMDB opens it, so a foreign
 * file gets no lock file created beside it.
 */
static int check_magic(const char *path, const char *dir)
{
	unsigned char head[152];
	uint64_t mapsize, last;
	uint32_t magic;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return vault_error_set(VAULT_ERROR, "cannot open '%s': %s", path, strerror(errno));
	n = pread(fd, head, sizeof head, 0);
	memcpy(&magic, head + 16, 4);
	if (n != (ssize_t)sizeof head || magic != 0xBEEFC0DE) {
		close(fd);
		return vault_error_set(VAULT_ECORRUPT,
			"'%s' is not a casevault vault: its data file is not an LMDB environment", dir);
	}
	/* Each meta page records the map's size (after the magic, the
	 * version and a fixed address), which LMDB maps as it finds it. */
	for (int i = 0; i < 2; i++) {
		if (i == 1 && (pread(fd, head, sizeof head, 4096) != (ssize_t)sizeof head ||
		    memcmp(head + 16, &magic, 4) != 0))
			break;
		memcpy(&mapsize, head + 32, 8);
		if (mapsize > VAULT_MAP_MAX) {
			close(fd);
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: its meta page %d records a map of %llu bytes",
				i, (unsigned long long)mapsize);
		}
		/* Its last page, after the two table records: no page lies
		 * past the largest map (nor wraps its size around 2^64). */
		memcpy(&last, head + 136, 8);
		if (last >= VAULT_MAP_MAX / 4096) {
			close(fd);
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: its meta page %d records a last page %llu past any map",
				i, (unsigned long long)last);
		}
	}
	close(fd);
	return 0;
}

/*
 * The pages the newest meta page names must all be in the file: LMDB
 * would follow them into the map past the file's end (SIGBUS). A file cut
 * short is refused here. Then the map is made known to the fault guard,
 * which turns what no check here can foresee into a message (fault.h).
 */
static int check_size(vault_store *st, const char *dir)
{
	MDB_envinfo info;
	MDB_stat stat;
	struct stat sb;
	uint64_t need;
	int fd;

	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &stat) != 0 ||
	    mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0)
		return vault_error_set(VAULT_ERROR, "open vault: cannot read the size of '%s/data.mdb'", dir);
	need = ((uint64_t)info.me_last_pgno + 1) * stat.ms_psize;
	if ((uint64_t)sb.st_size < need)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: '%s/data.mdb' is cut short (%llu bytes; its pages need %llu)",
			dir, (unsigned long long)sb.st_size, (unsigned long long)need);
	map_register(st);
	return 0;
}

static int walk_table(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t last_pgno);

/*
 * The list of free pages, before any write transaction reads it: LMDB
 * takes each list's count as it finds it and merges the lists into
 * buffers of its own, so a damaged one overruns them. A short walk: the
 * list holds what the last transactions freed. Then the table of tables
 * (ten records): an old copy of its page would name an older root of
 * every table.
 */
static int check_free(vault_store *st)
{
	MDB_envinfo info;
	MDB_txn *txn;
	int rc, error;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return vault_store__error(rc, "open vault");
	if (mdb_env_info(st->env, &info) != 0)
		error = vault_error_set(VAULT_ERROR, "open vault: no environment information");
	else if ((error = walk_table(txn, 0, "free pages", info.me_last_pgno)) == 0)
		error = walk_table(txn, 1, "tables", info.me_last_pgno);
	mdb_txn_abort(txn);
	return error;
}

/* The tables, by name: where each one's handle is kept. */
static const struct { const char *name; size_t off; } table_names[] = {
	{ "meta", offsetof(vault_store, meta) },         { "users", offsetof(vault_store, users) },
	{ "cases", offsetof(vault_store, cases) },       { "sealed", offsetof(vault_store, sealed) },
	{ "nodes", offsetof(vault_store, nodes) },       { "dirents", offsetof(vault_store, dirents) },
	{ "nodekeys", offsetof(vault_store, nodekeys) }, { "versions", offsetof(vault_store, versions) },
	{ "blocks", offsetof(vault_store, blocks) },     { "git", offsetof(vault_store, git) },
};

const char *vault_store__table_name(const vault_store *st, MDB_dbi dbi)
{
	for (size_t i = 0; i < sizeof table_names / sizeof table_names[0]; i++)
		if (*(const MDB_dbi *)((const char *)st + table_names[i].off) == dbi)
			return table_names[i].name;
	return NULL;
}

int vault_store__open(vault_store **out, const char *dir, int mode, uint64_t mapsize)
{
	vault_store *st = NULL;
	MDB_txn *txn = NULL;
	int rc, error, create = mode == VAULT_STORE_CREATE;
	unsigned int ro = mode == VAULT_STORE_SNAPSHOT ? MDB_RDONLY : 0;
	unsigned int nolock = ro || mode == VAULT_STORE_EXCLUSIVE ? MDB_NOLOCK : 0;

	*out = NULL;
	if ((error = check_dir(dir, mode)) < 0)
		return error;
	if ((st = calloc(1, sizeof *st)) == NULL)
		return vault_error_set_oom();
	st->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	st->mapped_max = VAULT_MAPPED_MAX;
	pthread_mutex_init(&st->gate, NULL);
	pthread_cond_init(&st->gate_cond, NULL);
	st->gate_ready = 1;

	if ((rc = mdb_env_create(&st->env)) != 0) {
		error = vault_store__error(rc, "open vault");
		goto done;
	}
	mdb_env_set_maxdbs(st->env, 16);
	mdb_env_set_maxreaders(st->env, 254);
	mdb_env_set_assert(st->env, vault_fault__lmdb_assert);
	mdb_env_set_userctx(st->env, st);
	if (create && (rc = mdb_env_set_mapsize(st->env, mapsize)) != 0) {
		error = vault_store__error(rc, "set map size");
		goto done;
	}
	rc = mdb_env_open(st->env, dir, MDB_NOMETASYNC | MDB_NOTLS | ro | nolock, 0600);
	if (rc != 0) {
		error = vault_store__error(rc, "open vault");
		if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
			vault_error_set(VAULT_ECORRUPT, "'%s' is not a casevault vault: its data file is not an LMDB environment", dir);
		goto done;
	}
	if ((error = check_size(st, dir)) < 0 || (error = check_free(st)) < 0)
		goto done;
	/* Clear reader slots left behind by killed processes. */
	mdb_reader_check(st->env, NULL);

	if ((rc = mdb_txn_begin(st->env, NULL, ro, &txn)) != 0) {
		error = vault_store__error(rc, "open vault");
		goto done;
	}
	for (size_t i = 0; i < sizeof table_names / sizeof table_names[0]; i++) {
		rc = mdb_dbi_open(txn, table_names[i].name, create ? MDB_CREATE : 0,
			(MDB_dbi *)((char *)st + table_names[i].off));
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
			error = vault_error_set(VAULT_ECORRUPT,
				"'%s' is not a casevault vault: table '%s' is missing", dir, table_names[i].name);
			goto done;
		}
		if (rc != 0) {
			error = vault_store__error(rc, "open vault");
			goto done;
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		error = vault_store__error(rc, "open vault");
		goto done;
	}
	txn = NULL;
	*out = st;
	st = NULL;
	error = 0;
done:
	if (txn)
		mdb_txn_abort(txn);
	vault_store__close(st);
	return error;
}

/* The bytes of files this process has mapped and resident, the vault's
 * map among them; UINT64_MAX when /proc does not say. */
static uint64_t mapped_bytes(vault_store *st)
{
	unsigned long long size, resident, mapped;
	char buf[128];
	ssize_t n;

	/* statm: sizes in pages; the third is the resident pages of files
	 * (and shared memory). */
	if (st->statm < 0 || (n = pread(st->statm, buf, sizeof buf - 1, 0)) <= 0)
		return UINT64_MAX;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu %llu", &size, &resident, &mapped) != 3)
		return UINT64_MAX;
	return (uint64_t)mapped * (uint64_t)sysconf(_SC_PAGESIZE);
}

int vault_store__copy(vault_store *st, int fd)
{
	void *map = (void *)st->fault_base;
	int rc;

	/* The copy walks the file mostly in order, through the map (found
	 * at open, map_register): ask for the readahead a sequential read
	 * gets. */
	if (map)
		madvise(map, st->fault_size, MADV_SEQUENTIAL);
	rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT);
	if (map)
		madvise(map, st->fault_size, MADV_NORMAL);
	return rc ? vault_store__error(rc, "copy the vault") : 0;
}

void vault_store__copy_release(vault_store *st, uint64_t max)
{
	if (st->fault_base && mapped_bytes(st) >= max)
		madvise((void *)st->fault_base, st->fault_size, MADV_DONTNEED);
}

void vault_store__close(vault_store *st)
{
	if (!st)
		return;
	vault_fault__map_remove(st->fault_base);
	if (st->env)
		mdb_env_close(st->env);
	if (st->statm >= 0)
		close(st->statm);
	if (st->gate_ready) {
		pthread_cond_destroy(&st->gate_cond);
		pthread_mutex_destroy(&st->gate);
	}
	free(st);
}

/* ---- the map ------------------------------------------------------------ */

#define REMAP_WAIT 10              /* seconds a remap waits for this process's readers */

static void gate_enter(vault_store *st)
{
	pthread_mutex_lock(&st->gate);
	/* A thread that holds a transaction goes on: the remap waits for it. */
	while (st->remapping && held == 0)
		pthread_cond_wait(&st->gate_cond, &st->gate);
	st->active++;
	pthread_mutex_unlock(&st->gate);
	held++;
}

static void gate_leave(vault_store *st)
{
	held--;
	pthread_mutex_lock(&st->gate);
	if (--st->active == 0)
		pthread_cond_broadcast(&st->gate_cond);
	pthread_mutex_unlock(&st->gate);
}

/*
 * Map `size` bytes of the file (0: the size recorded in it, which another
 * process grew), once every transaction of this process has ended: LMDB
 * unmaps the old map, and the new one may lie elsewhere (the fault guard
 * and readv learn where). New transactions wait meanwhile. A thread that
 * holds a transaction cannot wait for its own: VAULT_EBUSY.
 */
static int remap(vault_store *st, uint64_t size)
{
	struct timespec until;
	MDB_envinfo info;
	int rc = 0;

	if (held)
		return vault_error_set(VAULT_EBUSY,
			"the vault's map cannot be remapped while this thread reads the vault");
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += REMAP_WAIT;
	pthread_mutex_lock(&st->gate);
	while (st->remapping && rc == 0)
		rc = pthread_cond_timedwait(&st->gate_cond, &st->gate, &until);
	if (rc == 0) {
		st->remapping = 1;
		while (st->active && rc == 0)
			rc = pthread_cond_timedwait(&st->gate_cond, &st->gate, &until);
		/* Another thread may have grown it as far meanwhile. */
		if (rc == 0 && (size == 0 || (mdb_env_info(st->env, &info) == 0 && size > info.me_mapsize))) {
			rc = mdb_env_set_mapsize(st->env, size);
			__atomic_store_n(&st->map_base, 0, __ATOMIC_RELAXED);
			map_register(st);
		}
		st->remapping = 0;
		pthread_cond_broadcast(&st->gate_cond);
	}
	pthread_mutex_unlock(&st->gate);
	if (rc == ETIMEDOUT)
		return vault_error_set(VAULT_EBUSY,
			"the vault's map cannot be remapped: a reader of this process did not finish");
	return rc ? vault_store__error(rc, "remap the vault") : 0;
}

/* The bytes of the pages in use, and the map's size. LMDB reads them from
 * the meta pages, in the map: through the gate, so no remap runs meanwhile. */
static uint64_t used_bytes(vault_store *st, uint64_t *mapsize)
{
	MDB_envinfo info;
	MDB_stat stat;
	int ok;

	gate_enter(st);
	ok = mdb_env_info(st->env, &info) == 0 && mdb_env_stat(st->env, &stat) == 0;
	gate_leave(st);
	if (!ok)
		return *mapsize = 0;
	*mapsize = info.me_mapsize;
	return ((uint64_t)info.me_last_pgno + 1) * stat.ms_psize;
}

/* What the vault file can still grow by on its disk: the disk's free space,
 * and what the file holds past its last page (allocated ahead: see
 * vault_store__grow). UINT64_MAX if unknown. */
static uint64_t disk_room(vault_store *st)
{
	struct statvfs fs;
	struct stat sb;
	uint64_t map, used = used_bytes(st, &map), room;
	int fd;

	if (mdb_env_get_fd(st->env, &fd) != 0 || fstatvfs(fd, &fs) != 0 || fstat(fd, &sb) != 0)
		return UINT64_MAX;
	room = (uint64_t)fs.f_bavail * fs.f_frsize;
	if ((uint64_t)sb.st_size > used)
		room += (uint64_t)sb.st_size - used;
	return room;
}

static int disk_full(uint64_t room)
{
	return vault_error_set(VAULT_ENOSPC, "cannot record the event: the disk holding the vault is full "
		"(%llu KiB free; casevault keeps %llu MiB free); reads are recorded too, so no document "
		"can be read until space is freed", (unsigned long long)(room >> 10),
		(unsigned long long)(VAULT_DISK_RESERVE >> 20));
}

static int disk_check(vault_store *st)
{
	uint64_t room = disk_room(st);

	return room < VAULT_DISK_RESERVE ? disk_full(room) : 0;
}

/* Room enough in the map for the write transaction this thread holds
 * (LMDB's writer lock: the last page does not move meanwhile)? */
static int room_ok(vault_store *st)
{
	uint64_t map, used = used_bytes(st, &map), need = used / 4;

	if (vault_store__headroom == 0)
		return 1;
	if (need < vault_store__headroom)
		need = vault_store__headroom;
	return map == 0 || used + need <= map;
}

/*
 * Grow the map: to twice what is in use, with the headroom twice at least;
 * after a transaction found it `full`, to twice its size at least. As far
 * as the disk allows, keeping the reserve. 1 grown, 0 not (no room on the
 * disk, or this thread holds a transaction), or an error.
 */
static int map_grow(vault_store *st, int full)
{
	uint64_t map, used = used_bytes(st, &map), want, room, cap;
	long pg = sysconf(_SC_PAGESIZE);

	if (held || map == 0)
		return 0;
	want = used * 2;
	if (want < used + 2 * VAULT_MAP_HEADROOM)
		want = used + 2 * VAULT_MAP_HEADROOM;
	if (full && want < map * 2)
		want = map * 2;
	if ((room = disk_room(st)) != UINT64_MAX) {
		cap = used + (room > VAULT_DISK_RESERVE ? room - VAULT_DISK_RESERVE : 0);
		if (want > cap)
			want = cap;
	}
	want -= want % (uint64_t)(pg > 0 ? pg : 4096);
	if (want <= map)
		return 0;
	return remap(st, want) < 0 ? -1 : 1;
}

int vault_store__map_grown(vault_store *st)
{
	int full = map_full, grown;

	map_full = 0;
	if (!full)
		return 0;
	if ((grown = map_grow(st, 1)) != 0)
		return grown;
	if (held)
		vault_error_set(VAULT_EBUSY,
			"the vault's map is full, and cannot grow while this thread reads the vault");
	else
		disk_full(disk_room(st));
	return -1;
}

int vault_store__begin(MDB_txn **out, vault_store *st, int write)
{
	int rc, error = 0;

	*out = NULL;
	if (write) {
		map_full = 0;
		/* What only deletes frees room: it may run on a full disk. */
		if (write != VAULT_STORE_FREES && (error = disk_check(st)) < 0)
			return error;
	}
	for (int tries = 0; ; tries++) {
		gate_enter(st);
		rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, out);
		/* A write starts with room in the map, grown first if short. */
		if (rc == 0 && (!write || write == VAULT_STORE_FREES || tries > 0 || room_ok(st)))
			return 0;
		if (rc == 0) {
			mdb_txn_abort(*out);
			*out = NULL;
		}
		gate_leave(st);
		if (rc == 0)
			error = map_grow(st, 0);
		else if (rc == MDB_MAP_RESIZED && tries < 3)
			/* Another process grew the map and wrote past this
			 * process's end of it: adopt its size. */
			error = remap(st, 0);
		else
			return vault_store__error(rc, "begin transaction");
		if (error < 0)
			return error;
	}
}

int vault_store__sync(vault_store *st)
{
	int rc = mdb_env_sync(st->env, 1);

	return rc ? vault_store__error(rc, "flush the vault to the disk") : 0;
}

int vault_store__begin_walk(MDB_txn **out, vault_store *st)
{
	int error = vault_store__begin(out, st, 0);

	if (error == 0)
		vault_store__cur = *out;
	return error;
}

int vault_store__begin_nested(MDB_txn **out, vault_store *st, MDB_txn *parent)
{
	int rc = mdb_txn_begin(st->env, parent, 0, out);

	if (rc != 0) {
		*out = NULL;
		return vault_store__error(rc, "begin nested transaction");
	}
	nested = *out;
	return 0;
}

/* A transaction ends: a top-level one leaves the gate. */
static void txn_ended(vault_store *st, MDB_txn *txn)
{
	if (vault_store__cur == txn)
		vault_store__cur = NULL;
	if (txn == nested) {
		nested = NULL;
		return;
	}
	gate_leave(st);
	if (held == 0)
		nested = NULL;     /* ended with its parent */
}

int vault_store__commit(vault_store *st, MDB_txn *txn)
{
	uint64_t room;
	int rc, error;

	if ((error = vault_store__check_commit(txn)) < 0) {
		vault_store__abort(st, txn);
		return error;
	}
	VAULT_FAULT_ENTER();
	rc = mdb_txn_commit(txn);
	VAULT_FAULT_LEAVE();
	txn_ended(st, txn);
	if (rc == 0)
		return 0;
	/* LMDB reports a short write as EIO: a full disk, if it is. */
	if ((rc == ENOSPC || rc == EIO) && (room = disk_room(st)) < VAULT_DISK_RESERVE)
		return disk_full(room);
	return vault_store__error(rc, "commit");
}

void vault_store__abort(vault_store *st, MDB_txn *txn)
{
	if (!txn)
		return;
	mdb_txn_abort(txn);
	txn_ended(st, txn);
}

/* An MDB result of a record's read, write or delete, as a vault code. */
static int record_result(int rc, const char *what)
{
	if (rc == MDB_NOTFOUND)
		return VAULT_ENOTFOUND;
	if (rc == MDB_KEYEXIST)
		return VAULT_EEXISTS;
	if (rc != 0)
		return vault_store__error(rc, what);
	return 0;
}

int vault_store__page_ok(const vault_store *st, const void *inmap)
{
	uintptr_t at = (uintptr_t)inmap, page;
	uint64_t pgno;

	if (!st || !st->fault_base || !st->psize || at < st->fault_base ||
	    at - st->fault_base >= st->fault_size)
		return 0;
	page = at - (at - st->fault_base) % st->psize;
	memcpy(&pgno, (const void *)page, sizeof pgno);
	if (pgno == (uint64_t)((page - st->fault_base) / st->psize))
		return 0;
	return vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: page %llu holds page %llu",
		(unsigned long long)((page - st->fault_base) / st->psize), (unsigned long long)pgno);
}

/*
 * No record of `dbi` can be read: the table must be empty by its own count
 * too (LMDB's table record), and a table that is never empty must not be,
 * or the file was damaged.
 */
static int empty_checked(MDB_txn *txn, MDB_dbi dbi)
{
	const vault_store *st = mdb_env_get_userctx(mdb_txn_env(txn));
	const char *name = st ? vault_store__table_name(st, dbi) : NULL;
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(txn, dbi, &ms)) != 0)
		return vault_store__error(rc, "read record");
	/* A vault's meta and users tables are never empty (init fills them):
	 * empty, their record in the table of tables was damaged. */
	if (ms.ms_entries == 0 && (!st || (dbi != st->meta && dbi != st->users)))
		return VAULT_ENOTFOUND;
	if (ms.ms_entries == 0)
		return vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: table '%s' is empty",
			name ? name : "?");
	return vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: table '%s' counts %llu "
		"records and none can be read", name ? name : "?", (unsigned long long)ms.ms_entries);
}

/*
 * Record `key` is not in `dbi`. The leaf page that would hold it must be
 * the page it claims to be: one swapped or copied over it (damage) makes
 * a record vanish, which is not a record that does not exist. Only a miss
 * pays for this (one more search).
 */
static int miss_checked(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key)
{
	MDB_cursor *cur;
	MDB_val k = *key, d;
	int rc, error;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return vault_store__error(rc, "read record");
	if ((rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)) == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);     /* past the last: the last leaf */
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return empty_checked(txn, dbi);
	if (rc != 0)
		return record_result(rc, "read record");
	error = vault_store__page_ok(mdb_env_get_userctx(mdb_txn_env(txn)), k.mv_data);
	return error < 0 ? error : VAULT_ENOTFOUND;
}

int vault_store__get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, MDB_val *out)
{
	MDB_val key = { klen, (void *)k };
	int rc = mdb_get(txn, dbi, &key, out);

	if (rc == 0)
		return vault_store__page_ok(mdb_env_get_userctx(mdb_txn_env(txn)), out->mv_data);
	if (rc == MDB_NOTFOUND)
		return miss_checked(txn, dbi, &key);
	return record_result(rc, "read record");
}

/* The name of table `dbi` of the store `txn` belongs to. */
static const char *table_of(MDB_txn *txn, MDB_dbi dbi)
{
	const vault_store *st = mdb_env_get_userctx(mdb_txn_env(txn));

	return st ? vault_store__table_name(st, dbi) : NULL;
}

int vault_store__put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen,
	const void *v, size_t vlen, unsigned int flags)
{
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
	int rc, error;

	if ((error = vault_store__check_write(txn, table_of(txn, dbi), k, klen)) < 0)
		return error;
	VAULT_FAULT_ENTER();
	rc = mdb_put(txn, dbi, &key, &val, flags);
	VAULT_FAULT_LEAVE();
	return record_result(rc, "write record");
}

int vault_store__del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen)
{
	MDB_val key = { klen, (void *)k };
	int rc, error;

	if ((error = vault_store__check_write(txn, table_of(txn, dbi), k, klen)) < 0)
		return error;
	VAULT_FAULT_ENTER();
	rc = mdb_del(txn, dbi, &key, NULL);
	VAULT_FAULT_LEAVE();
	return record_result(rc, "delete record");
}

void vault_store__forget(const void *data, size_t len)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)data & ~(pg - 1);
	uintptr_t end = ((uintptr_t)data + len + pg - 1) & ~(pg - 1);

	if (data && len)
		madvise((void *)start, end - start, MADV_DONTNEED);
}

/*
 * Where the map lies, found from `inmap`, a value read in `txn`. Only in a
 * read-only transaction: a write transaction's values may lie in pages it
 * copied to the heap, not in the map (its id is the next one to commit; a
 * reader's is one already committed). Every page starts with a 16-byte
 * header holding its number, and a value lies after it: on a leaf page, or
 * at the start of the data of its first overflow page. Either way, the
 * value's page is found by stepping back over the header.
 */
static int map_bounds(uintptr_t *base, uintptr_t *end, vault_store *st, MDB_txn *txn,
	const void *inmap)
{
	MDB_envinfo info;
	MDB_stat stat;
	uint64_t pgno;
	uintptr_t page, pg = (uintptr_t)sysconf(_SC_PAGESIZE);

	if (!inmap || !txn || mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &stat) != 0 ||
	    stat.ms_psize != pg || mdb_txn_id(txn) > info.me_last_txnid)
		return -1;
	/* The map as found at open, where it was found: a page's number is
	 * the file's to say, and a damaged one would put the map elsewhere
	 * (and what is dropped from it over the heap). */
	if (st->fault_base) {
		if ((uintptr_t)inmap < st->fault_base || (uintptr_t)inmap - st->fault_base >= st->fault_size)
			return -1;
		*base = st->fault_base;
		*end = *base + (uintptr_t)(info.me_last_pgno + 1) * pg;
		return 0;
	}
	page = ((uintptr_t)inmap - 16) & ~(pg - 1);
	memcpy(&pgno, (const void *)page, sizeof pgno);
	if (pgno == 0 || pgno > info.me_last_pgno || page < (uintptr_t)pgno * pg)
		return -1;
	*base = page - (uintptr_t)pgno * pg;
	*end = *base + (uintptr_t)(info.me_last_pgno + 1) * pg;
	return 0;
}

void vault_store__trim(vault_store *st, MDB_txn *txn, const void *inmap)
{
	uintptr_t base, end;

	if (map_bounds(&base, &end, st, txn, inmap) == 0)
		madvise((void *)base, end - base, MADV_DONTNEED);
}

void vault_store__bound(vault_store *st, MDB_txn *txn, const void *inmap)
{
	if (mapped_bytes(st) >= st->mapped_max)
		vault_store__trim(st, txn, inmap);
}

#define UNCACHE_SLACK ((uintptr_t)4 << 20)   /* beyond the largest folio */

void vault_store__uncache(vault_store *st, MDB_txn *txn, const void *inmap, ptrdiff_t from,
	ptrdiff_t to)
{
	uintptr_t base, end, start, stop, pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	int fd;

	if (map_bounds(&base, &end, st, txn, inmap) != 0 || mdb_env_get_fd(st->env, &fd) != 0 ||
	    to <= from)
		return;
	/* Unmapped first: the page cache keeps pages that are mapped. */
	madvise((void *)base, end - base, MADV_DONTNEED);
	/* Whole pages: a value starts after its page's header. A large folio
	 * across the start, partly another chunk's, would be kept: start that
	 * far earlier. */
	start = ((uintptr_t)inmap + (uintptr_t)from) & ~(pg - 1);
	start = start > base + UNCACHE_SLACK ? start - UNCACHE_SLACK : base;
	stop = ((uintptr_t)inmap + (uintptr_t)to + pg - 1) & ~(pg - 1);
	if (stop > end)
		stop = end;
	if (stop > start)
		posix_fadvise(fd, (off_t)(start - base), (off_t)(stop - start), POSIX_FADV_DONTNEED);
}

int vault_store__readv(vault_store *st, MDB_txn *txn, const MDB_val *val,
	const struct iovec *iov, int n)
{
	uintptr_t base = __atomic_load_n(&st->map_base, __ATOMIC_RELAXED), end;
	MDB_envinfo info;
	size_t total = 0;
	int fd;

	/* Only committed pages lie in the file: a write transaction's own
	 * pages are on the heap until it commits. */
	if (mdb_env_info(st->env, &info) != 0 || mdb_txn_id(txn) > info.me_last_txnid ||
	    mdb_env_get_fd(st->env, &fd) != 0)
		return -1;
	if (!base) {
		if (map_bounds(&base, &end, st, txn, val->mv_data) != 0)
			return -1;
		__atomic_store_n(&st->map_base, base, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (total != val->mv_size || (uintptr_t)val->mv_data < base ||
	    (uintptr_t)val->mv_data - base + total > info.me_mapsize)
		return -1;
	/* A short read (past the end of the file) is refused whole. */
	return preadv(fd, iov, n, (off_t)((uintptr_t)val->mv_data - base)) == (ssize_t)total ? 0 : -1;
}

#define GROW_LOW  (16ULL << 20)
#define GROW_STEP (64ULL << 20)

void vault_store__grow(vault_store *st, MDB_txn *txn)
{
	MDB_envinfo info;
	MDB_stat stat;
	struct stat sb;
	uint64_t used, want;
	int fd;

	(void)txn;
	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &stat) != 0 ||
	    mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0)
		return;
	used = ((uint64_t)info.me_last_pgno + 1) * stat.ms_psize;
	if ((uint64_t)sb.st_size >= used + GROW_LOW)
		return;
	want = used + GROW_STEP;
	if (want > info.me_mapsize)
		want = info.me_mapsize;
	if (want > (uint64_t)sb.st_size)
		(void)posix_fallocate(fd, sb.st_size, (off_t)(want - (uint64_t)sb.st_size));
}

/* Every record of `dbi` in order: LMDB meets every page of its tree. */
static int walk_table(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t last_pgno)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return vault_store__error(rc, "check the vault file");
	VAULT_FAULT_ENTER();
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		const uint64_t *ids = d.mv_data;
		uint64_t n;

		if (vault_store__page_ok(mdb_env_get_userctx(mdb_txn_env(txn)), k.mv_data) < 0 ||
		    vault_store__page_ok(mdb_env_get_userctx(mdb_txn_env(txn)), d.mv_data) < 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (dbi != 0)
			continue;
		/* A page list of the free pages: a count, then page numbers
		 * (8-byte aligned, LMDB's own). */
		if (d.mv_size < 8 || d.mv_size % 8 || (n = ids[0]) != d.mv_size / 8 - 1) {
			rc = MDB_CORRUPTED;
			break;
		}
		/* Sorted, highest first; each one a page of the file. */
		if (k.mv_size != 8)
			rc = MDB_CORRUPTED;
		for (uint64_t i = 1; i <= n && rc == 0; i++)
			if (ids[i] < 2 || ids[i] > last_pgno || (i > 1 && ids[i] >= ids[i - 1]))
				rc = MDB_CORRUPTED;
		if (rc != 0)
			break;
	}
	VAULT_FAULT_LEAVE();
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	return vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: its table '%s' cannot be read (%s)",
		name, mdb_strerror(rc));
}

int vault_store__check(vault_store *st, MDB_txn *txn)
{
	const struct { const char *name; MDB_dbi dbi; } tables[] = {
		{ "free pages", 0 }, { "tables", 1 }, { "meta", st->meta }, { "sealed", st->sealed },
		{ "dirents", st->dirents }, { "nodekeys", st->nodekeys },
	};
	MDB_envinfo info;
	int error = 0;

	if (mdb_env_info(st->env, &info) != 0)
		return vault_error_set(VAULT_ERROR, "check the vault file: no environment information");
	for (size_t i = 0; i < sizeof tables / sizeof tables[0] && error == 0; i++)
		error = walk_table(txn, tables[i].dbi, tables[i].name, info.me_last_pgno);
	return error;
}
