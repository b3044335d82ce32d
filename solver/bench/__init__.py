"""``fuseplan bench``: many solver runs into one directory, resumable, local or on Ray.

* :mod:`.spec` — what to run (nets, buffers, schemes, methods) and each run's key;
* :mod:`.runner` — one run in a fresh ``fuseplan solve`` process, measured, as a row;
* :mod:`.store` — the directory (rows.jsonl, rows.csv, plans/), single writer;
* :mod:`.execute` — the pending runs on a local pool or Ray, rows as they end;
* :mod:`.report` — the Markdown/HTML report with tables and plots.

From Python: ``run_bench(expand_runs(...), "DIR")`` then ``write_report("DIR")``.
"""
