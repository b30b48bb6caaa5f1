#!/usr/bin/env bash
# Denominator lattices for sequence training (Kaldi's make_denlats.sh): each job computes
# the cross-entropy model's log-likelihoods for its share of the data dir, decodes them with a
# weak-LM HCLG (raw lattices from Kaldi's lattice decoder), converts the lattices to the
# frame-synchronous form (graph costs kept; acoustic scores are recomputed in training),
# prunes them by posterior / arcs per frame (the best path always stays) and stores them.
# Utterances without a lattice (no final state reached, length mismatch) are listed by id
# in failed.JOB; the stage fails if their share exceeds --max-fail-share.
# Outputs in <denlat-dir>: lat.JOB.npz (nghf.lattice.store), lat.JOB.gz (the same lattices as a
# Kaldi archive, with the model's acoustic costs), stats.JOB.json, failed.JOB,
# stats.json (totals: arcs/frame, frames/s, failures, numerator coverage, oracle WER), log/, .done.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                      # number of parallel jobs
cmd=utils/run_local.sh    # job dispatcher (see cmd.sh)
denlat_config=conf/denlats.yaml  # search and pruning options (nghf.decode.denlats.DenlatConfig; default
                          # conf/denlats.yaml of the recipe, else of $NGHF_ROOT); the next six override it
beam=                     # decoding beam (empty: from denlat_config)
lattice_beam=             # the decoder's lattice pruning beam (empty: from denlat_config)
acwt=                     # acoustic scale in search and in the pruning posteriors (empty: from denlat_config)
min_posterior=            # drop arcs whose posterior is lower, 0: keep all (empty: from denlat_config)
max_arcs_per_frame=       # keep at most this many arcs per frame by posterior, 0: no cap (empty: from denlat_config)
max_fail_share=           # fail if a larger share of utterances gets no lattice (empty: from denlat_config)
trans_model=              # GMM final.mdl with the transition model (default: <graph-dir>/../final.mdl)
tid2phone=                # instead of --trans-model: 'tid phone' lines
ali_dir=                  # alignment dir (ali.*.gz or pdf.*.gz): report numerator coverage
device=cpu                # device of the model's forward passes
batch_size=16             # utterances per forward pass
force=${NGHF_FORCE:-false}               # true: regenerate even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <graph-dir> <data-dir> <model> <denlat-dir>
 e.g.: $0 --nj 8 --cmd \"\$decode_cmd\" --ali-dir exp/tri2_ali exp/tri2/graph_ug data/train exp/tdnn/final.mdl exp/tdnn_denlats
 <graph-dir> is a weak-LM graph (steps/mkgraph.sh --lm G_weak.fst); <model> the cross-entropy
 final.mdl (or a Kaldi log-likelihood archive/script)."
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 4 "$@"
check_numbers beam lattice_beam acwt min_posterior max_fail_share
check_integers max_arcs_per_frame
graph=$1
data=$2
model=$3
dir=$4
check_dirs "$graph" "$data"
check_files "$graph/HCLG.fst" "$graph/words.txt" "$graph/tid2pdf" "$data/utt2spk" "$data/feats.scp"
check_source "$model"
if [[ $denlat_config == conf/denlats.yaml && ! -f $denlat_config ]]; then
  denlat_config=$NGHF_ROOT/conf/denlats.yaml  # a recipe without its own
fi
check_files "$denlat_config"
opts=(--config "$denlat_config" --device "$device" --batch-size "$batch_size")
stats_opts=(--config "$denlat_config")
add_set_options opts --beam "$beam" --lattice-beam "$lattice_beam" --acwt "$acwt" \
  --min-posterior "$min_posterior" --max-arcs-per-frame "$max_arcs_per_frame"
if [[ -n $max_fail_share ]]; then
  opts+=(--max-fail-share "$max_fail_share")
  stats_opts+=(--max-fail-share "$max_fail_share")
fi
if [[ -n $tid2phone ]]; then
  check_files "$tid2phone"
  opts+=(--tid2phone "$tid2phone")
else
  trans_model=${trans_model:-$(dirname "$graph")/final.mdl}
  check_files "$trans_model"
  opts+=(--trans-model "$trans_model")
fi
if [[ -n $ali_dir ]]; then
  check_dirs "$ali_dir"
  opts+=(--ali-dir "$ali_dir")
fi

if [[ $force != true && -f $dir/.done && $(cat "$dir/num_jobs" 2>/dev/null) == "$nj" ]]; then
  echo "$0: $dir has lattices already (use --force true to redo)"
  exit 0
fi
rm -f "$dir/.done"
if [[ $force == true ]]; then
  rm -f "$dir"/lat.*.npz "$dir"/lat.*.gz "$dir"/lat.*.npz.done "$dir"/stats.*.json "$dir"/failed.*
  opts+=(--force)
fi
mkdir -p "$dir/log"
echo "$nj" > "$dir/num_jobs"
$cmd JOB=1:"$nj" "$dir/log/denlats.JOB.log" \
  nghf-make-denlats "${opts[@]}" --nj "$nj" --job JOB "$graph" "$data" "$model" "$dir"
nghf-lattice-stats "${stats_opts[@]}" "$dir" > "$dir/log/stats.log" 2>&1 \
  || { tail -n 20 "$dir/log/stats.log" >&2; exit 1; }
touch "$dir/.done"
echo "$0: lattices in $dir:"
grep -E '"(utterances|lattices|failed|arcs_per_frame|arcs_per_frame_before_pruning|frames_per_second_per_job|num_pdf_frame_coverage|num_path_in_lattice_share|oracle_wer)"' "$dir/log/stats.log" | tr -d ' ,'
