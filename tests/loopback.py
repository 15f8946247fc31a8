"""A loopback HTTP server that plays scripted provider responses to the real SDK clients.

The server (stdlib ``ThreadingHTTPServer`` on 127.0.0.1, an ephemeral port, in a thread)
answers each request with the next queued :class:`Reply`: a JSON body, an SSE stream in any of
the three wire formats, an HTTP error, or a dropped connection.  Every request is recorded
(path, headers, decoded JSON body) so tests can assert what the SDK actually sent.

SSE scripts are lists of steps: a bytes frame (see :func:`sse`), a :class:`Checkpoint` where
the server stops until the test releases it, or :data:`DROP`, which closes the socket in the
middle of the chunked body.  Checkpoints let a test prove ordering (an event reached the
client while the server was provably still holding the rest of the stream) without any
wall-clock assertion.  Every wait is bounded by ``WAIT_S``; a checkpoint that times out
aborts the connection, so a broken adapter makes the test fail instead of hanging.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WAIT_S = 10.0
"""Upper bound of every wait in the server (and the checkpoints' waits)."""


# --- scripts ------------------------------------------------------------------------------


class Checkpoint:
    """A pause point in an SSE script: ``reached`` is set when the server gets there; the
    server then waits (bounded) for the test to call :meth:`release`."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.reached = threading.Event()
        self.released = threading.Event()
        self.timed_out = False

    def release(self) -> None:
        self.released.set()

    def wait_released(self) -> bool:
        self.reached.set()
        ok = self.released.wait(WAIT_S)
        self.timed_out = not ok
        return ok


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()
"""SSE step: abort the connection here (no terminating chunk)."""

Step = bytes | Checkpoint | _Drop


def sse(data: Any, event: str | None = None) -> bytes:
    """One SSE frame; ``data`` is JSON-encoded unless it is already a string."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


@dataclass
class Reply:
    """One scripted answer.  ``steps`` makes it an SSE stream; otherwise ``body`` is sent."""

    status: int = 200
    body: Any = None
    steps: Sequence[Step] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    """Close the connection without any response."""
    pace_s: float = 0.0
    """Token pacing: pause between SSE frames (never asserted on)."""


def json_reply(body: Any, status: int = 200) -> Reply:
    return Reply(status=status, body=body)


def raw_reply(text: str, status: int = 200) -> Reply:
    """A body sent verbatim as ``application/json`` (for malformed bodies)."""
    return Reply(status=status, body=text.encode())


def stream_reply(steps: Sequence[Step], pace_s: float = 0.0) -> Reply:
    return Reply(steps=list(steps), pace_s=pace_s)


# --- server -------------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    loopback: Loopback

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up is part of several scenarios; record instead of printing.
        self.loopback.errors.append(f"handler error for {client_address}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = WAIT_S
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        loop = self.server.loopback
        loop.requests.append(Received("POST", self.path, dict(self.headers.items()), body))
        reply = loop.next_reply()
        if reply.drop:
            self._abort()
        elif reply.steps is not None:
            self._stream(reply)
        else:
            self._json(reply)

    def _json(self, reply: Reply) -> None:
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        # The connection ends with the stream: say so, or the client may send its next
        # request on it while it closes ("Server disconnected without sending a response").
        self.send_header("connection", "close")
        self.end_headers()
        assert reply.steps is not None
        for step in reply.steps:
            if isinstance(step, Checkpoint):
                self.wfile.flush()
                if not step.wait_released():
                    self._abort()
                    return
            elif isinstance(step, _Drop):
                self._abort()
                return
            else:
                if reply.pace_s:
                    time.sleep(reply.pace_s)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(step), step))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def _abort(self) -> None:
        """Drop the connection: no more bytes, socket closed (RST where possible)."""
        self.wfile.flush()
        self.close_connection = True
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)


