"""Helpers shared by the flow and bulk job tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import SANDBOX_SID, Api, create_org

QUIET_S = 1.5  # a bounded "nothing more happens" window


@pytest.fixture
def clients() -> Iterator[Callable[..., Api]]:
    """``clients(url, api_key=None, **org)``: an org client (a new org unless a key is given)."""
    made: list[Api] = []

    def make(url: str, api_key: str | None = None, **org: Any) -> Api:
        created = create_org(url, **org) if api_key is None else {"api_key": api_key}
        client = Api(url, created["api_key"])
        client.org = created  # type: ignore[attr-defined]
        made.append(client)
        return client

    yield make
    for client in made:
        client.http.close()


def sent_to(sandbox, number: str) -> int:  # type: ignore[no-untyped-def]
    """Messages the provider received for one number."""
    return len(sandbox.state.list_messages(SANDBOX_SID, to=number))
