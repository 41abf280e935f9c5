// TLE: spins for ever (volatile, so the compiler keeps the loop).
int main() {
  volatile unsigned long spins = 0;
  for (;;) spins = spins + 1;
}
