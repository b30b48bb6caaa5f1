# shellcheck shell=bash
# shellcheck disable=SC2154  # the configuration variables below are set by the sourcing recipe
# The stages every recipe shares after data preparation (sourced by ./run.sh and
# egs/*/s5/run.sh, not run). Each recipe writes its own data stage, which must leave Kaldi data
# dirs $data/{train,dev,eval} (fixed and validated: see finish_data_dirs) and the LM training
# text $data/local/lm/text.txt; the functions here do the rest with the generic steps/ scripts.
#
# The sourcing recipe sets (as options or in its size block):
#   data exp featdir results results_md    data dirs, experiments, features, results.jsonl, RESULTS.md
#   nj models criteria optimisers num_workers device
#   vocab_words lm_prune                   lexicon size (LM-text words) and trigram pruning
#   mono_gauss mono_iters tri1_leaves tri1_gauss tri2_leaves tri2_gauss tri_iters
#   ce_overrides seq_overrides decode_opts
#   train_cmd decode_cmd cuda_cmd          from cmd.sh (and par_train_cmd par_train_jobs, optional)
# and optionally (defaults in brackets):
#   lexicon       [empty] the recipe's own lexicon.txt (word phones...): used instead of
#                 CMUdict + G2P (steps/make_lexicon.sh --lexicon)
#   den_lm_prune  [empty] relative-entropy pruning of the denominator graph's bigram (empty: none)
#   denlat_opts   ["--lattice-beam 6 --max-arcs-per-frame 50"] for steps/make_denlats.sh
#   nn_decode_opts [$decode_opts] steps/decode.sh options for the hybrid systems (decode_opts is
#                 then for the GMM only): hybrid scores are flatter than a GMM's, so they need a
#                 larger search acoustic scale and lower LM weights
#   expected_systems [empty] YAML of the systems the results table must list (nghf-results)
#   nn_align      [false] true: numerators from the CE network's forced alignment
#                 (steps/align_nn.sh, in the denlats stage) instead of the tri2 GMM's
#   conf_overrides [empty] a directory whose configs take precedence over conf/ (e.g. small models)
#   epoch_dev_wer [seq] dev WER of every epoch's model (steps/decode_epochs.sh, drawn in the
#                 dev-WER plot): seq (sequence-trained systems), all (also CE), none
#
# Configs are read from the recipe's conf/ directory (after $conf_overrides, if set); a file the
# recipe does not have falls back to the top-level conf/ of the same name (recipe_conf), so a
# new recipe writes only the configs it changes.

# recipe_conf NAME: conf/NAME of the recipe when it exists, else the top-level one.
recipe_conf() {
  if [[ -n ${conf_overrides:-} && -f $conf_overrides/$1 ]]; then
    echo "$conf_overrides/$1"
  elif [[ -f conf/$1 ]]; then
    echo "conf/$1"
  elif [[ -f $NGHF_ROOT/conf/$1 ]]; then
    echo "$NGHF_ROOT/conf/$1"
  else
    echo "$0: error: no config conf/$1 (neither in $PWD nor in $NGHF_ROOT)" >&2
    return 1
  fi
}

# Number of jobs for a data dir: at most one per speaker.
nj_for() {
  local speakers
  speakers=$(wc -l < "$1/spk2utt")
  echo $(( speakers < nj ? speakers : nj ))
}

# finish_data_dirs SET...: fix (sort, drop inconsistent entries) and validate each data dir.
finish_data_dirs() {
  local x
  for x in "$@"; do
    steps/fix_data_dir.sh "$data/$x"
    steps/validate_data_dir.sh --no-feats true "$data/$x"
  done
}

stage_features() {
  local x n fbank_conf mfcc_conf
  fbank_conf=$(recipe_conf fbank.yaml)
  mfcc_conf=$(recipe_conf mfcc.yaml)
  for x in train dev eval; do
    n=$(nj_for "$data/$x")
    steps/make_fbank.sh --nj "$n" --cmd "$train_cmd" --fbank-config "$fbank_conf" \
      "$data/$x" "$exp/make_fbank/$x" "$featdir/fbank"
    steps/compute_cmvn_stats.sh "$data/$x" "$exp/make_fbank/$x" "$featdir/fbank"
    steps/make_mfcc.sh --nj "$n" --cmd "$train_cmd" --mfcc-config "$mfcc_conf" "$data/$x" "$featdir/mfcc/$x"
  done
}

