"""``asyncfc._cli``: the command line's own checks (the proxy itself: ``tests/mcp``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from asyncfc import _cli


def test_mcp_proxy_without_the_sdk_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mcp" else real(name, *a)
    )
    assert _cli.main(["mcp-proxy", "--config", str(tmp_path / "mcp.json")]) == 2
    assert "pip install 'asyncfc[mcp]'" in capsys.readouterr().err


def test_mcp_proxy_rejects_a_missing_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("mcp")
    assert _cli.main(["mcp-proxy", "--config", str(tmp_path / "absent.json")]) == 2
    assert "bad config" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["mcp-proxy"],
        ["mcp-proxy", "--config", "x", "--mode", "fast"],
        ["mcp-proxy", "--config", "x", "--timeout", "0"],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _cli.main(argv)
    assert exc.value.code == 2


def test_replay_is_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    from asyncfc._cli import main

    with pytest.raises(SystemExit) as done:
        main(["replay", "--help"])
    assert done.value.code == 0
    assert "usage: asyncfc replay" in capsys.readouterr().out