class Loopback:
    """The running server: queue replies with :meth:`add`, read :attr:`requests`."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Received] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.loopback = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            if not self.replies:
                return Reply(status=599, body={"error": {"message": "no scripted reply left"}})
            return self.replies.popleft()

    @property
    def last(self) -> Any:
        """The JSON body of the last request."""
        return self.requests[-1].body

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT_S)


def running_loopback() -> Iterator[Loopback]:
    """Fixture body: a started server, stopped (and any checkpoint released) afterwards."""
    server = Loopback()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- OpenAI Chat Completions payloads -----------------------------------------------------


def chat_completion(
    content: str | None = None,
    tool_calls: Sequence[tuple[str, str, str]] = (),
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` body; ``tool_calls`` are ``(id, name, arguments)``."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in tool_calls
        ]
    reason = finish_reason or ("tool_calls" if tool_calls else "stop")
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": reason}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def chat_chunk(
    content: str | None = None,
    tool_calls: Sequence[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
) -> bytes:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = list(tool_calls)
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return sse(chunk)


def chat_fragment(
    index: int, call_id: str | None = None, name: str | None = None, arguments: str = ""
) -> dict[str, Any]:
    """One ``delta.tool_calls[]`` entry."""
    fragment: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        fragment["id"] = call_id
        fragment["type"] = "function"
    if name is not None:
        fragment["function"]["name"] = name
    return fragment


def chat_usage_chunk() -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test-model",
        "choices": [],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }
    return sse(chunk)


CHAT_DONE = sse("[DONE]")


# --- OpenAI Responses payloads ------------------------------------------------------------


def responses_call_item(
    call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def responses_text_item(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def responses_body(
    output: Sequence[dict[str, Any]], status: str = "completed", reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 0,
        "model": "test-model",
        "status": status,
        "incomplete_details": {"reason": reason} if reason else None,
        "error": None,
        "output": list(output),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 11,
            "output_tokens": 7,
            "total_tokens": 18,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def responses_event(kind: str, **fields: Any) -> bytes:
    return sse({"type": kind, "sequence_number": 0, **fields}, event=kind)


def responses_call_events(
    output_index: int, call_id: str, name: str, pieces: Sequence[str], done: bool = True
) -> list[bytes]:
    """``output_item.added``, argument deltas, then (if ``done``) ``arguments.done`` and
    ``output_item.done``."""
    item_id = f"fc_{call_id}"
    out = [
        responses_event(
            "response.output_item.added",
            output_index=output_index,
            item={**responses_call_item(call_id, name, ""), "status": "in_progress"},
        )
    ]
    out += [
        responses_event(
            "response.function_call_arguments.delta",
            item_id=item_id,
            output_index=output_index,
            delta=p,
        )
        for p in pieces
    ]
    if done:
        arguments = "".join(pieces)
        out.append(
            responses_event(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=output_index,
                arguments=arguments,
            )
        )
        out.append(
            responses_event(
                "response.output_item.done",
                output_index=output_index,
                item=responses_call_item(call_id, name, arguments),
            )
        )
    return out


def responses_terminal(
    output: Sequence[dict[str, Any]], status: str = "completed", reason: str | None = None
) -> bytes:
    kind = {"completed": "response.completed", "incomplete": "response.incomplete"}[status]
    return responses_event(kind, response=responses_body(output, status, reason))


# --- Anthropic Messages payloads ----------------------------------------------------------


def anthropic_message(
    content: Sequence[dict[str, Any]], stop_reason: str = "end_turn"
) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "test-model",
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }


def anthropic_event(kind: str, **fields: Any) -> bytes:
    return sse({"type": kind, **fields}, event=kind)


def anthropic_start() -> bytes:
    return anthropic_event("message_start", message={**anthropic_message([]), "stop_reason": None})


def anthropic_text_block(index: int, pieces: Sequence[str]) -> list[bytes]:
    out = [
        anthropic_event(
            "content_block_start", index=index, content_block={"type": "text", "text": ""}
        )
    ]
    out += [
        anthropic_event("content_block_delta", index=index, delta={"type": "text_delta", "text": p})
        for p in pieces
    ]
    return [*out, anthropic_event("content_block_stop", index=index)]


def anthropic_tool_block(
    index: int, call_id: str, name: str, pieces: Sequence[str], stop: bool = True
) -> list[bytes]:
    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
    out = [anthropic_event("content_block_start", index=index, content_block=block)]
    out += [
        anthropic_event(
            "content_block_delta",
            index=index,
            delta={"type": "input_json_delta", "partial_json": p},
        )
        for p in pieces
    ]
    return [*out, anthropic_event("content_block_stop", index=index)] if stop else out


def anthropic_end(stop_reason: str = "tool_use") -> list[bytes]:
    return [
        anthropic_event(
            "message_delta",
            delta={"stop_reason": stop_reason, "stop_sequence": None},
            usage={"output_tokens": 7},
        ),
        anthropic_event("message_stop"),
    ]


# --- client side --------------------------------------------------------------------------


async def drain(
    model: Any,
    messages: Sequence[Any],
    tools: Sequence[Any],
    settings: Any,
    into: list[Any],
) -> list[Any]:
    """Read a whole ``model.stream(...)`` into ``into`` (kept when the stream raises)."""
    async with model.stream(messages, tools, settings) as events:
        async for event in events:
            into.append(event)
    return into


def scripted_turns(
    turns: Sequence[Sequence[tuple[str, dict[str, Any]]]], *, finals_per_turn: int = 1
) -> list[Reply]:
    """Chat Completions replies that play a conversation: per user turn, one single-call
    message per ``(name, arguments)``, then ``finals_per_turn`` text answers ("Done.")."""
    replies: list[Reply] = []
    n = 0
    for turn in turns:
        for name, args in turn:
            n += 1
            body = chat_completion(tool_calls=[(f"c{n}", name, json.dumps(args))])
            replies.append(json_reply(body))
        replies.extend(json_reply(chat_completion("Done.")) for _ in range(finals_per_turn))
    return replies
