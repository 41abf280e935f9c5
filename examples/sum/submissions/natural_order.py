# WA, not RE: wrong on test 2, crashes on test 10. Tests run in natural order
# (1, 2, 10), so test 2 fails first; a judge sorting names as strings (1, 10, 2)
# would report RE.
a, b = map(int, input().split())
if a + b == 0:  # test 2
    print(1)
elif a > 10**9:  # test 10
    raise SystemExit(4)
else:
    print(a + b)
