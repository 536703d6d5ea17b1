"""What the security tests share: running `reminders` as a real process, signing webhooks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "a-serving-key-long-enough-0123456789abcdef"


def env_for(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))}
    values.update({"REMINDERS_DATABASE_URL": database_url, "REMINDERS_SMS_GATEWAY": "local",
                   "REMINDERS_SPOOL_DIR": str(tmp_path / "spool"),
                   "REMINDERS_PUBLIC_URL": "https://reminders.example.org", **extra})
    return values


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reminders", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`reminders serve ...` on a free port; returns the process and its base URL once
    /healthz answers (or fails with the server's output)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "reminders", "serve", "--port", str(port),
                                "--no-scheduler", *args], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited {process.returncode}: {process.stderr.read()}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling for readiness, not asserting on time
    process.kill()
    raise AssertionError("server did not start")


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


def signed_post(client, url: str, path: str, fields: dict[str, str], token: str):  # type: ignore[no-untyped-def]
    signature = RequestValidator(token).compute_signature(url + path, fields)
    return client.post(path, data=fields, headers={"X-Twilio-Signature": signature})
