/*
 * paths — what a name on the mount means.
 *
 *   /                          the user's cases
 *   /C-7KQ2M9XD Label/...      a case: its folders and files
 *   /.history/C-7KQ2M9XD Label/PATH/
 *                              one read-only file per version of PATH,
 *                              "intake v2 2026-11-28 10-15 alice.pdf"
 *
 * A path on the mount becomes the vault's "CODE/PATH"; a case's folder is
 * named by its code and label, a version by its number, time and author.
 * The vault's errors become errnos here too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "vfs_int.h"

#define HIDDEN_PREFIX ".fuse_hidden"

/* Messages go to syslog: they never hold content or names. */
int vfs_paths__errno(const char *op)
{
	const vault_error *e = vault_error_last();

	if (e->code == VAULT_ECORRUPT || e->code == VAULT_ERROR || e->code == VAULT_ENOSPC)
		syslog(LOG_WARNING, "casevault: %s: %s", op, e->message);
	return -vault_error_to_errno(e->code);
}

/*
 * An open that cannot be recorded because the disk is full: ENOSPC to an
 * open that writes, EIO to one that only reads (a read that fails, not a
 * write an application could make room for).
 */
int vfs_paths__open_errno(int writes)
{
	int error = vfs_paths__errno("open");

	return error == -ENOSPC && !writes ? -EIO : error;
}

/* ---- paths -------------------------------------------------------------- */

/*
 * A case folder's name: the code, then the label if there is one. The code
 * alone finds the case too. Checked against the vault: the user must be a
 * member (vault_stat says so).
 */
