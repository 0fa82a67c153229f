/*
 * mount — the life of a mount: the mount point, the daemon, the vault
 * opened in it, and the FUSE loop that serves the operations (vfs.c) until
 * the mount is unmounted.
 */
#include <fcntl.h>
#include <libintl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
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
 * A thread that runs `fn` every `period_ms` until stopped, or until `fn`
 * returns nonzero: the witness's pushes and the idle watch.
 */
typedef struct {
	int (*fn)(void *payload);
	void *payload;
	long period_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int started, stop;
} ticker;

static void *tick(void *payload)
{
	ticker *t = payload;
	struct timespec until;
	int done = 0;

	pthread_mutex_lock(&t->lock);
	while (!t->stop && !done) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += t->period_ms / 1000;
		until.tv_nsec += (t->period_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&t->wake, &t->lock, &until) == 0 || t->stop)
			continue;
		pthread_mutex_unlock(&t->lock);
		done = t->fn(t->payload);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void start_ticker(ticker *t, long period_ms, int (*fn)(void *), void *payload)
{
	memset(t, 0, sizeof *t);
	t->fn = fn;
	t->payload = payload;
	t->period_ms = period_ms;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	t->started = pthread_create(&t->thread, NULL, tick, t) == 0;
}

static void stop_ticker(ticker *t)
{
	if (t->started) {
		pthread_mutex_lock(&t->lock);
		t->stop = 1;
		pthread_cond_signal(&t->wake);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
	}
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
}

/*
 * The witness (the setting `witness`) gets the history after every
 * `witness-every` events: a thread looks every WITNESS_PERIOD seconds,
 * so file operations never wait for the network. The unmount pushes too
 * (vfs_destroy).
 */
#define WITNESS_PERIOD 30

static int push_witness(void *payload)
{
	vault_push_result res;

	if (vault_witness_auto(&res, payload, 0) < 0)
		syslog(LOG_WARNING, "casevault: the push to the witness failed (recorded; tried again later): %s",
			vault_error_last()->message);
	return 0;
}

/*
 * The watch: a thread that ends the mount as SIGTERM does (the loop stops,
 * the mount is detached, vfs_destroy records the event, the keys are
 * wiped with the vault's handle) when
 *
 *  - mount --idle: o->idle seconds passed without activity (vfs.c's
 *    vfs_get says which operations count). Open files do not hold it up,
 *    except those whose changes only the daemon holds (pending, or written
 *    and not committed): it waits for them, as their loss would be the
 *    user's work. A shell's working folder does not hold it either. The
 *    event is `idle-unmount`.
 *  - the mount was detached (umount --force, umount -l, fusermount3 -u -z)
 *    while busy: the kernel keeps it for the processes inside, and would
 *    keep the daemon and its keys too until the last of them lets go. The
 *    event is `unmount`.
 */
#define WATCH_MS    1000         /* how often it looks for a detached mount */
#define IDLE_CHECKS 4            /* looks per idle time, at least one per WATCH_MS */
#define IDLE_MIN_MS 100

typedef struct {
	vfs *fs;
	const char *mnt;             /* the mount point, resolved ("" unknown) */
	pthread_t loop;              /* the thread in fuse_loop_mt, told by a signal */
	int warned;
} mount_watch;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vfs_mount__touch(vfs *fs)
{
	if (fs->o->idle)
		__atomic_store_n(&fs->active, now_ms(), __ATOMIC_RELAXED);
}

/* Idle long enough, with no unsaved file open? */
static int idle_over(mount_watch *w)
{
	vfs *fs = w->fs;
	int unsaved;

	if (!fs->o->idle ||
	    now_ms() - __atomic_load_n(&fs->active, __ATOMIC_RELAXED) < (int64_t)fs->o->idle * 1000)
		return 0;
	if ((unsaved = vfs_handles__unsaved(fs)) > 0) {
		if (!w->warned++)
			syslog(LOG_NOTICE, "casevault: idle, but %d open file(s) hold changes not yet "
				"saved: the mount stays until they are closed", unsaved);
		return 0;
	}
	return 1;
}

/*
 * Is our mount gone from the table? The table is read in several calls,
 * and a line can slip by while other mounts come and go: only a miss
 * three times over, 50 ms apart, counts.
 */
