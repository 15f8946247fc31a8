"""The MCP proxy, side by side with direct calls: speed-up, client requests, per-call overhead.

One run, three measurements, all through the official MCP SDK client:

1. **Session.**  A scripted client session: ``--responses`` model responses, each with several
   independent read-only calls (real git operations on a generated repository, plus
   remote-like lookups with injected latency from a slow server this script also serves).
   The client calls tools one at a time, as most clients do.  It runs directly against the
   upstream servers, through ``asyncfc mcp-proxy --mode concurrent`` and through
   ``--mode async`` (where the client, at the end of each response, asks ``await_future``
   for that response's futures).  Every result is checked identical to the direct one.
2. **Overhead.**  One fast call (``echo``) repeated: the median through the proxy minus the
   median direct, over stdio (client→proxy→server over stdio, against client→server over
   stdio) and over streamable HTTP (client→proxy over HTTP, against client→server over HTTP).

Run:  .venv/bin/python bench/scripts/bench_mcp.py            (about 5 min on 2 busy cores)
      .venv/bin/python bench/scripts/bench_mcp.py --quick    (a smoke run)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp
import mcp_types

from asyncfc import AWAIT_TOOL_NAME

HERE = Path(__file__).resolve()
MIXES = ((3, 2), (1, 4))
"""Calls per response: (git reads, remote-like lookups)."""
SRC = HERE.parents[2] / "src"  # bench/scripts/ -> the repository's src/

# -- the slow (remote-like) upstream server ------------------------------------------------


def serve_slow(delay: float, http: bool) -> None:
    """An MCP server with a read-only ``lookup`` (sleeps ``delay``) and ``echo`` (no delay)."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("slow")
    read = mcp_types.ToolAnnotations(read_only_hint=True, destructive_hint=False)

    @server.tool(annotations=read, structured_output=False)
    async def lookup(key: str) -> str:
        """Look a key up in a remote service."""
        await anyio.sleep(delay)
        return f"{key}: value of {key}"

    @server.tool(annotations=read, structured_output=False)
    def echo(text: str) -> str:
        """Return the text."""
        return text

    if not http:
        anyio.run(server.run_stdio_async)
        return
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = server.streamable_http_app(host="127.0.0.1")
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    original = uv.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets=sockets)
        print(f"serving http://127.0.0.1:{sock.getsockname()[1]}/mcp", file=sys.stderr, flush=True)

    uv.startup = startup  # type: ignore[method-assign]
    anyio.run(uv.serve, [sock])


# -- fixtures --------------------------------------------------------------------------------


def make_repo(path: Path, files: int, commits: int) -> None:
    """A repository whose log, show and diff take real time."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)

    path.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    git("config", "user.email", "bench@example.invalid")
    git("config", "user.name", "Bench")
    for c in range(commits):
        for f in range(c % 7, files, 7 + c % 5):
            sub = path / f"dir{f % 20}"
            sub.mkdir(exist_ok=True)
            (sub / f"file{f}.txt").write_text(
                "".join(f"line {i} of file {f} at commit {c}\n" for i in range(40))
            )
        git("add", "-A")
        git("commit", "-q", "-m", f"commit {c}: touch files from {c % 7}")
    (path / "dir0" / "file0.txt").write_text("uncommitted change\n")


def servers(repo: Path, delay: float) -> dict[str, dict[str, Any]]:
    return {
        "git": {
            "command": sys.executable,
            "args": ["-m", "mcp_server_git", "--repository", str(repo)],
            "trusted": True,
        },
        "slow": {
            "command": sys.executable,
            "args": [str(HERE), "--serve-slow", str(delay)],
            "trusted": True,
        },
    }


def session_script(
    repo: Path, responses: int, git_calls: int, lookups: int
) -> list[list[tuple[str, dict[str, Any]]]]:
    """Each response: ``git_calls`` git reads and ``lookups`` remote-like reads, independent."""
    r = str(repo)
    out: list[list[tuple[str, dict[str, Any]]]] = []
    for i in range(responses):
        git: list[tuple[str, dict[str, Any]]] = [
            ("git_log", {"repo_path": r, "max_count": 8}),
            ("git_show", {"repo_path": r, "revision": f"HEAD~{i + 1}"}),
            ("git_diff", {"repo_path": r, "target": f"HEAD~{i + 2}"}),
            ("git_status", {"repo_path": r}),
        ]
        out.append(
            [git[k % len(git)] for k in range(git_calls)]
            + [("lookup", {"key": f"key-{i}-{k}"}) for k in range(lookups)]
        )
    return out


def text_of(result: mcp_types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, mcp_types.TextContent))


# -- connections -----------------------------------------------------------------------------


def stdio(command: list[str], env: dict[str, str] | None = None) -> mcp.Client:
    return mcp.Client(mcp.StdioServerParameters(command=command[0], args=command[1:], env=env))


@asynccontextmanager
async def http_process(command: list[str]) -> AsyncIterator[str]:
    """Start a process that prints ``serving <url>`` on stderr; yield the URL; stop it."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = await anyio.open_process(command, env=env)
    try:
        assert process.stderr is not None
        seen = ""
        with anyio.fail_after(60):
            while "serving http" not in seen:
                seen += (await process.stderr.receive()).decode()
        found = re.search(r"serving (http://\S+)", seen)
        assert found, seen
        yield found.group(1)
    finally:
        process.terminate()
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
        await process.aclose()


