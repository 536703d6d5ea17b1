"""CPU per signed reply on POST /twilio/sms, in process: the ASGI app called directly
(no HTTP server, no client library) on a fresh PostgreSQL database, N posts in a row.

    python bench/profile_webhook.py [--posts 2000] [--profile out.html]

Prints CPU per post (this process), wall time per post and the PostgreSQL server's CPU
per post (all its processes: other databases' work counts too, so read it on a quiet
machine); with --profile, a pyinstrument profile of the loop (the event loop's thread).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench_webhook import REPLIES, seed
from common import fresh_postgres

TOKEN = "bench-auth-token-0123456789"
PUBLIC = "http://bench.invalid"


async def post(app, body: bytes, signature: str) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/twilio/sms", "raw_path": b"/twilio/sms", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", str(len(body)).encode()), (b"x-twilio-signature", signature.encode())]}
    sent = False
    status = 0

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def postgres_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL server process on this machine (Linux)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)
            if not fields[0].endswith("(postgres"):
                continue
            parts = fields[1].split()
            total += int(parts[11]) + int(parts[12])
        except (OSError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--profile")
    parser.add_argument("--baseline", action="store_true", help="the bare app of baseline_webhook_app.py instead")
    args = parser.parse_args()
    with fresh_postgres("reminders_profile") as url:
        phones = seed(url, 1000)
        os.environ.update({"REMINDERS_DATABASE_URL": url, "REMINDERS_PUBLIC_URL": PUBLIC,
                           "REMINDERS_SMS_GATEWAY": "local", "TWILIO_AUTH_TOKEN": TOKEN,
                           "REMINDERS_SECRET_KEY": "bench-secret-key-0123456789-abcdef"})
        from reminders.config import Settings
        from reminders.db import create_db_engine
        from reminders.web import create_app

        settings = Settings()
        engine = create_db_engine(url)
        app = create_app(settings, engine=engine)
        if args.baseline:
            import sys
            sys.argv = ["baseline_webhook_app.py", url.replace("postgresql+psycopg://", "postgresql://"), TOKEN, PUBLIC, "0"]
            import baseline_webhook_app
            app = baseline_webhook_app.app
        validator = RequestValidator(TOKEN)
        wire = []
        for i in range(args.posts + 200):
            fields = {"MessageSid": f"SM{i:032x}", "AccountSid": "AC" + "0" * 32, "From": phones[i % len(phones)],
                      "To": "+15005550006", "Body": REPLIES[i % len(REPLIES)], "NumMedia": "0"}
            wire.append((urlencode(fields).encode(), validator.compute_signature(PUBLIC + "/twilio/sms", fields)))

        async def run(items):
            for body, signature in items:
                status = await post(app, body, signature)
                assert status == 200, status

        asyncio.run(run(wire[:200]))  # warm-up
        profiler = None
        if args.profile:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
        cpu, wall, server = time.process_time(), time.perf_counter(), postgres_cpu()
        asyncio.run(run(wire[200:]))
        cpu, wall, server = time.process_time() - cpu, time.perf_counter() - wall, postgres_cpu() - server
        if profiler:
            profiler.stop()
            with open(args.profile, "w") as f:
                f.write(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"{args.posts} posts: CPU {cpu / args.posts * 1000:.2f} ms/post, wall {wall / args.posts * 1000:.2f} ms/post, "
              f"PostgreSQL (every server process on the machine) {server / args.posts * 1000:.2f} ms/post")
        engine.dispose()


if __name__ == "__main__":
    main()
