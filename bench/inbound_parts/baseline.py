"""The baseline: a bare Starlette app on uvicorn (bench/support/bare_starlette.py,
the hub's server settings) reading the same webhooks, with `request.form()`
and with `parse_qsl`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.support.measure import wait_quiet
from bench.support.org import PhonePool
from bench.support.processes import HOST, Deadline, free_port, wait_http

from .hub_control import children
from .loadgen import run_load, webhook_items
from .phases import Phase


async def run_baseline(workdir: Path, args: argparse.Namespace, phones: PhonePool, deadline: Deadline) -> list[Phase]:
    port = free_port()
    child = children.start(
        "baseline",
        [sys.executable, "-m", "bench.support.bare_starlette", str(port)],
        workdir / "baseline.log",
        nofile=True,
    )
    phases = []
    try:
        url = f"http://{HOST}:{port}"
        wait_http(url + "/ping", Deadline(30, "baseline start", deadline), child)
        customers = phones.take(1000)
        for variant, label in (("form", "await request.form()"), ("qsl", "parse_qsl(await request.body())")):
            items = [
                (f"/{variant}/CH0/inbound", params)
                for _, params in webhook_items("CH0", "base", customers, args.baseline_requests)
            ]
            warm = items[: min(500, len(items))]
            await run_load(
                workdir,
                f"baseline-{variant}-warm",
                url,
                url,
                warm,
                args,
                Deadline(120, "baseline warm-up", deadline),
                {"server": child.pid},
            )
            note = await wait_quiet([child.pid], args.quiet_wait)
            print(f"baseline {label}: {len(items)} requests, {args.concurrency} in flight", flush=True)
            result, cpu, _ = await run_load(
                workdir,
                f"baseline-{variant}",
                url,
                url,
                items,
                args,
                Deadline(args.phase_timeout, "baseline", deadline),
                {"server": child.pid},
            )
            p = Phase(
                f"bare Starlette, {label}",
                sent=len(items),
                ok=result.ok,
                seconds=result.seconds,
                http_ms=result.http_latencies_ms(),
                cpu=cpu,
            )
            if result.failed:
                p.notes.append(f"failed: {result.status_summary()}")
            if note:
                p.notes.append(note)
            print(f"  {p.rate:.0f} requests/s", flush=True)
            phases.append(p)
    finally:
        children.stop(child)
    return phases