stage_lang() {
  local lm_conf
  lm_conf=$(recipe_conf lm.yaml)
  steps/make_lexicon.sh --max-extra-words "$vocab_words" --extra-text "$data/local/lm/text.txt" \
    --lexicon "${lexicon:-}" "$data/local/dict" "$data/train"
  steps/prepare_lang.sh --lang-config "$(recipe_conf lang.yaml)" \
    "$data/local/dict" "<unk>" "$data/local/lang_tmp" "$data/lang"
  steps/validate_lang.sh "$data/lang"
  # Trigram for decoding; bigram (weak LM) for the denominator graphs of sequence training.
  steps/train_lm.sh --lm-config "$lm_conf" --order 3 --prune-threshold "$lm_prune" --dev-text "$data/dev/text" \
    "$data/local/lm/text.txt" "$data/lang" "$data/local/lm/tg"
  steps/format_lm.sh "$data/lang" "$data/local/lm/tg/lm.arpa.gz" "$data/lang_test_tg"
  steps/train_lm.sh --lm-config "$lm_conf" --order 2 --prune-threshold "${den_lm_prune:-}" --dev-text "$data/dev/text" \
    "$data/local/lm/text.txt" "$data/lang" "$data/local/lm/bg"
  steps/format_lm.sh "$data/lang" "$data/local/lm/bg/lm.arpa.gz" "$data/lang_bg"
}

stage_mono() {
  local gmm_conf
  gmm_conf=$(recipe_conf gmm.yaml)
  steps/train_mono.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" --gmm-config "$gmm_conf" \
    --num-iters "$mono_iters" --tot-gauss "$mono_gauss" "$data/train" "$data/lang" "$exp/mono"
  steps/align.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" --gmm-config "$gmm_conf" \
    "$data/train" "$data/lang" "$exp/mono" "$exp/mono_ali"
}

# train_tri_pass LEAVES GAUSS ALI-DIR DIR: one triphone pass (tree + EM), then alignment.
train_tri_pass() {
  local gmm_conf
  gmm_conf=$(recipe_conf gmm.yaml)
  steps/train_tri.sh --cmd "$train_cmd" --gmm-config "$gmm_conf" --num-iters "$tri_iters" \
    --max-iter-inc $((tri_iters * 2 / 3)) --realign-iters "$((tri_iters / 3)) $((tri_iters * 2 / 3))" \
    "$1" "$2" "$data/train" "$data/lang" "$3" "$4"
  steps/align.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" --gmm-config "$gmm_conf" \
    "$data/train" "$data/lang" "$4" "$4_ali"
}

stage_tri1() {
  train_tri_pass "$tri1_leaves" "$tri1_gauss" "$exp/mono_ali" "$exp/tri1"
}

stage_tri2() {
  train_tri_pass "$tri2_leaves" "$tri2_gauss" "$exp/tri1_ali" "$exp/tri2"
  steps/ali_to_pdf.sh "$exp/tri2_ali"
}

# The decoding graph, and beside it the denominator graph of the denlats stage: each build is
# single-threaded, so side by side the two take the time of one.
stage_gmm_decode() {
  local x bg
  steps/mkgraph.sh "$data/lang_bg" "$exp/tri2" "$exp/tri2/graph_bg" &
  bg=$!
  steps/mkgraph.sh "$data/lang_test_tg" "$exp/tri2" "$exp/tri2/graph"
  wait "$bg"
  for x in dev eval; do
    steps/decode_gmm.sh --nj "$(nj_for "$data/$x")" --cmd "$decode_cmd" --gmm-config "$(recipe_conf gmm.yaml)" \
      --decode-opts "--decode-config $(recipe_conf decode.yaml) $decode_opts" \
      "$exp/tri2/graph" "$data/$x" "$exp/tri2" "$exp/tri2/decode_$x"
  done
  nghf-score record --results "$results" --system tri2 --model gmm --criterion ml --optimiser em \
    --updates "$tri_iters" --parameters "$(nghf-gmm info --field parameters "$exp/tri2/final.mdl")" \
    "$exp/tri2/decode_dev" "$exp/tri2/decode_eval"
}

