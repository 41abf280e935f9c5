#!/usr/bin/env python3
n = int(input())
print(*range(1, n + 1))
