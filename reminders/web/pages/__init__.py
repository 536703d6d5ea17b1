"""The staff pages. Each area is one module exposing `router`; include it here (one line)."""

from fastapi import APIRouter

from reminders.web.pages import auth

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
from reminders.web.pages import queue  # noqa: E402

router.include_router(queue.router)
from reminders.web.pages import dashboard  # noqa: E402

router.include_router(dashboard.router)
from reminders.web.pages import audit  # noqa: E402

router.include_router(audit.router)
from reminders.web.pages import review  # noqa: E402

router.include_router(review.router)