# ce_train_conf MODEL: the CE training config of MODEL. Recurrent models want other rates and
# schedules than the TDNN, so the first config directory (as in recipe_conf) holding any of
# train_ce_MODEL.yaml, train_ce_recurrent.yaml (lstm, rnn) or train_ce.yaml gives the most
# specific of them: a recipe with its own train_ce.yaml keeps it for every model.
ce_train_conf() {
  local dir name
  local -a names=("train_ce_$1.yaml")
  [[ $1 == lstm || $1 == rnn ]] && names+=(train_ce_recurrent.yaml)
  names+=(train_ce.yaml)
  for dir in ${conf_overrides:-} conf "$NGHF_ROOT/conf"; do
    for name in "${names[@]}"; do
      if [[ -f $dir/$name ]]; then
        echo "$dir/$name"
        return 0
      fi
    done
  done
  echo "$0: error: no CE training config for $1 (${names[*]}) in conf/ or $NGHF_ROOT/conf" >&2
  return 1
}

# Options lines (utils/stages.sh: stage_options_NAME, run_part) of the stages 8-12 and 20:
# what shapes each part's output, configs and input models by content hash. A part whose line
# changes is redone, and the changed model changes the lines of the parts that use it.
ce_options() {  # ce_options MODEL
  echo "${1}_ce: $(options_of "$(ce_train_conf "$1")" "$(recipe_conf "model_$1.yaml")" "$exp/tri2/final.mdl")" \
    "overrides='$ce_overrides'"
}
nn_decode_options() {  # nn_decode_options SYSTEM-DIR
  echo "$(basename "$1"): $(options_of "$1/final.mdl" "$(recipe_conf decode.yaml)")" \
    "decode_opts='${nn_decode_opts:-$decode_opts}' epoch_dev_wer=${epoch_dev_wer:-seq}"
}
denlat_options() {  # denlat_options MODEL
  echo "${1}_denlats: $(options_of "$exp/${1}_ce/final.mdl")" \
    "denlat_opts='${denlat_opts:-"--lattice-beam 6 --max-arcs-per-frame 50"}' nn_align=${nn_align:-false}"
}
seq_options() {  # seq_options MODEL CRITERION OPTIMISER
  echo "${1}_${2}_${3}: $(options_of "$(recipe_conf "criterion_$2.yaml")" "$(recipe_conf "optim_$3.yaml")" \
    "$(recipe_conf train_seq.yaml)" "$exp/${1}_ce/final.mdl" "$exp/${1}_denlats/stats.json" \
    "$data/lang/phones/silence.csl") overrides='$seq_overrides' nn_align=${nn_align:-false}"
}
seq_systems() {  # "MODEL CRITERION OPTIMISER" per line
  local m crit opt
  for m in $models; do
    for crit in $criteria; do
      for opt in $optimisers; do echo "$m $crit $opt"; done
    done
  done
}
stage_options_ce_train() { local m; for m in $models; do ce_options "$m"; done; }
stage_options_ce_decode() { local m; for m in $models; do nn_decode_options "$exp/${m}_ce"; done; }
stage_options_denlats() { local m; for m in $models; do denlat_options "$m"; done; }
# (Loops over the systems read them into an array first: a loop reading a pipe would hand
# its stdin to every command in the loop body.)
stage_options_seq_train() {
  local sys
  local -a systems
  mapfile -t systems < <(seq_systems)
  for sys in "${systems[@]}"; do
    # shellcheck disable=SC2086  # "model criterion optimiser"
    seq_options $sys
  done
}
stage_options_seq_decode() {
  local sys
  local -a systems
  mapfile -t systems < <(seq_systems)
  for sys in "${systems[@]}"; do nn_decode_options "$exp/${sys// /_}"; done
}
stage_options_results() { options_of "$results" ${expected_systems:+"$expected_systems"}; }

