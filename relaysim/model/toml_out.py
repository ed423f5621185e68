"""Write a scenario dict back as TOML (the standard library reads TOML but cannot write it).

Only what scenarios hold: tables of tables and arrays of tables at the top, inline tables
below them (distributions, tanks, windows, segments), strings, booleans, numbers, arrays.
`load_scenario` of the text gives back the same scenario (same hash).
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps_toml", "toml_comment"]


def _key(k: str) -> str:
    if k and all(c.isalnum() or c in "_-" for c in k):
        return k
    return json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        # JSON's escapes (\\, \", \n, \uXXXX) are TOML basic-string escapes too
        return json.dumps(v, ensure_ascii=True)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" \
            if v else "{}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _table_body(t: dict[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in t.items() if v is not None]


def dumps_toml(raw: dict[str, Any], header: str = "") -> str:
    """TOML text for a scenario dict; `header` lines come first (as comments)."""
    top, tables = [], []
    for k, v in raw.items():
        if isinstance(v, dict):
            tables += ["", f"[{_key(k)}]", *_table_body(v)]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                tables += ["", f"[[{_key(k)}]]", *_table_body(item)]
        elif v is not None:  # keys before the first table belong to the root
            top.append(f"{_key(k)} = {_value(v)}")
    lines = ([toml_comment(header), ""] if header else []) + top + tables
    return "\n".join(lines).strip("\n") + "\n"


def toml_comment(text: str) -> str:
    """`text` as TOML comment lines (control characters shown escaped, never a newline)."""
    out = []
    for line in text.splitlines() or [""]:
        safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
        out.append(f"# {safe}".rstrip())
    return "\n".join(out)
