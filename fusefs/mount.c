/*
 * mount — the life of a mount: the mount point, the daemon, the vault
 * opened in it, and the FUSE loop that serves the operations (vfs.c) until
 * the mount is unmounted.
 */
#include <fcntl.h>
#include <libintl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vfs_int.h"

#define READAHEAD_KB  "2048"            /* the mount's readahead, see tune_readahead() */

/*
 * The kernel reads ahead 128 KiB on a FUSE mount: a request or two in
 * flight, one core decrypting while the other waits. A larger window keeps
 * several requests in flight, decrypted on several threads. It is the
 * mount's bdi setting, lowered to the kernel's default by the handshake:
 * set here once the mount answers (the stat waits for the handshake, and is
 * served by the loop). Only root may; else the default stays, silently.
 */
static void *tune_readahead(void *payload)
{
	char *mountpoint = payload, path[64];
	struct stat st;
	int fd;

	if (stat(mountpoint, &st) == 0) {
		snprintf(path, sizeof path, "/sys/class/bdi/%u:%u/read_ahead_kb",
			major(st.st_dev), minor(st.st_dev));
		/* A tuning: the mount works without it. */
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
			ssize_t n = write(fd, READAHEAD_KB, strlen(READAHEAD_KB));
			(void)n;
			close(fd);
		}
	}
	free(mountpoint);
	return NULL;
}

/* The readahead is tuned on a thread of its own, once the loop runs. */
static void start_tuner(const char *mnt)
{
	pthread_t tuner;
	pthread_attr_t attr;
	char *tune;

	if (!mnt[0] || (tune = strdup(mnt)) == NULL)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tuner, &attr, tune_readahead, tune) != 0)
		free(tune);
	pthread_attr_destroy(&attr);
}

/*
 * The witness (the setting `witness`) gets the history after every
 * `witness-every` events: a thread looks every WITNESS_PERIOD seconds,
 * so file operations never wait for the network. The unmount pushes too
 * (vfs_destroy).
 */
#define WITNESS_PERIOD 30

typedef struct {
	vault *v;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int started, stop;
} witness_pusher;

static void *push_witness(void *payload)
{
	witness_pusher *w = payload;
	vault_push_result res;
	struct timespec until;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WITNESS_PERIOD;
		if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0 || w->stop)
			continue;
		pthread_mutex_unlock(&w->lock);
		if (vault_witness_auto(&res, w->v, 0) < 0)
			syslog(LOG_WARNING, "casevault: the push to the witness failed (recorded; tried again later): %s",
				vault_error_last()->message);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void start_witness(witness_pusher *w, vault *v)
{
	memset(w, 0, sizeof *w);
	w->v = v;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->started = pthread_create(&w->thread, NULL, push_witness, w) == 0;
}

static void stop_witness(witness_pusher *w)
{
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->stop = 1;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
}

static struct fuse *new_fuse(struct fuse_args *args, vfs *fs)
{
	const vfs_options *o = fs->o;
	struct fuse *fuse;
	char opts[256];

	snprintf(opts, sizeof opts, "fsname=casevault,subtype=casevault,default_permissions%s%s",
		o->read_only ? ",ro" : "", o->allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(args, "casevault") < 0 || fuse_opt_add_arg(args, "-o") < 0 ||
	    fuse_opt_add_arg(args, opts) < 0)
		return NULL;
	if ((fuse = fuse_new(args, &vfs_vfs__ops, sizeof vfs_vfs__ops, fs)) == NULL)
		fprintf(stderr, "casevault: %s\n", gettext("cannot start the mount"));
	return fuse;
}

/*
 * A damaged vault file ends the daemon (the guard exits 3); its line goes
 * to the system log too. syslog() is not safe in a signal handler: the
 * datagram is made here, on a socket opened before.
 */
static struct {
	int fd;
	char prefix[64];
} damage_log = { -1, "" };

