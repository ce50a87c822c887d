"""Benchmarks of volt-agent against the sandbox simulators (``make bench``, ``make bench-org``)."""
