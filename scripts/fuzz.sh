#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (in build-fuzz) and runs each on a
# copy of its checked-in corpus (fuzz/README.md).
#
#   bash scripts/fuzz.sh                 # every target, 10 s each
#   bash scripts/fuzz.sh --smoke         # every target, 5 s each (scripts/test.sh)
#   bash scripts/fuzz.sh --seconds 600   # a longer run
#   bash scripts/fuzz.sh --seconds 60 msgpack_fuzz frame_fuzz
#
# Prints the executions and executions per second of each target. Exits non-zero if any
# target crashed (or broke one of its checks), after saying where the input is kept and
# how to run it again. The repository is never written: new inputs go to a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
targets=()
while (($#)); do
  case "$1" in
    --smoke) seconds=5 ;;
    --seconds)
      seconds="${2:?--seconds takes a number}"
      shift
      ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "fuzz.sh: unknown option $1 (see --help)" >&2
      exit 2
      ;;
    *) targets+=("$1") ;;
  esac
  shift
done
if ((${#targets[@]} == 0)); then
  targets=(frame_fuzz msgpack_fuzz protobuf_fuzz profile_fuzz tests_dir_fuzz tar_fuzz serve_fuzz)
fi
for t in "${targets[@]}"; do
  if [[ $t != *_fuzz || ! -d fuzz/corpus/${t%_fuzz} ]]; then
    echo "fuzz.sh: no target $t (targets are NAME_fuzz with a fuzz/corpus/NAME)" >&2
    exit 2
  fi
done

bash scripts/setup.sh
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DJUDGE_FUZZ=ON -DJUDGE_BUILD_TESTS=OFF -DJUDGE_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "${targets[@]}"

work=$(mktemp -d /tmp/judge-fuzz-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The targets' own temp dirs (tests_dir_fuzz) go here too, so that a crash, which
# skips their clean-up, leaves nothing behind either.
mkdir "$work/tmp"
crashes="$PWD/build-fuzz/crashes"
failed=0

for t in "${targets[@]}"; do
  name=${t%_fuzz}
  mkdir -p "$work/corpus/$name" "$work/artifacts/$name"
  cp -r "fuzz/corpus/$name/." "$work/corpus/$name/"
  args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$work/artifacts/$name/")
  [[ -f fuzz/$name.dict ]] && args+=(-dict="fuzz/$name.dict")
  log="$work/$name.log"
  rc=0
  TMPDIR="$work/tmp" UBSAN_OPTIONS=print_stacktrace=1 \
    "build-fuzz/fuzz/$t" "${args[@]}" "$work/corpus/$name" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if ((rc == 0)); then
    printf '%-16s %10s executions  %8s exec/s  (%s s)\n' "$t" "${runs:-?}" "${rate:-?}" "$seconds"
    continue
  fi
  failed=1
  mkdir -p "$crashes/$name"
  kept=()
  for a in "$work/artifacts/$name"/*; do
    [[ -e $a ]] || continue
    cp "$a" "$crashes/$name/"
    kept+=("$crashes/$name/$(basename "$a")")
  done
  echo "$t FAILED (exit $rc); the end of its output:"
  grep -v -E '^#[0-9]+|^INFO:|^\s*$' "$log" | tail -n 40 | sed 's/^/  | /'
  if ((${#kept[@]})); then
    for k in "${kept[@]}"; do
      echo "  input kept at $k"
      echo "  reproduce:    build-fuzz/fuzz/$t $k"
    done
  else
    echo "  (no input saved: see the output above)"
  fi
done
exit "$failed"
