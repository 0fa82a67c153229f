/*
 * casevault CLI — reading passphrases, from a file or the terminal.
 *
 * Never from argv (other users see it in ps) and never from stdin, which
 * carries document content for `put`. The terminal is /dev/tty, with echo
 * off; echo comes back on every path out, signals included. Buffers are
 * locked in memory where we may, and wiped before they are freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"

/* Room for CLI_PASS_MAX bytes, the "\r\n" a file may end with, and one more to see it is too long. */
#define SECRET_SIZE (CLI_PASS_MAX + 3)

#define TTY_AGAIN (-2)

static int secret_alloc(cli_secret *s)
{
	s->len = 0;
	if ((s->buf = calloc(1, SECRET_SIZE)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	/* Best effort: keep it out of swap. Without the privilege, go on. */
	(void) mlock(s->buf, SECRET_SIZE);
	return 0;
}

void cli_secret_dispose(cli_secret *s)
{
	if (s == NULL || s->buf == NULL)
		return;
	explicit_bzero(s->buf, SECRET_SIZE);
	(void) munlock(s->buf, SECRET_SIZE);
	free(s->buf);
	s->buf = NULL;
	s->len = 0;
}

static int too_long(void)
{
	char hint[128];

	snprintf(hint, sizeof hint, _("use at most %d bytes"), CLI_PASS_MAX);
	return cli_error(CLI_EXIT_USAGE, hint, "the passphrase is too long");
}

/* ---- from a file --------------------------------------------------------- */

/*
 * A file holding a secret is the user's own, and no one else's to read, as
 * ssh wants of its key files: a passphrase others can read is no secret.
 * Pipes and descriptors (/dev/fd/N, a here-document) have no such mode,
 * but they are the user's (or root's) too: another user's FIFO where a
 * file was meant (in /tmp) would let them choose a new passphrase.
 */
static int check_private(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cli_error_os("check the passphrase file", "cannot read passphrase file '%s'", path);
	if (!S_ISREG(st.st_mode) && st.st_uid != geteuid() && st.st_uid != 0)
		return cli_error(CLI_EXIT_USAGE, "use a file of your own (mode 600), or a pipe",
			"passphrase file '%s' is a FIFO or device of another user (uid %u)", path,
			(unsigned) st.st_uid);
	if (!S_ISREG(st.st_mode))
		return 0;
	if (st.st_uid != geteuid())
		return cli_error(CLI_EXIT_USAGE, "use a file of your own (chown it, or make a new one with mode 600)",
			"passphrase file '%s' belongs to another user (uid %u)", path, (unsigned) st.st_uid);
	if (st.st_mode & 077) {
		char hint[PATH_MAX + 40];
		snprintf(hint, sizeof hint, "make it private: chmod 600 '%s'", path);
		return cli_error(CLI_EXIT_USAGE, hint,
			"passphrase file '%s' can be read or changed by others (mode %04o)", path,
			(unsigned) (st.st_mode & 07777));
	}
	return 0;
}

static int read_file(cli_secret *s, const char *path)
{
	ssize_t n;
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return cli_error_os("check the passphrase file's name and permissions",
			"cannot open passphrase file '%s'", path);
	if ((error = check_private(fd, path)) != 0)
		goto done;
	while (s->len < SECRET_SIZE) {
		n = read(fd, s->buf + s->len, SECRET_SIZE - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = cli_error_os("check the passphrase file",
				"cannot read passphrase file '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		s->len += (size_t) n;
	}

	/* One trailing newline is the file's, not the passphrase's: "\n" or "\r\n". */
	if (s->len > 0 && s->buf[s->len - 1] == '\n') {
		s->len--;
		if (s->len > 0 && s->buf[s->len - 1] == '\r')
			s->len--;
	}
	if (s->len > CLI_PASS_MAX) {
		error = too_long();
		goto done;
	}
	s->buf[s->len] = '\0';
done:
	close(fd);
	return error;
}

/* ---- from the terminal --------------------------------------------------- */

static volatile sig_atomic_t tty_signo;

static void tty_catch(int signo)
{
	tty_signo = signo;
}

static const int tty_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU,
};
#define NSIGNALS (sizeof tty_signals / sizeof tty_signals[0])

static void catch_signals(struct sigaction old[NSIGNALS])
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tty_catch;   /* no SA_RESTART: read() must return */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIGNALS; i++) {
		sigaction(tty_signals[i], &sa, &old[i]);
		if (old[i].sa_handler == SIG_IGN)   /* e.g. SIGHUP under nohup */
			sigaction(tty_signals[i], &old[i], NULL);
	}
}

static void restore_signals(const struct sigaction old[NSIGNALS])
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		sigaction(tty_signals[i], &old[i], NULL);
}

static int write_all(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, s, len)) < 0)
			return -1;   /* EINTR too: a signal we caught ends the prompt */
		s += n;
		len -= (size_t) n;
	}
	return 0;
}

