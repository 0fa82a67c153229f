/*
 * casevault mount: the user's cases as folders; casevault umount.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "vfs.h"

static const char mount_usage[] =
	"usage: casevault mount DIR [--read-only] [--purpose P] [-f]\n"
	"\n"
	"Show your cases as folders under DIR (an empty directory): one folder per\n"
	"case (its code and label), the case's folders and files below, and\n"
	".history/CASE/PATH/ with every version of each file, read-only.\n"
	"Every open of a file is a read event with the purpose P; every file\n"
	"written and closed is a new version. Unmount with 'casevault umount DIR'.\n"
	"\n"
	"  --read-only   refuse every change (EROFS)\n"
	"  --purpose P   the purpose of the reads (see 'casevault purpose list')\n"
	"  -f            stay in the foreground\n";

static const char umount_usage[] =
	"usage: casevault umount DIR\n"
	"\n"
	"Unmount a casevault mount: the keys are wiped and an unmount event is\n"
	"recorded.\n";

/* An existing, empty directory: mounting hides what a directory holds. */
static int check_mountpoint(const char *dir)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

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

int cmd_mount(cli_ctx *ctx, int argc, char **argv)
{
	int read_only = 0, foreground = 0;
	const char *purpose = NULL;
	const cli_opt opts[] = {
		{ "read-only", 0, &read_only, NULL },
		{ "purpose", 0, NULL, &purpose },
		{ "foreground", 'f', &foreground, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "mount", mount_usage, opts, 1, 1 };
	vfs_options o;
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
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
	if (vfs_mount(&o) < 0)
		return CLI_EXIT_ERROR;
	return 0;
}

int cmd_umount(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "umount", umount_usage, NULL, 1, 1 };
	char *args[1];
	pid_t pid;
	int rc, status;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if ((pid = fork()) < 0)
		return cli_error_os("try again", "cannot unmount '%s'", args[0]);
	if (pid == 0) {
		/* Its own message would be a third line: ours says it. */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execlp("fusermount3", "fusermount3", "-u", "--", args[0], (char *) NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return cli_error(CLI_EXIT_ERROR, "install fuse3 (fusermount3)",
			"cannot unmount '%s': fusermount3 did not run", args[0]);
	if (WEXITSTATUS(status) != 0)
		return cli_error(CLI_EXIT_ERROR, "check that DIR is a casevault mount ('mount | grep casevault')",
			"cannot unmount '%s'", args[0]);
	return 0;
}
