"""The benchmarks: each service's hot path against a minimal baseline app, in the same run."""
