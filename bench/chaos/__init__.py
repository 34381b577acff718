"""Chaos runs: workers killed, the database restarted, marketplaces misbehaving, many workers at once, a soak.

    .venv/bin/python -m bench.chaos [--quick] [--scenario NAME] [--db sqlite|postgres|both] [--soak-minutes N]

Each scenario prints one line per database:
`CHAOS <scenario> <db> ops=<n> faults=<n> lost=<n> duplicated=<n> stuck=<n>` and the run fails (exit 1) when any
count but ops and faults is not zero. What the counts mean (see `check.check_run`):

- **lost**: an integration missing, an attempt row missing (`attempt_count` above the rows), a finished
  integration with no attempt, or a success whose marketplace listing (the sandbox's own view) does not hold
  the store's newest data — "the last change sent last".
- **duplicated**: a *recorded* attempt duplicated: two attempts of one integration whose run times overlap
  (two workers at once), or attempt rows the integration's `attempt_count` does not know of.
- **stuck**: pending with an expired lease, or pending and due long after the run drained.

The honest limit: a worker SIGKILLed after the marketplace answered but before its transaction committed
re-sends that change later (at-least-once delivery). That is harmless because every send carries the full
current state, and it is not counted: only recorded attempts can be duplicated.

Every server binds 127.0.0.1 on a free port and is stopped at the end; PostgreSQL runs use a schema of their
own. The `dbrestart` scenario stops and starts the real PostgreSQL cluster (and always starts it again), so it
lives here and never in the pytest suite.

The package: `__main__` (the command), `rig` (the store, the sandbox, the worker and web processes),
`check` (the consistency check), `scenarios` (kill, faults, concurrency, dbrestart) and `soak`.
"""
