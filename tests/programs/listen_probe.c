// listen_probe listen: binds the abstract unix socket "\0judge-slot-test" and TCP
// 127.0.0.1:47321, listens, connects to itself once (traffic on lo), prints
// "listening" and exits.
// listen_probe connect: tries to connect to both; prints "connected" or "refused ERRNO".
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int listen_mode = argc > 1 && strcmp(argv[1], "listen") == 0;
  struct sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  memcpy(un.sun_path + 1, "judge-slot-test", 15);
  socklen_t un_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 16);
  struct sockaddr_in in;
  memset(&in, 0, sizeof in);
  in.sin_family = AF_INET;
  in.sin_port = htons(47321);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int u = socket(AF_UNIX, SOCK_STREAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
  if (listen_mode) {
    if (bind(u, (struct sockaddr*)&un, un_len) || listen(u, 1) || bind(t, (struct sockaddr*)&in, sizeof in) ||
        listen(t, 1)) {
      printf("bind failed %d\n", errno);
      return 1;
    }
    // Traffic on lo, so that the run leaves counters (and a TIME_WAIT socket) behind in
    // its network namespace.
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr*)&in, sizeof in) != 0) {
      printf("self-connect failed %d\n", errno);
      return 1;
    }
    close(accept(t, NULL, NULL));
    close(c);
    printf("listening\n");
    return 0;
  }
  if (connect(u, (struct sockaddr*)&un, un_len) == 0) printf("connected\n"); else printf("refused %d\n", errno);
  if (connect(t, (struct sockaddr*)&in, sizeof in) == 0) printf("connected\n"); else printf("refused %d\n", errno);
  return 0;
}
