// OLE: prints for ever; the output limit (64 MiB by default) stops it.
#include <stdio.h>

int main(void) {
  for (;;) fputs("3\n", stdout);
}
