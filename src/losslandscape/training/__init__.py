"""Training one network per (activation, seed): the loop, checkpoints, resuming."""
