# RE: an uncaught exception (python3 exits with status 1).
a, b = map(int, input().split())
raise ValueError(f"refusing to add {a} and {b}")
