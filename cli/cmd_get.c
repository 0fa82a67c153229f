/*
 * casevault get: read a version of a file, to standard output or to -o
 * FILE. The read is a signed event, recorded before any byte is written.
 *
 * No half-written plaintext is left behind: a new FILE is created (O_EXCL,
 * mode 0600) and removed again on any failure; with --force an existing
 * file is replaced by renaming a new one over it once it is complete.
 * Devices and FIFOs (/dev/null, a pipe) are written to as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"


static const char usage[] =
	N_("usage: casevault get CODE/PATH [-o FILE [--force]] [--version N | --at TIME] [--purpose P[:NOTE]]\n"
	"\n"
	"Write the current version of CODE/PATH (or version N) to standard output,\n"
	"or to FILE, which is made readable by you only. FILE must not exist yet,\n"
	"unless it is a device or a FIFO (such as /dev/null), which is written to.\n"
	"\n"
	"  --force             replace FILE if it exists (it is replaced whole once\n"
	"                      the read is complete: a failure leaves it as it was)\n"
	"  --at TIME           the file as it was then, under the path it had then:\n"
	"                      RFC 3339 (2026-11-28T10:00:00Z), a date (2026-11-28,\n"
	"                      its first second, UTC) or seconds since 1970\n"
	"  --purpose P[:NOTE]  why you read it, required unless 'casevault purpose list'\n"
	"                      says \"required: no\": a code from that list, and a note\n"
	"                      only auditors and admins can read\n");

/* What -o names, and so what finishing or undoing the output means. */
typedef enum {
	OUT_STDOUT = 0,
	OUT_NEW,       /* created here: removed on failure */
	OUT_REPLACE,   /* --force: a new file beside it, renamed over it at the end */
	OUT_DEVICE,    /* a device or FIFO: written to, nothing to undo */
} out_kind;

typedef struct {
	int fd;
	int err;            /* errno of a failed write, 0 if none */
	out_kind kind;
	const char *file;   /* -o FILE */
	char *tmp;          /* OUT_REPLACE: the new file, in FILE's folder */
} get_sink;

