# shellcheck shell=bash
# shellcheck disable=SC2034  # the options are read by the sourcing recipe and steps/lib/recipe_stages.sh
# The options every egs/*/s5/run.sh has, with their shared defaults (a small recipe on one
# machine without a GPU). A recipe sources this file first, then its own configuration section
# holds only what it adds or changes, and sets option_files so that utils/parse_options.sh lists
# these options in its --help too:
#
#   . "$(dirname "$0")/steps/lib/recipe_defaults.sh"
#   # Begin configuration section.
#   device=cuda           # (a changed default; a comment here replaces the one below)
#   # End configuration section.
#   option_files=("$(dirname "$0")/steps/lib/recipe_defaults.sh")
#   . "$(dirname "$0")/utils/parse_options.sh"
#
# Begin configuration section.
stage=1               # first stage to run
stop_stage=100        # last stage to run
force=false           # redo stages that already have a .done marker
lexicon=""            # own lexicon.txt (word phones...) instead of CMUdict + espeak-ng G2P
lm_text=""            # LM training text, one sentence per line, normalised like the transcripts; empty: the training transcripts
backend=${NGHF_BACKEND:-local}  # job dispatch of cmd.sh: local or slurm
device=cpu            # device for neural-network training, lattices and decoding (cpu, cuda)
nj=4                  # parallel jobs for features, GMM training, alignment, lattices, decoding
num_workers=1         # torch.distributed ranks for CE and sequence training
models="tdnn"         # hybrid models (conf/model_*.yaml)
criteria="mmi"        # sequence criteria (conf/criterion_*.yaml)
optimisers="adam nghf"  # sequence-training optimisers (conf/optim_*.yaml)
vocab_words=20000     # most frequent LM-text words added to the training words (CMUdict + G2P only)
lm_prune=1e-7         # relative-entropy pruning of the decoding trigram (graph size)
mono_gauss=1000       # monophone Gaussians
mono_iters=30         # monophone EM iterations
tri1_leaves=1000      # first triphone pass: tree leaves
tri1_gauss=6000       # first triphone pass: Gaussians
tri2_leaves=1500      # second triphone pass: tree leaves (the hybrid models' outputs)
tri2_gauss=10000      # second triphone pass: Gaussians
tri_iters=25          # triphone EM iterations
ce_overrides=""       # overrides of conf/train_ce.yaml, e.g. "epochs=2"
seq_overrides=""      # overrides of conf/train_seq.yaml, e.g. "epochs=1"
decode_opts="--beam 11 --lattice-beam 6 --min-lmwt 2 --max-lmwt 21"  # more options of steps/decode.sh
denlat_opts="--lattice-beam 6 --max-arcs-per-frame 50"  # options of steps/make_denlats.sh
epoch_dev_wer=seq     # dev WER of every epoch's model (plot): seq (sequence-trained systems), all (also CE), none
exp=exp               # models, logs, decodes and results.jsonl
data=data             # Kaldi data directories
featdir=features      # feature archives
results_md=RESULTS.md # the generated results table (plots go to <exp>/plots)
expected_systems=""   # YAML of the systems RESULTS.md must list (see egs/mgb/s5/conf/paper_systems.yaml)
conf_overrides=""     # directory of configs taking precedence over conf/ (e.g. smaller models)
# End configuration section.
