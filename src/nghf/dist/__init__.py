"""torch.distributed set-up, sharding and reductions."""
