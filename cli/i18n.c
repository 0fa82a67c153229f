/*
 * casevault CLI — messages in the user's language.
 *
 * Only LC_MESSAGES and LC_CTYPE follow the environment: messages in the
 * user's language, converted to their terminal's character set. Numbers,
 * times and sorting stay as in the C locale, so that what casevault prints
 * for scripts (sizes, times, --json) is the same in every language.
 */
#include <locale.h>
#include <stdlib.h>

#include "i18n.h"

#ifndef CASEVAULT_LOCALEDIR
#define CASEVAULT_LOCALEDIR "/usr/local/share/locale"
#endif

void cli_i18n_init(void)
{
	const char *dir = getenv("CASEVAULT_LOCALEDIR");

	setlocale(LC_CTYPE, "");
	setlocale(LC_MESSAGES, "");
	bindtextdomain("casevault", dir != NULL && *dir != '\0' ? dir : CASEVAULT_LOCALEDIR);
	textdomain("casevault");
}

const char *cli_gettext(const char *msgid)
{
	if (msgid == NULL || *msgid == '\0')
		return msgid;
	return gettext(msgid);
}
