"""Knowledge tracing: per-skill mastery from observation streams.

This package imports nothing else of Pathwise's. Heavy modules (Numba kernels)
are imported lazily by the functions that need them, never at import time.
"""
