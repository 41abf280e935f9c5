# AC: binary search, at most 30 guesses. print() flushes because of flush=True.
low, high = 1, 10**9
while low <= high:
    guess = (low + high) // 2
    print(guess, flush=True)
    reply = input()
    if reply == "=":
        break
    if reply == "<":
        high = guess - 1
    else:
        low = guess + 1
