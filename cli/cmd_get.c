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
	N_("usage: casevault get CODE/PATH [-o FILE|- [--force]] [--version N | --at TIME] [--purpose P[:NOTE]]\n"
	"   or: casevault get -r CODE/PATH -o DIR [--purpose P[:NOTE]]\n"
	"\n"
	"Write the current version of CODE/PATH (or version N) to standard output\n"
	"(also with -o -), or to FILE, which is made readable by you only. FILE\n"
	"must not exist yet, unless it is a device or a FIFO (such as /dev/null),\n"
	"which is written to. Content that looks binary (a NUL byte or text that\n"
	"is not UTF-8 in its first block) is not written to a terminal without\n"
	"-o or --force.\n"
	"\n"
	"  -r, --recursive     the folder CODE/PATH and all under it, into the new\n"
	"                      folder DIR (mode 0700): one `list` event per folder,\n"
	"                      one read event per file. On a failure, the files\n"
	"                      written before it stay, each complete\n"
	"  --force             replace FILE if it exists (it is replaced whole once\n"
	"                      the read is complete: a failure leaves it as it was);\n"
	"                      without -o, write binary content to the terminal\n"
	"  --at TIME           the file as it was then, under the path it had then:\n"
	"                      local time (2026-11-28T10:00), with a zone (...Z,\n"
	"                      ...+07:00), a date (its first second) or seconds\n"
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
	const char *file;   /* -o FILE, as messages name it */
	int dirfd;          /* FILE is `at` in the folder open as dirfd (get -r) */
	const char *at;     /* ... or FILE itself, with AT_FDCWD */
	char *tmp;          /* OUT_REPLACE: the new file, in FILE's folder */
	int check_binary;   /* a terminal: look at the first block before writing */
	int binary;         /* ... and it looked binary: nothing was written */
} get_sink;

