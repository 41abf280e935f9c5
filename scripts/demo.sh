#!/usr/bin/env bash
# The main job, end to end: installs what the project needs, builds, starts a broker and
# a worker on loopback, submits the example submissions (several languages, several
# verdicts) with `judge submit`, prints their verdict tables, and stops everything it
# started (also on Ctrl-C or an error).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B "${JUDGE_BUILD_DIR:-build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "${JUDGE_BUILD_DIR:-build}" --target judge-broker judge-worker judge >/dev/null
bin=${JUDGE_BUILD_DIR:-build}

work=$(mktemp -d /tmp/judge-demo-XXXXXX)
broker_pid=
worker_pid=
stop() {
  # SIGTERM: the worker drains (finishes its jobs), the broker commits and exits.
  [ -n "$worker_pid" ] && kill -TERM "$worker_pid" 2>/dev/null && wait "$worker_pid" || true
  [ -n "$broker_pid" ] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" || true
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Free ports on loopback, chosen by the kernel when the broker binds.
"$bin/broker/judge-broker" --clients 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' \
  --db "$work/judge.db" 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 100); do
  grep -q 'listening:' "$work/broker.log" && break
  kill -0 "$broker_pid" 2>/dev/null || { cat "$work/broker.log"; exit 1; }
  sleep 0.1
done
clients=$(sed -n 's/.*listening: clients \([^ ]*\) workers .*/\1/p' "$work/broker.log")
workers=$(sed -n 's/.*listening: clients [^ ]* workers \(.*\)/\1/p' "$work/broker.log")
[ -n "$clients" ] || { cat "$work/broker.log"; exit 1; }
export JUDGE_BROKER=$clients

"$bin/worker/judge-worker" --broker "$workers" --compile-cache "$work/compile-cache" \
  2>"$work/worker.log" &
worker_pid=$!
printf '== broker: clients %s, workers %s; worker: %s slot(s)\n' "$clients" "$workers" "$(nproc)"

submit() {
  printf '\n== judge submit %s\n' "$*"
  "$bin/client/judge" submit "$@" || true
}
submit --source examples/sum/submissions/ac.cpp --tests examples/sum/tests
submit --source examples/sum/submissions/ac.py --tests examples/sum/tests
submit --source examples/sum/submissions/natural_order.py --tests examples/sum/tests
submit --source examples/sum/submissions/wa.cpp --tests examples/sum/tests
submit --source examples/sum/submissions/tle.c --tests examples/sum/tests --time-limit 0.5
submit --source examples/sum/submissions/mle.cpp --tests examples/sum/tests
submit --source examples/sum/submissions/ce.cpp --tests examples/sum/tests
submit --source examples/sum/submissions/sv.c --tests examples/sum/tests
submit --source examples/float/submissions/ac.cpp --tests examples/float/tests --checker float:1e-6
submit --source examples/testlib_checker/submissions/pe.cpp --tests examples/testlib_checker/tests \
       --checker examples/testlib_checker/checker.cpp
submit --source examples/guess/submissions/ac.cpp --tests examples/guess/tests \
       --interactor examples/guess/interactor.cpp
printf '\n== judge stats\n'
"$bin/client/judge" stats
