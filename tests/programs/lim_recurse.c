// Unbounded recursion with a 1 KiB frame that is really touched.
#include <stdio.h>

static int Down(int depth) {
  volatile char frame[1024];
  frame[0] = (char)depth;
  frame[1023] = (char)depth;
  return Down(depth + 1) + frame[0] + frame[1023];
}

int main(void) {
  printf("%d\n", Down(0));
  return 0;
}