def proxy_command(config: Path, mode: str, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "asyncfc", "mcp-proxy", "--config", str(config)]
    return [*cmd, "--mode", mode, *extra]


# -- the session -----------------------------------------------------------------------------

Script = list[list[tuple[str, dict[str, Any]]]]


async def run_direct(
    clients: dict[str, mcp.Client], route: dict[str, str], script: Script
) -> tuple[float, int, list[str]]:
    texts: list[str] = []
    requests = 0
    start = time.perf_counter()
    for response in script:
        for name, args in response:
            texts.append(text_of(await clients[route[name]].call_tool(name, args)))
            requests += 1
    return time.perf_counter() - start, requests, texts


async def run_concurrent(client: mcp.Client, script: Script) -> tuple[float, int, list[str]]:
    return await run_direct({"p": client}, _AnyRoute("p"), script)


class _AnyRoute(dict[str, str]):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def __getitem__(self, key: str) -> str:
        return self.target


_SETTLED = re.compile(r"^(future_\d+) = ", re.M)


async def run_async(client: mcp.Client, script: Script) -> tuple[float, int, list[str]]:
    """One call at a time; at the end of each response, await that response's futures."""
    texts: list[str] = []
    requests = 0
    start = time.perf_counter()
    for response in script:
        ids = []
        for name, args in response:
            answer = text_of(await client.call_tool(name, args))
            ids.append(answer.split(" ", 1)[0])
            requests += 1
        awaited = text_of(await client.call_tool(AWAIT_TOOL_NAME, {"future_ids": ids}))
        requests += 1
        texts.extend(_split_settled(awaited, ids))
    return time.perf_counter() - start, requests, texts


def _split_settled(text: str, ids: list[str]) -> list[str]:
    """The values of ``future_a = ...\\nfuture_b = ...`` in order (values may span lines)."""
    marks = [m for m in _SETTLED.finditer(text) if m.group(1) in ids]
    found: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() - 1 if i + 1 < len(marks) else len(text)
        found.setdefault(m.group(1), text[m.end() : end])
    return [found.get(fid, f"<missing {fid}>") for fid in ids]


# -- overhead ----------------------------------------------------------------------------------


