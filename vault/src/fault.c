#define _GNU_SOURCE
#include <link.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <ucontext.h>
#include <unistd.h>

#include "fault.h"
#include "util/errors.h"
#include "vault.h"

#define MAPS_MAX  16
#define VALUE_MAX ((uint64_t)4 << 30)   /* an LMDB value's length is 32 bits */

static struct {
	uintptr_t base, end;             /* 0, 0: a free slot */
} maps[MAPS_MAX];

_Thread_local int vault_fault__depth;

static struct {
	const char *program;
	void (*log)(const char *line);
	uintptr_t lmdb_lo, lmdb_hi;      /* LMDB's code; 0, 0 if it is not apart from ours */
	struct sigaction old_segv, old_bus, old_abrt;
	int installed;
} guard;

void vault_fault__map_add(uintptr_t base, uint64_t size)
{
	for (int i = 0; i < MAPS_MAX; i++) {
		uintptr_t none = 0;

		if (__atomic_compare_exchange_n(&maps[i].base, &none, base, 0,
				__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&maps[i].end, base + (uintptr_t)size, __ATOMIC_SEQ_CST);
			return;
		}
	}
}

void vault_fault__map_remove(uintptr_t base)
{
	for (int i = 0; i < MAPS_MAX && base; i++) {
		if (__atomic_load_n(&maps[i].base, __ATOMIC_SEQ_CST) == base) {
			__atomic_store_n(&maps[i].end, 0, __ATOMIC_SEQ_CST);
			__atomic_store_n(&maps[i].base, 0, __ATOMIC_SEQ_CST);
			return;
		}
	}
}

uintptr_t vault_fault__map_of(int fd)
{
	unsigned long long start, end, off, ino;
	unsigned int major, minor;
	uintptr_t found = 0;
	struct stat sb;
	char line[512];
	FILE *f;

	if (fstat(fd, &sb) != 0 || (f = fopen("/proc/self/maps", "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &end, &off, &major, &minor,
				&ino) == 6 && off == 0 && ino == (unsigned long long)sb.st_ino &&
		    major == major(sb.st_dev) && minor == minor(sb.st_dev))
			found = (uintptr_t)start;
	}
	fclose(f);
	return found;
}

/* The map that `addr` lies in or just past; its base, or 0. */
static uintptr_t map_at(uintptr_t addr)
{
	for (int i = 0; i < MAPS_MAX; i++) {
		uintptr_t base = __atomic_load_n(&maps[i].base, __ATOMIC_SEQ_CST);
		uintptr_t end = __atomic_load_n(&maps[i].end, __ATOMIC_SEQ_CST);

		if (base && end && addr >= base && (addr < end || addr - end < VALUE_MAX))
			return base;
	}
	return 0;
}

static uintptr_t fault_pc(void *ctx)
{
	const ucontext_t *uc = ctx;

#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	(void)uc;
	return 0;
#endif
}

/* Async-signal-safe output: a string, a decimal number. */
static size_t put_str(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at + 1 < size)
		buf[at++] = *s++;
	buf[at] = '\0';
	return at;
}

