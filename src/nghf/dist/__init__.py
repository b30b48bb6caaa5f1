"""torch.distributed set-up, sharding and reductions.

* ``reduce``: the ``Reducer`` interface (``sum_``) that optimisers and curvature products use.
* ``setup``: ``DistEnv`` (torchrun's variables) and the ``distributed`` context (process
  group with a bounded timeout, device per local rank, per-rank log).
* ``shard``: ``partition_by_frames`` and ``ShardedUpdates`` (each rank's rows of every update).
* ``checksum``: exact parameter hashes checked across ranks; broadcast and buffer averaging.
* ``failure``: ``rank_guard`` (record, log and exit at once) and the launcher's failure report.
* ``launch``: torchrun / srun command lines and ``launch`` (``nghf-dist-launch``).
"""