async def per_call(client: mcp.Client, n: int) -> list[float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        await client.call_tool("echo", {"text": f"ping {i}"})
        times.append(time.perf_counter() - t)
    return times


# -- main ------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_repo(root / "repo", args.files, args.commits)
        print(
            f"repository: {args.files} files, {args.commits} commits "
            f"(built in {time.perf_counter() - t0:.1f} s); "
            f"lookup latency {args.delay * 1000:.0f} ms"
        )
        repo = root / "repo"
        upstream = servers(repo, args.delay)
        config = root / "mcp.json"
        config.write_text(json.dumps({"mcpServers": upstream}))
        route = {"lookup": "slow", "echo": "slow"}
        route.update({n: "git" for n in ("git_log", "git_show", "git_diff", "git_status")})
        env = {"PYTHONPATH": str(SRC)}

        for git_calls, lookups in MIXES:
            script = session_script(repo, args.responses, git_calls, lookups)
            rows: list[tuple[str, float, int, bool]] = []
            direct_times: list[float] = []
            mode_times: dict[str, list[float]] = {"concurrent": [], "async": []}
            requests: dict[str, int] = {}
            identical = {"concurrent": True, "async": True}
            async with (
                stdio([upstream["git"]["command"], *upstream["git"]["args"]]) as git,
                stdio([upstream["slow"]["command"], *upstream["slow"]["args"]]) as slow,
                stdio(proxy_command(config, "concurrent"), env) as conc,
                stdio(proxy_command(config, "async"), env) as asy,
            ):
                direct_clients = {"git": git, "slow": slow}
                await run_direct(direct_clients, route, script[:1])  # warm-up
                for _ in range(args.repeats):
                    d_time, d_req, d_texts = await run_direct(direct_clients, route, script)
                    direct_times.append(d_time)
                    requests["direct"] = d_req
                    c_time, c_req, c_texts = await run_concurrent(conc, script)
                    mode_times["concurrent"].append(c_time)
                    requests["concurrent"] = c_req
                    identical["concurrent"] &= c_texts == d_texts
                    a_time, a_req, a_texts = await run_async(asy, script)
                    mode_times["async"].append(a_time)
                    requests["async"] = a_req
                    identical["async"] &= a_texts == d_texts
                    for mode, texts in (("concurrent", c_texts), ("async", a_texts)):
                        for i, (got, want) in enumerate(zip(texts, d_texts, strict=True)):
                            if got != want:
                                print(f"{mode}: call {i} differs:\n{got[:300]!r}\n{want[:300]!r}")
                                break
            d = statistics.median(direct_times)
            rows.append(("direct", d, requests["direct"], True))
            for mode in ("concurrent", "async"):
                rows.append(
                    (
                        f"proxy {mode}",
                        statistics.median(mode_times[mode]),
                        requests[mode],
                        identical[mode],
                    )
                )
            print(
                f"\nsession: {args.responses} responses x ({git_calls} git + {lookups} lookup) "
                f"independent read-only calls, one call at a time, median of {args.repeats}"
            )
            print("| route | time (s) | speed-up vs direct | client requests | results identical |")
            print("|---|---:|---:|---:|---|")
            for name, t, req, same in rows:
                print(f"| {name} | {t:.3f} | {d / t:.2f}x | {req} | {'yes' if same else 'NO'} |")

        # overhead over stdio
        async with (
            stdio([upstream["slow"]["command"], *upstream["slow"]["args"]]) as slow,
            stdio(proxy_command(config, "concurrent"), env) as conc,
        ):
            await per_call(slow, 20)
            await per_call(conc, 20)
            direct_s, proxy_s = [], []
            for _ in range(args.overhead_rounds):  # interleaved rounds
                direct_s += await per_call(slow, 50)
                proxy_s += await per_call(conc, 50)
        # overhead over streamable HTTP
        async with (
            http_process([sys.executable, str(HERE), "--serve-slow", "0", "--http"]) as slow_url,
            http_process(
                [*proxy_command(config, "concurrent"), "--transport", "http", "--port", "0"]
            ) as proxy_url,
            mcp.Client(slow_url) as slow,
            mcp.Client(proxy_url) as conc,
        ):
            await per_call(slow, 20)
            await per_call(conc, 20)
            direct_h, proxy_h = [], []
            for _ in range(args.overhead_rounds):
                direct_h += await per_call(slow, 50)
                proxy_h += await per_call(conc, 50)
        print(f"\nper-call overhead: echo, {len(direct_s)} calls each, interleaved")
        print(
            "| transport | direct median (ms) | proxy median (ms) | overhead (ms) "
            "| proxy p90 (ms) |"
        )
        print("|---|---:|---:|---:|---:|")
        for name, dd, pp in (("stdio", direct_s, proxy_s), ("streamable HTTP", direct_h, proxy_h)):
            dm, pm = statistics.median(dd) * 1000, statistics.median(pp) * 1000
            p90 = statistics.quantiles(pp, n=10)[-1] * 1000
            print(f"| {name} | {dm:.2f} | {pm:.2f} | {pm - dm:.2f} | {p90:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve-slow", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--http", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--commits", type=int, default=60)
    parser.add_argument("--delay", type=float, default=0.1, help="lookup latency, seconds")
    parser.add_argument("--responses", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--overhead-rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.serve_slow is not None:
        serve_slow(args.serve_slow, args.http)
        return
    if args.quick:
        args.files, args.commits, args.responses, args.repeats, args.overhead_rounds = (
            60,
            8,
            2,
            1,
            1,
        )
    anyio.run(bench, args)


if __name__ == "__main__":
    main()
