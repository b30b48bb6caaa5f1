#!/usr/bin/env bash
# Same numbers on every x86-64 machine with AVX2: pin the CPU-dispatched kernels.
# Sourced by path.sh. numpy, OpenBLAS, MKL, oneDNN and ATen each choose their kernels by CPU
# type at run time (AVX-512 here, AVX2 elsewhere), and the kernels round differently: on one
# machine a seeded run then gives other models and WERs than on another (issue 21;
# `python bench/bench_cpu_numerics.py` shows each library's effect and the cost). With these
# pins every such machine takes the AVX2 code paths, which any AVX2 machine takes anyway.
# Off: NGHF_PORTABLE_NUMERICS=false (native kernels). A variable the user has set is kept.
# Not covered: CPUs without AVX2/FMA, other architectures (ARM), other library versions
# (tools/requirements.txt pins them) and CUDA.
if [[ ${NGHF_PORTABLE_NUMERICS:-true} == true ]] && grep -qw avx2 /proc/cpuinfo 2>/dev/null \
    && grep -qw fma /proc/cpuinfo 2>/dev/null; then
  export ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-avx2}          # torch's vectorised kernels
  export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX2}            # torch's convolutions (oneDNN)
  export MKL_CBWR=${MKL_CBWR:-AVX2}                                # torch's BLAS (MKL): reproducible branch
  export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}          # numpy's BLAS (OpenBLAS)
  export NPY_DISABLE_CPU_FEATURES=${NPY_DISABLE_CPU_FEATURES:-"X86_V4 AVX512_ICL AVX512_SPR"}  # numpy's exp/log/...
fi
