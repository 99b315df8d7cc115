"""A script carries only the library definitions it reaches
(hub/storage/lua_link.py): Redis builds every one of them again at each call."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.storage.lua_link import link, names_in, statements
from hub.storage.redis import script_source

SCRIPTS = Path(__file__).resolve().parent.parent / "hub" / "storage" / "scripts"
LIBRARIES = ("lib", "routing_lib", "accept_lib")

LIBRARY = """-- a library
local COUNT = 0
local function used(x)
  -- a comment at column 0 inside a function stays with it
  return helper(x)
end
local function helper(x) return x + COUNT end
local function unused() return 1 end
local later
local function calls_later() return later() end
later = function()
  return 2
end
local A, B = {}, {
}
"""


def test_a_script_gets_what_it_reaches_in_the_librarys_order() -> None:
    linked = link([LIBRARY], "return used(1)")
    assert "local function unused" not in linked and "local A, B" not in linked
    assert linked.index("local COUNT") < linked.index("local function used") < linked.index("local function helper")
    assert linked.endswith("return used(1)")
    forward = link([LIBRARY], "return calls_later()")
    # The forward declaration, its use, and the assignment, in that order.
    assert forward.index("local later") < forward.index("calls_later()") < forward.index("later = function")
    assert "return 2\nend" in forward
    both = link([LIBRARY], "return A, B")
    assert "local A, B = {}, {\n}" in both and "used" not in both


def test_every_line_of_a_library_belongs_to_one_statement() -> None:
    parts = statements(LIBRARY)
    assert "\n".join(p.text for p in parts) == LIBRARY.rstrip("\n")
    assert [sorted(p.names) for p in parts] == [
        [],
        ["COUNT"],
        ["used"],
        ["helper"],
        ["unused"],
        ["later"],
        ["calls_later"],
        ["later"],
        ["A", "B"],
    ]


def test_a_field_is_not_a_name_but_a_concatenated_one_is() -> None:
    assert names_in("KEY.helper(p) .. used(x) ..helper") == {"KEY", "used", "x", "helper", "p"}
    assert "local function helper" not in link([LIBRARY], "return KEY.helper(p)")


def test_a_library_line_it_cannot_read_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot read"):
        statements("local function f() end\nredis.call('PING')\n")


def top_level_names(source: str) -> set[str]:
    return {n for s in statements(source) for n in s.names}


@pytest.mark.parametrize("name", sorted(p.stem for p in SCRIPTS.glob("*.lua") if p.stem not in LIBRARIES))
def test_each_script_defines_every_library_name_it_uses(name: str) -> None:
    library_names = set().union(*(top_level_names((SCRIPTS / f"{lib}.lua").read_text()) for lib in LIBRARIES))
    source = script_source(name)
    defined = re.findall(r"^local function (\w+)|^local ([\w ,]+?)\s*(?:=|$)", source, re.M)
    defined_names = {n.strip() for a, b in defined for n in (a or b).split(",")}
    # Past the KEY table, whose fields are key names, not library names.
    after_keys = source.split("\n}\n", 1)[1]
    code = "\n".join(line.split("--", 1)[0] for line in after_keys.splitlines())
    used = names_in(code) & library_names
    assert used <= defined_names, f"{name} uses {sorted(used - defined_names)} without their definitions"


def test_a_callback_carries_none_of_the_routing_it_does_not_do() -> None:
    source = script_source("apply_callback")
    for unused in ("drain", "assign", "pick_agent", "close_conversation", "set_offline"):
        assert not re.search(rf"\blocal function {unused}\b|\blocal {unused}\b", source), unused
    assert "local function set_message_status" in source and "local function apply_status" in source
