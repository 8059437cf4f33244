"""Pure statistical kernels: one concept per module; numpy and scipy only."""
