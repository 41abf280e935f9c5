#!/usr/bin/env python3
# The input must be empty. Exit 42: valid, anything else: invalid.
import sys

sys.exit(42 if sys.stdin.read() == "" else 43)
