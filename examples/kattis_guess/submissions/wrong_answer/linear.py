# WA: guesses 1, 2, 3, ...: more than 31 guesses for most secrets.
guess = 1
while True:
    print(guess, flush=True)
    if input() == "=":
        break
    guess += 1
