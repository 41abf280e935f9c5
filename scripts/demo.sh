#!/usr/bin/env bash
# Installs what the project needs, builds, and shows the container engine at work on a
# few programs: one per status. (The broker/worker demo arrives with the service.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target judge-sandbox >/dev/null
sandbox=build/sandbox/judge-sandbox

show() {
  local title=$1
  shift
  printf '\n== %s\n$ judge-sandbox run %s\n' "$title" "$*"
  "$sandbox" run "$@"
}

show "hello (OK)" -- /bin/echo hello from a throwaway container
show "exit code (RE)" -- /bin/sh -c 'exit 3'
show "abort (RE, SIGABRT)" -- /bin/sh -c 'kill -ABRT $$'
show "busy loop (TLE)" --cpu-time 0.5 -- /bin/sh -c 'while :; do :; done'
show "memory hog (MLE)" --memory 32M --tmpfs 512M -- /bin/sh -c 'head -c 100M /dev/zero > /tmp/big'
show "output flood (OLE)" --output 1M -- /bin/sh -c 'yes'
show "forbidden system call (SV)" -- /usr/bin/unshare -U true
show "the host is not there" --stdout /dev/stdout --stderr /dev/stdout -- /bin/sh -c 'ls /; cat /etc/shadow; ls /root'
