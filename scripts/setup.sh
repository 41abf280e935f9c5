#!/usr/bin/env bash
# Installs every Debian package the project needs, and any named on the command line
# (scripts/bench.sh adds the runtimes it compares with). Idempotent and fast when all
# packages are present: apt runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  python3  # the python3 language profile and the examples
  libseccomp-dev
  libzmq3-dev cppzmq-dev
  libmsgpack-dev
  libprotobuf-dev protobuf-compiler
  libsqlite3-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  python3-zmq python3-msgpack
  # scripts/fuzz.sh: clang 14, its libFuzzer and sanitizer runtimes, llvm-symbolizer for
  # readable stacks in crash reports.
  clang libclang-rt-14-dev llvm
  # The cgroup v2 VM test: a Debian cloud kernel is fetched with apt-get download.
  qemu-system-x86 busybox-static cpio
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
