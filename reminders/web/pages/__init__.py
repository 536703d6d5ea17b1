"""The staff pages. Each area is one module exposing `router`; include it here (one line)."""

from fastapi import APIRouter

from reminders.web.pages import auth, patients, queue, sends

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(queue.router)
router.include_router(patients.router)
router.include_router(sends.router)

# webmore's areas
from reminders.web.pages import audit, dashboard, enroll, review, simulator  # noqa: E402

router.include_router(enroll.router)
router.include_router(dashboard.router)
router.include_router(review.router)
router.include_router(audit.router)
router.include_router(simulator.router)