static int detached(const char *mnt)
{
	vfs_mount_info m;

	for (int i = 0; i < 3; i++) {
		if (i)
			usleep(50000);
		if (!mnt[0] || vfs_mount_find(&m, mnt) != 0)
			return 0;
	}
	return 1;
}

static int watch(void *payload)
{
	mount_watch *w = payload;

	if (detached(w->mnt)) {
		syslog(LOG_NOTICE, "casevault: %s was detached: ending the mount", w->mnt);
	} else if (idle_over(w)) {
		syslog(LOG_NOTICE, "casevault: unmounting %s after %us without activity (mount --idle)",
			w->mnt, w->fs->o->idle);
		__atomic_store_n(&w->fs->idle_ended, 1, __ATOMIC_RELEASE);
	} else {
		return 0;
	}
	/* What SIGTERM does: libfuse's handler ends the loop. */
	pthread_kill(w->loop, SIGTERM);
	return 1;
}

static long watch_period(unsigned idle)
{
	long ms = (long)idle * 1000 / IDLE_CHECKS;

	return !idle || ms > WATCH_MS ? WATCH_MS : ms < IDLE_MIN_MS ? IDLE_MIN_MS : ms;
}

/* A field of mountinfo: "\040" and the like stand for space, tab, newline, '\'. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The owner of a FUSE mount from its super options ("rw,user_id=1000,..."). */
static long owner_of(const char *super)
{
	const char *u = strstr(super, "user_id=");

	return u && (u == super || u[-1] == ',') ? strtol(u + 8, NULL, 10) : -1;
}

int vfs_mount_find(vfs_mount_info *out, const char *path)
{
	char *line = NULL, *point, *dash, *super, *save;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER */
		if (strtok_r(line, " ", &save) == NULL || strtok_r(NULL, " ", &save) == NULL ||
		    strtok_r(NULL, " ", &save) == NULL || strtok_r(NULL, " ", &save) == NULL ||
		    (point = strtok_r(NULL, " ", &save)) == NULL)
			continue;
		while ((dash = strtok_r(NULL, " ", &save)) != NULL && strcmp(dash, "-") != 0)
			;
		if (dash == NULL || (dash = strtok_r(NULL, " ", &save)) == NULL)
			continue;
		unescape(point);
		if (strcmp(point, path) != 0)
			continue;
		snprintf(out->type, sizeof out->type, "%s", dash);
		super = strtok_r(NULL, " ", &save) ? strtok_r(NULL, " \n", &save) : NULL;
		out->uid = super ? owner_of(super) : -1;
		found = 1;
	}
	free(line);
	fclose(f);
	return found;
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
	ticker witness, watcher;
	mount_watch w = { fs, mnt, pthread_self(), 0 };
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
	rc = vault_open(&fs->v, o->vault_dir) < 0 ? -1 : 0;
	/* What the unlock itself records (a recovery grant finished, a
	 * restored vault's notice) is the mount's doing too. */
	if (rc == 0) {
		vault_set_via(fs->v, VAULT_VIA_FUSE);
		rc = vault_unlock(fs->v, o->user, o->pass, o->passlen) < 0 ? -1 : 0;
	}
	/* Unlocked (or not): the daemon never needs the passphrase again. */
	if (o->pass)
		sodium_memzero(o->pass, o->passlen);
	if (rc < 0) {
		syslog(LOG_ERR, "casevault: cannot open the vault: %s", vault_error_last()->message);
		fprintf(stderr, "casevault: %s: %s\n", gettext("cannot open the vault"), vault_error_last()->text);
		return -1;
	}
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) < 0)
		return -1;
	start_tuner(mnt);
	start_ticker(&witness, WITNESS_PERIOD * 1000L, push_witness, fs->v);
	vfs_mount__touch(fs);
	start_ticker(&watcher, watch_period(o->idle), watch, &w);
	/* Ended by a signal (SIGTERM, SIGINT) is a clean end too. */
	rc = fuse_loop_mt(fuse, 0) < 0 ? -1 : 0;
	stop_ticker(&watcher);
	stop_ticker(&witness);
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
