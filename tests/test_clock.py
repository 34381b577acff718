"""The process clock tests and benchmarks move forward instead of sleeping."""

from __future__ import annotations

from datetime import timedelta

from ponte import clock


def test_it_moves_every_reader_forward_and_comes_back():
    from ponte.engine import queue  # reads the clock through its own import of `now`

    before = clock.now()
    with clock.travelling():
        clock.advance(3600)
        assert clock.now() - before >= timedelta(seconds=3600)
        assert queue.clock_now() - before >= timedelta(seconds=3600)
    assert clock.now() - before < timedelta(seconds=60)
