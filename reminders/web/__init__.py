"""The web edge: the JSON API, Twilio's webhooks and the staff pages."""

from reminders.web.app import create_app

__all__ = ["create_app"]
