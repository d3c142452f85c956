"""Versioned prompt templates, one file each, loaded by name.

A template is a Markdown file `prompts/<name>.md` with front matter
(`name`, `version`) and a body with `$placeholders`
(`string.Template`, which raises on a missing value). The template's
sha256 is recorded with every call that uses it.

Example:
    >>> t = load("propose_hypotheses")          # doctest: +SKIP
    >>> t.render(goal="the pendulum period")    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from string import Template

__all__ = ["PromptTemplate", "TemplateError", "load"]

_DIR = Path(__file__).resolve().parent


class TemplateError(ValueError):
    """A template is missing, malformed, or a placeholder has no value."""


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """One prompt template: its name, version, body and hash."""

    name: str
    version: int
    body: str
    sha256: str
    """Hash of the whole file, front matter included."""

    def render(self, **values: object) -> str:
        """The body with every `$placeholder` filled; raises `TemplateError` on a missing one."""
        try:
            return Template(self.body).substitute(
                {k: str(v) for k, v in values.items()}
            )
        except (KeyError, ValueError) as exc:
            msg = f"Template `{self.name}` v{self.version} needs a value for {exc}."
            raise TemplateError(msg) from exc


def load(name: str, directory: Path | None = None) -> PromptTemplate:
    """Load template `name` from `directory` (default: this package).

    Raises:
        TemplateError: No such file, or its front matter lacks `name`/`version`.
    """
    path = (directory or _DIR) / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        available = sorted(p.stem for p in (directory or _DIR).glob("*.md"))
        msg = f"No prompt template `{name}` in `{path.parent}`; available: {available}."
        raise TemplateError(msg) from exc
    head, sep, body = text.removeprefix("---\n").partition("\n---\n")
    if not text.startswith("---\n") or not sep:
        msg = f"Template `{path}` must start with front matter between `---` lines."
        raise TemplateError(msg)
    meta = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    meta = {k.strip(): v.strip() for k, v in meta.items()}
    if meta.get("name") != name or not meta.get("version", "").isdigit():
        msg = f"Template `{path}` front matter needs `name: {name}` and an integer `version`."
        raise TemplateError(msg)
    return PromptTemplate(
        name, int(meta["version"]), body, hashlib.sha256(text.encode()).hexdigest()
    )
