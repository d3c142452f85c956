"""Parsing of backend options given as `--option KEY=VALUE` strings."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lawloop.experiments.errors import InvalidDesignError, did_you_mean


@dataclass(frozen=True, slots=True)
class Option:
    """One backend option: its default, its parser and a description.

    Example:
        >>> damping = Option(0.0, parse_float(minimum=0.0), "damping rate b in 1/s")
        >>> damping.default, damping.parse("0.5")
        (0.0, 0.5)
    """

    default: Any
    """Value when the option is not given (ignored when `required`)."""
    parse: Callable[[Any], Any]
    """Turns the raw value (usually a string) into the option's value; raises `ValueError`."""
    description: str = ""
    """What the option does, shown in error messages."""
    required: bool = False
    """Whether the option must be given."""


def parse_float(
    *, minimum: float | None = None, maximum: float | None = None
) -> Callable[[Any], float]:
    """Return a parser of a finite float within optional bounds.

    Args:
        minimum: Smallest admissible value.
        maximum: Largest admissible value.

    Returns:
        The parser.
    """

    def parse(raw: Any) -> float:
        value = float(raw)
        if not math.isfinite(value):
            msg = f"expected a finite number, got {raw!r}"
            raise ValueError(msg)
        if (minimum is not None and value < minimum) or (
            maximum is not None and value > maximum
        ):
            if maximum is None:
                wanted = f"a number >= {minimum:g}"
            elif minimum is None:
                wanted = f"a number <= {maximum:g}"
            else:
                wanted = f"a number in [{minimum:g}, {maximum:g}]"
            msg = f"expected {wanted}, got {raw!r}"
            raise ValueError(msg)
        return value

    return parse


def parse_options(
    backend: str, raw: Mapping[str, Any], schema: Mapping[str, Option]
) -> dict[str, Any]:
    """Parse raw option values against a schema.

    Args:
        backend: Backend name, for messages.
        raw: Option values, usually strings from the CLI.
        schema: The admissible options.

    Returns:
        A value for every option in `schema`.

    Raises:
        InvalidDesignError: For an unknown option, a bad value or a missing
            required option.
    """
    known = ", ".join(f"`{k}` ({o.description})" for k, o in schema.items()) or "none"
    for key in raw:
        if key not in schema:
            msg = f"Backend `{backend}` has no option `{key}`.{did_you_mean(key, schema)} Known options: {known}."
            raise InvalidDesignError(msg)
    parsed: dict[str, Any] = {}
    for key, option in schema.items():
        if key not in raw:
            if option.required:
                msg = f"Backend `{backend}` needs option `{key}` ({option.description}); pass `--option {key}=VALUE`."
                raise InvalidDesignError(msg)
            parsed[key] = option.default
            continue
        try:
            parsed[key] = option.parse(raw[key])
        except (TypeError, ValueError) as exc:
            msg = f"Backend `{backend}`: bad value {raw[key]!r} for option `{key}` ({option.description}): {exc}."
            raise InvalidDesignError(msg) from None
    return parsed
