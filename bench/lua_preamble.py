"""What a script's libraries cost Redis at every call.

Redis runs a script's whole source at each EVALSHA, so every definition the
loader puts before a script's own code (the KEY table, the status tables,
lib.lua, routing_lib.lua...) is built again each time, used or not. For the
hub's hot scripts this prints Redis' CPU per call (INFO commandstats, the
best of several rounds) of the part before the script's own code, as the
loader builds it (only the definitions the script reaches,
hub/storage/lua_link.py) and with every library whole (as before that),
against ``return 1`` measured in the same run on the same redis-server.

Usage:
  .venv/bin/python bench/lua_preamble.py
  .venv/bin/python bench/lua_preamble.py --calls 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import resources
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.embedded_redis import EmbeddedRedis  # noqa: E402
from hub.storage.redis import script_parts, with_key_table  # noqa: E402
from hub.storage.redis import script_source as linked_source  # noqa: E402

HOT = ("apply_callback", "ingest_inbound", "reply_message", "mark_sending", "record_results", "accept_send")
SCRIPTS = resources.files("hub.storage") / "scripts"


def whole_source(name: str) -> str:
    """The script with every library it requires whole, as the loader built it before linking."""
    libraries, body = script_parts(name)
    return with_key_table("\n".join([*libraries, body]))


def preamble(source: str, name: str) -> str:
    """Everything before the script's own code, then ``return 1``."""
    body = (SCRIPTS / f"{name}.lua").read_text()
    return source[: source.rindex(body)] + "\nreturn 1\n"


def cost(r: redis.Redis, source: str, calls: int, rounds: int) -> float:
    """Redis' CPU per call, µs, the best of ``rounds``."""
    sha = r.script_load(source)
    best = float("inf")
    for _ in range(rounds):
        r.config_resetstat()
        for _ in range(calls):
            r.evalsha(sha, 0)
        best = min(best, float(r.info("commandstats")["cmdstat_evalsha"]["usec_per_call"]))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, EmbeddedRedis(Path(work)) as server:
        r = redis.Redis.from_url(server.url)
        base = cost(r, "return 1", args.calls, args.rounds)
        print(f"baseline `return 1`: {base:.2f} µs per call\n")
        print(f"{'script':<16} {'whole libraries':>16} {'linked':>8} {'saved':>7}   (µs of Redis CPU per call)")
        for name in HOT:
            whole = cost(r, preamble(whole_source(name), name), args.calls, args.rounds)
            linked = cost(r, preamble(linked_source(name), name), args.calls, args.rounds)
            print(f"{name:<16} {whole:>16.2f} {linked:>8.2f} {whole - linked:>7.2f}")
        print(f"\n(in units of the baseline: divide by {base:.2f})")
        r.close()


if __name__ == "__main__":
    main()
