# OLE: prints for ever; the output limit (64 MiB by default) stops it.
import sys
line = "3\n" * 4096
while True:
    sys.stdout.write(line)
