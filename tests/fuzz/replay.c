/*
 * replay: runs a fuzz target (LLVMFuzzerTestOneInput) over files, so the
 * corpus is replayed by make check without libFuzzer.
 *
 *   replay_NAME [PATH...]
 *
 * Each PATH is a file or a directory (its regular files, in name order).
 * Without PATHs it runs $srcdir/tests/fuzz/corpus/NAME ("." when srcdir is
 * unset, as automake sets it for tests).  Each file is read whole into a
 * malloc'd buffer of exactly its size, so ASan reports any read past the
 * end.  Output is TAP: "ok N - corpus/NAME/FILE" per file (a crash is the
 * failure; a return is a pass), then the plan.  No file at all is a
 * failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_NAME
#error "compile with -DFUZZ_NAME='\"name\"'"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tests, failures;

/* Read path whole; *buf is malloc'd with exactly *len bytes. */
static int
read_whole(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	/* malloc(0) gives a zero-size block, which ASan also guards. */
	if ((p = malloc((size_t)st.st_size)) == NULL && st.st_size != 0) {
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, p + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n != (size_t)st.st_size) {
		free(p);
		return -1;
	}
	*buf = p;
	*len = n;
	return 0;
}

static void
run_file(const char *path, const char *label)
{
	uint8_t *buf;
	size_t len;

	if (read_whole(path, &buf, &len) < 0) {
		printf("not ok %d - %s (cannot read: %s)\n", ++tests, label,
		    strerror(errno));
		failures++;
		return;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	printf("ok %d - %s\n", ++tests, label);
	fflush(stdout);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
skip_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every regular file of dir; label_dir names them in the output. */
static int
run_dir(const char *dir, const char *label_dir)
{
	struct dirent **names;
	int n;

	if ((n = scandir(dir, &names, skip_entry, by_name)) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char *path = NULL, *label = NULL;
		struct stat st;

		if (asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0 ||
		    asprintf(&label, "%s/%s", label_dir, names[i]->d_name) < 0) {
			fprintf(stderr, "replay: out of memory\n");
			exit(2);
		}
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			run_file(path, label);
		free(path);
		free(label);
		free(names[i]);
	}
	free(names);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			struct stat st;

			if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
				run_dir(argv[i], argv[i]);
			else
				run_file(argv[i], argv[i]);
		}
	} else {
		const char *srcdir = getenv("srcdir");
		char *dir = NULL;

		if (srcdir == NULL || *srcdir == '\0')
			srcdir = ".";
		if (asprintf(&dir, "%s/tests/fuzz/corpus/%s", srcdir,
		    FUZZ_NAME) < 0) {
			fprintf(stderr, "replay: out of memory\n");
			return 2;
		}
		if (run_dir(dir, "corpus/" FUZZ_NAME) < 0)
			printf("# cannot open %s: %s\n", dir, strerror(errno));
		free(dir);
	}
	if (tests == 0) {
		printf("not ok 1 - no corpus\n1..1\n");
		return 1;
	}
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
