"""Datasets: `base` (splits, splitting, entries), the sources `packaged`, `hub` and `local`,
and `registry` on top of them (one-way: registry -> sources -> base)."""
