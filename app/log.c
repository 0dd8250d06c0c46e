/*
 * log: see log.h.  Formats the whole line into a stack buffer first and
 * writes it with one write(2), so lines from several processes sharing the
 * web server's error log never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_program = "modbox";
static enum log_level log_level_max = LOG_LVL_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
log_set_program(const char *name)
{
	log_program = name;
}

void
log_set_level(enum log_level level)
{
	log_level_max = level;
}

void
log_at(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n, m;
	const char *base;

	if (level > log_level_max)
		return;
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	n = snprintf(buf, sizeof buf, "%s[%ld]: %s: %s:%d: ", log_program,
	    (long)getpid(), level_names[level], base, line);
	if (n < 0 || (size_t)n >= sizeof buf)
		return;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof buf - 2)
		n = sizeof buf - 2;
	for (int i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}
