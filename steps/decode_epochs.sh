#!/usr/bin/env bash
# Dev WER of every epoch of a hybrid system: the model of each checkpoint.epochN.pt in
# <system-dir> (nghf-export-model: its network, the rest from final.mdl) decodes <data-dir>
# into <system-dir>/decode_<set>_epochN, and its WER at its best LM weight goes to
# <system-dir>/dev_wer.jsonl (nghf-score track), which the results plots draw against updates.
# The checkpoint whose parameters are final.mdl's is not decoded again: <system-dir>/decode_<set>
# (steps/decode.sh of final.mdl, run first) stands for it. Use dev data only, never eval.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                    # number of parallel decoding jobs
cmd=utils/run_local.sh  # job dispatcher (see cmd.sh)
device=cpu              # device for the network (cpu, cuda, cuda:1)
decode_config=conf/decode.yaml  # decoder options (nghf.decode.decoder.DecoderConfig)
decode_opts=            # extra options for steps/decode.sh, e.g. "--acwt 0.2 --beam 11 --max-lmwt 26"
force=${NGHF_FORCE:-false}  # true: decode again even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <graph-dir> <data-dir> <system-dir>
 e.g.: $0 --nj 2 --decode-opts \"--acwt 0.2\" exp/tri2/graph data/dev exp/tdnn_mmi_nghf"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
graph=$1
data=$2
sys=$3
check_dirs "$graph" "$data" "$sys"
check_files "$sys/final.mdl" "$decode_config"
set_name=$(basename "$data")

mapfile -t epochs < <(find "$sys" -maxdepth 1 -name 'checkpoint.epoch*.pt' -printf '%f\n' |
  sed -n 's/^checkpoint\.epoch\([0-9][0-9]*\)\.pt$/\1/p' | sort -n)
if (( ${#epochs[@]} == 0 )); then
  echo "$0: error: no checkpoint.epochN.pt in $sys (was it trained by nghf-train?)" >&2
  exit 1
fi
for n in "${epochs[@]}"; do
  # a command substitution, not `< <(...)`: a failing export then stops the script (set -e)
  exported=$(nghf-export-model "$sys/checkpoint.epoch$n.pt" "$sys/final.mdl" "$sys/epoch$n.mdl")
  read -r epoch update identical <<< "$exported"
  if [[ $identical == true ]]; then
    dir=$sys/decode_$set_name
    check_files "$dir/scoring/summary.json"
    echo "$0: epoch $epoch (update $update) is final.mdl: its dev WER is that of $dir"
  else
    dir=$sys/decode_${set_name}_epoch$n
    # shellcheck disable=SC2086  # decode_opts is a list of options
    "$NGHF_ROOT/steps/decode.sh" --nj "$nj" --cmd "$cmd" --device "$device" --force "$force" \
      --decode-config "$decode_config" $decode_opts "$graph" "$data" "$sys/epoch$n.mdl" "$dir"
  fi
  nghf-score track --dev-wer-log "$sys/dev_wer.jsonl" --epoch "$epoch" --update "$update" "$dir"
done
