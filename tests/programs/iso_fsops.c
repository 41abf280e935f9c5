// File operations from inside a container, one result line per operation:
//   iso_fsops OP PATH [ARG] [OP PATH [ARG]]...
// prints "OP PATH ok[ DETAIL]" or "OP PATH ERRNAME" (e.g. "create /usr/x EACCES").
// Ops: read PATH, cat PATH, ls PATH, stat PATH, create PATH, mkdir PATH, unlink PATH,
//      append PATH TEXT, write PATH TEXT (existing file, truncated), chmod PATH OCTAL.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void result(const char* op, const char* path, int ok, const char* detail) {
  if (ok) {
    printf("%s %s ok%s%s\n", op, path, detail && *detail ? " " : "", detail ? detail : "");
  } else {
    const char* name = strerrorname_np(errno);
    printf("%s %s %s\n", op, path, name ? name : "E?");
  }
}

static int write_all(int fd, const char* s) {
  size_t n = strlen(s);
  return write(fd, s, n) == (ssize_t)n;
}

static int cmp(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

int main(int argc, char** argv) {
  int i = 1;
  while (i + 1 < argc) {
    const char* op = argv[i];
    const char* path = argv[i + 1];
    i += 2;
    char detail[8192] = "";
    int ok = 0;
    if (strcmp(op, "read") == 0 || strcmp(op, "cat") == 0) {
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        static char buf[1 << 16];
        ssize_t total = 0, n;
        while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0) total += n;
        ok = n == 0;
        int saved = errno;
        close(fd);
        errno = saved;
        if (strcmp(op, "cat") == 0) {
          // One line: NULs become spaces, newlines '|'.
          for (ssize_t k = 0; k < total; ++k) {
            if (buf[k] == '\0') buf[k] = ' ';
            if (buf[k] == '\n') buf[k] = '|';
          }
          buf[total] = '\0';
          snprintf(detail, sizeof detail, "%s", buf);
        } else {
          snprintf(detail, sizeof detail, "%zd", total);
        }
      }
    } else if (strcmp(op, "ls") == 0) {
      DIR* d = opendir(path);
      if (d) {
        char* names[1024];
        int count = 0;
        struct dirent* e;
        while ((e = readdir(d)) && count < 1024) {
          if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[count++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, count, sizeof names[0], cmp);
        size_t len = 0;
        for (int k = 0; k < count; ++k) {
          len += snprintf(detail + len, sizeof detail - len, "%s%s", k ? "," : "", names[k]);
          if (len >= sizeof detail) break;
        }
        ok = 1;
      }
    } else if (strcmp(op, "stat") == 0) {
      struct stat st;
      ok = lstat(path, &st) == 0;
      if (ok)
        snprintf(detail, sizeof detail, "uid=%u gid=%u mode=%o", st.st_uid, st.st_gid,
                 st.st_mode & 07777);
    } else if (strcmp(op, "create") == 0) {
      int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      ok = fd >= 0 && write_all(fd, "judge-iso\n");
      if (fd >= 0) close(fd);
    } else if (strcmp(op, "mkdir") == 0) {
      ok = mkdir(path, 0755) == 0;
    } else if (strcmp(op, "unlink") == 0) {
      ok = unlink(path) == 0;
    } else if ((strcmp(op, "append") == 0 || strcmp(op, "write") == 0) && i < argc) {
      const char* text = argv[i++];
      int flags = strcmp(op, "append") == 0 ? O_WRONLY | O_APPEND : O_WRONLY | O_TRUNC;
      int fd = open(path, flags | O_CLOEXEC);
      ok = fd >= 0 && write_all(fd, text);
      if (fd >= 0) close(fd);
    } else if (strcmp(op, "chmod") == 0 && i < argc) {
      ok = chmod(path, (mode_t)strtol(argv[i++], NULL, 8)) == 0;
    } else {
      fprintf(stderr, "iso_fsops: bad op %s\n", op);
      return 2;
    }
    result(op, path, ok, detail);
  }
  return 0;
}
