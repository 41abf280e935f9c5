# SV: calls ptrace through the C library; the default seccomp policy ends the run.
import ctypes
ctypes.CDLL(None).ptrace(0, 0, 0, 0)
a, b = map(int, input().split())
print(a + b)
