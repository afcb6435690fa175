"""Benchmarks: policy replay over a modelled pipeline, discovery cost, handler start-up."""
