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
#include <unistd.h>

#include "cmd.h"

static const char usage[] =
	"usage: casevault get CODE/PATH [-o FILE] [--version N] [--purpose P[:NOTE]]\n"
	"\n"
	"Write the current version of CODE/PATH (or version N) to standard output,\n"
	"or to FILE, which must not exist yet and is made readable by you only.\n"
	"\n"
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

/* "P:NOTE" → purpose P, note NOTE (NULL if empty); `*copy` is to be freed. */
static int split_purpose(vault_get_options *o, char **copy, const char *arg)
{
	char *colon;

	if ((*copy = strdup(arg)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	if ((colon = strchr(*copy, ':')) != NULL) {
		*colon = '\0';
		o->note = colon[1] != '\0' ? colon + 1 : NULL;
	}
	if (**copy == '\0')
		return cli_usage_error("option '--purpose' needs a purpose code before ':'");
	o->purpose = *copy;
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
	const char *output = NULL, *version_arg = NULL, *purpose_arg = NULL;
	const cli_opt opts[] = {
		{ "output", 'o', NULL, &output },
		{ "version", 0, NULL, &version_arg },
		{ "purpose", 0, NULL, &purpose_arg },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "get", usage, opts, 1, 1 };
	vault_get_options gopts = { 0, NULL, NULL };
	get_sink sink = { STDOUT_FILENO, 0 };
	char *args[1], *path, *purpose = NULL;
	int rc, created = 0;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	rc = CLI_EXIT_OK;
	path = args[0];   /* a trailing '/' names a folder: the library says so */
	if (version_arg != NULL && (rc = cli_parse_version(&gopts.version, "version", version_arg)) != 0)
		goto done;
	if (purpose_arg != NULL && (rc = split_purpose(&gopts, &purpose, purpose_arg)) != 0)
		goto done;
	if (output != NULL) {
		if ((sink.fd = create_output(output)) < 0) {
			rc = CLI_EXIT_ERROR;
			goto done;
		}
		created = 1;
	}

	cli_error_on(CLI_ON_READ, path);
	if (vault_get(ctx->v, path, &gopts, write_sink, &sink) < 0) {
		if (sink.err != 0 && output != NULL) {
			errno = sink.err;
			rc = cli_error_os("free disk space, or choose another place",
				"cannot write '%s'", output);
		} else if (sink.err != 0) {
			errno = sink.err;
			rc = cli_error_os("check where the output goes",
				"cannot write to standard output");
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
	if (purpose != NULL) {
		/* The note may say more than anyone but an auditor should read. */
		explicit_bzero(purpose, strlen(purpose_arg));
		free(purpose);
	}
	return rc;
}
