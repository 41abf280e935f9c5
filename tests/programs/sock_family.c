// Tries socket(FAMILY, SOCK_DGRAM or SOCK_SEQPACKET, 0) for each family given and
// prints "FAMILY ok" or "FAMILY errno".
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    int fam = atoi(argv[i]);
    int s = socket(fam, SOCK_DGRAM, 0);
    if (s < 0 && errno != EAFNOSUPPORT) s = socket(fam, SOCK_SEQPACKET, 0);
    if (s >= 0) {
      printf("%d ok\n", fam);
      close(s);
    } else {
      printf("%d %d\n", fam, errno);
    }
  }
  return 0;
}
