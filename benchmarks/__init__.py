"""Measured speed of servicesync: ``make bench`` or ``python -m benchmarks``.

Each module here is one benchmark with a ``run(reporter, full=..., repeat=...)``
function that returns the sections to print; :mod:`benchmarks.__main__`
chooses which to run, prints their tables and writes their figures to
``benchmarks/results/``. What each one measures, and the figures of the
reference machine, are in ``docs/benchmarks.md``.
"""
