#!/usr/bin/env python3
# The input is one line holding n, 1 <= n <= 100000. Exit 42: valid.
import re
import sys

text = sys.stdin.read()
ok = re.fullmatch(r"[1-9][0-9]*\n", text) is not None and int(text) <= 100000
sys.exit(42 if ok else 43)
