"""Helpers for the staff pages' tests (TestClient): sign in through the form, read CSRF."""

from __future__ import annotations

import re

from tests.web.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def sign_in(client, email: str = "nurse@kib.example.org", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Sign in through the form; returns the response of the POST (not followed)."""
    client.cookies.clear()
    token = csrf_of(client.get("/").text)
    return client.post("/signin", data={"username": email, "password": password, "csrf_token": token},
                       follow_redirects=False)


def post_form(client, page: str, action: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    """POST a form found on `page`, with that page's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={**(data or {}), "csrf_token": token}, follow_redirects=False)
