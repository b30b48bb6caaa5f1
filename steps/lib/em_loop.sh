# shellcheck shell=bash
# shellcheck disable=SC2154  # data, lang, dir, nj, cmd, opts and the EM options come from the caller
# The GMM-HMM EM loop shared by steps/train_mono.sh and steps/train_tri.sh (sourced, not run).
#
# gmm_em_loop <first-mode>: starting from $dir/0.mdl, runs $num_iters EM iterations of
# $nj parallel accumulation jobs (dispatched by $cmd) and one update each, adding Gaussians up to
# $tot_gauss until iteration $max_iter_inc; re-aligns on the iterations in $realign_iters and
# otherwise reads the alignments in $dir. <first-mode> "equal" makes iteration 0 use equal
# alignment (flat start); "auto" treats it like any other. Then links final.mdl, writes the
# final alignments ali.JOB.gz, num_jobs and the .done marker. Uses the caller's $data, $lang,
# $dir, $nj, $cmd and the nghf-gmm options in the array opts.

gmm_em_loop() {
  local first_mode=$1
  local num_gauss inc x j
  local -a mode accs
  num_gauss=$(python -c "from nghf.gmm.model import load_model; print(load_model('$dir/0.mdl').num_gauss)")
  inc=$(( (tot_gauss - num_gauss) / max_iter_inc ))
  (( inc < 0 )) && inc=0
  x=0
  while (( x < num_iters )); do
    if [[ $first_mode == equal ]] && (( x == 0 )); then
      mode=(--mode equal --ali-out "$dir/ali.JOB.gz")
    elif [[ " $realign_iters " == *" $x "* ]]; then
      mode=(--mode align --ali-out "$dir/ali.JOB.gz")
    else
      mode=(--mode read --ali-dir "$dir")
    fi
    $cmd JOB=1:"$nj" "$dir/log/acc.$x.JOB.log" \
      nghf-gmm acc "${opts[@]}" --nj "$nj" --job JOB "${mode[@]}" \
        "$data" "$lang" "$dir/$x.mdl" "$dir/$x.JOB.acc"
    (( x < max_iter_inc )) && num_gauss=$(( num_gauss + inc ))
    accs=()
    for j in $(seq "$nj"); do accs+=("$dir/$x.$j.acc"); done
    nghf-gmm --log "$dir/log/update.$x.log" est "${opts[@]}" --target-gauss "$num_gauss" \
      --iter "$x" --record "$dir/like.jsonl" "$dir/$x.mdl" "$dir/$((x + 1)).mdl" "${accs[@]}"
    rm -f "${accs[@]}"
    [[ $x -gt 0 ]] && rm -f "$dir/$x.mdl"
    x=$((x + 1))
  done
  ln -sf "$x.mdl" "$dir/final.mdl"
  $cmd JOB=1:"$nj" "$dir/log/align.final.JOB.log" \
    nghf-gmm align "${opts[@]}" --nj "$nj" --job JOB "$data" "$lang" "$dir/final.mdl" "$dir/ali.JOB.gz"
  echo "$nj" > "$dir/num_jobs"
  touch "$dir/.done"
}
