#!/usr/bin/env bash
# Run [JOB=1:N] <log> <command...> as local processes (Kaldi's run.pl). See nghf-queue --help.
exec nghf-queue --backend local "$@"