static size_t put_num(char *buf, size_t at, size_t size, uint64_t n)
{
	char digits[24];
	int i = 0;

	do {
		digits[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	while (i > 0 && at + 1 < size)
		buf[at++] = digits[--i];
	buf[at] = '\0';
	return at;
}

/* The line and its hint on stderr, the line to the log; exit 3. */
static void damage_exit(char *line, size_t n, size_t size)
{
	static const char hint[] =
		"hint: restore the vault from a backup, and keep this copy for investigation\n";

	if (guard.log)
		guard.log(line);
	n = put_str(line, n, size, "\n");
	(void)!write(STDERR_FILENO, line, n);
	(void)!write(STDERR_FILENO, hint, sizeof hint - 1);
	_exit(3);
}

void vault_fault__lmdb_assert(MDB_env *env, const char *msg)
{
	char line[256];
	size_t n = 0;

	(void)env;
	if (!guard.installed)
		return;
	n = put_str(line, n, sizeof line, guard.program);
	n = put_str(line, n, sizeof line, ": the vault file is damaged: LMDB met a page it cannot use (");
	n = put_str(line, n, sizeof line, msg ? msg : "an assertion");
	n = put_str(line, n, sizeof line, ")");
	damage_exit(line, n, sizeof line);
}

/* "PROGRAM: the vault file is damaged: ...", and its hint. Exits 3. */
static void report_damage(int sig, uintptr_t addr, uintptr_t base)
{
	char line[256];
	size_t n = 0;

	n = put_str(line, n, sizeof line, guard.program);
	n = put_str(line, n, sizeof line, ": the vault file is damaged: ");
	if (sig == SIGABRT) {
		n = put_str(line, n, sizeof line, "LMDB wrote past a buffer while changing a damaged page");
	} else if (base && addr >= base) {
		n = put_str(line, n, sizeof line, "a read at byte ");
		n = put_num(line, n, sizeof line, (uint64_t)(addr - base));
		n = put_str(line, n, sizeof line, " of data.mdb failed");
	} else {
		n = put_str(line, n, sizeof line, "LMDB followed a damaged page");
	}
	if (sig != SIGABRT)
		n = put_str(line, n, sizeof line, sig == SIGBUS ? " (past its end)" : " (outside the map)");
	damage_exit(line, n, sizeof line);
}

static void on_fault(int sig, siginfo_t *info, void *ctx)
{
	const struct sigaction *old = sig == SIGBUS ? &guard.old_bus :
		sig == SIGABRT ? &guard.old_abrt : &guard.old_segv;
	uintptr_t addr = sig == SIGABRT ? 0 : (uintptr_t)info->si_addr, pc = fault_pc(ctx);
	uintptr_t base = map_at(addr);

	if (vault_fault__depth > 0 ||
	    (sig != SIGABRT && (base || (pc && pc >= guard.lmdb_lo && pc < guard.lmdb_hi))))
		report_damage(sig, addr, base);
	/* Not damage: a bug. As it would have gone without the guard. */
	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction) {
			old->sa_sigaction(sig, info, ctx);
			return;
		}
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Returning re-runs the faulting instruction, now with the default action. */
	signal(sig, SIG_DFL);
}

/* LMDB's executable segment, if it is a library of its own. */
static int find_lmdb(struct dl_phdr_info *info, size_t size, void *payload)
{
	uintptr_t mdb = (uintptr_t)&mdb_get, ours = (uintptr_t)&vault_guard_damage;

	(void)size;
	(void)payload;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || mdb < lo || mdb >= hi)
			continue;
		if (ours >= lo && ours < hi)
			return 1;   /* linked in with us: only its map tells damage */
		guard.lmdb_lo = lo;
		guard.lmdb_hi = hi;
		return 1;
	}
	return 0;
}

int vault_guard_damage(const char *program, void (*log)(const char *line))
{
	static char altstack[64 * 1024];
	struct sigaction sa;
	stack_t ss;

	guard.program = program ? program : "casevault";
	guard.log = log;
	if (guard.installed)
		return 0;
	dl_iterate_phdr(find_lmdb, NULL);
	/* A stack of its own: the handler must run even where the fault is
	 * the thread's stack. A stack already set is kept. */
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE)) {
		ss.ss_sp = altstack;
		ss.ss_size = sizeof altstack;
		ss.ss_flags = 0;
		(void)sigaltstack(&ss, NULL);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &guard.old_segv) != 0 || sigaction(SIGBUS, &sa, &guard.old_bus) != 0 ||
	    sigaction(SIGABRT, &sa, &guard.old_abrt) != 0)
		return vault_error_set(VAULT_ERROR, "cannot set the handler of faults");
	guard.installed = 1;
	return 0;
}
