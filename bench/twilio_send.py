"""CPU per provider send, in this process, against the sandbox on loopback:
the twilio library's resource classes (``client.messages.create_async`` over
its own async HTTP client) against the hub's adapter (``TwilioProvider.send``:
``Client.request_async`` over the hub's transport). Rounds alternate so that
other work on the machine weighs on both alike; compare the minimums.

    python bench/twilio_send.py [--sends 3000] [--rounds 4] [--in-flight 100]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402
from twilio.http.async_http_client import AsyncTwilioHttpClient  # noqa: E402
from twilio.rest import Client  # noqa: E402

from hub.providers.base import OutboundMessage  # noqa: E402
from hub.providers.twilio import TwilioProvider  # noqa: E402

ACCOUNT, TOKEN = "ACbench", "token"
CALLBACK = "http://127.0.0.1:9/webhooks/twilio/ch_bench/status"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit("the sandbox did not start")


async def timed(send: Callable[[int], Awaitable[str]], sends: int, in_flight: int) -> float:
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> str:
        async with gate:
            return await send(i)

    started = time.process_time()
    sids = await asyncio.gather(*(one(i) for i in range(sends)))
    used = time.process_time() - started
    if not all(sids):
        raise SystemExit("a send came back without a sid")
    return used * 1000 / sends


async def main(sends: int, rounds: int, in_flight: int) -> None:
    port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "hub", "sandbox", "--port", str(port), "--account", f"{ACCOUNT}:{TOKEN}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_listening(port)
        library_http = AsyncTwilioHttpClient(timeout=10)
        library = Client(ACCOUNT, TOKEN, http_client=library_http)
        library.api.base_url = url
        adapter = TwilioProvider(ACCOUNT, TOKEN, base_url=url, timeout=10)

        def to(i: int) -> str:
            return f"+1415555{i % 10000:04d}"

        async def via_library(i: int) -> str:
            created = await library.messages.create_async(
                to=to(i), from_="+14155550000", body="Your case 123 is open", status_callback=CALLBACK
            )
            return str(created.sid)

        async def via_adapter(i: int) -> str:
            message = OutboundMessage(
                to=to(i), from_="+14155550000", body="Your case 123 is open", status_callback=CALLBACK
            )
            return (await adapter.send(message)).provider_id

        variants = {"twilio resource classes": via_library, "hub adapter": via_adapter}
        for send in variants.values():  # warm up connections and caches
            await timed(send, 300, in_flight)
        figures: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, send in variants.items():
                figures[name].append(await timed(send, sends, in_flight))
        base = min(figures["twilio resource classes"])
        print(f"{sends} sends per round, {in_flight} in flight; CPU of this process per send (ms):")
        for name, values in figures.items():
            rounds_text = " ".join(f"{v:.3f}" for v in values)
            print(f"  {name:<24} {rounds_text}   min {min(values):.3f}  ({min(values) / base:.2f})")
        await library_http.close()
        await adapter.aclose()
    finally:
        sandbox.terminate()
        sandbox.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--in-flight", type=int, default=100)
    args = parser.parse_args()
    uvloop.install()
    asyncio.run(main(args.sends, args.rounds, args.in_flight))
