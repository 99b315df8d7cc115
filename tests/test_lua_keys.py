"""hub/storage/keys.py names every key, the Lua scripts' included: a script
builds a key only through the ``KEY`` table generated from keys.py, never by
gluing a suffix to the org prefix itself."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import redis

from hub.storage import keys
from hub.storage.redis import lua_keys, script_source

SCRIPTS = Path(__file__).resolve().parent.parent / "hub" / "storage" / "scripts"
LIBRARIES = {"lib", "routing_lib", "accept_lib"}


def code_of(path: Path) -> str:
    """The script without its comments (which may quote key shapes)."""
    return "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())


def literals(code: str) -> list[str]:
    return [a or b for a, b in re.findall(r"'([^'\\]*)'|\"([^\"\\]*)\"", code)]


@pytest.mark.parametrize("path", sorted(SCRIPTS.glob("*.lua")), ids=lambda p: p.name)
def test_scripts_build_no_key_of_their_own(path: Path) -> None:
    code = code_of(path)
    # A lone ':' separates the parts of a timeline member ('msg:<conv>:<id>'), not of a key.
    suffixes = [s for s in literals(code) if re.match(r":\w", s)]
    assert suffixes == [], f"{path.name} glues key suffixes {suffixes}: use KEY.<name> (hub/storage/keys.py)"
    assert "table.concat" not in code or "':'" not in code, f"{path.name} joins a key from parts"
    assert not re.search(r"\bprefix\s*\.\.|\.\.\s*prefix\b", code), f"{path.name} concatenates the org prefix"


@pytest.mark.parametrize("name", sorted(p.stem for p in SCRIPTS.glob("*.lua") if p.stem not in LIBRARIES))
def test_every_key_a_script_calls_is_in_keys_py(name: str) -> None:
    """Loading a script fails on a ``KEY.<name>`` keys.py does not build."""
    source = script_source(name)
    used = set(re.findall(r"\bKEY\.(\w+)", source))
    assert used <= set(lua_keys())


def test_the_key_table_covers_every_per_org_key_lua_can_build() -> None:
    built = set(lua_keys())
    per_org = {
        n
        for n, f in inspect.getmembers(keys, inspect.isfunction)
        if list(inspect.signature(f).parameters)[:1] == ["org_id"] and n not in ("org_prefix", "slot")
    }
    # agent_email lowercases its argument: Lua has no twin of it (and needs none).
    assert per_org - built == {"agent_email"}
    for needed in ("provider_message", "early_callbacks", "last_outbound", "inbound_message", "contact"):
        assert needed in built
        assert needed in per_org


def test_keys_built_in_lua_are_keys_py_keys(r: redis.Redis) -> None:
    """Each generated builder, run by the real redis-server, gives the key keys.py gives."""
    org = "org_7Qx"
    values = ["ch_1", "+886912345678", "3"]
    for name, fn in sorted(lua_keys().items()):
        python = getattr(keys, name)
        args = values[: len(inspect.signature(python).parameters) - 1]
        params = ", ".join(f"ARGV[{i + 2}]" for i in range(len(args)))
        lua = f"local KEY = {{{name} = {fn}}}\nreturn KEY.{name}(ARGV[1]{', ' if args else ''}{params})"
        answer = r.eval(lua, 0, keys.org_prefix(org), *args)
        assert (answer.decode() if isinstance(answer, bytes) else answer) == python(org, *args), name
