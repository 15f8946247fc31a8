"""The README's two framework examples, run as they are: the files under ``examples/`` that
README.md includes verbatim, each run as ``__main__`` with the real OpenAI SDK talking to
the loopback server (``OPENAI_BASE_URL``), through the framework's own loop."""

from __future__ import annotations

import gc
import json
import runpy
from pathlib import Path

import pytest
from loopback import Loopback, json_reply, responses_body, responses_call_item, responses_text_item

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["pydantic_ai_agent.py", "openai_agents_agent.py"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_readme_shows_the_example_verbatim(name: str) -> None:
    code = (ROOT / "examples" / name).read_text()
    assert len(code.splitlines()) < 25
    assert f"```python\n{code}```" in (ROOT / "README.md").read_text()


def _call(call_id: str, name: str, args: dict[str, object]) -> dict[str, object]:
    return responses_call_item(call_id, name, json.dumps(args))


# A script leaves its SDK client (and run_sync's event loop) to the end of the process; here
# that end is the collection below, so its ResourceWarnings belong to this test.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_runs_with_futures(
    name: str,
    server: Loopback,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("pydantic_ai" if name.startswith("pydantic") else "agents")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    answer = "Both files have many words."
    server.add(
        json_reply(
            responses_body(
                [
                    _call("c1", "read_file", {"path": "README.md"}),
                    _call("c2", "read_file", {"path": "docs/protocol.md"}),
                ]
            )
        ),
        json_reply(
            responses_body(
                [
                    _call("c3", "word_count", {"text": "future_1"}),
                    _call("c4", "word_count", {"text": "future_2"}),
                ]
            )
        ),
        json_reply(
            responses_body([_call("c5", "await_future", {"future_ids": ["future_3", "future_4"]})])
        ),
        json_reply(responses_body([responses_text_item(answer)])),
        json_reply(responses_body([responses_text_item(answer)])),  # if a drain asks again
    )
    runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
    gc.collect()

    assert capsys.readouterr().out.strip() == answer
    first = server.requests[0].body
    assert "await_future" in json.dumps(first["tools"])
    assert "await_future" in first["instructions"]  # the protocol addendum
    awaited = json.dumps(server.requests[3].body["input"])
    readme = len((ROOT / "README.md").read_text().split())
    protocol = len((ROOT / "docs" / "protocol.md").read_text().split())
    assert f"future_3 = {readme}" in awaited
    assert f"future_4 = {protocol}" in awaited
