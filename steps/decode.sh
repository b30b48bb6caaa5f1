#!/usr/bin/env bash
# Decode a data dir with an HCLG graph in parallel jobs and score it over a range of LM
# weights. Each job (nghf-decode) takes a contiguous share of the utterances, reads or
# computes their pdf log-likelihoods, decodes with Kaldi's lattice decoder and keeps the raw
# lattices (lat.JOB.npz) so that scoring can pick the best path at every LM weight without
# decoding again. <loglik-source> is a Kaldi matrix archive/script of log-likelihoods
# (ark:x, scp:x, *.ark, *.scp; e.g. from a GMM) or a hybrid model file (*.mdl; the
# log-likelihoods are computed on --device from <data-dir>/feats.scp, with CMVN as in training).
# Outputs in <decode-dir>: tra.JOB, lat.JOB.npz, lat.JOB.gz (the lattices as a Kaldi archive, for
# Kaldi's lattice tools), stats.JOB.json, log/decode.JOB.log, and
# from steps/score.sh scoring/LMWT.tra, wer_LMWT, best_wer.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                          # number of parallel jobs
cmd=utils/run_local.sh        # job dispatcher (see cmd.sh)
decode_config=conf/decode.yaml  # decoder options (nghf.decode.decoder.DecoderConfig); the next five override it
acwt=                         # acoustic scale during search (empty: from decode_config)
beam=                         # decoding beam (empty: from decode_config)
lattice_beam=                 # lattice pruning beam (empty: from decode_config)
max_active=                   # max active states, best-path decoding only (empty: from decode_config)
lattices=                     # true: keep raw lattices for the LM-weight sweep; false: best path only
tid2pdf=                      # transition-id to pdf-id map (default <graph-dir>/tid2pdf[.npy])
device=cpu                    # device for a model source (cpu, cuda, cuda:1)
batch_size=16                 # utterances per forward pass for a model source
min_lmwt=7                    # smallest LM weight scored
max_lmwt=17                   # largest LM weight scored
skip_scoring=false            # true: decode only
sclite=true                   # cross-check the best LM weight with sclite
force=${NGHF_FORCE:-false}                   # true: decode again even if marked done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <graph-dir> <data-dir> <loglik-source> <decode-dir>
 e.g.: $0 --nj 8 --cmd \"\$decode_cmd\" exp/tri2/graph data/dev exp/tdnn/final.mdl exp/tdnn/decode_dev"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 4 "$@"
graph=$1
data=$2
source=$3
dir=$4
check_dirs "$graph" "$data"
check_files "$graph/HCLG.fst" "$graph/words.txt" "$data/utt2spk" "$data/text" "$decode_config"
check_source "$source"

if [[ $force != true && -f $dir/.decode.done ]]; then
  echo "$0: $dir is decoded already (use --force true to redo)"
else
  rm -f "$dir/.decode.done"
  mkdir -p "$dir/log"
  opts=(--config "$decode_config" --device "$device" --batch-size "$batch_size")
  add_set_options opts --acwt "$acwt" --beam "$beam" --lattice-beam "$lattice_beam" \
    --max-active "$max_active" --lattices "$lattices" --tid2pdf "$tid2pdf"
  [[ $force == true ]] && opts+=(--force)
  $cmd JOB=1:"$nj" "$dir/log/decode.JOB.log" \
    nghf-decode "${opts[@]}" --nj "$nj" --job JOB "$graph" "$data" "$source" "$dir"
  touch "$dir/.decode.done"
fi

if [[ $skip_scoring != true ]]; then
  "$NGHF_ROOT/steps/score.sh" --cmd "$cmd" --min-lmwt "$min_lmwt" --max-lmwt "$max_lmwt" \
    --sclite "$sclite" "$data" "$graph" "$dir"
fi
