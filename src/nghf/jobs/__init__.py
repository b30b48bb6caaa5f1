"""Job dispatch (local processes or Slurm) for stage scripts, in the shape of Kaldi's run.pl."""
