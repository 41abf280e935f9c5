// OLE: prints for ever; the output limit (64 MiB by default) stops it.
#include <cstdio>

int main() {
  for (;;) std::fputs("3\n", stdout);
}
