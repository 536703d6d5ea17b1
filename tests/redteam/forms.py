"""The forms a staff page shows, read from its HTML: what a browser would submit."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> the value a browser sends
    files: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
            return
        if not self.forms or not a.get("name"):
            if tag == "option" and self._select and self.forms:
                self.forms[-1].fields.setdefault(self._select, a.get("value", ""))
            return
        form = self.forms[-1]
        if tag == "input" and a.get("type") == "file":
            form.files.append(a["name"])
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            form.fields.setdefault(a["name"], a.get("value", "on"))
        elif tag in ("input", "textarea"):
            form.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            form.fields[a["name"]] = ""
        elif tag == "option" and self._select:
            form.fields.setdefault(self._select, a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_of(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms
