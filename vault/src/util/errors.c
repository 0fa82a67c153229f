#include <errno.h>
#include <stdarg.h>
#include <libintl.h>
#include <stdio.h>
#include <string.h>
#include <git2/errors.h>

#include "errors.h"

/* A translation takes up to three bytes a letter (Lao, Thai): room for it. */
static _Thread_local char tls_msg[1024], tls_text[2048];
static _Thread_local vault_error tls_err;
static _Thread_local const vault_error *tls_last;

static const vault_error oom_error = { "out of memory", VAULT_ERROR, "out of memory" };
static const vault_error no_error = { "no error", VAULT_OK, "no error" };

/* The format's translation, or NULL where there is none. */
static const char *translated(const char *fmt)
{
	const char *t = dgettext("casevault", fmt);

	return t != fmt && strcmp(t, fmt) ? t : NULL;
}

static int set_last(int code)
{
	tls_err.message = tls_msg;
	tls_err.text = tls_text;
	tls_err.code = code;
	tls_last = &tls_err;
	return code;
}

/* A string cut by its buffer ends at a whole UTF-8 character. */
static void whole_chars(char *s)
{
	size_t n = strlen(s), lead = n, want;

	while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0 || ((unsigned char)s[lead - 1] & 0x80) == 0)
		return;
	lead--;
	want = ((unsigned char)s[lead] & 0xe0) == 0xc0 ? 2 : ((unsigned char)s[lead] & 0xf0) == 0xe0 ? 3 : 4;
	if (n - lead < want)
		s[lead] = '\0';
}

/*
 * Format `fmt` into `out`, in English, and its translation into `text`.
 * The arguments are read twice: two copies of the list.
 */
static void format_both(char *out, size_t size, char *text, size_t text_size, const char *fmt, va_list ap)
{
	const char *t = translated(fmt);
	va_list again;

	va_copy(again, ap);
	vsnprintf(out, size, fmt, ap);
	vsnprintf(text, text_size, t ? t : fmt, again);
	va_end(again);
	whole_chars(out);
	whole_chars(text);
}

/* "a: b" into `out`, cut at its size. */
static void join(char *out, size_t size, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s: ", a);

	if (n >= 0 && (size_t)n < size)
		snprintf(out + n, size - (size_t)n, "%s", b);
	whole_chars(out);
}

int vault_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_both(tls_msg, sizeof tls_msg, tls_text, sizeof tls_text, fmt, ap);
	va_end(ap);
	return set_last(code);
}

/* "msg: the last error", and "text: the last error's text". */
static int wrap(int code, const char *msg, const char *text)
{
	const vault_error *last = vault_error_last();
	char why[sizeof tls_msg], why_text[sizeof tls_text];

	snprintf(why, sizeof why, "%s", last->message);
	snprintf(why_text, sizeof why_text, "%s", last->text ? last->text : last->message);
	join(tls_msg, sizeof tls_msg, msg, why);
	join(tls_text, sizeof tls_text, text, why_text);
	return set_last(code);
}

int vault_error_wrap(int code, const char *fmt, ...)
{
	char msg[sizeof tls_msg], text[sizeof tls_text];
	va_list ap;

	va_start(ap, fmt);
	format_both(msg, sizeof msg, text, sizeof text, fmt, ap);
	va_end(ap);
	return wrap(code, msg, text);
}

int vault_error_prefix(int code, const char *what)
{
	const char *what_text = translated(what);

	return wrap(code, what, what_text ? what_text : what);
}

void vault_error_keep(vault_error_kept *k)
{
	const vault_error *last = vault_error_last();

	snprintf(k->message, sizeof k->message, "%s", last->message);
	snprintf(k->text, sizeof k->text, "%s", last->text ? last->text : last->message);
}

int vault_error_put(int code, const vault_error_kept *k)
{
	snprintf(tls_msg, sizeof tls_msg, "%s", k->message);
	snprintf(tls_text, sizeof tls_text, "%s", k->text);
	return set_last(code);
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

	/* The object database's own failure is still this thread's last
	 * error, in both languages; libgit2's is in English only. */
	if (!e || !e->message)
		vault_error_set(code, "history error");
	else if (!vault_error__git_code || strcmp(e->message, vault_error_last()->message))
		vault_error_set(code, "%s", e->message);
	vault_error__git_code = 0;
	return vault_error_prefix(code, what);
}
