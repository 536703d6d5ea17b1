"""Page tests: sign in through the form and read CSRF tokens, as a browser would."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str = "/") -> str:
    page = client.get(path)
    found = _TOKEN.search(page.text)
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client: TestClient, email: str) -> TestClient:
    client.cookies.clear()
    token = csrf(client, "/")
    response = client.post("/signin", data={"username": email, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client