static int write_sink(void *payload, const void *buf, size_t len)
{
	get_sink *out = payload;
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(out->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			out->err = errno;
			return -1;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

static int refuse_existing(const char *file)
{
	return cli_error(CLI_EXIT_ERROR, "pass --force to replace it, or choose another name",
		"cannot write '%s': the file already exists", file);
}

/*
 * --force: the content goes to a new file in the same folder (so that the
 * rename stays on one file system), mode 0600 as any new output.
 */
static int open_replacement(get_sink *out)
{
	static const char name[] = ".casevault-get-XXXXXX";
	const char *slash = strrchr(out->file, '/');
	int dirlen = slash ? (int) (slash - out->file + 1) : 0;
	size_t size = (size_t) dirlen + sizeof name;

	if ((out->tmp = malloc(size)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	snprintf(out->tmp, size, "%.*s%s", dirlen, out->file, name);
	/* mkstemp: O_EXCL, mode 0600 */
	if ((out->fd = mkstemp(out->tmp)) < 0) {
		free(out->tmp);
		out->tmp = NULL;
		return cli_error_os("check that you may write in its folder",
			"cannot replace '%s'", out->file);
	}
	fcntl(out->fd, F_SETFD, FD_CLOEXEC);
	out->kind = OUT_REPLACE;
	return 0;
}

/* A device or FIFO: opened as the shell's '>' would, without creating anything. */
static int open_device(get_sink *out)
{
	struct stat st;

	if ((out->fd = open(out->file, O_WRONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return cli_error_os("check that you may write to it", "cannot write '%s'", out->file);
	if (fstat(out->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		/* Replaced by a file since we looked: that is not ours to overwrite. */
		close(out->fd);
		out->fd = -1;
		return refuse_existing(out->file);
	}
	out->kind = OUT_DEVICE;
	return 0;
}

static int open_output(get_sink *out, const char *file, int force)
{
	struct stat st;

	out->file = file;
	out->fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (out->fd >= 0) {
		out->kind = OUT_NEW;
		return 0;
	}
	if (errno != EEXIST)
		return cli_error_os("check that the folder exists and that you may write there",
			"cannot create '%s'", file);
	if (stat(file, &st) < 0)
		return cli_error_os("check the name: a symbolic link that leads nowhere is in the way",
			"cannot write '%s'", file);
	if (S_ISDIR(st.st_mode))
		return cli_error(CLI_EXIT_ERROR, "name a file, such as -o DIR/NAME",
			"cannot write '%s': it is a folder", file);
	if (S_ISREG(st.st_mode))
		return force ? open_replacement(out) : refuse_existing(file);
	return open_device(out);
}

/* Make the output durable before we say it is there. */
static int finish_output(get_sink *out)
{
	int fd = out->fd, failed;

	out->fd = -1;
	/* A device has nothing to flush (and fsync may not apply to it). */
	failed = out->kind != OUT_DEVICE && fsync(fd) < 0;
	if (failed) {
		int saved = errno;

		close(fd);
		errno = saved;
	} else {
		failed = close(fd) < 0;
	}
	if (failed)
		return cli_error_os("free disk space and try again", "cannot write '%s'", out->file);
	if (out->kind == OUT_REPLACE && rename(out->tmp, out->file) < 0)
		return cli_error_os("check that you may write in its folder",
			"cannot replace '%s'", out->file);
	return 0;
}

/* After a failure: what we created goes, what was there stays. */
static void undo_output(get_sink *out)
{
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	if (out->kind == OUT_NEW)
		unlink(out->file);
	else if (out->kind == OUT_REPLACE)
		unlink(out->tmp);
}

int cmd_get(cli_ctx *ctx, int argc, char **argv)
{
	const char *output = NULL, *version_arg = NULL, *purpose_arg = NULL, *at_arg = NULL;
	int force = 0;
	const cli_opt opts[] = {
		{ "output", 'o', NULL, &output },
		{ "force", 0, &force, NULL },
		{ "version", 0, NULL, &version_arg },
		{ "at", 0, NULL, &at_arg },
		{ "purpose", 0, NULL, &purpose_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "get", usage, opts, 1, 1 };
	vault_get_options gopts = { VAULT_GET_OPTIONS_VERSION, 0, NULL, NULL };
	vault_at_options aopts = { VAULT_AT_OPTIONS_VERSION, 0, NULL, NULL };
	get_sink sink = { STDOUT_FILENO, 0, OUT_STDOUT, NULL, NULL };
	char *args[1], *path, *purpose = NULL;
	int rc, failed;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	rc = CLI_EXIT_OK;
	path = args[0];   /* a trailing '/' names a folder: the library says so */
	if (version_arg != NULL && at_arg != NULL) {
		rc = cli_usage_error("--version and --at cannot be used together");
		goto done;
	}
	if (force && output == NULL) {
		rc = cli_usage_error("--force replaces the file of -o FILE: give -o FILE");
		goto done;
	}
	if (version_arg != NULL && (rc = cli_parse_version(&gopts.doc_version, "version", version_arg)) != 0)
		goto done;
	if (at_arg != NULL && (rc = cli_parse_at(&aopts.at, at_arg)) != 0)
		goto done;
	if (purpose_arg != NULL &&
	    (rc = cli_purpose_split(&gopts.purpose, &gopts.note, &purpose, purpose_arg)) != 0)
		goto done;
	aopts.purpose = gopts.purpose;
	aopts.note = gopts.note;
	if (output != NULL && (rc = open_output(&sink, output, force)) != 0)
		goto done;

	if (at_arg != NULL && (rc = cli_check_at_purpose(ctx->v, aopts.purpose, N_("read"), path)) != 0)
		goto done;
	cli_error_on(CLI_ON_READ, path);
	if (at_arg != NULL)
		failed = vault_get_at(NULL, ctx->v, path, &aopts, write_sink, &sink) < 0;
	else
		failed = vault_get(ctx->v, path, &gopts, write_sink, &sink) < 0;
	if (failed) {
		if (sink.err != 0 && output != NULL) {
			errno = sink.err;
			rc = cli_error_os("free disk space, or choose another place",
				"cannot write '%s'", output);
		} else if (sink.err != 0) {
			errno = sink.err;
			rc = cli_error_os("check where the output goes",
				"cannot write to standard output");
		} else if (at_arg != NULL) {
			rc = cli_fail_at(N_("read"), path, at_arg);
		} else {
			rc = cli_fail_vault("cannot read '%s'", path);
		}
		goto done;
	}
	if (sink.kind != OUT_STDOUT)
		rc = finish_output(&sink);

done:
	if (sink.kind != OUT_STDOUT && rc != CLI_EXIT_OK)
		undo_output(&sink);
	free(sink.tmp);
	cli_purpose_free(purpose, purpose_arg);
	return rc;
}
