"""Reading scenario files that a careless or hostile user may hand over, without hanging, tracebacks or tricks.

`sim.scenario` turns files into validated scenarios; this module is the part in front of the schema:

- `read_file`: regular files only (a FIFO, device or /dev/zero symlink is refused, never read), opened without
  blocking and read with a bound from the open file itself, so no stat-then-read race;
- `parse_json` / `parse_yaml`: nesting depth bounded before the recursive part of parsing runs, duplicate keys an
  error, only finite numbers, no runaway digit strings;
- `document_problems`: what no schema field sees on its own: too many values (YAML aliases count each time
  they are used), text fields over their length limit, numbers that are not finite or beyond +-1e15;
- `for_terminal`: user text made safe to print (control characters and bidi overrides shown escaped).

Every problem is an `InputError` (a ValueError) with a message and, where known, the dotted path of the field;
`sim.scenario` turns them into its `ScenarioError`. Nothing here imports the schema.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 2_000_000
"""Scenario files larger than this are refused before parsing (a scenario is a few KB)."""
MAX_DEPTH = 32
"""Deepest nesting of lists and mappings in a document (a scenario needs about 6)."""
MAX_VALUES = 200_000
"""Most values (scalars, lists, mappings) in a document; a YAML alias counts its target again each time."""
MAX_SHORT_TEXT = 200
"""Longest title, name, label, unit, id or key, in characters."""
MAX_LONG_TEXT = 20_000
"""Longest free text (descriptions, sources, backgrounds, briefs, goals), in characters."""
LONG_TEXT_KEYS = frozenset({"description", "source", "background", "public", "confidential", "goals"})
MAX_MAGNITUDE = 1e15
"""Largest absolute value of any number: beyond it, scale spans and differences lose their precision."""
MAX_MAGNITUDE_TEXT = f"{MAX_MAGNITUDE:.0e}".replace("e+", "e")
MAX_DIGITS = 40
"""Longest run of digits in an integer literal (Python refuses beyond 4,300 with a traceback)."""


class InputError(ValueError):
    """A problem with the input as a whole or at one field (`path`, dotted, list items by id)."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.message = message
        self.path = path


# ====================================================================== files
def read_file(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else raises InputError."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)   # a FIFO opens at once
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError("file not found") from None
    except IsADirectoryError:
        raise InputError("is a directory, not a scenario file") from None
    except OSError as error:
        raise InputError(f"cannot open: {error.strerror or error}") from None
    try:
        mode = os.fstat(fd).st_mode     # of the file opened, not of whatever the name points to by now
        if stat.S_ISDIR(mode):
            raise InputError("is a directory, not a scenario file")
        if not stat.S_ISREG(mode):
            kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
            raise InputError(f"not a regular file ({kind})")
        chunks, size = [], 0
        while size <= limit:      # bounded: a file growing while it is read stops at the limit
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > limit:
        raise InputError(f"file too large (over {limit:,} bytes, the limit)")
    return raw


# ====================================================================== JSON
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _json_depth_check(text: str) -> None:
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels "
                                 f"(at line {_line_of(text, match.start())})")
        elif token in "]}":
            depth -= 1


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"JSON object has the key {key[:MAX_SHORT_TEXT]!r} twice")
        out[key] = value
    return out


def _no_constant(name: str) -> float:
    raise InputError(f"JSON holds {name}: numbers must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"JSON number {text[:MAX_DIGITS]} is out of range (numbers must be finite)")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise InputError(f"JSON number {text[:MAX_DIGITS]}... has more than {MAX_DIGITS} digits")
    return int(text)


def parse_json(text: str) -> Any:
    """A JSON document: depth checked first, duplicate keys and non-finite numbers refused."""
    _json_depth_check(text)
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant,
                          parse_float=_finite_float, parse_int=_bounded_int)
    except json.JSONDecodeError as err:
        raise InputError(f"JSON syntax error at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except RecursionError:      # pragma: no cover - the depth check comes first
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels") from None


# ====================================================================== YAML
_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)     # libyaml: ~5x faster on large files
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(_BASE_LOADER):
    """The safe loader, refusing a key given twice in one mapping (merge keys `<<` may still be overridden)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise InputError(f"YAML mapping has the key {str(key)[:MAX_SHORT_TEXT]!r} twice (at lines "
                                     f"{seen[key].start_mark.line + 1} and {key_node.start_mark.line + 1})")
                seen[key] = key_node
        return super().construct_mapping(node, deep)


# YAML reads 2022-02-24 as a date, JSON as text: both reach the schema as text (it parses dates itself), so a
# document reads the same whatever its format, and can always be written as JSON.
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def _yaml_depth_check(text: str) -> None:
    """Walk the parser's events (no recursion) before the composer (recursive) builds the tree."""
    depth = values = 0
    for event in yaml.parse(text, Loader=_BASE_LOADER):
        if isinstance(event, yaml.NodeEvent):
            values += 1
            if values > MAX_VALUES:
                raise InputError(f"document too large: more than {MAX_VALUES:,} values")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise InputError(f"YAML nested deeper than {MAX_DEPTH} levels (at line {line})")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_yaml(text: str) -> Any:
    """A YAML document (safe tags only): depth checked first, duplicate keys refused."""
    try:
        _yaml_depth_check(text)
        return yaml.load(text, Loader=_StrictLoader)    # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(f"YAML syntax error{where}: {what}") from None
    except (ValueError, OverflowError, TypeError) as err:
        if isinstance(err, InputError):
            raise
        # e.g. an integer of 5,000 digits or a date like 2021-13-45: the safe constructor's own checks
        raise InputError(f"YAML value cannot be read: {str(err).splitlines()[0][:MAX_SHORT_TEXT]}") from None


