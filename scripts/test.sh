#!/usr/bin/env bash
# Installs what the project needs, builds, and runs every test (as root: the engine's
# tests run real containers on this kernel), then a short run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j2 "$@"
# 5 s per libFuzzer target on the checked-in corpus, its regress-* inputs included
# (fuzz/README.md); the clang build is cached by ccache.
bash scripts/fuzz.sh --smoke
