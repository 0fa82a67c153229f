/*
 * casevault mount: the user's cases as folders; casevault umount.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "vfs.h"

static const char mount_usage[] =
	N_("usage: casevault mount DIR [--read-only] [--purpose P] [--idle DURATION] [-f]\n"
	"\n"
	"Show your cases as folders under DIR (an empty directory that is not a\n"
	"mount point already): one folder per case (its code and label), the\n"
	"case's folders and files below, and .history/CASE/PATH/ with every\n"
	"version of each file, read-only.\n"
	"Every open of a file is a read event with the purpose P; every file\n"
	"written and closed is a new version. Unmount with 'casevault umount DIR'.\n"
	"\n"
	"  --read-only   refuse every change (EROFS)\n"
	"  --purpose P   the purpose of the reads, required unless 'casevault\n"
	"                purpose list' says \"required: no\"\n"
	"  --idle DURATION  unmount, wiping the keys, after DURATION without\n"
	"                activity (an idle-unmount event): 90s, 30m, 2h, 1h30m;\n"
	"                0 never (the default). Listing, opening, reading and\n"
	"                writing count; stat, statfs and xattr queries do not.\n"
	"                It waits for open files with changes not yet saved.\n"
	"  -f            stay in the foreground\n");

static const char umount_usage[] =
	N_("usage: casevault umount DIR [--force]\n"
	"\n"
	"Unmount a casevault mount: the keys are wiped and an unmount event is\n"
	"recorded. A mount still in use (a file open, a shell's working folder)\n"
	"is not unmounted: the error names the processes that use it.\n"
	"\n"
	"  --force   unmount it even in use: it is detached at once, its daemon\n"
	"            ends within a second and wipes the keys; the processes in\n"
	"            it get \"Transport endpoint is not connected\", and changes\n"
	"            to files they still hold open are lost\n");

/*
 * The absolute path of `dir`. A mount whose daemon is gone cannot be
 * stat'ed (ENOTCONN), so then its parent is resolved and the last name
 * added: unmounting such a mount is what the user wants to do.
 */
static int resolve(char out[PATH_MAX], const char *dir)
{
	char copy[PATH_MAX], parent[PATH_MAX];
	const char *slash, *base;

	if (realpath(dir, out) != NULL)
		return 0;
	if (snprintf(copy, sizeof copy, "%s", dir) >= (int) sizeof copy)
		return -1;
	cli_path(copy);
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	if (!strcmp(base, ".") || !strcmp(base, "..") || *base == '\0')
		return -1;
	if (slash == copy)
		strcpy(parent, "/");
	else if (slash == NULL)
		strcpy(parent, ".");
	else
		snprintf(parent, sizeof parent, "%.*s", (int) (slash - copy), copy);
	if (realpath(parent, out) == NULL)
		return -1;
	if (strlen(out) + 1 + strlen(base) >= PATH_MAX)
		return -1;
	if (strcmp(out, "/") != 0)
		strcat(out, "/");
	strcat(out, base);
	return 0;
}

/* A directory that is a mount point already: say what is mounted there. */
static int refuse_mounted(const char *dir)
{
	char path[PATH_MAX];
	vfs_mount_info m;

	if (resolve(path, dir) < 0 || vfs_mount_find(&m, path) != 1)
		return 0;
	if (strcmp(m.type, VFS_FSTYPE) == 0)
		return cli_error(CLI_EXIT_ERROR, "unmount it first ('casevault umount DIR'), or choose another directory",
			"cannot mount on '%s': it is a casevault mount already", dir);
	return cli_error(CLI_EXIT_ERROR, "choose an empty directory that is not a mount point",
		"cannot mount on '%s': it is a mount point already (%s)", dir, m.type);
}

/* An existing, empty directory: mounting hides what a directory holds. */
static int check_mountpoint(const char *dir)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc;

	if ((rc = refuse_mounted(dir)) != 0)
		return rc;
	if (stat(dir, &st) < 0)
		return cli_error_os("create the directory first (mkdir)", "cannot mount on '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return cli_error(CLI_EXIT_ERROR, "choose an empty directory",
			"cannot mount on '%s': not a directory", dir);
	if ((d = opendir(dir)) == NULL)
		return cli_error_os("choose a directory you can read", "cannot mount on '%s'", dir);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			return cli_error(CLI_EXIT_ERROR, "choose an empty directory",
				"cannot mount on '%s': it is not empty", dir);
		}
	closedir(d);
	return 0;
}

#define IDLE_MAX (366u * 24 * 3600)     /* --idle's largest value: a year */

/*
 * --idle's DURATION: numbers with units (s, m, h, d), as "90s", "2h",
 * "1h30m"; "0" alone is never. @return 0 with *secs set, or a usage error.
 */
