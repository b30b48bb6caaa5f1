#!/usr/bin/env bash
# Run [JOB=1:N] <log> <command...> as a Slurm array (Kaldi's slurm.pl). See nghf-queue --help.
exec nghf-queue --backend slurm "$@"
