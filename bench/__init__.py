"""The benchmark: data generator (`bench.fill`) and measurement scripts."""
