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


@pytest.mark.parametrize("path", modules("hub", "routing", "webhooks", "agent_ui"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_twilio_library_stays_in_its_adapter(path: Path) -> None:
    allowed = ("hub/providers/", "hub/sandbox/")
    if not str(path.relative_to(ROOT)).startswith(allowed):
        assert "twilio" not in imports_of(path)
