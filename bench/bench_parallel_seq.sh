#!/usr/bin/env bash
# Sequence-training throughput on the CPU: one job with 2 threads, one with 1 thread, and two
# 1-thread jobs side by side (what stage 11 does with par_train_jobs=2), on the recipe's own
# MMI problem. Needs a finished ./run.sh up to stage 10 in RUN_DIR. Prints a table and writes
# bench/results/bench_parallel_seq.json.
#
#   bench/bench_parallel_seq.sh [--updates 60] [--run-dir .]
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
updates=60
run_dir=.
while [[ $# -gt 0 ]]; do
  case $1 in
    --updates) updates=$2; shift 2 ;;
    --run-dir) run_dir=$2; shift 2 ;;
    *) echo "usage: $0 [--updates N] [--run-dir DIR]" >&2; exit 1 ;;
  esac
done
cd "$run_dir"
. ./path.sh
for f in exp/tdnn_denlats/.done exp/tdnn_ce/final.mdl exp/tri2_ali/num_pdfs data/lang/phones/silence.csl; do
  [[ -e $f ]] || { echo "$0: $run_dir/$f missing: run ./run.sh --stop-stage 10 first" >&2; exit 1; }
done
mkdir -p "$bench_dir/results"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
silence="silence_phones=[$(tr ':' ',' < data/lang/phones/silence.csl)]"

train() {  # THREADS NAME: SGD MMI for $updates updates from the CE model
  OMP_NUM_THREADS=$1 nghf-train --denlat-dir exp/tdnn_denlats --init-model exp/tdnn_ce/final.mdl \
    --criterion-config "$NGHF_ROOT/conf/criterion_mmi.yaml" --optim-config "$NGHF_ROOT/conf/optim_sgd.yaml" \
    --config "$NGHF_ROOT/conf/train_seq.yaml" --device cpu --criterion-set "$silence" \
    --set "first_order.max_updates_per_epoch=$updates" \
    data/train exp/tri2_ali "$(cat exp/tri2_ali/num_pdfs)" "$work/$2" > "$work/$2.log" 2>&1
}

t0=$(date +%s.%N); train 2 two_threads; t1=$(date +%s.%N)
train 1 one_thread; t2=$(date +%s.%N)
train 1 side_a & train 1 side_b; wait; t3=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" "$t3" "$updates" "$bench_dir/results/bench_parallel_seq.json" <<'PY'
import json, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
updates, out = int(sys.argv[5]), sys.argv[6]
rows = {"one job, 2 threads": t1 - t0, "one job, 1 thread": t2 - t1, "two 1-thread jobs side by side": t3 - t2}
work = {"one job, 2 threads": 1, "one job, 1 thread": 1, "two 1-thread jobs side by side": 2}
print(f"{'setup':34s} {'wall s':>7s} {'updates/s':>10s}")
for name, sec in rows.items():
    print(f"{name:34s} {sec:7.1f} {work[name] * updates / sec:10.2f}")
speedup = 2 * rows["one job, 2 threads"] / rows["two 1-thread jobs side by side"]
print(f"throughput of two 1-thread jobs vs one 2-thread job: {speedup:.2f}x")
with open(out, "w") as f:
    json.dump({"updates_per_job": updates, "seconds": rows, "throughput_ratio": speedup}, f, indent=1)
PY
