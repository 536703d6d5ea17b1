from reminders.cli import app

app(prog_name="reminders")
