"""Equal-budget tuning (`--study tuned`): trials drawn from each method's declared search
space, selection on validation, the winners retrained at fresh seeds."""
