# shellcheck shell=bash
# shellcheck disable=SC2154  # cmd, dir, opts, data, ali, num_pdfs and the worker options come from the caller
# The nghf-train job shared by steps/train_ce.sh and steps/train_seq.sh (sourced, not run).
#
# nghf_train_job: checks --num-workers, then runs nghf-train "${opts[@]}" $data $ali $num_pdfs $dir
# as one job of $cmd (log/train.1.log), under nghf-dist-launch with $num_workers ranks and
# $dist_timeout when $num_workers > 1 (every rank also writes log/train.1.rank.R.log).

nghf_train_job() {
  local -a launcher=()
  [[ $num_workers =~ ^[1-9][0-9]*$ ]] || { echo "$0: error: --num-workers must be a positive number, got '$num_workers'" >&2; exit 1; }
  if (( num_workers > 1 )); then  # every rank also writes log/train.1.rank.R.log
    launcher=(nghf-dist-launch --num-workers "$num_workers" --timeout "$dist_timeout"
              --rank-log "$dir/log/train.JOB.rank.{rank}.log" --)
  fi
  $cmd JOB=1:1 "$dir/log/train.JOB.log" \
    "${launcher[@]}" nghf-train "${opts[@]}" "$data" "$ali" "$num_pdfs" "$dir"
}
