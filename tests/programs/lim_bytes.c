// Writes argv[1] bytes to stdout: byte i is (i * 7 + 3) % 256, in uneven chunks.
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long long n = argc > 1 ? atoll(argv[1]) : 0;
  static unsigned char buf[70001];
  long long i = 0;
  size_t chunk = 1;
  while (i < n) {
    size_t len = chunk;
    if ((long long)len > n - i) len = (size_t)(n - i);
    for (size_t k = 0; k < len; ++k) buf[k] = (unsigned char)((i + (long long)k) * 7 + 3);
    size_t off = 0;
    while (off < len) {
      ssize_t w = write(1, buf + off, len - off);
      if (w < 0) return 3;
      off += (size_t)w;
    }
    i += (long long)len;
    chunk = chunk * 3 % sizeof buf + 1;
  }
  return 0;
}
