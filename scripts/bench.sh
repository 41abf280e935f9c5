#!/usr/bin/env bash
# The start-up benchmark of the README: this engine (in-process, as judge-worker runs it,
# and as the `judge-sandbox run` command) against bwrap, crun, runc and a plain
# fork + exec + wait, sequential and with one stream per CPU. Installs the runtimes and
# gnuplot (Debian packages), builds, and writes bench/results/startup.{json,png}.
# Run it on an otherwise idle machine. Extra arguments go to `judge-sandbox bench`
# (e.g. --runs 500, or -- /usr/bin/python3 -c pass for another program).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh bubblewrap crun runc gnuplot-nox
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
mkdir -p bench/results
build/sandbox/judge-sandbox bench --runs "${RUNS:-1000}" \
  --json bench/results/startup.json --plot bench/results/startup.png "$@"
