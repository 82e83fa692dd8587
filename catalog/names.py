"""Full names of securables: parse, quote, validate, normalise case.

Names follow Unity Catalog: identifiers are case-insensitive and stored lower-case, parts are
joined with ``.``, and a part that is not a plain identifier is quoted with backticks.
Principals (users, groups) follow the same rules except that they may contain spaces and
``.`` (``account users``, ``alice@example.com``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.errors import InvalidName

MAX_PART_LENGTH = 255

# Unity Catalog forbids '.', ' ', '/', control characters and DEL in object names. We also
# forbid ',' and '`': a policy file is casbin CSV, and a name must survive being a field.
_FORBIDDEN_IN_OBJECT = re.compile(r"[.\s/,`\x00-\x1f\x7f]")
_FORBIDDEN_IN_PRINCIPAL = re.compile(r"[,`\x00-\x1f\x7f]")
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


def normalize_part(part: str, *, what: str = "name") -> str:
    """Validate one part of an object name and return it lower-cased."""
    if not isinstance(part, str) or not part:
        raise InvalidName(f"The {what} is empty; give a non-empty identifier.")
    if len(part) > MAX_PART_LENGTH:
        raise InvalidName(f"The {what} '{part[:40]}...' is longer than {MAX_PART_LENGTH} characters.")
    bad = _FORBIDDEN_IN_OBJECT.search(part)
    if bad:
        raise InvalidName(
            f"The {what} '{part}' contains {bad.group()!r}; names may not contain '.', spaces, "
            "'/', ',', backticks or control characters."
        )
    return part.lower()


def normalize_principal(name: str) -> str:
    """Validate a user or group name and return it lower-cased."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidName("The principal name is empty; give a user or group name.")
    if len(name) > MAX_PART_LENGTH:
        raise InvalidName(f"The principal name '{name[:40]}...' is too long.")
    bad = _FORBIDDEN_IN_PRINCIPAL.search(name)
    if bad:
        raise InvalidName(
            f"The principal name '{name}' contains {bad.group()!r}; commas, backticks and "
            "control characters are not allowed."
        )
    return name.strip().lower()


def quote_part(part: str) -> str:
    """Quote one identifier with backticks when it is not a plain identifier."""
    return part if _PLAIN_IDENTIFIER.match(part) else f"`{part}`"


@dataclass(frozen=True, order=True)
class FullName:
    """A normalised name of 1 (catalog), 2 (schema) or 3 (object) parts."""

    parts: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.parts) <= 3:
            raise InvalidName(f"'{'.'.join(self.parts)}' must have one to three parts.")

    @classmethod
    def of(cls, *parts: str) -> FullName:
        return cls(tuple(normalize_part(p) for p in parts))

    @classmethod
    def parse(cls, text: str) -> FullName:
        """Parse ``a.b.c`` with optional backticks around any part."""
        return cls.of(*split_name(text))

    @property
    def catalog(self) -> str:
        return self.parts[0]

    @property
    def schema(self) -> str | None:
        return self.parts[1] if len(self.parts) > 1 else None

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def parent(self) -> FullName | None:
        return FullName(self.parts[:-1]) if len(self.parts) > 1 else None

    def child(self, part: str) -> FullName:
        return FullName((*self.parts, normalize_part(part)))

    def __str__(self) -> str:
        return ".".join(self.parts)

    def quoted(self) -> str:
        return ".".join(quote_part(p) for p in self.parts)


def split_name(text: str) -> list[str]:
    """Split ``a.`b-c`.d`` into its parts; a backtick-quoted part may contain dots."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidName("The name is empty; give a name such as 'main.default.my_table'.")
    text = text.strip()
    parts: list[str] = []
    pos = 0
    while True:
        if text.startswith("`", pos):
            end = text.find("`", pos + 1)
            if end == -1:
                raise InvalidName(f"Unclosed backtick in name '{text}'.")
            part, pos = text[pos + 1 : end], end + 1
        else:
            end = text.find(".", pos)
            end = len(text) if end == -1 else end
            part, pos = text[pos:end], end
            if "`" in part:
                raise InvalidName(f"Misplaced backtick in name '{text}'.")
        if not part:
            raise InvalidName(f"'{text}' has an empty part; write names like 'catalog.schema.table'.")
        parts.append(part)
        if pos == len(text):
            return parts
        if text[pos] != ".":
            raise InvalidName(f"Unexpected '{text[pos]}' after a quoted part in '{text}'.")
        pos += 1
