/*
 * fusefs — the FUSE mount: a caseworker's cases as plain folders.
 *
 * A thin translation layer: every operation unpacks its arguments, calls
 * the vault's public API and translates the result into an errno. Policy,
 * cryptography and events live in vault/.
 */
#ifndef CASEVAULT_VFS_H
#define CASEVAULT_VFS_H

#include <stddef.h>

typedef struct {
	const char *vault_dir;
	const char *user;
	char *pass;                /* the passphrase: the daemon wipes it once it
	                              has unlocked (the caller wipes it too) */
	size_t passlen;
	const char *mountpoint;
	const char *purpose;       /* for every read on the mount, or NULL */
	int read_only;             /* mount read-only: writes get EROFS */
	int foreground;            /* stay in the foreground (-f) */
	int allow_other;           /* let other users of this machine in */
	unsigned idle;             /* seconds without activity after which it
	                              unmounts itself (an `idle-unmount` event);
	                              0: never */
} vfs_options;

/*
 * Mount, and serve until unmounted (fusermount3 -u, casevault umount,
 * SIGTERM or SIGINT). The vault is opened and unlocked after the process
 * has become a daemon (an LMDB environment must not cross a fork); check
 * the passphrase first with vault_unlock to fail early and clearly.
 * Returns 0 once unmounted cleanly, else -1 with a message on stderr (or in
 * syslog once detached).
 */
int vfs_mount(const vfs_options *o);

#define VFS_FSTYPE "fuse.casevault"   /* a mount's type in /proc/self/mountinfo */

/* A mount as /proc/self/mountinfo shows it. */
typedef struct {
	char type[64];             /* "fuse.casevault" for ours */
	long uid;                  /* a FUSE mount's owner (user_id=), else -1 */
} vfs_mount_info;

/*
 * Is a file system mounted on `path` (absolute, resolved)? The last entry
 * wins: it is the one on top. @return 1 with *out set, 0 if none, -1 if
 * the table cannot be read.
 */
int vfs_mount_find(vfs_mount_info *out, const char *path);

#endif