/* The start of a UTF-8 sequence that the next block may complete. */
static int utf8_prefix(const unsigned char *p, size_t len)
{
	size_t i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

/*
 * Binary: a NUL byte, or bytes that are not UTF-8. A sequence cut by the
 * end of the block is not held against it.
 */
static int looks_binary(const unsigned char *p, size_t len)
{
	unsigned char tail[5];
	size_t i = 0, n;

	if (memchr(p, 0, len) != NULL)
		return 1;
	while (i < len) {
		if (len - i >= 4) {
			n = cli_utf8_len(p + i);
		} else {
			memset(tail, 0, sizeof tail);
			memcpy(tail, p + i, len - i);
			if ((n = cli_utf8_len(tail)) == 0)
				return !utf8_prefix(tail, len - i);
		}
		if (n == 0)
			return 1;
		i += n;
	}
	return 0;
}

static int write_sink(void *payload, const void *buf, size_t len)
{
	get_sink *out = payload;
	const char *p = buf;
	ssize_t n;

	if (out->check_binary) {
		out->check_binary = 0;
		if (looks_binary(buf, len)) {
			out->binary = 1;
			return -1;
		}
	}
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

/*
 * A device or FIFO of our own (or root's: /dev/null): opened as the
 * shell's '>' would, without creating anything. Another user's FIFO, or a
 * link to it, where a new file was meant (in /tmp) would hand them the
 * plaintext: refused before a byte is written.
 */
static int open_device(get_sink *out)
{
	struct stat st;
	int rc = 0;

	if ((out->fd = openat(out->dirfd, out->at, O_WRONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return cli_error_os("check that you may write to it", "cannot write '%s'", out->file);
	if (fstat(out->fd, &st) < 0)
		rc = cli_error_os("check that you may write to it", "cannot write '%s'", out->file);
	else if (S_ISREG(st.st_mode))   /* replaced by a file since we looked: not ours */
		rc = refuse_existing(out->file);
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		rc = cli_error(CLI_EXIT_ERROR, "name a new file, or a FIFO or device of your own",
			"cannot write '%s': a FIFO or device of another user (uid %u), who could read it",
			out->file, (unsigned) st.st_uid);
	if (rc != 0) {
		close(out->fd);
		out->fd = -1;
		return rc;
	}
	out->kind = OUT_DEVICE;
	return 0;
}

static int open_output(get_sink *out, const char *file, int force)
{
	struct stat st;

	out->file = file;
	out->fd = openat(out->dirfd, out->at, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (out->fd >= 0) {
		out->kind = OUT_NEW;
		return 0;
	}
	if (errno != EEXIST)
		return cli_error_os("check that the folder exists and that you may write there",
			"cannot create '%s'", file);
	if (fstatat(out->dirfd, out->at, &st, 0) < 0)
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
		unlinkat(out->dirfd, out->at, 0);
	else if (out->kind == OUT_REPLACE)
		unlink(out->tmp);
}

/*
 * What one read needs; `output` NULL or "-" is standard output. get -r:
 * `output` is `output_at` in the folder open as `dirfd` (AT_FDCWD and
 * NULL otherwise).
 */
typedef struct {
	vault_get_options g;
	vault_at_options at;
	const char *at_arg;
	const char *output;
	int force;
	int dirfd;
	const char *output_at;
} get_job;

static int report_failure(const get_sink *sink, const get_job *job, const char *path)
{
	if (sink->binary) {
		return cli_error(CLI_EXIT_USAGE,
			"write it to a file with -o FILE, or pass --force to show it anyway",
			"will not write '%s' to the terminal: it looks binary", path);
	}
	if (sink->err != 0 && sink->kind != OUT_STDOUT) {
		errno = sink->err;
		return cli_error_os("free disk space, or choose another place",
			"cannot write '%s'", job->output);
	}
	if (sink->err != 0) {
		errno = sink->err;
		return cli_error_os("check where the output goes", "cannot write to standard output");
	}
	if (job->at_arg != NULL)
		return cli_fail_at(0, path, job->at_arg);
	return cli_fail_vault("cannot read '%s'", path);
}

static int get_one(vault *v, const char *path, const get_job *job)
{
	get_sink sink = { STDOUT_FILENO, 0, OUT_STDOUT, NULL, job->dirfd,
		job->output_at ? job->output_at : job->output, NULL, 0, 0 };
	int rc = CLI_EXIT_OK, failed;

	if (job->output != NULL && strcmp(job->output, "-") != 0) {
		if ((rc = open_output(&sink, job->output, job->force)) != 0)
			return rc;
	} else {
		sink.check_binary = !job->force && isatty(STDOUT_FILENO);
	}
	if (job->at_arg != NULL &&
	    (rc = cli_check_at_purpose(v, job->at.purpose, 0, path)) != 0)
		goto done;
	cli_error_on(CLI_ON_READ, path);
	if (job->at_arg != NULL)
		failed = vault_get_at(NULL, v, path, &job->at, write_sink, &sink) < 0;
	else
		failed = vault_get(v, path, &job->g, write_sink, &sink) < 0;
	if (failed)
		rc = report_failure(&sink, job, path);
	else if (sink.kind != OUT_STDOUT)
		rc = finish_output(&sink);
done:
	if (sink.kind != OUT_STDOUT && rc != CLI_EXIT_OK)
		undo_output(&sink);
	free(sink.tmp);
	return rc;
}

/*
 * get -r's new folder `dir`, made and opened (its descriptor), so that
 * what it holds is written there and nowhere else: someone who writes
 * its parent could put a link (to ~/.ssh) or a folder of their own in its
 * place, which the opening refuses.
 * @return 0, or an exit code after printing the error
 */
static int make_folder(int *out, const char *dir)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) < 0)
		return cli_error_os(errno == EEXIST ? "name a new folder: get -r makes it" :
			"check that its parent exists and that you may write there",
			"cannot create folder '%s'", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid()) {
		*out = fd;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	return cli_error(CLI_EXIT_ERROR, "nothing was read; check who else writes in its parent folder",
		"cannot create folder '%s': a link or a folder of another user took its place", dir);
}

/* get -r: the folder `path` into the new local folder `dir`. */
static int get_tree(vault *v, const char *path, const char *dir, get_job *job)
{
	vault_list_options lopts = VAULT_LIST_OPTIONS_INIT;
	cli_tree t = { NULL, 0, 0 };
	size_t i, done = 0, skip = strlen(path) + 1;
	int rc, fd = -1;

	lopts.purpose = job->g.purpose;
	lopts.note = job->g.note;
	if ((rc = make_folder(&fd, dir)) != 0)
		return rc;
	if ((rc = cli_tree_list(&t, v, path, &lopts)) != 0) {
		rmdir(dir);   /* still empty */
		goto done;
	}
	job->dirfd = fd;
	for (i = 0; i < t.n && rc == 0; i++) {
		const char *rel = t.items[i].path + skip;
		char *local = cli_join(dir, rel);

		if (local == NULL) {
			rc = cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
			break;
		}
		if (t.items[i].is_dir && mkdirat(fd, rel, 0700) < 0) {
			rc = cli_error_os("check the folder you named", "cannot create folder '%s'", local);
		} else if (!t.items[i].is_dir) {
			job->output = local;
			job->output_at = rel;
			if ((rc = get_one(v, t.items[i].path, job)) == 0)
				done++;
		}
		free(local);
	}
	if (rc != 0 && done > 0)
		cli_batch_note("%zu of %zu files were written to '%s' before it, each complete",
			done, cli_tree_count(&t, 0), dir);
done:
	close(fd);
	cli_tree_dispose(&t);
	return rc;
}

int cmd_get(cli_ctx *ctx, int argc, char **argv)
{
	const char *output = NULL, *version_arg = NULL, *purpose_arg = NULL, *at_arg = NULL;
	int force = 0, recursive = 0;
	const cli_opt opts[] = {
		{ "output", 'o', NULL, &output },
		{ "force", 0, &force, NULL },
		{ "recursive", 'r', &recursive, NULL },
		{ "version", 0, NULL, &version_arg },
		{ "at", 0, NULL, &at_arg },
		{ "purpose", 0, NULL, &purpose_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "get", usage, opts, 1, 1 };
	get_job job = { VAULT_GET_OPTIONS_INIT, { VAULT_AT_OPTIONS_VERSION, 0, NULL, NULL },
		NULL, NULL, 0, AT_FDCWD, NULL };
	char *args[1], *path, *purpose = NULL;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	path = args[0];   /* a trailing '/' names a folder: the library says so */
	if (version_arg != NULL && at_arg != NULL)
		return cli_usage_error("--version and --at cannot be used together");
	if (recursive && (output == NULL || strcmp(output, "-") == 0))
		return cli_usage_error("get -r writes into a new folder: give -o DIR");
	if (recursive && (version_arg != NULL || at_arg != NULL || force))
		return cli_usage_error("get -r reads the current versions: "
			"--version, --at and --force are for one file");
	if (version_arg != NULL && (rc = cli_parse_version(&job.g.doc_version, "version", version_arg)) != 0)
		return rc;
	if (at_arg != NULL && (rc = cli_parse_at(&job.at.at, at_arg)) != 0)
		return rc;
	if (purpose_arg != NULL &&
	    (rc = cli_purpose_split(&job.g.purpose, &job.g.note, &purpose, purpose_arg)) != 0)
		return rc;
	job.at.purpose = job.g.purpose;
	job.at.note = job.g.note;
	job.at_arg = at_arg;
	job.output = output;
	job.force = force;
	if (recursive)
		rc = get_tree(ctx->v, cli_path(path), output, &job);
	else
		rc = get_one(ctx->v, path, &job);
	cli_purpose_free(purpose, purpose_arg);
	return rc;
}
