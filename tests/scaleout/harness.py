"""Real processes for the scale-out test: the fake Twilio server in its own process,
`reminders serve` / `worker` / `dispatch` / `followup` as subprocesses, and the waits
between them (each bounded)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://reminders.example.org"  # what Twilio would call: the signatures' URL

# The fake answers a line on stdin with one JSON line: every message created at it.
FAKE_SERVER = """
import json, sys
from tests.fake_twilio import FakeTwilio
fake = FakeTwilio(sys.argv[1], sys.argv[2]).start()
print(fake.base_url, flush=True)
for _line in sys.stdin:
    print(json.dumps([[m.sid, m.to, m.body, m.seq] for m in fake.sent]), flush=True)
fake.stop()
"""


@dataclass(frozen=True)
class Sent:
    """One message as the fake received it."""

    sid: str
    to: str
    body: str
    seq: int  # the fake's creation order


class FakeProcess:
    """The fake Twilio server in a process of its own (it does not share our GIL)."""

    def __init__(self) -> None:
        self.account_sid, self.auth_token = "AC" + uuid.uuid4().hex, uuid.uuid4().hex
        self.process = subprocess.Popen(
            [sys.executable, "-c", FAKE_SERVER, self.account_sid, self.auth_token], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.base_url = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        if not self.base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the fake Twilio server did not start")

    def sent(self) -> list[Sent]:
        self.process.stdin.write("dump\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]
        return [Sent(*row) for row in json.loads(self.process.stdout.readline())]  # type: ignore[union-attr]

    def stop(self) -> None:
        stop_process(self.process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, fake: FakeProcess, spool: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))}
    values.update({
        "REMINDERS_DATABASE_URL": database_url,
        "REMINDERS_SECRET_KEY": "scale-out-secret-key-0123456789-abcdefghij",
        "REMINDERS_PUBLIC_URL": PUBLIC_URL,
        "REMINDERS_SMS_GATEWAY": "twilio",
        "REMINDERS_TWILIO_API_BASE": fake.base_url,
        "REMINDERS_SPOOL_DIR": str(spool),
        # The carrier's rate is not under test here: lift it so the run fits in minutes.
        "REMINDERS_DISPATCH_RATE": "5000",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
    })
    return values


class Processes:
    """Every `reminders` process this test starts; `stop_all` ends each of them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: list[tuple[str, subprocess.Popen[str]]] = []
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str]) -> subprocess.Popen[str]:
        # Logs to files: a pipe nobody reads fills up and blocks a long-running process.
        out = open(self.logs / f"{name}.out", "w")  # noqa: SIM115 - closed with the process
        err = open(self.logs / f"{name}.err", "w")  # noqa: SIM115
        process = subprocess.Popen([sys.executable, "-m", "reminders", *args], env=self.env,
                                   cwd=ROOT, stdout=out, stderr=err, text=True)
        out.close()
        err.close()
        self.running.append((name, process))
        return process

    def run_pass(self, name: str, args: list[str]) -> subprocess.Popen[str]:
        return self.start(name, args)

    def finish(self, name: str, process: subprocess.Popen[str], timeout: float = 240) -> dict[str, Any]:
        """Wait for a one-shot pass; its JSON summary (the last stdout line)."""
        returncode = process.wait(timeout=timeout)
        if returncode != 0:
            raise AssertionError(f"{name} exited {returncode}: {self.tail(name)}")
        lines = (self.logs / f"{name}.out").read_text().strip().splitlines()
        return json.loads(lines[-1])

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.err").read_text()[-3000:]

    def check_alive(self) -> None:
        for name, process in self.running:
            if name.startswith(("web", "worker")) and process.poll() is not None:
                raise AssertionError(f"{name} died ({process.returncode}): {self.tail(name)}")

    def stop_all(self) -> None:
        for _name, process in reversed(self.running):
            stop_process(process)


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def wait_for(what: str, condition: Callable[[], bool], timeout: float, check: Callable[[], None]) -> None:
    """Poll `condition` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        check()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout:.0f} s")
        time.sleep(0.25)


def wait_healthy(base_url: str, check: Callable[[], None], timeout: float = 120) -> None:
    def healthy() -> bool:
        try:
            return httpx.get(base_url + "/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(f"{base_url} healthy", healthy, timeout, check)


@contextmanager
def fake_twilio() -> Iterator[FakeProcess]:
    fake = FakeProcess()
    try:
        yield fake
    finally:
        fake.stop()
