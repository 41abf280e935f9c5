# CE: a syntax error (the python3 profile compiles to byte code first).
a, b = map(int, input().split()
print(a + b)
