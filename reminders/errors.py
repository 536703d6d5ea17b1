"""Errors a user can cause, with messages fit to show them.

The CLI turns an InputError into one line and exit code 2; the API into a 422 naming
the field. Anything else is a bug and is allowed to crash loudly.
"""


class InputError(ValueError):
    """Bad input: `field` names what was wrong, `reason` says why, in plain words."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(LookupError):
    """A thing asked for by id or code does not exist (or is not visible to the caller)."""


class Forbidden(PermissionError):
    """The caller's role may not do `action` (reminders/roles.py): 403 on the API."""

    def __init__(self, action: str) -> None:
        super().__init__(f"your role may not do this ({action})")
        self.action = action
