/*
 * casevault put: store a file, or standard input, as a new version.
 *
 * The content is streamed: read() fills one block at a time, nothing holds
 * the whole file. From a terminal, the first end of input (Ctrl-D at the
 * start of a line) ends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char usage[] =
	N_("usage: casevault put CODE/PATH [FILE|-]\n"
	"\n"
	"Store FILE (standard input without FILE, or with -) as a new version\n"
	"of CODE/PATH. The folder must exist (see mkdir). Prints nothing.\n"
	"From a terminal, type the content and end it with Ctrl-D at the start\n"
	"of a line.\n");

typedef struct {
	int fd;
	int err;   /* errno of a failed read, 0 if none */
	int eof;   /* read() said end of input: never ask again */
} put_source;

static ssize_t read_source(void *payload, void *buf, size_t len)
{
	put_source *src = payload;
	size_t got = 0;
	ssize_t n;

	/*
	 * Fill the block: a short block in mid-file would shift those after
	 * it. A terminal reports the end of input once per Ctrl-D, and a
	 * second read would wait for more typing: the end is remembered.
	 */
	while (got < len && !src->eof) {
		n = read(src->fd, (char *) buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			src->err = errno;
			return -1;
		}
		if (n == 0)
			src->eof = 1;
		got += (size_t) n;
	}
	return (ssize_t) got;
}

int cmd_put(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "put", usage, NULL, 1, 2 };
	put_source src = { STDIN_FILENO, 0, 0 };
	const char *file;
	uint32_t version;
	char *args[2], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	path = args[0];   /* a trailing '/' names a folder: the library says so */
	file = args[1] != NULL && strcmp(args[1], "-") != 0 ? args[1] : NULL;
	if (file != NULL && (src.fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return cli_error_os("check the file's name and permissions", "cannot open '%s'", file);

	/* Someone is typing: say how to end, or the command seems to hang. */
	if (file == NULL && isatty(src.fd)) {
		fprintf(stderr, _("Reading '%s' from standard input: end with Ctrl-D at the start of a line.\n"), path);
		fflush(stderr);
	}

	rc = CLI_EXIT_OK;
	cli_error_on(CLI_ON_PATH, path);
	if (vault_put(&version, ctx->v, path, read_source, &src) < 0) {
		if (src.err != 0) {
			errno = src.err;
			rc = cli_error_os("nothing was stored; check the input and try again",
				"cannot read '%s'", file ? file : "standard input");
		} else {
			rc = cli_fail_vault("cannot store '%s'", path);
		}
	}
	if (file != NULL)
		close(src.fd);
	return rc;
}
