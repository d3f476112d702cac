"""Benchmarks: generated fleets, cost and plan timings (run as scripts; print ratios)."""