static void log_damage(const char *line)
{
	char msg[384];
	size_t n = strlen(damage_log.prefix), len = strlen(line);

	if (damage_log.fd < 0)
		return;
	if (len > sizeof msg - n)
		len = sizeof msg - n;
	memcpy(msg, damage_log.prefix, n);
	memcpy(msg + n, line, len);
	(void)!send(damage_log.fd, msg, n + len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void guard_damage(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };

	damage_log.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (damage_log.fd >= 0 && connect(damage_log.fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		close(damage_log.fd);
		damage_log.fd = -1;
	}
	snprintf(damage_log.prefix, sizeof damage_log.prefix, "<%d>casevault[%ld]: ",
		LOG_USER | LOG_ERR, (long)getpid());
	(void)vault_guard_damage("casevault", log_damage);
}

/* Mounted: serve until unmounted, from a daemon that opens the vault. */
static int serve(struct fuse *fuse, vfs *fs, const char *mnt)
{
	const vfs_options *o = fs->o;
	witness_pusher witness;
	int rc;

	openlog("casevault", LOG_PID, LOG_USER);
	if (fuse_daemonize(o->foreground) < 0)
		return -1;
	/* Memory locks do not pass a fork: the passphrase's page is locked
	 * again in the daemon, for the moment it is still needed. */
	if (o->pass && o->passlen)
		(void)mlock(o->pass, o->passlen);
	guard_damage();
	/* Detached now: open the vault afresh in this process. */
	rc = vault_open(&fs->v, o->vault_dir) < 0 ||
	     vault_unlock(fs->v, o->user, o->pass, o->passlen) < 0 ? -1 : 0;
	/* Unlocked (or not): the daemon never needs the passphrase again. */
	if (o->pass)
		sodium_memzero(o->pass, o->passlen);
	if (rc < 0) {
		syslog(LOG_ERR, "casevault: cannot open the vault: %s", vault_error_last()->message);
		fprintf(stderr, "casevault: %s: %s\n", gettext("cannot open the vault"), vault_error_last()->message);
		return -1;
	}
	vault_set_via(fs->v, VAULT_VIA_FUSE);
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) < 0)
		return -1;
	start_tuner(mnt);
	start_witness(&witness, fs->v);
	/* Ended by a signal (SIGTERM, SIGINT) is a clean end too. */
	rc = fuse_loop_mt(fuse, 0) < 0 ? -1 : 0;
	stop_witness(&witness);
	fuse_remove_signal_handlers(fuse_get_session(fuse));
	return rc;
}

int vfs_mount(const vfs_options *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *fuse = NULL;
	vfs_options abs = *o;
	vfs fs;
	int mounted = 0, rc = -1;
	char dir[PATH_MAX], mnt[PATH_MAX];

	/* A daemon works from "/": the vault's path must not be relative. */
	if (realpath(o->vault_dir, dir) == NULL) {
		fputs("casevault: ", stderr);
		fprintf(stderr, gettext("cannot find the vault '%s'\n"), o->vault_dir);
		return -1;
	}
	abs.vault_dir = dir;
	o = &abs;
	/* Found now: once mounted, resolving it would wait for the loop. */
	if (realpath(o->mountpoint, mnt) == NULL)
		mnt[0] = '\0';
	/* Threads share one malloc arena kept at its size: per-thread arenas
	 * growing and shrinking cost mprotect calls on every request. */
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	memset(&fs, 0, sizeof fs);
	fs.o = o;
	fs.uid = getuid();
	fs.gid = getgid();
	vfs_handles__init(&fs.table);
	vfs_listed__init(&fs.listed);
	if ((fuse = new_fuse(&args, &fs)) == NULL)
		goto done;
	/* The absolute path: the daemon works from "/", and unmounts by this
	 * name when a signal ends it. */
	if (fuse_mount(fuse, mnt[0] ? mnt : o->mountpoint) < 0) {
		fputs("casevault: ", stderr);
		fprintf(stderr, gettext("cannot mount on '%s'\n"), o->mountpoint);
		fprintf(stderr, "hint: %s\n", gettext("check that /dev/fuse exists and that fuse3 is installed"));
		goto done;
	}
	mounted = 1;
	rc = serve(fuse, &fs, mnt);
done:
	if (mounted)
		fuse_unmount(fuse);
	if (fuse)
		fuse_destroy(fuse);
	fuse_opt_free_args(&args);
	vault_close(fs.v);       /* wipes the keys */
	vfs_handles__dispose(&fs.table);
	vfs_listed__dispose(&fs.listed);
	return rc;
}
