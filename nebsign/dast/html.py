"""Links, forms and inline scripts of an HTML page (stdlib parser, never raises).

Malformed markup is parsed as far as it goes; the amount read is bounded by
the engine's body limit and by :data:`MAX_ITEMS` per page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["MAX_ITEMS", "Form", "FormField", "PageInfo", "parse_html"]

MAX_ITEMS = 2000
_LINK_ATTRS = {
    "a": "href",
    "area": "href",
    "link": "href",
    "iframe": "src",
    "frame": "src",
    "script": "src",
}


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    value: str
    type: str


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: list[FormField] = field(default_factory=list)


@dataclass
class PageInfo:
    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.info = PageInfo()
        self._form: Form | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._script: list[str] | None = None

    def _add_link(self, url: str | None) -> None:
        if url and len(self.info.links) < MAX_ITEMS:
            self.info.links.append(url.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in _LINK_ATTRS:
            self._add_link(a.get(_LINK_ATTRS[tag]))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            content = a.get("content", "")
            if "url=" in content.lower():
                self._add_link(content[content.lower().index("url=") + 4 :].strip("'\" "))
        if tag == "form":
            if len(self.info.forms) < MAX_ITEMS:
                self._form = Form(
                    action=a.get("action", ""),
                    method=(a.get("method") or "GET").upper(),
                    enctype=a.get("enctype", "application/x-www-form-urlencoded").lower(),
                )
                self.info.forms.append(self._form)
        elif tag == "script":
            self._script = []
        elif self._form is not None and len(self._form.fields) < MAX_ITEMS:
            name = a.get("name", "")
            if tag == "input" and name:
                ftype = (a.get("type") or "text").lower()
                if (
                    ftype in ("checkbox", "radio")
                    and "checked" not in a
                    and any(f.name == name for f in self._form.fields)
                ):
                    return
                if ftype not in ("submit", "image", "reset", "file") or (
                    ftype == "submit" and a.get("value")
                ):
                    self._form.fields.append(FormField(name, a.get("value", ""), ftype))
            elif tag == "textarea" and name:
                self._textarea = (name, [])
            elif tag == "select" and name:
                self._select, self._select_value = name, None
            elif tag == "option" and self._select is not None and self._select_value is None:
                self._select_value = a.get("value", "")
            elif tag == "button" and name:
                self._form.fields.append(FormField(name, a.get("value", ""), "button"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, parts = self._textarea
            self._form.fields.append(FormField(name, "".join(parts), "textarea"))
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append(FormField(self._select, self._select_value or "", "select"))
            self._select = None
        elif tag == "script" and self._script is not None:
            if len(self.info.scripts) < MAX_ITEMS:
                self.info.scripts.append("".join(self._script))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._script is not None:
            self._script.append(data)


def parse_html(text: str) -> PageInfo:
    """Links, forms and inline scripts of *text*; best effort on broken markup."""
    parser = _Parser()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # html.parser's own limits on hostile markup
        pass
    return parser.info
