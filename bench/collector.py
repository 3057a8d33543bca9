"""Local trace collectors for the benchmark (also runnable alone: `python3 collector.py`).

- `Collector`: an OTLP/HTTP endpoint on 127.0.0.1 that answers 200 `{}` to every POST /v1/traces
  and counts what it received (chunks = POST bodies, bytes, spans when the body is OTLP/JSON,
  receipt times on the shared CLOCK_MONOTONIC so the driver can compare them with its own).
- `BlackHole`: a TCP listener that accepts connections and never reads or answers (a collector
  that hangs), keeping every accepted socket open.

Both run in daemon threads of the calling process.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive allowed; ops opens a new connection each time anyway
    # Without this, the reply's header and body writes meet Nagle + the client's delayed ACK:
    # a 40 ms stall per request, which would cap every exporter at ~22 chunks/s.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        ok = self.path.rstrip("/") == "/v1/traces"
        reply = b"{}" if ok else b'{"error":"not found"}'
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self._headers_buffer.append(b"\r\n" + reply)  # headers and body in one write
        self.flush_headers()
        if ok:
            self.server.owner._record(body, self.headers.get("Content-Type", ""))


class Collector:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.daemon_threads = True
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.reset()
        threading.Thread(target=self.server.serve_forever, daemon=True, name="collector").start()

    def reset(self) -> None:
        with self._lock:
            self.chunks = 0
            self.bytes = 0
            self.spans = 0
            self.first = None  # time.monotonic() of the first chunk
            self.last = None
            self.mimes: dict[str, int] = {}

    def _record(self, body: bytes, mime: str) -> None:
        now = time.monotonic()
        spans = 0
        if "json" in mime:
            try:
                doc = json.loads(body)
                for rs in doc.get("resourceSpans", []):
                    for ss in rs.get("scopeSpans", []):
                        spans += len(ss.get("spans", []))
            except ValueError:
                pass
        with self._lock:
            self.chunks += 1
            self.bytes += len(body)
            self.spans += spans
            self.first = self.first or now
            self.last = now
            self.mimes[mime] = self.mimes.get(mime, 0) + 1

    def snapshot(self) -> dict:
        with self._lock:
            return dict(chunks=self.chunks, bytes=self.bytes, spans=self.spans,
                        first=self.first, last=self.last, mimes=dict(self.mimes))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class BlackHole:
    """Accepts TCP connections and then says nothing, ever."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._loop, daemon=True, name="blackhole").start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)  # never read, never answered, never closed
            if len(self._held) > 512:
                self._held.pop(0).close()

    def close(self) -> None:
        self.sock.close()
        for c in self._held:
            c.close()


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=4318)
    p.add_argument("--hang", action="store_true", help="accept and never answer")
    a = p.parse_args()
    c = BlackHole(port=a.port) if a.hang else Collector(port=a.port)
    print(f"listening on {c.url}", flush=True)
    try:
        while True:
            time.sleep(5)
            if not a.hang:
                print(c.snapshot(), flush=True)
    except KeyboardInterrupt:
        pass