static int case_component(char code[VAULT_CODE_SIZE], const char *s, size_t len)
{
	if (len < VAULT_CODE_SIZE - 1 || s[0] != 'C' || s[1] != '-' ||
	    (len > VAULT_CODE_SIZE - 1 && s[VAULT_CODE_SIZE - 1] != ' '))
		return -ENOENT;
	/* Anything but a code's letters and digits names no case. */
	for (size_t i = 2; i < VAULT_CODE_SIZE - 1; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return -ENOENT;
	memcpy(code, s, VAULT_CODE_SIZE - 1);
	code[VAULT_CODE_SIZE - 1] = '\0';
	return 0;
}

int vfs_paths__parse(vfs_path *out, const char *path)
{
	char code[VAULT_CODE_SIZE], nfc[VPATH_MAX];
	const char *s = path + 1, *slash;
	int history = 0, error;
	size_t len;

	memset(out, 0, sizeof *out);
	if (!strcmp(path, "/")) {
		out->type = P_ROOT;
		return 0;
	}
	if (!strncmp(s, HISTORY, sizeof HISTORY - 1) &&
	    (s[sizeof HISTORY - 1] == '\0' || s[sizeof HISTORY - 1] == '/')) {
		s += sizeof HISTORY - 1;
		if (*s == '\0') {
			out->type = P_HISTROOT;
			return 0;
		}
		s++;
		history = 1;
	}
	slash = strchr(s, '/');
	len = slash ? (size_t)(slash - s) : strlen(s);
	if ((error = case_component(code, s, len)) < 0)
		return error;
	len = slash ? strlen(slash) : 0;
	if (strlen(code) + len >= sizeof out->vpath)
		return -ENAMETOOLONG;
	memcpy(out->vpath, code, VAULT_CODE_SIZE - 1);
	memcpy(out->vpath + VAULT_CODE_SIZE - 1, slash ? slash : "", len + 1);
	out->type = history ? P_HIST : P_NODE;
	/* Names in NFC, as the vault keeps them: an NFD name (macOS's) finds
	 * the same file; one that is not UTF-8 names none. */
	if (vault_path_nfc(nfc, sizeof nfc, &len, out->vpath, strlen(out->vpath)) < 0)
		return -EINVAL;
	memcpy(out->vpath, nfc, len + 1);
	/* Each name at most VAULT_FILENAME_MAX bytes, as POSIX tools expect. */
	for (const char *c = strchr(out->vpath, '/'); c && *c; ) {
		const char *e = strchr(c + 1, '/');
		size_t part = e ? (size_t)(e - c - 1) : strlen(c + 1);
		if (part > VAULT_FILENAME_MAX)
			return -ENAMETOOLONG;
		c = e;
	}
	return 0;
}

/*
 * Changes are allowed only on case content, and not on a read-only mount.
 * `.history` is read-only at every depth (EROFS); the top level holds the
 * user's cases, which are made and named with the CLI, not here (EACCES,
 * as for a folder without write permission).
 */
int vfs_paths__node(vfs *fs, vfs_path *p, const char *path, int need_name)
{
	const char *s = path + 1;
	size_t n = sizeof HISTORY - 1;
	int error;

	if (!strncmp(s, HISTORY, n) && (s[n] == '\0' || s[n] == '/'))
		return -EROFS;
	if (need_name && !strchr(s, '/'))
		return -EACCES;
	if ((error = vfs_paths__parse(p, path)) < 0)
		return error;
	if (p->type == P_ROOT)
		return -EACCES;
	return fs->o->read_only ? -EROFS : 0;
}

int vfs_paths__file(vfs *fs, vfs_path *p, int write, uint32_t *version)
{
	vfs_hist h;
	int error;

	*version = 0;
	if (p->type == P_HIST) {
		if ((error = vfs_paths__history(fs, p, &h)) < 0)
			return error;
		if ((*version = h.version) == 0)
			return -EISDIR;
	} else if (p->type != P_NODE) {
		return -EISDIR;
	}
	if (write && (p->type != P_NODE || *version))
		return -EROFS;
	if (write && fs->o->read_only)
		return -EROFS;
	return 0;
}

/* `vpath` has a last name: vfs_paths__node with need_name made sure. */
int vfs_paths__is_hidden(const char *vpath)
{
	return !strncmp(strrchr(vpath, '/') + 1, HIDDEN_PREFIX, sizeof HIDDEN_PREFIX - 1);
}

/* ---- the top level ------------------------------------------------------ */

void vfs_paths__case_name(char *out, size_t size, const char *code, const char *label)
{
	size_t n, i;

	if (!label || !*label) {
		snprintf(out, size, "%s", code);
		return;
	}
	n = (size_t)snprintf(out, size, "%s %s", code, label);
	/* A label is free text: keep it a single, valid name. */
	for (i = VAULT_CODE_SIZE; i < n && i < size; i++)
		if (out[i] == '/' || (unsigned char)out[i] < 0x20)
			out[i] = '_';
}

/* ---- history names ------------------------------------------------------ */

/* "intake v2 2026-11-28 10-15 alice.pdf" for version 2 of "intake.pdf". */
void vfs_paths__version_name(char *out, size_t size, const char *vpath,
	const vault_version_info *info)
{
	const char *file = strrchr(vpath, '/') ? strrchr(vpath, '/') + 1 : vpath;
	const char *dot = strrchr(file, '.');
	char when[32];
	struct tm tm;
	time_t t = (time_t)info->time;
	int stem = dot && dot != file ? (int)(dot - file) : (int)strlen(file);

	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H-%M", &tm);
	snprintf(out, size, "%.*s v%u %s %s%s", stem, file, info->version, when, info->actor,
		dot && dot != file ? dot : "");
}

/* A version of one file, looked up by its name. */
typedef struct {
	const char *vpath;               /* the file */
	const char *want;                /* the version's name */
	uint32_t found;
	vault_version_info info;
} version_find;

static int find_cb(const vault_version_info *info, void *payload)
{
	version_find *w = payload;
	char name[512];

	vfs_paths__version_name(name, sizeof name, w->vpath, info);
	if (strcmp(name, w->want))
		return 0;
	w->found = info->version;
	w->info = *info;
	return 1;
}

/* Split "CODE/a/file/NAME" into the file's vpath and NAME. */
static const char *split_last(char *vpath)
{
	char *slash = strrchr(vpath, '/');

	if (!slash)
		return NULL;
	*slash = '\0';
	return slash + 1;
}

int vfs_paths__history(vfs *fs, vfs_path *p, vfs_hist *out)
{
	version_find w;
	const char *name;
	char file[VPATH_MAX];

	out->version = 0;
	if (vault_stat(&out->st, fs->v, p->vpath) == 0)
		return 0;
	if (vault_error_last()->code != VAULT_ENOTFOUND)
		return vfs_paths__errno("history");
	/* Not a folder or file: perhaps a version of the file above it. */
	snprintf(file, sizeof file, "%s", p->vpath);
	if ((name = split_last(file)) == NULL || vault_stat(&out->st, fs->v, file) < 0 ||
	    out->st.is_dir)
		return -ENOENT;
	memset(&w, 0, sizeof w);
	w.vpath = file;
	w.want = name;
	if (vault_history(fs->v, file, find_cb, &w) < 0 && !w.found)
		return vfs_paths__errno("history");
	if (!w.found)
		return -ENOENT;
	snprintf(p->vpath, sizeof p->vpath, "%s", file);
	p->type = P_VERSION;
	out->version = w.found;
	out->info = w.info;
	return 0;
}
