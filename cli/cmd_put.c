/*
 * casevault put: store a file, or standard input, as a new version.
 *
 * The content is streamed: read() fills one block at a time, nothing holds
 * the whole file. From a terminal, the first end of input (Ctrl-D at the
 * start of a line) ends it.
 */
#define _GNU_SOURCE	/* scandirat */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

static const char usage[] =
	N_("usage: casevault put CODE/PATH [FILE|-]\n"
	"   or: casevault put -r DIR CODE/PATH\n"
	"\n"
	"Store FILE (standard input without FILE, or with -) as a new version\n"
	"of CODE/PATH. The folder must exist (see mkdir). Prints nothing.\n"
	"From a terminal, type the content and end it with Ctrl-D at the start\n"
	"of a line.\n"
	"\n"
	"  -r, --recursive  store the files and folders under DIR in the folder\n"
	"                   CODE/PATH (made, with its parents, if missing); a file\n"
	"                   already there gets a new version. Hidden files are\n"
	"                   stored; symbolic links and special files are skipped,\n"
	"                   each with a warning. Every file is checked readable\n"
	"                   before the first is stored; on a failure later on, the\n"
	"                   files stored before it stay, each complete.\n");

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

/* ---- put -r ---------------------------------------------------------------- */

/*
 * Open entry `name` of the folder open as `dirfd`, never through a
 * symbolic link, and say what was opened (`st`): a file to check it can be
 * read, a folder to walk it.
 */
static int open_entry(int dirfd, const char *name, int is_dir, struct stat *st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW |
		(is_dir ? O_DIRECTORY : 0));

	if (fd >= 0 && fstat(fd, st) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* An entry of a local folder to store, and its name as the vault has it. */
typedef struct {
	const char *name;
	char *nfc;             /* its NFC form, malloc'd, where it is another */
} local_name;

static const char *nfc_of(const local_name *n)
{
	return n->nfc ? n->nfc : n->name;
}

/*
 * Can the vault store local name `name` (at `path`)? Its NFC form into
 * `out`. A name from elsewhere (an unpacked archive) may not be UTF-8, or
 * hold a control character: refused before anything is stored.
 * @return 0, or an exit code after printing the error
 */
static int name_storable(local_name *out, const char *path, const char *name)
{
	static const char hint[] = N_("nothing was stored; rename it, or move it out of the folder");
	char nfc[VAULT_FILENAME_MAX + 1];
	const unsigned char *p;
	size_t len, n;

	out->name = name;
	out->nfc = NULL;
	for (p = (const unsigned char *) name; *p != '\0'; p += n) {
		if ((n = cli_utf8_len(p)) == 0)
			return cli_error(CLI_EXIT_USAGE, hint, "cannot store '%s': its name is not UTF-8", path);
		if (*p < 0x20 || *p == 0x7f)
			return cli_error(CLI_EXIT_USAGE, hint,
				"cannot store '%s': its name holds a control character", path);
	}
	if (vault_path_nfc(nfc, sizeof nfc, &len, name, strlen(name)) < 0)
		return cli_error(CLI_EXIT_USAGE, hint, "cannot store '%s': its name is longer than %d bytes",
			path, VAULT_FILENAME_MAX);
	if (strcmp(nfc, name) != 0 && (out->nfc = strdup(nfc)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	return 0;
}

static int by_nfc(const void *a, const void *b)
{
	return strcmp(nfc_of(a), nfc_of(b));
}

/*
 * Two names of folder `dir` that are one in the vault (NFC and NFD, as
 * macOS writes it): the second would be stored over the first, as its
 * new version. Refused before anything is stored.
 */
static int names_distinct(local_name *names, size_t n, const char *dir)
{
	qsort(names, n, sizeof *names, by_nfc);
	for (size_t i = 1; i < n; i++)
		if (strcmp(nfc_of(&names[i - 1]), nfc_of(&names[i])) == 0)
			return cli_error(CLI_EXIT_USAGE, "nothing was stored; rename one of the two, "
				"or move it out of the folder", "cannot store '%s/%s': '%s' beside it is one "
				"name in the vault (another spelling of it)", dir, names[i - 1].name, names[i].name);
	return 0;
}

/*
 * The tree under local folder `root`/`rel` (open as `dirfd`), depth first
 * and sorted by name; each file opened once to check it can be read, so
 * that an unreadable file stops the command before anything is stored.
 * `room`: how many names deeper the case holds a path (VAULT_DEPTH_MAX),
 * which also bounds the walk's own depth.
 * Entries are reached through their folder's descriptor, never through a
 * link, and each one's identity (device, inode) is kept: put_file stores
 * that file or nothing.
 */
static int walk_local(cli_tree *t, int dirfd, const char *root, const char *rel, int room)
{
	struct dirent **names = NULL;
	local_name *stored = NULL;
	char dir[4096], path[4096];
	size_t nstored = 0;
	int n, i, rc = 0;

	snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
	if ((n = scandirat(dirfd, ".", &names, NULL, alphasort)) < 0)
		return cli_error_os("nothing was stored; check the folder's permissions",
			"cannot read folder '%s'", dir);
	if (n > 0 && (stored = malloc((size_t) n * sizeof *stored)) == NULL)
		rc = cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct stat st;
		size_t at;
		int fd;

		if (rc != 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if ((size_t) snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
			rc = cli_error(CLI_EXIT_ERROR, "nothing was stored; store that folder on its own",
				"cannot read '%s/%s': the path is too long", dir, name);
		} else if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = cli_error_os("nothing was stored; check the folder's permissions",
				"cannot read '%s'", path);
		} else if (S_ISLNK(st.st_mode)) {
			cli_warning("skipped '%s': a symbolic link (put -r stores files and folders only)", path);
		} else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			cli_warning("skipped '%s': not a file or a folder", path);
		} else if ((rc = name_storable(&stored[nstored++], path, name)) != 0) {
			/* the error is printed */
		} else if (room < 1) {
			rc = cli_error(CLI_EXIT_USAGE, "nothing was stored; store that folder on its own",
				"cannot store '%s': it lies more than %d names deep in the case", path, VAULT_DEPTH_MAX);
		} else if ((fd = open_entry(dirfd, name, S_ISDIR(st.st_mode), &st)) < 0) {
			rc = cli_error_os("nothing was stored; check the file's permissions",
				"cannot open '%s'", path);
		} else {
			at = t->n;
			if (cli_tree_add(t, rel, name, S_ISDIR(st.st_mode)) < 0) {
				rc = cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
			} else {
				t->items[at].dev = st.st_dev;
				t->items[at].ino = st.st_ino;
				if (S_ISDIR(st.st_mode))
					rc = walk_local(t, fd, root, t->items[at].path, room - 1);
			}
			close(fd);
		}
	}
	if (rc == 0)
		rc = names_distinct(stored, nstored, dir);
	while (nstored > 0)
		free(stored[--nstored].nfc);
	free(stored);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/*
 * Open the file put -r's walk read (`it`) at `file`: not a link, nor
 * another file put in its place since by someone else who writes the
 * folder (a link to a secret of yours there, or above it).
 * @return 0, or an exit code after printing the error
 */
static int open_walked(int *out, const char *file, const cli_tree_item *it)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);

	if (fd < 0 && errno != ELOOP)
		return cli_error_os("check the file's name and permissions", "cannot open '%s'", file);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_dev == it->dev && st.st_ino == it->ino) {
		*out = fd;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	return cli_error(CLI_EXIT_ERROR, "nothing of it was stored; check who else writes in that "
		"folder, then run put -r again", "cannot store '%s': it changed since put -r read it "
		"(a link or another file is in its place)", file);
}