static int parse_idle(unsigned *secs, const char *text)
{
	const char *s = text;
	unsigned long long total = 0, n;
	char *end;

	*secs = 0;
	if (!strcmp(text, "0"))
		return 0;
	while (*s) {
		if (*s < '0' || *s > '9')
			break;
		errno = 0;
		n = strtoull(s, &end, 10);
		if (errno || end == s)
			break;
		switch (*end) {
		case 's': break;
		case 'm': n *= 60; break;
		case 'h': n *= 3600; break;
		case 'd': n *= 86400; break;
		default: goto bad;
		}
		if (n > IDLE_MAX || (total += n) > IDLE_MAX)
			return cli_error(CLI_EXIT_USAGE, "the longest idle time is 366d",
				"mount: --idle '%s' is too long", text);
		s = end + 1;
	}
	if (*s == '\0' && total > 0) {
		*secs = (unsigned)total;
		return 0;
	}
bad:
	return cli_error(CLI_EXIT_USAGE, "a number with its unit: 90s, 30m, 2h, 1h30m, 1d (0: never)",
		"mount: --idle '%s' is not a duration", text);
}

int cmd_mount(cli_ctx *ctx, int argc, char **argv)
{
	int read_only = 0, foreground = 0;
	const char *purpose = NULL, *idle = NULL;
	const cli_opt opts[] = {
		{ "read-only", 0, &read_only, NULL },
		{ "purpose", 0, NULL, &purpose },
		{ "idle", 0, NULL, &idle },
		{ "foreground", 'f', &foreground, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "mount", mount_usage, opts, 1, 1 };
	vfs_options o;
	char *args[1];
	unsigned idle_secs = 0;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (idle && (rc = parse_idle(&idle_secs, idle)) != 0)
		return rc;
	if ((rc = check_mountpoint(args[0])) != 0)
		return rc;
	/* A purpose the vault does not take fails here, on the terminal, not
	 * later in the daemon (which records the mount event). */
	cli_error_on(CLI_ON_READ, args[0]);
	if (vault_purpose_check(ctx->v, purpose) < 0)
		return cli_fail_vault("cannot mount '%s'", args[0]);
	/* The daemon opens the vault afresh: an LMDB environment must not
	 * cross the fork that detaches it. */
	vault_close(ctx->v);
	ctx->v = NULL;

	memset(&o, 0, sizeof o);
	o.vault_dir = ctx->dir;
	o.user = ctx->user;
	o.pass = ctx->pass;
	o.passlen = ctx->passlen;
	o.mountpoint = args[0];
	o.purpose = purpose;
	o.read_only = read_only;
	o.foreground = foreground;
	o.idle = idle_secs;
	if (vfs_mount(&o) < 0)
		return CLI_EXIT_ERROR;
	return 0;
}

/* Is `path` the mount point `mnt`, or below it? */
static int is_under(const char *path, const char *mnt)
{
	size_t len = strlen(mnt);

	return strncmp(path, mnt, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

/* Does /proc/PID/NAME (a link: cwd, root, fd/N) lead under `mnt`? */
static int link_under(const char *pid, const char *name, const char *mnt)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/%s/%s", pid, name);
	if ((n = readlink(link, target, sizeof target - 1)) < 0)
		return 0;
	target[n] = '\0';
	return is_under(target, mnt);
}

static int holds_mount(const char *pid, const char *mnt)
{
	char fddir[300], name[300];
	struct dirent *e;
	DIR *d;
	int found = 0;

	if (link_under(pid, "cwd", mnt) || link_under(pid, "root", mnt))
		return 1;
	snprintf(fddir, sizeof fddir, "/proc/%s/fd", pid);
	if ((d = opendir(fddir)) == NULL)
		return 0;   /* another user's process: not ours to see */
	while (!found && (e = readdir(d)) != NULL) {
		snprintf(name, sizeof name, "fd/%s", e->d_name);
		found = e->d_name[0] != '.' && link_under(pid, name, mnt);
	}
	closedir(d);
	return found;
}

/*
 * Why a mount is busy: the processes (that we may see) with a file open,
 * their working directory or their root under `mnt`, as
 * "1234 (bash), 1240 (less)". @return how many.
 */
static size_t busy_holders(char *out, size_t size, const char *mnt)
{
	char comm[64], path[300];
	struct dirent *e;
	size_t n = 0, used = 0;
	DIR *d;
	FILE *f;

	out[0] = '\0';
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !holds_mount(e->d_name, mnt))
			continue;
		snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
		comm[0] = '\0';
		if ((f = fopen(path, "re")) != NULL) {
			if (fgets(comm, sizeof comm, f) == NULL)
				comm[0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		if (used < size)
			used += (size_t) snprintf(out + used, size - used, "%s%s (%s)",
				n ? ", " : "", e->d_name, comm[0] ? comm : "?");
		n++;
	}
	closedir(d);
	if (used >= size && size > 4)
		strcpy(out + size - 4, "...");
	return n;
}

/*
 * Run `fusermount3 -u DIR` (-z: `lazy`, detached even in use); its message (the reason after its last ": ")
 * goes to `msg`, for ours is the one line the user sees.
 * @return its exit status; 127 if it did not run; -1 if we could not start it.
 */
static int fusermount_u(char *msg, size_t size, const char *dir, int lazy)
{
	int fds[2], status;
	ssize_t n, got = 0;
	char *colon;
	pid_t pid;

	msg[0] = '\0';
	if (pipe(fds) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", "--", dir, (char *) NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", "--", dir, (char *) NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], msg + got, size - 1 - (size_t) got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (got += n) == (ssize_t) size - 1)
			break;
	}
	close(fds[0]);
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if ((colon = strrchr(msg, ':')) != NULL && colon[1] == ' ')
		memmove(msg, colon + 2, strlen(colon + 2) + 1);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}

