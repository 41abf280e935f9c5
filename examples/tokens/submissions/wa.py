# WA with any checker: the right tokens in the wrong order.
n = int(input())
print(*range(n, 0, -1))
