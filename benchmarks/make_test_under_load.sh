#!/usr/bin/env bash
# Proof that a busy machine cannot turn the suite red: run `make test` RUNS times in a row (default 2)
# while two CPU-bound processes run beside it the whole time, and print each run's verdict and time.
#     bash benchmarks/make_test_under_load.sh [RUNS]      (from the repository root; logs in _build/)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2}
mkdir -p _build
python3 -c "while True: pass" & busy1=$!
python3 -c "while True: pass" & busy2=$!
trap 'kill $busy1 $busy2 2>/dev/null' EXIT
status=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  make test > "_build/make-test-under-load-$i.log" 2>&1
  rc=$?
  echo "run $i of $runs beside 2 busy processes: exit status $rc, $(( $(date +%s) - start )) s;" \
       "$(grep -E '^=+ .*(passed|failed).* =+$' "_build/make-test-under-load-$i.log" | tail -1)"
  [ "$rc" -eq 0 ] || status=1
done
kill $busy1 $busy2 2>/dev/null
exit $status