static int put_file(vault *v, const char *path, const char *file, const cli_tree_item *it)
{
	put_source src = { -1, 0, 0 };
	uint32_t version;
	int rc;

	if ((rc = open_walked(&src.fd, file, it)) != 0)
		return rc;
	cli_error_on(CLI_ON_PATH, path);
	if (vault_put(&version, v, path, read_source, &src) < 0) {
		if (src.err != 0) {
			errno = src.err;
			rc = cli_error_os("nothing of that file was stored; check it and try again",
				"cannot read '%s'", file);
		} else {
			rc = cli_fail_vault("cannot store '%s'", path);
		}
	}
	close(src.fd);
	return rc;
}

/* "CODE/PATH/REL" and "DIR/REL" of one item. */
static int item_paths(char **vpath, char **lpath, const char *dest, const char *dir, const char *rel)
{
	*vpath = cli_join(dest, rel);
	*lpath = cli_join(dir, rel);
	if (*vpath == NULL || *lpath == NULL) {
		free(*vpath);
		free(*lpath);
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	}
	return 0;
}

/* How many names deeper than folder `dest` ("CODE/a/b") a case holds. */
static int depth_left(const char *dest)
{
	int room = VAULT_DEPTH_MAX;

	while ((dest = strchr(dest, '/')) != NULL && *++dest != '\0')
		room--;
	return room;
}

static int put_tree(cli_ctx *ctx, const char *dir, char *dest)
{
	cli_tree t = { NULL, 0, 0 };
	size_t i, done = 0, files;
	struct stat st;
	int rc, fd;

	if (stat(dir, &st) < 0)
		return cli_error_os("name a folder that exists", "cannot read folder '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return cli_error(CLI_EXIT_USAGE, "put -r stores a folder; without -r, put stores one file",
			"'%s' is not a folder", dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cli_error_os("nothing was stored; check the folder's permissions",
			"cannot read folder '%s'", dir);
	rc = walk_local(&t, fd, dir, "", depth_left(dest));
	close(fd);
	if (rc != 0 || (rc = cli_mkdir_p(ctx->v, dest, NULL)) != 0)
		goto done;
	files = cli_tree_count(&t, 0);
	for (i = 0; i < t.n && rc == 0; i++) {
		char *vpath, *lpath;

		if ((rc = item_paths(&vpath, &lpath, dest, dir, t.items[i].path)) != 0)
			break;
		if (t.items[i].is_dir) {
			rc = cli_mkdir_p(ctx->v, vpath, NULL);
		} else if ((rc = put_file(ctx->v, vpath, lpath, &t.items[i])) == 0) {
			done++;
		}
		free(vpath);
		free(lpath);
	}
	if (rc != 0 && done > 0)
		cli_batch_note("%zu of %zu files were stored before it, each complete",
			done, files);
done:
	cli_tree_dispose(&t);
	return rc;
}

int cmd_put(cli_ctx *ctx, int argc, char **argv)
{
	int recursive = 0;
	const cli_opt opts[] = {
		{ "recursive", 'r', &recursive, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "put", usage, opts, 1, 2 };
	put_source src = { STDIN_FILENO, 0, 0 };
	const char *file;
	uint32_t version;
	char *args[2], *path;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (recursive) {
		if (args[1] == NULL)
			return cli_usage_error("put -r needs a folder and where to store it: put -r DIR CODE/PATH");
		return put_tree(ctx, cli_path(args[0]), cli_path(args[1]));
	}
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