# ====================================================================== the document
def _text_limit(key: Any) -> int:
    """By the field's name; a dotted parameter path (`actors.us.brief.public`) counts by its last part."""
    name = key.rsplit(".", 1)[-1] if isinstance(key, str) else key
    return MAX_LONG_TEXT if name in LONG_TEXT_KEYS else MAX_SHORT_TEXT


def _walk(doc: Any) -> Iterator[tuple[str, Any, Any]]:
    """(path, key, value) for every value, depth first, without recursion; list items by id where they have one.
    Raises InputError past MAX_VALUES or MAX_DEPTH."""
    stack: list[tuple[str, Any, Any, int]] = [("", None, doc, 0)]
    seen = 0
    while stack:
        path, key, value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise InputError(f"document too large: more than {MAX_VALUES:,} values "
                             "(a YAML alias counts its target each time it is used)")
        if depth > MAX_DEPTH:
            raise InputError(f"nested deeper than {MAX_DEPTH} levels", path)
        yield path, key, value
        prefix = f"{path}." if path else ""
        if isinstance(value, Mapping):
            for child_key, child in reversed(list(value.items())):
                stack.append((f"{prefix}{child_key}", child_key, child, depth + 1))
        elif isinstance(value, list):
            for index in reversed(range(len(value))):
                child = value[index]
                item_id = child.get("id") if isinstance(child, Mapping) else None
                name = item_id if isinstance(item_id, str) and item_id and len(item_id) <= MAX_SHORT_TEXT else index
                stack.append((f"{prefix}{name}", key, child, depth + 1))


_SURROGATE = re.compile("[\ud800-\udfff]")


def surrogate_problem(text: str) -> str | None:
    """What is wrong with a text holding a lone surrogate (a JSON escape such as \\ud800 without its pair), or
    None when it holds none."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (f"a lone surrogate \\u{ord(found.group()):04x} (half of a UTF-16 pair, not a character; it cannot be "
            f"printed or saved) - remove it or write the whole character")


def allow_csv_fields(limit: int) -> None:
    """Let the csv module read fields as long as the file limit (its default is 131,072 characters, and a longer
    field raises `_csv.Error` instead of reaching the checks that give one line)."""
    import csv

    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


def document_problems(doc: Any) -> list[InputError]:
    """Problems of size, text length and number range anywhere in a document (a dict from any source)."""
    problems: list[InputError] = []
    for path, key, value in _walk(doc):
        if isinstance(value, Mapping):
            for child_key in value:
                if isinstance(child_key, str) and len(child_key) > MAX_SHORT_TEXT:
                    problems.append(InputError(f"key longer than {MAX_SHORT_TEXT} characters "
                                               f"({len(child_key):,}): {child_key[:40]!r}...", path))
                elif isinstance(child_key, str) and (surrogate := surrogate_problem(child_key)):
                    problems.append(InputError(f"a key holds {surrogate}", path))
        elif isinstance(value, str):
            limit = _text_limit(key)
            if len(value) > limit:
                problems.append(InputError(f"text longer than {limit:,} characters (got {len(value):,})", path))
            elif surrogate := surrogate_problem(value):
                problems.append(InputError(f"the text holds {surrogate}", path))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, (int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(InputError(f"must be a finite number (got {value})", path))
            elif abs(value) > MAX_MAGNITUDE:
                problems.append(InputError(f"must be within ±{MAX_MAGNITUDE_TEXT} (got {float(value):g})", path))
        if len(problems) >= 20:     # enough to act on; a hostile file could hold millions
            break
    return problems


# ====================================================================== the terminal
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def for_terminal(text: str, newlines: bool = True) -> str:
    """Text as it may be printed: control characters (ESC sequences, carriage returns) and bidi overrides shown
    as escapes, so user text can neither restyle the terminal nor hide or reorder what is printed. Newlines and
    tabs stay unless `newlines` is False (one-line fields such as a title)."""
    escaped = _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    if not newlines:
        escaped = escaped.replace("\n", "\\n").replace("\t", " ")
    return escaped
