"""Leakage-safe replay evaluation of historical logs through the online models.

``kt.replay.protocol.run`` (folds by learner or temporal hold-out, one prediction per
question; ``kt.replay.pykt``: the pyKT-style protocol, expanded skill rows and late fusion),
``kt.replay.report.write_report`` (metrics.json, report.md, predictions; figures in
``kt.replay.plots``),
``kt.replay.data`` (``read_public_log``, ``clean_log``: exact duplicates only),
``kt.replay.pybkt_peer`` (pyBKT subprocess),
``kt.replay.distributed`` (Dask). Nothing heavy is imported here.
"""
