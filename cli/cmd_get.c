/*
 * casevault get: read a version of a file, to standard output or a new
 * file. The read is a signed event, recorded before any byte is written.
 *
 * With -o the file is created new (O_EXCL, mode 0600) and removed again on
 * any failure, so no half-written plaintext is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"


static const char usage[] =
	"usage: casevault get CODE/PATH [-o FILE] [--version N | --at TIME] [--purpose P[:NOTE]]\n"
	"\n"
	"Write the current version of CODE/PATH (or version N) to standard output,\n"
	"or to FILE, which must not exist yet and is made readable by you only.\n"
	"\n"
	"  --at TIME           the file as it was then, under the path it had then:\n"
	"                      RFC 3339 (2026-11-28T10:00:00Z), a date (2026-11-28,\n"
	"                      its first second, UTC) or seconds since 1970\n"
	"  --purpose P[:NOTE]  why you read it: a code from 'casevault purpose list',\n"
	"                      and a note only auditors and admins can read\n";

typedef struct {
	int fd;
	int err;   /* errno of a failed write, 0 if none */
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

static int create_output(const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0) {
		cli_error_os(errno == EEXIST ? "remove it or choose another name"
				: "check that the folder exists and that you may write there",
			"cannot create '%s'", file);
	}
	return fd;
}

/* Make the new file durable before we say it is there. */
static int finish_output(get_sink *sink, const char *file)
{
	int fd = sink->fd;

	sink->fd = -1;
	if (fsync(fd) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return cli_error_os("free disk space and try again", "cannot write '%s'", file);
	}
	if (close(fd) < 0)
		return cli_error_os("free disk space and try again", "cannot write '%s'", file);
	return 0;
}

int cmd_get(cli_ctx *ctx, int argc, char **argv)
{
	const char *output = NULL, *version_arg = NULL, *purpose_arg = NULL, *at_arg = NULL;
	const cli_opt opts[] = {
		{ "output", 'o', NULL, &output },
		{ "version", 0, NULL, &version_arg },
		{ "at", 0, NULL, &at_arg },
		{ "purpose", 0, NULL, &purpose_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "get", usage, opts, 1, 1 };
	vault_get_options gopts = { 0, NULL, NULL };
	vault_at_options aopts = { 0, NULL, NULL };
	get_sink sink = { STDOUT_FILENO, 0 };
	char *args[1], *path, *purpose = NULL;
	int rc, created = 0, failed;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	rc = CLI_EXIT_OK;
	path = args[0];   /* a trailing '/' names a folder: the library says so */
	if (version_arg != NULL && at_arg != NULL) {
		rc = cli_usage_error("--version and --at cannot be used together");
		goto done;
	}
	if (version_arg != NULL && (rc = cli_parse_version(&gopts.version, "version", version_arg)) != 0)
		goto done;
	if (at_arg != NULL && (rc = cli_parse_at(&aopts.at, at_arg)) != 0)
		goto done;
	if (purpose_arg != NULL &&
	    (rc = cli_purpose_split(&gopts.purpose, &gopts.note, &purpose, purpose_arg)) != 0)
		goto done;
	aopts.purpose = gopts.purpose;
	aopts.note = gopts.note;
	if (output != NULL) {
		if ((sink.fd = create_output(output)) < 0) {
			rc = CLI_EXIT_ERROR;
			goto done;
		}
		created = 1;
	}

	if (at_arg != NULL && (rc = cli_check_at_purpose(ctx->v, aopts.purpose, "read", path)) != 0)
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
			rc = cli_fail_at("read", path, at_arg);
		} else {
			rc = cli_fail_vault("cannot read '%s'", path);
		}
		goto done;
	}
	if (created)
		rc = finish_output(&sink, output);

done:
	if (created && sink.fd >= 0)
		close(sink.fd);
	if (created && rc != CLI_EXIT_OK)
		unlink(output);
	cli_purpose_free(purpose, purpose_arg);
	return rc;
}
