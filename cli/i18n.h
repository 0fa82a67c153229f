/*
 * casevault CLI — messages in the user's language (gettext).
 *
 * _() translates a message where it is used; N_() marks a string that is
 * translated later (a table, a usage text) for xgettext. cli_error(),
 * cli_usage_error(), cli_usage_suggest(), cli_fail_vault(), cli_warning(),
 * cli_confirm(), cli_batch_note() and cli_note() translate their format and hint
 * themselves: their call sites need no mark. See
 * HACKING.md for how a message gets into the catalogs.
 */
#ifndef CLI_I18N_H
#define CLI_I18N_H

#include <libintl.h>

#define _(msgid) cli_gettext(msgid)
#define N_(msgid) msgid

/** The catalog of the user's LC_MESSAGES, from the installed locale
 *  directory (or CASEVAULT_LOCALEDIR, for a build tree). */
void cli_i18n_init(void);

/** gettext(), but NULL and "" (whose translation is the header) stay. */
const char *cli_gettext(const char *msgid) __attribute__((format_arg(1)));

#endif
