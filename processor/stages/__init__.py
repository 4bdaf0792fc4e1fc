"""Pure, synchronous streaming stages: no I/O, no wall clock, chunking-invariant."""
