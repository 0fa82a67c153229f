#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <git2/errors.h>

#include "errors.h"

static _Thread_local char tls_msg[512];
static _Thread_local vault_error tls_err;
static _Thread_local const vault_error *tls_last;

static const vault_error oom_error = { "out of memory", VAULT_ERROR };
static const vault_error no_error = { "no error", VAULT_OK };

int vault_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
	va_end(ap);
	tls_err.message = tls_msg;
	tls_err.code = code;
	tls_last = &tls_err;
	return code;
}

int vault_error_set_oom(void)
{
	tls_last = &oom_error;
	return VAULT_ERROR;
}

const vault_error *vault_error_last(void)
{
	return tls_last ? tls_last : &no_error;
}

void vault_error_clear(void)
{
	tls_last = NULL;
}

int vault_error_to_errno(int code)
{
	switch (code) {
	case VAULT_OK:        return 0;
	case VAULT_EUSAGE:    return EINVAL;
	case VAULT_ENOTFOUND: return ENOENT;
	case VAULT_EEXISTS:   return EEXIST;
	case VAULT_EAUTH:     return EPERM;
	case VAULT_EACCES:    return EACCES;
	case VAULT_ECORRUPT:  return EIO;
	case VAULT_EVERSION:  return EPROTO;
	case VAULT_ENOSPC:    return ENOSPC;
	case VAULT_EBUSY:     return EBUSY;
	case VAULT_ENOTEMPTY: return ENOTEMPTY;
	case VAULT_EREFUSED:  return EPERM;
	default:              return EIO;
	}
}

_Thread_local int vault_error__git_code;

int vault_error_git(const char *what)
{
	const git_error *e = git_error_last();
	int code = vault_error__git_code ? vault_error__git_code : VAULT_ERROR;

	vault_error__git_code = 0;
	return vault_error_set(code, "%s: %s", what, e && e->message ? e->message : "history error");
}
