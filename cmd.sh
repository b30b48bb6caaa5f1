#!/usr/bin/env bash
# How stage scripts dispatch their jobs. Choose with NGHF_BACKEND=local|slurm (default local).
#   train_cmd   CPU jobs (features, GMM training, alignment, lattice generation)
#   decode_cmd  decoding jobs
#   cuda_cmd    GPU jobs (NN training); on Slurm it asks for one GPU per job
#   par_train_cmd, par_train_jobs   NN training jobs that may run side by side (the sequence-
#               training systems): locally par_train_jobs of them at once sharing the cores
#               (their lattice recursions are single-threaded, so one core each keeps both busy)
# Site options (account, QOS, ...) go in NGHF_SLURM_OPTS, e.g. "--account=speech --qos=normal".
case ${NGHF_BACKEND:-local} in
  local)
    export train_cmd="utils/run_local.sh"
    export decode_cmd="utils/run_local.sh"
    # one training job at a time with NGHF_TRAIN_THREADS torch intra-op threads. The default is
    # a fixed 2, not the machine's core count: the intra-op reductions split their work by
    # thread count, so the count is part of the result (bench/bench_cpu_numerics.py), and the
    # archived runs (docs/results) used 2. NGHF_TRAIN_THREADS=$(nproc) is faster on a bigger
    # machine and gives other (equally valid) CE models.
    cores=${NGHF_TRAIN_THREADS:-2}
    export cuda_cmd="utils/run_local.sh --max-jobs-run 1 --num-threads $cores"
    export par_train_jobs=${NGHF_PAR_TRAIN_JOBS:-$cores}
    export par_train_cmd="utils/run_local.sh --num-threads $(( cores / par_train_jobs > 1 ? cores / par_train_jobs : 1 ))"
    unset cores
    ;;
  slurm)
    export train_cmd="utils/run_slurm.sh --mem 4G"
    export decode_cmd="utils/run_slurm.sh --mem 4G"
    export cuda_cmd="utils/run_slurm.sh --mem 16G --gpu 1"
    export par_train_jobs=${NGHF_PAR_TRAIN_JOBS:-64}
    export par_train_cmd=$cuda_cmd
    ;;
  *)
    echo "cmd.sh: unknown NGHF_BACKEND='${NGHF_BACKEND}'; use local or slurm" >&2
    # shellcheck disable=SC2317  # exit is reached when cmd.sh is executed rather than sourced
    return 1 2>/dev/null || exit 1
    ;;
esac
