# TLE: spins for ever.
while True:
    pass
