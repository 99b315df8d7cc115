"""Time to push a CSV of contacts through `hub send` to the sandbox.

Run: .venv/bin/python bench/bulk.py [--contacts 100000] [--quick]

Starts its own redis-server, sandbox and hub on 127.0.0.1 as bench/outbound.py
does (with the same parts, bench/support/sending.py), measures its baseline in
the same run (a plain aiohttp loop posting the same number of messages
straight to the sandbox), then writes a CSV of distinct contacts and runs
`hub send FILE --config ID` as a child process. The hub's figure is end to end: from starting
`hub send` until the sandbox has received every message (the sandbox's
callbacks are off, as for the baseline). Checks that nothing was lost or sent
twice, and that the downloaded results hold one outcome per contact.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.org import make_phones  # noqa: E402
from bench.support.processes import Deadline  # noqa: E402
from bench.support.sending import Control, Env, Outcome, run_baseline, start_processes, verify  # noqa: E402


def write_csv(path: Path, phones: list[str]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["tocontactid", "channelid", "optin", "CustomerName", "CaseName", "entityrelationshipname", "state"]
        )
        for i, phone in enumerate(phones):
            writer.writerow([phone, "sms", "true", "Ada", f"CAS-{i}", "incident", "resolved"])


async def run_cli(
    ctl: Control, env: Env, phones: list[str], config_id: str, workdir: Path, deadline: Deadline
) -> Outcome:
    source, results = workdir / "contacts.csv", workdir / "results.csv"
    write_csv(source, phones)
    await ctl.set_callbacks(False)
    await ctl.reset_sandbox(deadline)
    argv = [
        sys.executable,
        "-m",
        "hub",
        "send",
        str(source),
        "--config",
        config_id,
        "--url",
        env.hub_url,
        "--api-key",
        ctl.api_key,
        "--results",
        str(results),
    ]
    started = time.perf_counter()
    with open(workdir / "hub-send.log", "wb") as log:
        child = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        done_at = None
        while True:
            created = (await ctl.stats())["created"]
            if created >= len(phones) and done_at is None:
                done_at = time.perf_counter()
            if done_at is not None and child.poll() is not None:
                break
            deadline.check()
            await asyncio.sleep(0.2)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    seconds = done_at - started
    outcome = Outcome("hub send CSV -> hub -> sandbox", len(phones), seconds)
    if child.returncode != 0:
        outcome.errors += 1
        outcome.notes.append(f"hub send exited {child.returncode}")
    with open(results, newline="") as f:
        rows = list(csv.DictReader(f))
    queued = sum(1 for r in rows if r["status"] == "queued")
    outcome.notes.append(f"results file: {len(rows)} rows, {queued} queued")
    if len(rows) != len(phones) or queued != len(phones):
        outcome.errors += 1
    await verify(ctl, phones, outcome)
    return outcome


async def run(env: Env, phones: list[str], workdir: Path, overall: Deadline) -> list[Outcome]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        ctl = Control(env, session)
        org = await ctl.setup(("bulk",))
        phase = max(240.0, len(phones) / 200)
        baseline = await run_baseline(ctl, phones, 128, Deadline(phase, "baseline", overall))
        print(f"baseline: {baseline.seconds:.2f}s, {baseline.rate:.0f} msgs/s", flush=True)
        bulk = await run_cli(ctl, env, phones, org.configs["bulk"], workdir, Deadline(phase, "hub send", overall))
        print(f"hub send: {bulk.seconds:.2f}s, {bulk.rate:.0f} msgs/s", flush=True)
        return [baseline, bulk]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--quick", action="store_true", help="10,000 contacts")
    args = p.parse_args()
    n = 10_000 if args.quick else args.contacts
    workdir = Path(tempfile.mkdtemp(prefix="hub-bulk-bench-"))
    env = Env(workdir)
    overall = Deadline(1800, "whole run")
    outcomes: list[Outcome] = []
    try:
        phones = make_phones(n)
        start_processes(env, argparse.Namespace(hubs=1, hub_env=[], profile="none"))
        outcomes = asyncio.run(run(env, phones, workdir, overall))
    finally:
        env.teardown()
    baseline = outcomes[0]
    print(
        f"\n{'scenario':34} {'contacts':>8} {'seconds':>8} {'msgs/s':>8} {'ratio':>6} "
        f"{'lost':>5} {'dup':>5} {'errors':>6}"
    )
    for o in outcomes:
        print(
            f"{o.name:34} {o.messages:>8} {o.seconds:>8.2f} {o.rate:>8.0f} "
            f"{o.rate / baseline.rate:>6.2f} {o.lost:>5} {o.duplicated:>5} {o.errors:>6}"
        )
        for note in o.notes:
            print(f"  {note}")
    print(f"(logs in {workdir}; {os.cpu_count()} CPUs shared by every process)")
    return 0 if all(o.errors == 0 and o.lost == 0 and o.duplicated == 0 for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
