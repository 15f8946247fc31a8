"""The ``asyncfc-bench`` command: the demo replay, ``bench bfcl``'s summaries, and the
real-model path against the loopback server (the official SDK over real HTTP, scripted
answers)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from asyncfc_bench import load_multi_turn, parse_call
from asyncfc_bench.cli import main
from loopback import Loopback, scripted_turns

TASK = "multi_turn_base_100"  # two user turns, one call each


def test_demo_replays_every_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--time-scale", "0.002", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for mode in ("sequential", "parallel", "async", "async_parallel", "async_nolabels"):
        assert mode in out
    assert (tmp_path / "demo_timeline.png").stat().st_size > 0
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert [r["mode"] for r in saved["summary"]] == [
        "sequential",
        "parallel",
        "async",
        "async_parallel",
        "async_nolabels",
    ]


def test_bench_bfcl_writes_its_summaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "bfcl", "--limit", "1", "--time-scale", "0.001", "--out", str(tmp_path)]
    assert main(args) == 0
    assert gc.get_freeze_count() == 0  # the heap frozen between tasks is handed back
    out = capsys.readouterr().out
    assert "stretched M" in out
    assert "Model intervals more than 20 % longer than scripted" in out
    saved = json.loads((tmp_path / "bfcl_multi_turn_base" / "summary.json").read_text())
    assert saved["tasks"] == 1
    rows = {r["mode"]: r for r in saved["summary"]}
    assert list(rows) == ["sequential", "parallel", "async", "async_parallel", "async_nolabels"]
    for row in rows.values():
        assert row["model_intervals"] == row["model_requests_mean"] > 0
        assert 0 <= row["stretched_model_intervals"] <= row["model_intervals"]
        assert row["input_tokens_mean"] > 0
        assert row["output_tokens_mean"] > 0
    summary_md = (tmp_path / "bfcl_multi_turn_base" / "summary.md").read_text()
    assert "| input tokens | output tokens |" in summary_md


def test_fake_clock_runs_are_exact_and_repeatable(tmp_path: Path) -> None:
    """Under MockClock every model interval lasts exactly its scripted time, and two runs of
    the same settings give the same figures."""
    rows = []
    for name in ("one", "two"):
        args = ["bench", "bfcl", "--limit", "2", "--clock", "fake", "--time-scale", "1"]
        args += ["--batching-rate", "0.5", "--out", str(tmp_path / name)]
        assert main(args) == 0
        saved = json.loads((tmp_path / name / "bfcl_multi_turn_base" / "summary.json").read_text())
        assert saved["settings"]["clock"] == "fake"
        rows.append(saved["summary"])
    assert rows[0] == rows[1]
    for row in rows[0]:
        assert row["stretched_model_intervals"] == 0
        assert row["model_stretch_max"] == pytest.approx(1.0)


def test_demo_with_a_served_model(server: Loopback, tmp_path: Path) -> None:
    entry = load_multi_turn("multi_turn_base", ids=[TASK])[0]
    turns = [[parse_call(text) for text in turn] for turn in entry.ground_truth]
    server.add(*scripted_turns(turns, finals_per_turn=1))  # sequential
    server.add(*scripted_turns(turns, finals_per_turn=2))  # async: early answer + delivery
    code = main(
        [
            "demo",
            "--task",
            TASK,
            "--model",
            "openai:served",
            "--base-url",
            f"{server.url}/v1",
            "--modes",
            "sequential,async",
            "--latency",
            "0",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    lines = (tmp_path / "demo_live" / "tasks.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 1
    assert records[0]["errors"] == {}
    assert {m: r["accurate"] for m, r in records[0]["modes"].items()} == {
        "sequential": True,
        "async": True,
    }
    assert {r.body["model"] for r in server.requests} == {"served"}
    summary = json.loads((tmp_path / "demo_live" / "summary.json").read_text())
    assert [r["mode"] for r in summary] == ["sequential", "async"]
    assert [p.name for p in (tmp_path / "demo_live").glob("*.png")] == ["timeline_task.png"]


def test_a_provider_error_is_recorded_and_the_task_left_out(
    server: Loopback, tmp_path: Path
) -> None:
    # every request answers 599: the run of that mode ends with a typed error, not a crash
    code = main(
        [
            "bench",
            "bfcl",
            "--limit",
            "1",
            "--model",
            "openai:served",
            "--base-url",
            f"{server.url}/v1",
            "--modes",
            "sequential",
            "--latency",
            "0",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 1  # no task completed
    record = json.loads((tmp_path / "bfcl_multi_turn_base_live" / "tasks.jsonl").read_text())
    assert record["errors"]["sequential"].startswith("Model")


def test_bad_model_spec_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="openai:<name>"):
        main(["demo", "--model", "gpt-4o", "--out", str(tmp_path)])


def test_demo_writes_a_perfetto_trace_when_asked(tmp_path: Path) -> None:
    from test_chrome import check_trace_events

    args = ["demo", "--time-scale", "0.002", "--out", str(tmp_path), "--perfetto"]
    assert main(args) == 0
    doc = json.loads((tmp_path / "demo_timeline.trace.json").read_text())
    check_trace_events(doc)
    names = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"}
    assert names == {"sequential", "parallel", "async", "async_parallel", "async_nolabels"}