train_ce_model() {
  steps/train_ce.sh --cmd "$cuda_cmd" --device "$device" --num-workers "$num_workers" --overrides "$ce_overrides" \
    --train-config "$(ce_train_conf "$1")" --model-config "$(recipe_conf "model_$1.yaml")" \
    "$data/train" "$exp/tri2_ali" "$exp/tri2_ali/num_pdfs" "$exp/${1}_ce"
}

stage_ce_train() {
  local m
  for m in $models; do
    run_part 8 ce_train "${m}_ce" "$(ce_options "$m")" train_ce_model "$m"
  done
}

# Decode dev and eval with a hybrid system's final.mdl and record both (LM weight tuned on dev).
decode_and_record() {
  local sys=$1 x decode_conf
  decode_conf=$(recipe_conf decode.yaml)
  for x in dev eval; do
    # shellcheck disable=SC2086  # the options are a list
    steps/decode.sh --nj "$(nj_for "$data/$x")" --cmd "$decode_cmd" --device "$device" \
      --decode-config "$decode_conf" ${nn_decode_opts:-$decode_opts} "$exp/tri2/graph" "$data/$x" "$sys/final.mdl" "$sys/decode_$x"
  done
  nghf-score record --results "$results" --meta "$sys/meta.json" "$sys/decode_dev" "$sys/decode_eval"
}

# decode_epochs_if KIND SYSTEM-DIR: the per-epoch dev WERs of a ce or seq system, if
# $epoch_dev_wer asks for that kind (after decode_and_record: the final model's decode is reused).
decode_epochs_if() {
  case ${epoch_dev_wer:-seq} in
    all) ;;
    seq) [[ $1 == seq ]] || return 0 ;;
    none) return 0 ;;
    *) echo "$0: error: epoch_dev_wer must be seq, all or none, not '$epoch_dev_wer'" >&2; return 1 ;;
  esac
  steps/decode_epochs.sh --nj "$(nj_for "$data/dev")" --cmd "$decode_cmd" --device "$device" \
    --decode-config "$(recipe_conf decode.yaml)" --decode-opts "${nn_decode_opts:-$decode_opts}" \
    "$exp/tri2/graph" "$data/dev" "$2"
}

decode_ce_model() {
  decode_and_record "$exp/${1}_ce"
  decode_epochs_if ce "$exp/${1}_ce"
}

stage_ce_decode() {
  local m
  for m in $models; do
    run_part 9 ce_decode "${m}_ce" "$(nn_decode_options "$exp/${m}_ce")" decode_ce_model "$m"
  done
}

# The numerator alignments of model m's sequence training: the tri2 GMM's, or (nn_align=true)
# the CE network's own forced alignment (Kaldi's usual re-alignment before sequence training).
num_ali_dir() {
  if [[ ${nn_align:-false} == true ]]; then echo "$exp/$1_ali"; else echo "$exp/tri2_ali"; fi
}

denlats_model() {
  local m=$1 opts=${denlat_opts:-"--lattice-beam 6 --max-arcs-per-frame 50"}
  if [[ ${nn_align:-false} == true ]]; then
    steps/align_nn.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" --device "$device" \
      "$data/train" "$data/lang" "$exp/tri2" "$exp/${m}_ce/final.mdl" "$(num_ali_dir "$m")"
    steps/ali_to_pdf.sh "$(num_ali_dir "$m")"
  fi
  # shellcheck disable=SC2086  # opts is a list of options
  steps/make_denlats.sh --nj "$(nj_for "$data/train")" --cmd "$decode_cmd" --device "$device" \
    $opts --ali-dir "$(num_ali_dir "$m")" \
    "$exp/tri2/graph_bg" "$data/train" "$exp/${m}_ce/final.mdl" "$exp/${m}_denlats"
}

stage_denlats() {
  local m
  steps/mkgraph.sh "$data/lang_bg" "$exp/tri2" "$exp/tri2/graph_bg"  # a no-op after stage gmm_decode
  for m in $models; do
    run_part 10 denlats "${m}_denlats" "$(denlat_options "$m")" denlats_model "$m"
  done
}