/*
 * Show `prompt`, read one line with echo off. A caught signal restores the
 * terminal, then takes its usual effect; if we are still running after it
 * (a stop, then `fg`), return TTY_AGAIN to ask again.
 */
static int tty_read_once(cli_secret *s, int fd, const char *prompt, const char *hint)
{
	struct sigaction old[NSIGNALS];
	struct termios saved, noecho;
	int error = 0, echo_off = 0, overflow = 0, signo;
	ssize_t n;
	char c = 0;

	s->len = 0;
	tty_signo = 0;
	if (tcgetattr(fd, &saved) < 0)
		return cli_error_os(hint, "cannot use the terminal");
	catch_signals(old);

	noecho = saved;
	noecho.c_lflag &= ~(tcflag_t) (ECHO | ECHOE | ECHOK | ECHONL);
	if (tcsetattr(fd, TCSAFLUSH, &noecho) < 0) {
		if (tty_signo == 0)
			error = cli_error_os(hint, "cannot turn off echo");
		goto done;
	}
	echo_off = 1;
	if (write_all(fd, prompt, strlen(prompt)) < 0) {
		if (tty_signo == 0)
			error = cli_error_os(hint, "cannot write to the terminal");
		goto done;
	}
	for (;;) {
		if ((n = read(fd, &c, 1)) < 0) {
			if (errno == EINTR && tty_signo == 0)
				continue;
			if (tty_signo == 0)
				error = cli_error_os(hint, "cannot read from the terminal");
			goto done;
		}
		if (n == 0 || c == '\n' || c == '\r')
			break;
		if (s->len < CLI_PASS_MAX)
			s->buf[s->len++] = c;
		else
			overflow = 1;
	}
	s->buf[s->len] = '\0';

done:
	explicit_bzero(&c, sizeof c);
	if (echo_off) {
		(void) tcsetattr(fd, TCSAFLUSH, &saved);
		(void) write_all(fd, "\n", 1);
	}
	restore_signals(old);

	if ((signo = tty_signo) != 0) {
		raise(signo);
		if (signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU)
			return TTY_AGAIN;
		return cli_error(CLI_EXIT_ERROR, "run the command again", "interrupted");
	}
	if (error == 0 && overflow)
		error = too_long();
	return error;
}

static int tty_prompt(cli_secret *s, int fd, const char *what, const char *user,
	const char *hint)
{
	char prompt[256 + VAULT_NAME_MAX];
	int error;

	snprintf(prompt, sizeof prompt, "%s %s: ", _(what), user);
	while ((error = tty_read_once(s, fd, prompt, hint)) == TTY_AGAIN)
		;
	return error;
}

static int tty_open(int *fd, const char *user, const char *hint)
{
	if ((*fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0)
		return 0;
	return cli_error(CLI_EXIT_USAGE, hint,
		"no terminal to ask for the passphrase of '%s'", user);
}

/* ---- the two entry points ------------------------------------------------ */

/* A secret from `file`, or typed after "PROMPT USER" on the terminal. */
static int secret_get(cli_secret *out, const char *file, const char *user, const char *prompt,
	const char *hint)
{
	int fd = -1, error;

	if ((error = secret_alloc(out)) != 0)
		return error;
	if (file != NULL)
		error = read_file(out, file);
	else if ((error = tty_open(&fd, user, hint)) == 0)
		error = tty_prompt(out, fd, prompt, user, hint);

	if (fd >= 0)
		close(fd);
	if (error != 0)
		cli_secret_dispose(out);
	return error;
}

int cli_passphrase_get(cli_secret *out, const char *file, const char *user)
{
	return secret_get(out, file, user, N_("passphrase for"), CLI_HINT_PASSFILE);
}

int cli_code_get(cli_secret *out, const char *file, const char *user)
{
	return secret_get(out, file, user, N_("enrolment code for"), CLI_HINT_CODEFILE);
}

static int tty_new(cli_secret *out, int fd, const char *user, const char *hint)
{
	cli_secret again = { NULL, 0 };
	int error;

	if ((error = tty_prompt(out, fd, N_("new passphrase for"), user, hint)) != 0)
		goto done;
	if ((error = secret_alloc(&again)) != 0)
		goto done;
	if ((error = tty_prompt(&again, fd, N_("repeat new passphrase for"), user, hint)) != 0)
		goto done;
	if (out->len != again.len || memcmp(out->buf, again.buf, out->len) != 0)
		error = cli_error(CLI_EXIT_USAGE, "type the same passphrase twice",
			"the new passphrases for '%s' do not match", user);
done:
	cli_secret_dispose(&again);
	return error;
}

/* ---- the rule for a new passphrase --------------------------------------- */

/*
 * Passphrases attackers try first: the library leaves the rule to its
 * caller, and this is the CLI's. Compared without case, and without the
 * digits, punctuation and spaces at either end ("Password123!").
 */
static const char *const common_passphrases[] = {
	"password", "passphrase", "passw0rd", "p@ssw0rd", "mypassword", "mypassphrase",
	"passwordpassword", "thisismypassword", "secret", "topsecret", "changeme",
	"changeit", "default", "letmein", "letmeinnow", "welcome", "welcome to the jungle",
	"iloveyou", "i love you", "trustno", "opensesame", "open sesame", "admin",
	"administrator", "qwerty", "qwertyqwerty", "qwertyuiop", "qwertzuiop", "azertyuiop",
	"asdfghjkl", "zxcvbnm", "abcdefghijkl", "abcdefghijklmnop",
	"monkey", "dragon", "sunshine", "princess", "football", "baseball", "superman",
	"batman", "starwars", "computer", "internet", "whatever", "casevault",
	"correct horse battery staple", "correcthorsebatterystaple",
	"the quick brown fox jumps over the lazy dog", "thequickbrownfox",
};

#define PASS_MIN_CHARS 12

/* The hint of a refused new passphrase: why, then what is better. */
static const char *strength_hint(char *buf, size_t size, const char *why)
{
	snprintf(buf, size, "%s: %s", why, _("several words picked at random (four or more, "
		"with dice or a password manager) are easy to type and hard to guess"));
	return buf;
}

/* Characters, not bytes: a UTF-8 sequence counts once (Lao, Thai). */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char) s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int same_nocase(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower((unsigned char) a[i]) != lower((unsigned char) b[i]))
			return 0;
	return 1;
}

