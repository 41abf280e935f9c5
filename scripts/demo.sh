#!/usr/bin/env bash
# Installs what the project needs, builds, and shows the container engine at work on a
# few programs (one per status), then judges sample submissions with `judge run`.
# (The broker/worker demo arrives with the service.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target judge-sandbox judge >/dev/null
sandbox=build/sandbox/judge-sandbox
judge=build/client/judge

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

judge_run() {
  printf '\n== judge run %s\n' "$*"
  "$judge" run "$@" || true
}
judge_run --source examples/sum/submissions/ac.cpp --tests examples/sum/tests
judge_run --source examples/sum/submissions/natural_order.py --tests examples/sum/tests
judge_run --source examples/sum/submissions/tle.c --tests examples/sum/tests --time-limit 0.5
judge_run --source examples/sum/submissions/ce.cpp --tests examples/sum/tests
judge_run --source examples/float/submissions/ac.cpp --tests examples/float/tests --checker float:1e-6
judge_run --source examples/testlib_checker/submissions/pe.cpp --tests examples/testlib_checker/tests \
          --checker examples/testlib_checker/checker.cpp
judge_run --source examples/guess/submissions/ac.cpp --tests examples/guess/tests \
          --interactor examples/guess/interactor.cpp
judge_run --source examples/kattis_custom/submissions/wrong_answer/dup.py --problem examples/kattis_custom
