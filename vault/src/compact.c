/*
 * compact — `casevault compact`: the vault file rewritten without its free
 * pages, offline (vault/compact.h).
 *
 * Offline means that no other process has the environment open. Every
 * process that opens it holds a shared lock on the first byte of LMDB's
 * lock file while it is open (LMDB's own protocol); compact takes that
 * byte's lock exclusively, and is refused if it cannot. While it holds it,
 * a process that opens the vault waits in LMDB's open, before it opens
 * the data file, so it finds the new file. compact's own environment is
 * opened without the lock file (it would turn the lock shared).
 *
 * The copy is LMDB's compacting copy, as a backup's, written beside the
 * vault file, flushed, then renamed over it. Last, the new file is opened
 * as any process opens it while the lock is still held exclusively: LMDB
 * then finds itself alone and sets up the lock file's reader table from
 * the new file (its transaction ids start again), before the processes
 * that wait are let in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "staged.h"
#include "vault/compact.h"

/* LMDB's lock, taken exclusively: -1 with the error set if another
 * process holds it. */
static int lock_vault(const char *dir)
{
	struct flock fl;
	char path[4200];
	int fd;

	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		vault_error_set(errno == EACCES ? VAULT_EACCES : VAULT_ERROR,
			"compact: cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			vault_error_set(VAULT_EBUSY,
				"vault '%s' is open in another process (a mount or a command): compact works offline",
				dir);
		else
			vault_error_set(VAULT_ERROR, "compact: cannot lock '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int file_size(uint64_t *out, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return vault_error_set(VAULT_ENOTFOUND, "no vault at '%s'", path);
		return vault_error_set(VAULT_ERROR, "compact: cannot read '%s': %s", path, strerror(errno));
	}
	*out = (uint64_t)sb.st_size;
	return 0;
}

/* A format this build writes: a file of another one is left alone. */
static int check_format(vault_store *st, const char *dir)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	int error;

	if ((error = vault_store__begin(&txn, st, 0)) < 0)
		return error;
	if (vault_store__get(txn, st->meta, "format", 6, &val) < 0 || val.mv_size != 5 ||
	    ((unsigned char *)val.mv_data)[0] != REC_FORMAT)
		error = vault_error_set(VAULT_ECORRUPT, "'%s' is not a casevault vault: it has no format record", dir);
	else if (be32_get((unsigned char *)val.mv_data + 1) != VAULT_FORMAT_VERSION)
		error = vault_error_set(VAULT_EVERSION,
			"vault '%s' is of format %u; this casevault compacts format %u only",
			dir, be32_get((unsigned char *)val.mv_data + 1), VAULT_FORMAT_VERSION);
	vault_store__abort(st, txn);
	return error;
}

/* The compacting copy into `tmp`, flushed; removed on failure. */
static int copy_to(vault_store *st, const char *tmp)
{
	int fd, error = 0;

	unlink(tmp);    /* a copy a crash left */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return vault_error_set(VAULT_ERROR, "compact: cannot create '%s': %s", tmp, strerror(errno));
	if (vault_store__copy(st, fd) < 0 || fsync(fd) < 0) {
		int e = errno;
		error = e == ENOSPC || e == EDQUOT || vault_error_last()->code == VAULT_ENOSPC ?
			vault_error_set(VAULT_ENOSPC, "compact: the disk holding the vault has no room for its copy") :
			vault_error_wrap(VAULT_ERROR, "compact: cannot write '%s'", tmp);
	}
	if (close(fd) < 0 && error == 0)
		error = vault_error_set(VAULT_ERROR, "compact: cannot write '%s': %s", tmp, strerror(errno));
	if (error < 0)
		unlink(tmp);
	return error;
}

/* The new file in place: renamed over the old one, the directory flushed. */
static int replace(const char *tmp, const char *data, const char *dir)
{
	int fd;

	if (rename(tmp, data) < 0) {
		int e = errno;
		unlink(tmp);
		return vault_error_set(VAULT_ERROR, "compact: cannot replace '%s': %s", data, strerror(e));
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int vault_compact(vault_compact_info *out, const char *dir)
{
	vault_staged__result res;
	vault_store *st = NULL;
	char data[4200], tmp[4200];
	int lock = -1, error;

	memset(out, 0, sizeof *out);
	if ((error = vault_global_init()) < 0)
		return error;
	snprintf(data, sizeof data, "%s/data.mdb", dir);
	snprintf(tmp, sizeof tmp, "%s/data.mdb.compact", dir);
	/* A vault first: no lock file is made anywhere else. */
	if ((error = file_size(&out->before, data)) < 0)
		return error;
	if ((lock = lock_vault(dir)) < 0)
		return vault_error_last()->code;
	if ((error = vault_store__open(&st, dir, VAULT_STORE_EXCLUSIVE, 0)) < 0 ||
	    (error = check_format(st, dir)) < 0 ||
	    (error = vault_staged__collect(&res, st, 1)) < 0 ||
	    (error = copy_to(st, tmp)) < 0)
		goto done;
	vault_store__close(st);
	st = NULL;
	if ((error = replace(tmp, data, dir)) < 0)
		goto done;
	out->writes = res.writes;
	out->blocks = res.blocks;
	/* Opened as any process does, the lock still exclusive: see above. */
	if ((error = vault_store__open(&st, dir, VAULT_STORE_OPEN, 0)) < 0)
		goto done;
	error = file_size(&out->after, data);
done:
	vault_store__close(st);
	close(lock);
	return error;
}
