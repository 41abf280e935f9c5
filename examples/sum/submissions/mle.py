# MLE: builds a 1 GiB string (the copy writes every byte, so the memory is used).
block = b"x" * (1 << 30)
print(len(block))
