"""How deeply a parsed JSON document nests. Pure: no Django, usable by the file parsers.

Walked with a stack, not by recursion, so a document nested as deeply as the decoder allows
cannot exhaust Python's stack here; the code that handles it afterwards (flattening,
serialising) may recurse, hence the limits at the doors.
"""

from __future__ import annotations

from typing import Any


def json_depth(document: Any, *, stop_above: int | None = None) -> int:
    """The nesting depth of ``document`` (a scalar 0, ``[]`` or ``{}`` 1, ``[[1]]`` 2...);
    with ``stop_above``, stops as soon as the depth exceeds it and returns that depth."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if stop_above is not None and deepest > stop_above:
                return deepest
        stack.extend((child, depth) for child in children
                     if isinstance(child, (dict, list)))
    return deepest
