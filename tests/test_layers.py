"""The architecture, checked: pure domain code does no I/O, and each outside
library stays behind its one boundary."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IO_LIBRARIES = {"redis", "starlette", "twilio", "websockets", "aiohttp", "httpx", "uvicorn", "telesign"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("hub/domain"), ids=lambda p: p.name)
def test_domain_modules_do_no_io(path: Path) -> None:
    assert not imports_of(path) & IO_LIBRARIES


@pytest.mark.parametrize("path", modules("hub", "agent_ui"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_twilio_library_stays_in_its_adapter(path: Path) -> None:
    allowed = ("hub/providers/", "hub/sandbox/")
    if not str(path.relative_to(ROOT)).startswith(allowed):
        assert "twilio" not in imports_of(path)


# Redis is reached through hub/storage: its stores name the keys and call the
# scripts. Besides it, these import redis: the composition root (hub/app.py
# connects, and tells Redis' errors apart at the HTTP edge), the development
# server it may start (hub/embedded_redis.py), and the Hub context
# (hub/services/context.py), which holds the one client to build every store
# over it. Benchmarks and tests look at Redis themselves and are not checked.
REDIS_IMPORTERS = ("hub/storage/", "hub/app.py", "hub/embedded_redis.py", "hub/services/context.py")
# Who may reach for the client (``hub.redis``) outside hub/storage: the Hub
# context builds every store over it, once; the demo, which builds a Hub of
# its own, closes it. Nothing else calls it or hands it on (a store built per
# call, say): each read and change is a method of a store on the Hub.
REDIS_HOLDERS = ("hub/storage/", "hub/services/context.py", "hub/demo.py")


def redis_client_uses(path: Path) -> list[str]:
    """Uses of something's ``redis`` attribute, as ``hub.redis.get(…)`` or ``Store(hub.redis)``."""
    tree = ast.parse(path.read_text())
    return [
        f"line {node.lineno}: .redis"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "redis"
    ]


def scripts_used(path: Path) -> list[str]:
    """Uses of a ``scripts`` attribute (``hub.scripts``: the Lua scripts, loaded)."""
    tree = ast.parse(path.read_text())
    return [
        f"line {node.lineno}: .scripts"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "scripts"
    ]


@pytest.mark.parametrize("path", modules("hub"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_storage_talks_to_redis(path: Path) -> None:
    where = str(path.relative_to(ROOT))
    if not where.startswith(REDIS_IMPORTERS):
        assert "redis" not in imports_of(path)
    if not where.startswith(REDIS_HOLDERS):
        assert redis_client_uses(path) == []
    # Every script is called through a typed method of a store; the Hub
    # context hands the loaded scripts to the stores it builds.
    if not where.startswith(("hub/storage/", "hub/services/context.py")):
        assert scripts_used(path) == []


def hub_imports_of(path: Path) -> set[str]:
    """The hub packages a module imports, as ``hub.storage`` or ``hub.errors``."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            else []
        )
        found |= {".".join(name.split(".")[:2]) for name in names if name.startswith("hub.")}
    return found


# The arrows point one way, inward: the composition root (hub/app.py, the CLI)
# builds everything; the edges (HTTP handlers, webhooks, the agents' routing
# and websocket) call services; services call storage, providers and domain
# rules; storage never calls back up; domain rules import nothing of the hub
# but its error tree.
ROOT_AND_EDGES = {
    "hub.app",
    "hub.cli",
    "hub.supervisor",
    "hub.demo",
    "hub.__main__",
    "hub.api",
    "hub.routing",
    "hub.webhooks",
    "hub.sandbox",
}


@pytest.mark.parametrize(
    "path", modules("hub/storage", "hub/services", "hub/providers"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_inner_layers_never_import_the_edges(path: Path) -> None:
    imported = hub_imports_of(path)
    assert not imported & ROOT_AND_EDGES
    if str(path.relative_to(ROOT)).startswith("hub/storage/"):
        assert not imported & {"hub.services", "hub.providers"}


@pytest.mark.parametrize("path", modules("hub/domain"), ids=lambda p: p.name)
def test_domain_rules_import_only_domain_rules_and_errors(path: Path) -> None:
    assert hub_imports_of(path) <= {"hub.domain", "hub.errors"}


@pytest.mark.parametrize(
    "path", modules("hub/routing", "hub/webhooks", "hub/api"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_edges_never_import_the_composition_root(path: Path) -> None:
    assert not hub_imports_of(path) & {"hub.app", "hub.cli", "hub.supervisor", "hub.__main__"}
