"""The bare baseline for the webhook benchmark: a minimal FastAPI app doing what the
webhook must do at the least (check the Twilio signature on the raw form, INSERT the
reply once per MessageSid, answer TwiML) on the same database. Run by
bench/bench_capacity.py beside `reminders serve`, so their ratio is what we judge.

    python bench/baseline_webhook_app.py DATABASE_URL AUTH_TOKEN PUBLIC_URL PORT
"""

from __future__ import annotations

import sys

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator

url, token, public, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=8)
with engine.begin() as connection:
    # Two processes start at once: CREATE TABLE IF NOT EXISTS alone can still collide.
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(4242)"))
    connection.execute(sa.text(
        "CREATE TABLE IF NOT EXISTS baseline_reply (id bigserial PRIMARY KEY, "
        "sid varchar(64) UNIQUE NOT NULL, sender varchar(64) NOT NULL, body text NOT NULL)"))
validator = RequestValidator(token)
insert = sa.text("INSERT INTO baseline_reply (sid, sender, body) VALUES (:sid, :sender, :body) "
                 "ON CONFLICT (sid) DO NOTHING")
app = FastAPI()


def store(sid: str, sender: str, body: str) -> None:
    with engine.begin() as connection:
        connection.execute(insert, {"sid": sid, "sender": sender, "body": body})


@app.post("/twilio/sms")
async def sms(request: Request) -> Response:
    form = await request.form()
    if not validator.validate(public + "/twilio/sms", form, request.headers.get("X-Twilio-Signature", "")):
        return Response(status_code=403)
    await run_in_threadpool(store, str(form.get("MessageSid", "")), str(form.get("From", "")),
                            str(form.get("Body", "")))
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks</Message></Response>',
                    media_type="application/xml")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
