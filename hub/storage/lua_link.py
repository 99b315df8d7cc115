"""Only the library definitions a script uses.

Redis runs a script's whole source at every call: each ``local function`` of
the libraries a script requires (lib.lua, routing_lib.lua...) is made again
each time, called or not. With all of routing_lib that was 10-20 µs of Redis
CPU per call, a fifth of a status callback's script. ``link`` keeps the
top-level definitions the script reaches, directly or through other kept
definitions, in their order (so a forward declaration stays before its use).

A library is a sequence of top-level statements, each starting at column 0
(``local function f(...)``, ``local A, B = ...``, ``local f`` and a later
``f = function(...)``); indented lines, comments and closing ``end``/``}``
belong to the statement above. A top-level line of another shape is an
error here, so a library edit that this reading would get wrong fails at
load, in every test, not in one script at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LOCAL = re.compile(r"^local\s+(?:function\s+(\w+)|([\w\s,]+?)\s*(?:=|$))")
_ASSIGN = re.compile(r"^(\w+)\s*=")
# A name, or a field after a single dot (``KEY.conversation``: not the
# library's ``conversation``); ``..`` is concatenation.
_TOKEN = re.compile(r"\.\.|\.?[A-Za-z_]\w*")
# Lines at column 0 that continue the statement above.
_CONTINUES = ("--", "end", "}", ")")


@dataclass(frozen=True)
class Statement:
    names: frozenset[str]
    text: str


def statements(library: str) -> list[Statement]:
    """The top-level statements of a library, with the names each defines."""
    found: list[tuple[set[str], list[str]]] = []
    for line in library.splitlines():
        starts = line[:1] not in ("", " ", "\t") and not line.startswith(_CONTINUES)
        if not starts:
            if not found:
                found.append((set(), []))
            found[-1][1].append(line)
            continue
        local, assign = _LOCAL.match(line), _ASSIGN.match(line)
        if local:
            names = {local.group(1)} if local.group(1) else {n.strip() for n in local.group(2).split(",")}
        elif assign:
            names = {assign.group(1)}
        else:
            raise ValueError(f"a Lua library line this linker cannot read: {line!r}")
        found.append((names, [line]))
    return [Statement(frozenset(names), "\n".join(lines)) for names, lines in found]


def names_in(code: str) -> set[str]:
    """The names ``code`` mentions (comments and strings too: a name kept
    for nothing costs a little; one left out would fail the script)."""
    return {t for t in _TOKEN.findall(code) if not t.startswith(".")}


def link(libraries: list[str], body: str) -> str:
    """The libraries' statements that ``body`` needs, in order, then ``body``."""
    parts = [s for lib in libraries for s in statements(lib)]
    words = [names_in(s.text) for s in parts]
    keep = [False] * len(parts)
    wanted = names_in(body)
    changed = True
    while changed:
        changed = False
        for i, s in enumerate(parts):
            if not keep[i] and s.names & wanted:
                keep[i], changed = True, True
                wanted |= words[i]
    return "\n".join([*(s.text for s, k in zip(parts, keep) if k), body])