static int contains_nocase(const char *s, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	for (size_t i = 0; wlen > 0 && i + wlen <= len; i++)
		if (same_nocase(s + i, word, wlen))
			return 1;
	return 0;
}

/* An ASCII digit, punctuation mark or space: what "Password123!" adds. */
static int is_filler(unsigned char c)
{
	return c < 0x80 && !(lower(c) >= 'a' && lower(c) <= 'z');
}

static int is_common(const char *s, size_t len)
{
	while (len > 0 && is_filler((unsigned char) s[0]))
		s++, len--;
	while (len > 0 && is_filler((unsigned char) s[len - 1]))
		len--;
	if (len == 0)   /* digits and punctuation only */
		return 1;
	for (size_t i = 0; i < sizeof common_passphrases / sizeof common_passphrases[0]; i++)
		if (strlen(common_passphrases[i]) == len && same_nocase(s, common_passphrases[i], len))
			return 1;
	return 0;
}

/*
 * The rule for every new passphrase: at least PASS_MIN_CHARS characters,
 * not a common one, and containing neither the user's name (of three
 * characters or more: a shorter one is in too many words) nor the vault id.
 */
static int check_strength(const cli_secret *s, const char *user, const char *vault_id)
{
	size_t chars = utf8_chars(s->buf, s->len);
	char why[256], hint[1024];

	snprintf(why, sizeof why, _("use at least %d characters"), PASS_MIN_CHARS);
	if (chars < PASS_MIN_CHARS)
		return cli_error(CLI_EXIT_USAGE, strength_hint(hint, sizeof hint, why),
			"the new passphrase for '%s' is too short (%zu characters)", user, chars);
	if (is_common(s->buf, s->len))
		return cli_error(CLI_EXIT_USAGE, strength_hint(hint, sizeof hint,
			_("a common passphrase is among the first guesses")),
			"the new passphrase for '%s' is a common one", user);
	if (strlen(user) >= 3 && contains_nocase(s->buf, s->len, user))
		return cli_error(CLI_EXIT_USAGE, strength_hint(hint, sizeof hint,
			_("a passphrase holding the user name is guessed sooner")),
			"the new passphrase for '%s' contains the user name", user);
	if (vault_id != NULL && contains_nocase(s->buf, s->len, vault_id))
		return cli_error(CLI_EXIT_USAGE, strength_hint(hint, sizeof hint,
			_("the vault id is no secret")),
			"the new passphrase for '%s' contains the vault id", user);
	return 0;
}

int cli_passphrase_new(cli_secret *out, const char *file, const char *user, const char *vault_id,
	const char *hint)
{
	int fd = -1, error;

	if ((error = secret_alloc(out)) != 0)
		return error;
	if (file != NULL)
		error = read_file(out, file);
	else if ((error = tty_open(&fd, user, hint)) == 0)
		error = tty_new(out, fd, user, hint);
	if (error != 0 || (error = check_strength(out, user, vault_id)) != 0)
		goto done;
	if (vault_kdf_is_test_profile())
		cli_warning("CASEVAULT_KDF=test: weak passphrase hashing for test suites only");
done:
	if (fd >= 0)
		close(fd);
	if (error != 0)
		cli_secret_dispose(out);
	return error;
}
