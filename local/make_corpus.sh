#!/usr/bin/env bash
# Build the embedded broadcast-style corpus from offline speech synthesis (espeak-ng, flite,
# festival, piper), deterministically from a seed: <out>/wav/*.wav, Kaldi data dirs
# <out>/data/{train,dev,eval}, the LM text <out>/data/local/lm_text.txt and a summary
# <out>/data/local/corpus_info.json. Three steps: prepare (plan, one process), render
# ($nj parallel jobs; the output does not depend on $nj), merge. Resumable: finished steps,
# jobs and recordings are skipped when the script is run again with the same options.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
size=default     # tiny (a few minutes, for tests and run.sh --quick) or default (the sizes in the corpus config: 0.6 h train, 0.4 h dev and eval)
hours=           # training hours, overriding the size's (empty: the size's)
seed=            # corpus seed (empty: the config's)
nj=2             # parallel render jobs
cmd=run_local.sh # job dispatcher (see cmd.sh)
corpus_config=$NGHF_ROOT/conf/corpus.yaml  # corpus config (nghf.corpus.config.CorpusConfig)
force=false      # delete a previous build in <out-dir> and start again
# End configuration section.
usage="Usage: $0 [options] <out-dir>
 e.g.: $0 --size default --nj 4 --cmd \"\$train_cmd\" corpus
 writes <out-dir>/wav, <out-dir>/data/{train,dev,eval}, <out-dir>/data/local/{lm_text.txt,corpus_info.json}"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 1 "$@"
out=$1
# The speech synthesis engines and text sources only this corpus needs (silent when present).
"$NGHF_ROOT/tools/install.sh" --corpus
check_files "$corpus_config"
case $size in
  tiny|default) ;;
  *) usage_error "--size must be tiny or default, got '$size'" ;;
esac
[[ $nj =~ ^[1-9][0-9]*$ ]] || usage_error "--nj must be a positive integer, got '$nj'"
[[ -z $seed || $seed =~ ^[0-9]+$ ]] || usage_error "--seed must be a non-negative integer, got '$seed'"
[[ -z $hours || $hours =~ ^[0-9]*\.?[0-9]+$ ]] || usage_error "--hours must be a positive number, got '$hours'"

prep_opts=(--size "$size")
[[ -n $seed ]] && prep_opts+=(--seed "$seed")
[[ -n $hours ]] && prep_opts+=(--hours "$hours")

if $force && [[ -d $out ]]; then
  echo "$0: --force: removing the previous build in $out"
  rm -rf "$out/wav" "$out/meta" "$out/data" "$out/log" "$out/plan.json" "$out"/.*.done "$out/.params"
fi
mkdir -p "$out/log"
out=$(cd "$out" && pwd -P)

# The options that determine the corpus; a directory built with others is not resumed.
params="size=$size hours=$hours seed=$seed config=$(sha256sum < "$corpus_config" | cut -c1-16)"
if [[ -f $out/.params ]] && [[ $(cat "$out/.params") != "$params" ]]; then
  echo "$0: error: $out was built with other options ($(cat "$out/.params")); now: $params." >&2
  echo "$0: use another directory or --force true" >&2
  exit 1
fi
[[ -f $out/.params ]] || echo "$params" > "$out/.params"

if [[ -f $out/.done ]]; then
  echo "$0: $out is already complete (use --force true to rebuild)"
  exit 0
fi

if [[ ! -f $out/.prepare.done ]]; then
  nghf-make-corpus prepare --config "$corpus_config" "${prep_opts[@]}" \
    --log "$out/log/prepare.log" "$out"
  touch "$out/.prepare.done"
fi

$cmd JOB=1:"$nj" "$out/log/render.JOB.log" \
  nghf-make-corpus render --job JOB --nj "$nj" "$out"

nghf-make-corpus merge --log "$out/log/merge.log" "$out"
touch "$out/.done"
echo "$0: corpus ready in $out (summary: $out/data/local/corpus_info.json)"
