"""The load summary's arithmetic on hand-written log lines (no SIPp needed)."""

from __future__ import annotations

from tests.sipp.harness import parse_log, summarize


def test_summary_joins_callers_and_advisors_on_the_caller_number() -> None:
    """Answered, abandoned and PBX-ended calls are told apart from the two sides' log lines."""
    lines = [
        "caller invite 06-1 100.000000 0.000000",
        "advisor ring 06-1 101.000000 0.000000 answer",
        "advisor cancelled 06-1 102.000000 0.000000",
        "advisor ring 06-1 103.000000 0.000000 answer",
        "advisor answer 06-1 104.500000 0.000000",
        "caller invite 06-2 100.000000 0.000000",
        "caller bye_sent 06-2 130.000000 0.000000",
        "caller invite 06-3 100.000000 0.000000",
        "caller answered 06-3 100.000000 500000.000000",
        "caller bye_received 06-3 200.000000 0.000000",
        "garbage line",
    ]
    summary = summarize(parse_log(lines))
    assert (summary.offered, summary.answered, summary.abandoned) == (3, 1, 1)
    assert summary.ended_by_pbx_unanswered == 1
    assert summary.waits == [4.5]
    assert summary.rings == [1.5]
    assert summary.unanswered_rings == [1.0]
