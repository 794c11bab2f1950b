"""The leaderboard: every combination of components scored on every benchmark it fits.

- :mod:`.benchmarks`: real and synthetic benchmark sets, pinned by a content hash.
- :mod:`.combinations`: each stage's options, from the registry and the config groups, and what fits where.
- :mod:`.runner`: the planned rows, scored in passes that share stage outputs (:mod:`.shared`).
- :mod:`.store`: the row cache (one file per row, keyed by everything that decides its numbers).
- :mod:`.provenance`: providers, versions, weights hashes, backend, threads, machine and load.
- :mod:`.report`, :mod:`.page`, :mod:`.plots`: results.jsonl.gz, Markdown pages, the HTML table, Pareto plots.
- :mod:`.multirun`: Hydra multirun (joblib, submitit/SLURM), each job scoring its shard into the same cache.
- :mod:`.board`: one run from a composed config.
"""
