// Network probes from inside a container, one result line each:
//   iso_net tcp IP PORT       "tcp IP:PORT ok" or "tcp IP:PORT ERRNAME" (connect)
//   iso_net abstract NAME     "abstract NAME ok|ERRNAME" (connect to the abstract unix socket)
//   iso_net selftcp           "selftcp ok|ERRNAME": listen on 127.0.0.1, connect, echo a byte
//   iso_net ifaces            "iface NAME up|down" per line of /proc/net/dev
//   iso_net hostname          "hostname NAME"
//   iso_net share N PORT      makes /tmp/iso-N, /dev/shm/iso-N, SysV shm key N, abstract
//                             socket iso-N and a TCP listener on 127.0.0.1:PORT, prints
//                             "share ..." results then "ready", holds until EOF on stdin
//   iso_net reach N PORT      tries each of those: "tmp|devshm|sysv|abstract|tcp RESULT"
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char* err(void) {
  const char* e = strerrorname_np(errno);
  return e ? e : "E?";
}

static int connect_tcp(const char* ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct timeval tv = {2, 0};
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

static int selftcp(void) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, (struct sockaddr*)&a, sizeof a) || listen(l, 1) ||
      getsockname(l, (struct sockaddr*)&a, &len)) {
    return -1;
  }
  int c = connect_tcp("127.0.0.1", ntohs(a.sin_port));
  if (c < 0) return -1;
  int s = accept(l, NULL, NULL);
  if (s < 0) return -1;
  char b = 'x';
  if (write(c, &b, 1) != 1 || read(s, &b, 1) != 1 || b != 'x') return -1;
  return 0;
}

static int abstract_socket(const char* name, int do_listen) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t n = strlen(name);
  if (n > sizeof a.sun_path - 1) n = sizeof a.sun_path - 1;
  memcpy(a.sun_path + 1, name, n);
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  int rc = do_listen ? (bind(s, (struct sockaddr*)&a, len) || listen(s, 4) ? -1 : 0)
                     : connect(s, (struct sockaddr*)&a, len);
  if (rc != 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

static void report(const char* what, int ok) { printf("%s %s\n", what, ok ? "ok" : err()); }

static int share(int n, int port, int do_share) {
  char tmp[64], shm[64], name[64];
  snprintf(tmp, sizeof tmp, "/tmp/iso-%d", n);
  snprintf(shm, sizeof shm, "/dev/shm/iso-%d", n);
  snprintf(name, sizeof name, "iso-%d", n);
  struct stat st;
  if (do_share) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    report("tmp", fd >= 0);
    fd = open(shm, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    report("devshm", fd >= 0);
    report("sysv", shmget((key_t)n, 4096, IPC_CREAT | 0666) >= 0);
    report("abstract", abstract_socket(name, 1) >= 0);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    report("tcp", bind(l, (struct sockaddr*)&a, sizeof a) == 0 && listen(l, 4) == 0);
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    int id = shmget((key_t)n, 0, 0);
    if (id >= 0) shmctl(id, IPC_RMID, NULL);
  } else {
    report("tmp", stat(tmp, &st) == 0);
    report("devshm", stat(shm, &st) == 0);
    report("sysv", shmget((key_t)n, 0, 0) >= 0);
    report("abstract", abstract_socket(name, 0) >= 0);
    report("tcp", connect_tcp("127.0.0.1", port) >= 0);
  }
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 4 && (!strcmp(argv[1], "share") || !strcmp(argv[1], "reach"))) {
    return share(atoi(argv[2]), atoi(argv[3]), !strcmp(argv[1], "share"));
  }
  if (argc >= 4 && !strcmp(argv[1], "tcp")) {
    int s = connect_tcp(argv[2], atoi(argv[3]));
    printf("tcp %s:%s %s\n", argv[2], argv[3], s >= 0 ? "ok" : err());
  } else if (argc >= 3 && !strcmp(argv[1], "abstract")) {
    printf("abstract %s %s\n", argv[2], abstract_socket(argv[2], 0) >= 0 ? "ok" : err());
  } else if (argc >= 2 && !strcmp(argv[1], "selftcp")) {
    printf("selftcp %s\n", selftcp() == 0 ? "ok" : err());
  } else if (argc >= 2 && !strcmp(argv[1], "ifaces")) {
    FILE* f = fopen("/proc/net/dev", "r");
    if (!f) {
      printf("ifaces %s\n", err());
      return 0;
    }
    char line[512];
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    while (fgets(line, sizeof line, f)) {
      char* colon = strchr(line, ':');
      if (!colon) continue;  // the two header lines
      *colon = '\0';
      char* name = line;
      while (*name == ' ') ++name;
      struct ifreq ifr;
      memset(&ifr, 0, sizeof ifr);
      snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
      if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
        printf("iface %s %s\n", name, err());
      } else {
        printf("iface %s %s\n", name, (ifr.ifr_flags & IFF_UP) ? "up" : "down");
      }
    }
    fclose(f);
  } else if (argc >= 2 && !strcmp(argv[1], "hostname")) {
    struct utsname u;
    uname(&u);
    printf("hostname %s\n", u.nodename);
  } else {
    fprintf(stderr,
            "usage: iso_net tcp IP PORT | abstract NAME | selftcp | ifaces | hostname | "
            "share N PORT | reach N PORT\n");
    return 2;
  }
  return 0;
}
