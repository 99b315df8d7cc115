"""The console's pages are one document each: an id used twice makes
`getElementById` find the first, and one view's handler lands on another's
element (a WhatsApp picker once took the admin template form's id, and
saving a template reloaded the page instead)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "agent_ui" / "static"


@pytest.mark.parametrize("page", sorted(p.name for p in STATIC.glob("*.html")))
def test_every_id_on_a_page_is_unique(page: str) -> None:
    ids = Counter(re.findall(r'\bid="([^"]+)"', (STATIC / page).read_text()))
    assert [i for i, n in ids.items() if n > 1] == []
