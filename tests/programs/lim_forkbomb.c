// The classic fork bomb: every process forks for ever (failed forks included).
#include <unistd.h>

int main(void) {
  for (;;) (void)fork();
}
