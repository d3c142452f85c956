"""PROV-JSON building blocks: the `lawloop:` ids of rows and attribute values as the `prov` package writes them."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

__all__ = [
    "ACTIVITY_KINDS",
    "BLANK",
    "LAWLOOP_NAMESPACE",
    "PREFIXES",
    "QName",
    "attributes",
    "columns",
    "local_name",
    "prov_id",
    "prov_types",
]

LAWLOOP_NAMESPACE = "urn:lawloop:"
"""IRI of the `lawloop:` prefix: lawloop's PROV terms and the ids of its rows."""

PREFIXES = {
    "lawloop": LAWLOOP_NAMESPACE,
    "prov": "http://www.w3.org/ns/prov#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
# Relation kinds, each with the blank-node prefix of its unnamed records.
BLANK = {
    "used": "u",
    "wasGeneratedBy": "g",
    "wasDerivedFrom": "d",
    "wasInvalidatedBy": "i",
    "wasStartedBy": "s",
    "wasInformedBy": "c",
    "wasInfluencedBy": "n",
    "wasAssociatedWith": "a",
    "actedOnBehalfOf": "b",
}
ACTIVITY_KINDS = {
    "campaign",
    "iteration",
    "experiment_run",
    "planner_call",
    "decision",
}
# Columns that become PROV ids, times or relations rather than attributes.
_STRUCTURAL = {
    "id",
    "campaign_id",
    "iteration_id",
    "created_at",
    "started_at",
    "finished_at",
}
_TIMES = ("prov:startTime", "prov:endTime", "prov:time")


class QName(str):
    """A qualified name as an attribute value (written typed `xsd:QName`)."""

    __slots__ = ()


def local_name(text: str) -> str:
    """Text usable as the local part of a qualified name (others percent-encoded)."""
    return quote(text, safe="/-._~")


def prov_id(kind: str, key: str) -> str:
    """The PROV id of a row: `lawloop:<table>/<id>`."""
    return f"lawloop:{kind}/{local_name(key)}"


def prov_types(*names: str) -> tuple[QName, ...]:
    """Values of `prov:type` (a tuple is written as several values)."""
    return tuple(QName(n) for n in names)


def _strict(value: Any) -> Any:
    """`value` with non-finite floats spelled as strings, so that it is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return (
            "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        )
    if isinstance(value, Mapping):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def _value(value: Any) -> Any:
    """One attribute value in PROV-JSON form, as the `prov` package writes it."""
    if isinstance(value, QName):
        return {"$": str(value), "type": "xsd:QName"}
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        xsd = "int" if -(2**31) <= value < 2**31 else "long"
        xsd = xsd if -(2**63) <= value < 2**63 else "integer"
        return {"$": str(value), "type": f"xsd:{xsd}"}
    if isinstance(value, float):
        text = "NaN" if math.isnan(value) else repr(value)
        text = {"inf": "INF", "-inf": "-INF"}.get(text, text)
        return {"$": text, "type": "xsd:double"}
    if isinstance(value, datetime):
        return {"$": value.isoformat(), "type": "xsd:dateTime"}
    return json.dumps(_strict(value), sort_keys=True, ensure_ascii=False)


def attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """An attribute map in PROV-JSON form; `None` is left out."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None or value == ():
            continue
        if key in _TIMES:
            out[key] = value.isoformat()
        elif isinstance(value, tuple):
            many = [_value(v) for v in value]
            out[key] = many if len(many) > 1 else many[0]
        else:
            out[key] = _value(value)
    return out


def columns(record: Any) -> dict[str, Any]:
    """A record's columns as `lawloop:` attributes (`parameters_json` -> `lawloop:parameters`)."""
    out = {}
    for field in dataclasses.fields(record):
        if field.name not in _STRUCTURAL:
            head, *rest = field.name.removesuffix("_json").split("_")
            out["lawloop:" + head + "".join(w.title() for w in rest)] = getattr(
                record, field.name
            )
    return out
