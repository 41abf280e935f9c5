// MLE: allocates 1 GiB and writes to every page, so the memory is really used
// (an allocation alone is not: Linux commits pages on first write).
#include <cstdio>
#include <cstdlib>

int main() {
  const size_t size = size_t(1) << 30;
  volatile char* p = static_cast<volatile char*>(std::malloc(size));
  if (p == nullptr) return 1;  // refused up front (ulimit -v): RE, not MLE
  for (size_t i = 0; i < size; i += 4096) p[i] = 1;
  std::printf("%d\n", p[size - 1]);
}
