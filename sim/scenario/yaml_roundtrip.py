"""Edit a scenario's YAML text by parameter path, keeping everything else of the file: comments, key order,
quoting and block scalars (ruamel.yaml's round-trip mode).

The dashboard saves a user's edits this way, so a file written by hand keeps its sourcing comments. Paths are
the dotted parameter paths of `negsim params` (`actors.russia.positions.expansion`, `protocol.max_rounds`);
list items are addressed by their id. A value of None removes the key (a red line switched off).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, MutableMapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap


class RoundTripError(ValueError):
    """The text cannot be edited in place (not a YAML mapping, a path through something that is no mapping)."""


def _yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap the file's long lines
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _child(node: Any, key: str, create: bool) -> Any:
    """The item `key` of a mapping, or the list item whose id is `key`; an empty mapping is made if asked."""
    if isinstance(node, list):
        for item in node:
            if isinstance(item, Mapping) and str(item.get("id")) == key:
                return item
        raise RoundTripError(f"no item with id {key!r}")
    if not isinstance(node, MutableMapping):
        raise RoundTripError(f"{key!r} is inside something that is not a mapping")
    if key not in node:
        if not create:
            return None
        node[key] = CommentedMap()
    return node[key]


def set_path(doc: Any, path: str, value: Any) -> None:
    """Set (or, with None, remove) one parameter path in a round-trip document."""
    *parents, last = path.split(".")
    node, chain = doc, []
    for part in parents:
        chain.append((node, part))
        node = _child(node, part, create=value is not None)
        if node is None:  # removing something the file never had
            return
    if isinstance(node, list) or not isinstance(node, MutableMapping):
        raise RoundTripError(f"{path}: its parent is not a mapping")
    if value is None:
        node.pop(last, None)
        # the last red line gone: no `red_lines: {}`
        if not node and chain and isinstance(chain[-1][0], MutableMapping):
            chain[-1][0].pop(chain[-1][1], None)
        return
    old = node.get(last)
    if isinstance(value, float) and value.is_integer() and isinstance(old, int) and not isinstance(old, bool):
        value = int(value)  # the file wrote 100, a slider gives 60.0: keep the file's style
    node[last] = value


def edit_text(text: str, changes: Mapping[str, Any]) -> str:
    """The YAML `text` with each parameter path in `changes` set to its value (None: removed); nothing else of
    the text changes. Raises RoundTripError when the text is no YAML mapping or a path does not fit it."""
    rt = _yaml()
    try:
        doc = rt.load(text)
    except Exception as error:  # noqa: BLE001 - any parser error means: cannot edit in place
        raise RoundTripError(f"not readable YAML ({type(error).__name__})") from None
    if not isinstance(doc, Mapping):
        raise RoundTripError("the document is not a mapping")
    for path, value in changes.items():
        set_path(doc, path, value)
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()
