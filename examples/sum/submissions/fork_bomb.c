// RE, TLE or MLE, never a hang: every process forks for ever. The pids limit makes
// forks fail, the loop keeps spinning until the CPU or wall time limit; the judge
// must then kill every process of the run. Do not run it outside the sandbox.
#include <unistd.h>

int main(void) {
  for (;;) (void)fork();
}