/* Another user's mount: fusermount3 would say "not found in /etc/mtab". */
static int refuse_other_owner(const char *dir, long uid)
{
	struct passwd *pw;

	if (uid < 0 || (uid_t)uid == getuid() || getuid() == 0)
		return 0;
	if ((pw = getpwuid((uid_t)uid)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "only its owner (or root) can unmount it",
			"cannot unmount '%s': it is the mount of uid %ld, not yours", dir, uid);
	return cli_error(CLI_EXIT_ERROR, "only its owner (or root) can unmount it",
		"cannot unmount '%s': it is %s's mount (uid %ld), not yours", dir, pw->pw_name, uid);
}

/* In use: say by whom; with --force, detach it all the same. */
static int busy(const char *dir, const char *path, int force)
{
	char holders[512], msg[512];
	size_t n = busy_holders(holders, sizeof holders, path);

	if (!force && n)
		return cli_error(CLI_EXIT_ERROR, "close those files and leave the folder (cd elsewhere), "
			"then try again; or 'casevault umount --force DIR'",
			"cannot unmount '%s': it is busy: in use by %s", dir, holders);
	if (!force)
		return cli_error(CLI_EXIT_ERROR, "a process of another user has a file or folder open "
			"under it ('fuser -vm DIR' as root shows which); or 'casevault umount --force DIR'",
			"cannot unmount '%s': it is busy", dir);
	if (fusermount_u(msg, sizeof msg, dir, 1) != 0)
		return cli_error(CLI_EXIT_ERROR, "try again, or 'fusermount3 -u -z DIR'",
			"cannot unmount '%s': %s", dir, msg[0] ? msg : "fusermount3 -u -z failed");
	if (n) {
		fputs("casevault: ", stderr);
		fprintf(stderr, _("'%s' detached while in use by %s: they now get "
			"\"Transport endpoint is not connected\"\n"), dir, holders);
	}
	return CLI_EXIT_OK;
}

int cmd_umount(cli_ctx *ctx, int argc, char **argv)
{
	int force = 0;
	const cli_opt opts[] = {
		{ "force", 0, &force, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "umount", umount_usage, opts, 1, 1 };
	char *args[1], path[PATH_MAX], msg[512], holders[512];
	vfs_mount_info m;
	int rc, found = -1;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (resolve(path, args[0]) == 0)
		found = vfs_mount_find(&m, path);
	if (found == 0)
		return cli_error(CLI_EXIT_ERROR, "'grep casevault /proc/mounts' lists the casevault mounts",
			"cannot unmount '%s': it is not a mount point", args[0]);
	if (found == 1 && strcmp(m.type, VFS_FSTYPE) != 0)
		return cli_error(CLI_EXIT_ERROR, "unmount other file systems with umount(8)",
			"cannot unmount '%s': it is a %s mount, not a casevault one", args[0], m.type);
	if (found == 1 && (rc = refuse_other_owner(args[0], m.uid)) != 0)
		return rc;

	switch ((rc = fusermount_u(msg, sizeof msg, args[0], 0))) {
	case 0:
		return CLI_EXIT_OK;
	case -1:
		return cli_error_os("try again", "cannot unmount '%s'", args[0]);
	case 127:
		return cli_error(CLI_EXIT_ERROR, "install fuse3 (fusermount3)",
			"cannot unmount '%s': fusermount3 did not run", args[0]);
	}
	if (found == 1 && (strstr(msg, "busy") != NULL || busy_holders(holders, sizeof holders, path) > 0))
		return busy(args[0], path, force);
	return cli_error(CLI_EXIT_ERROR, "check that it is your casevault mount ('grep casevault /proc/mounts')",
		"cannot unmount '%s': %s", args[0], msg[0] ? msg : "fusermount3 failed");
}
