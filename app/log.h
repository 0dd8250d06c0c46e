/*
 * log: one line per event on stderr, which the web server keeps as its
 * error log.  Every line is "PROGRAM[PID]: LEVEL: FILE:LINE: message";
 * control characters in the message are replaced so a hostile value
 * cannot forge a second line.  Never pass a secret to these functions.
 */
#ifndef MODBOX_LOG_H
#define MODBOX_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Name shown at the start of each line (default "modbox"). */
void log_set_program(const char *name);
/* Lines above this level are dropped (default LOG_LVL_INFO). */
void log_set_level(enum log_level level);

void log_at(enum log_level level, const char *file, int line,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(...) log_at(LOG_LVL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LVL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LVL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
