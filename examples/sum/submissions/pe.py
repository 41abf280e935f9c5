# PE under the exact checker: the right number after a tab.
a, b = map(int, input().split())
print("\t" + str(a + b))