# train_seq_system CMD MODEL CRITERION OPTIMISER: one sequence-training system.
train_seq_system() {
  local cmd=$1 m=$2 crit=$3 opt=$4 silence
  # MPFE/bMMI count silence frames by phone class: the lang dir's silence phones.
  silence="silence_phones=[$(tr ':' ',' < "$data/lang/phones/silence.csl")]"
  steps/train_seq.sh --cmd "$cmd" --device "$device" --num-workers "$num_workers" \
    --criterion-config "$(recipe_conf "criterion_$crit.yaml")" --criterion-overrides "$silence" \
    --optim-config "$(recipe_conf "optim_$opt.yaml")" --train-config "$(recipe_conf train_seq.yaml)" \
    --overrides "$seq_overrides" --den-graph "$exp/tri2/graph_bg" \
    "$data/train" "$(num_ali_dir "$m")" "$exp/${m}_denlats" "$exp/${m}_ce" "$exp/${m}_${crit}_${opt}"
}

# The systems are independent: par_train_jobs of them (cmd.sh) train side by side, the
# second-order ones (the longest) first. Each is a part of the stage (run_part): after a
# finished run, an added optimiser or criterion trains only the new systems, and a system
# whose configs or inputs changed is retrained; the others are kept. Locally that shares the CPU cores; a local GPU, or
# several distributed workers per system, take one system at a time. On Slurm every job has
# its own allocation, so the device does not limit them.
stage_seq_train() {
  local m crit opt sys jobs=${par_train_jobs:-1} cmd=${par_train_cmd:-$cuda_cmd} running=0 failed=0
  local -a first=() later=() systems
  if [[ ${NGHF_BACKEND:-local} == local && ( $device != cpu || $num_workers -gt 1 ) ]]; then
    jobs=1
    cmd=$cuda_cmd
  fi
  mapfile -t systems < <(seq_systems)
  for sys in "${systems[@]}"; do
    case ${sys##* } in
      hf | ng | nghf) first+=("$sys") ;;
      *) later+=("$sys") ;;
    esac
  done
  for sys in "${first[@]}" "${later[@]}"; do
    read -r m crit opt <<< "$sys"
    if (( running >= jobs )); then
      wait -n || failed=1
      running=$((running - 1))
    fi
    run_part 11 seq_train "${m}_${crit}_${opt}" "$(seq_options "$m" "$crit" "$opt")" \
      train_seq_system "$cmd" "$m" "$crit" "$opt" &
    running=$((running + 1))
  done
  while (( running > 0 )); do
    wait -n || failed=1
    running=$((running - 1))
  done
  if (( failed )); then
    echo "$0: sequence training failed for at least one system (see $exp/*_*_*/log/train.log)" >&2
    return 1
  fi
}

decode_seq_system() {
  decode_and_record "$1"
  decode_epochs_if seq "$1"
}

stage_seq_decode() {
  local sys name
  local -a systems
  mapfile -t systems < <(seq_systems)
  for sys in "${systems[@]}"; do
    name=${sys// /_}
    run_part 12 seq_decode "$name" "$(nn_decode_options "$exp/$name")" decode_seq_system "$exp/$name"
  done
}

stage_results() {
  local -a expected=()
  [[ -n ${expected_systems:-} ]] && expected=(--expected-systems "$expected_systems")
  nghf-results --results "$results" --out "$results_md" --plots-dir "$exp/plots" --train-data "$data/train" "${expected[@]}"
  cat "$results_md"
}

# run_common_stages: stages 2-20 in order (the recipe runs its own 0-1 first).
run_common_stages() {
  run_stage 2 features stage_features
  run_stage 3 lang stage_lang
  run_stage 4 mono stage_mono
  run_stage 5 tri1 stage_tri1
  run_stage 6 tri2 stage_tri2
  run_stage 7 gmm_decode stage_gmm_decode
  run_stage 8 ce_train stage_ce_train
  run_stage 9 ce_decode stage_ce_decode
  run_stage 10 denlats stage_denlats
  run_stage 11 seq_train stage_seq_train
  run_stage 12 seq_decode stage_seq_decode
  run_stage 20 results stage_results
}
