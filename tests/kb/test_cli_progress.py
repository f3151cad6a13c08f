"""Index progress off a terminal: one line on stderr for each stage that takes time, none for a
quick update (a small ``synapse index`` or a current index prints nothing)."""

from __future__ import annotations

import time

from synapse_ai.kb import cli


def test_a_stage_that_takes_time_gets_one_line_a_quick_one_none(capsys):
    report = cli._progress()
    report("reading entries", 0, 128)
    time.sleep(cli.STAGE_LINE_AFTER + 0.8)
    report("reading entries", 128, 128)  # progress within the stage: no second line
    report("embedding", 0, 6)
    time.sleep(0.02)
    report.stop()
    time.sleep(cli.STAGE_LINE_AFTER + 0.2)  # a timer still pending must not print after stop
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["synapse: building the index: reading entries (128)"]


def test_a_stage_of_one_step_is_named_without_a_count(capsys):
    report = cli._progress()
    report("checking the shipped vectors", 0, 1)
    time.sleep(cli.STAGE_LINE_AFTER + 0.8)
    report("checking the shipped vectors", 1, 1)
    report.stop()
    assert capsys.readouterr().err.splitlines() == ["synapse: building the index: checking the shipped vectors"]
