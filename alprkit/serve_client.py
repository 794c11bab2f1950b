"""Talking to ``alprkit serve`` from Python: start one as a subprocess, post images, load-test it.

Standard library only (``http.client``, threads), so the tests and the serve-vs-run bench
(:mod:`alprkit.serve_bench`) need no HTTP client package. A load test sends each client's
requests over one kept-alive connection, as a real client would, and checks every answer
against the texts expected for its image.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional, Sequence

_SERVING = re.compile(r"alprkit: serving .* on (http://\S+) ")


class ServerProcess:
    """``alprkit serve ARGS port=0`` in a subprocess; ``url`` once it answers ``/healthz``.

    Used as a context manager: the server is stopped (SIGTERM, then SIGKILL) on exit.
    ``stderr`` holds what it printed, for diagnostics.
    """

    def __init__(self, *args: str, env: Optional[dict] = None, cwd=None, startup_timeout: float = 300):
        command = [sys.executable, "-m", "alprkit.cli", "serve", "port=0", *args]
        self.stderr: list[str] = []
        self.url: Optional[str] = None
        self._found = threading.Event()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env=env, cwd=cwd)
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + startup_timeout
        while not self._found.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"alprkit serve did not start (status {self.process.returncode}): "
                                   + " | ".join(self.stderr[-5:]))
        while not self.healthy():  # the port is open once the line is printed; answered a moment later
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("alprkit serve never answered /healthz: " + " | ".join(self.stderr[-5:]))
            time.sleep(0.05)

    def _drain(self):
        for line in self.process.stderr:
            self.stderr.append(line.rstrip("\n"))
            match = _SERVING.search(line)
            if match and not self._found.is_set():
                self.url = match.group(1)
                self._found.set()

    def healthy(self) -> bool:
        try:
            status, _ = request(self.url, "GET", "/healthz", timeout=5)
        except OSError:
            return False
        return status == 200

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def request(url: str, method: str, path: str, body: bytes = b"", headers=None, timeout: float = 60,
            connection: Optional[http.client.HTTPConnection] = None) -> tuple[int, dict]:
    """(status, the JSON answer) of one request; a non-JSON answer is ``{"raw": text}``."""
    own = connection is None
    if own:
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        if own:
            connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, {"raw": data.decode("utf-8", "replace")}


def read_path(params: Optional[dict] = None) -> str:
    return "/v1/read" + ("?" + urllib.parse.urlencode(params) if params else "")


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data upload; ``files`` maps a field to (file name, bytes)."""
    boundary = "alprkit" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n")
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_image(url: str, data: bytes, filename: Optional[str] = None, params: Optional[dict] = None,
               timeout: float = 60, connection=None) -> tuple[int, dict]:
    """POST an image to ``/v1/read``: as the multipart field ``image`` when ``filename`` is given, else raw."""
    if filename is None:
        body, content_type = data, "application/octet-stream"
    else:
        body, content_type = multipart({}, {"image": (filename, data)})
    return request(url, "POST", read_path(params), body, {"Content-Type": content_type}, timeout, connection)


@dataclass(frozen=True)
class Sample:
    """An image to post and the plate texts a right answer holds, in order."""

    name: str
    data: bytes
    texts: tuple[str, ...]


@dataclass
class LoadReport:
    requests: int
    clients: int
    seconds: float
    latencies: list = field(default_factory=list)  # seconds per answered request
    failures: list = field(default_factory=list)  # "name: status ..." of requests not answered 200
    wrong: list = field(default_factory=list)  # "name: got ... expected ..." of 200s with other texts

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    def to_json(self) -> dict:
        return {"requests": self.requests, "clients": self.clients, "seconds": round(self.seconds, 3),
                "requests_per_s": round(self.throughput, 1), "p50_ms": round(self.percentile(50) * 1000, 1),
                "p95_ms": round(self.percentile(95) * 1000, 1), "failed": len(self.failures),
                "wrong": len(self.wrong)}

    def summary(self) -> str:
        j = self.to_json()
        return (f"{j['requests']} requests from {j['clients']} clients in {j['seconds']} s: "
                f"{j['requests_per_s']} requests/s, p50 {j['p50_ms']} ms, p95 {j['p95_ms']} ms, "
                f"{j['failed']} failed, {j['wrong']} wrong")


def load_test(url: str, samples: Sequence[Sample], requests: int = 500, clients: int = 8,
              multipart_every: int = 2, timeout: float = 60) -> LoadReport:
    """Send ``requests`` posts of ``samples`` (in turn) from ``clients`` threads at once.

    Every ``multipart_every``-th request is a multipart upload, the others raw bodies (0: all raw).
    """
    lock = threading.Lock()
    report = LoadReport(requests, clients, 0.0)
    parts = urllib.parse.urlsplit(url)

    def client(indices):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            for i in indices:
                sample = samples[i % len(samples)]
                as_form = multipart_every and i % multipart_every == 0
                start = time.perf_counter()
                try:
                    status, answer = post_image(url, sample.data, sample.name if as_form else None,
                                                connection=connection)
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()  # reconnects on the next request
                    with lock:
                        report.failures.append(f"{sample.name}: {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - start
                texts = tuple(p.get("text") for p in answer.get("plates", ()))
                with lock:
                    if status != 200:
                        report.failures.append(f"{sample.name}: status {status} {answer}")
                    else:
                        report.latencies.append(elapsed)
                        if texts != sample.texts:
                            report.wrong.append(f"{sample.name}: got {texts}, expected {sample.texts}")
        finally:
            connection.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client, range(c, requests, clients)) for c in range(clients)]:
            future.result()
    report.seconds = time.perf_counter() - start
    return report
