"""`hub send FILE --config ID`: a bulk job from the command line.

Uploads the file as it reads it, follows the job with a text progress bar on
stderr (redrawn in place with a carriage return), prints the final counts on
stdout and can save the per-contact outcomes. Ctrl+C cancels the job.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

TERMINAL = ("done", "failed", "canceled")
BAR_WIDTH = 30
READ_SIZE = 256 * 1024
CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    with path.open("rb") as f:
        start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if start.startswith(b"{") else "csv"


def progress_line(job: dict[str, Any]) -> str:
    total, done = job["total"] or 0, job["processed"] or 0
    share = done / total if total else 1.0
    filled = int(share * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    counts = " ".join(f"{k}={v}" for k, v in sorted(job["counts"].items()))
    line = f"[{bar}] {share * 100:5.1f}% {done}/{total} {job['status']}"
    if job.get("waiting"):
        line += f" (hourly limit reached, retrying in {job['retry_after']}s)"
    return f"{line} {counts}".rstrip()


class Progress:
    """One status line on stderr, redrawn in place."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.width = 0

    def draw(self, text: str) -> None:
        padding = " " * max(0, self.width - len(text))
        self.out.write("\r" + text + padding)
        self.out.flush()
        self.width = len(text)

    def end(self) -> None:
        if self.width:
            self.out.write("\n")
            self.out.flush()
            self.width = 0


def _upload(path: Path, progress: Progress) -> Iterator[bytes]:
    size = path.stat().st_size or 1
    sent = 0
    with path.open("rb") as f:
        while chunk := f.read(READ_SIZE):
            sent += len(chunk)
            progress.draw(f"uploading {path.name}: {sent * 100 // size}% ({sent}/{size} bytes)")
            yield chunk


def _error(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def send_file(
    path: Path,
    config_id: str,
    *,
    url: str,
    api_key: str,
    fmt: str | None = None,
    results: Path | None = None,
    poll_s: float = 0.5,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """0 when every contact got an outcome, 1 when the job failed or was canceled,
    2 when the upload was refused or the hub could not be reached, 130 on Ctrl+C
    during the upload (nothing was created)."""
    fmt = fmt or guess_format(path)
    progress = Progress(err)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": CONTENT_TYPES[fmt]}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=300) as http:
            try:
                response = http.post(
                    "/v1/bulk-jobs", params={"configuration_id": config_id}, content=_upload(path, progress)
                )
            except KeyboardInterrupt:
                progress.end()
                print("upload interrupted; no job was created", file=err)
                return 130
            progress.end()
            if response.status_code != 201:
                print(f"upload refused: {_error(response)}", file=err)
                return 2
            job = _follow(http, response.json(), progress, poll_s, err)
            _print_summary(job, out)
            if results is not None:
                _save_results(http, job["id"], results)
                print(f"results written to {results}", file=out)
    except httpx.HTTPError as exc:
        progress.end()
        print(f"cannot reach the hub at {url}: {exc}", file=err)
        return 2
    return 0 if job["status"] == "done" else 1


def _follow(http: httpx.Client, job: dict[str, Any], progress: Progress, poll_s: float, err: TextIO) -> dict[str, Any]:
    """Redraw the bar until the job ends; Ctrl+C cancels it."""
    print(f"job {job['id']}: {job['total']} contacts", file=err)
    try:
        while job["status"] not in TERMINAL:
            progress.draw(progress_line(job))
            time.sleep(poll_s)
            response = http.get(f"/v1/bulk-jobs/{job['id']}")
            if response.status_code == 200:
                job = response.json()
    except KeyboardInterrupt:
        progress.end()
        response = http.post(f"/v1/bulk-jobs/{job['id']}/cancel")
        print(f"canceled job {job['id']}", file=err)
        job = response.json() if response.status_code == 200 else job
    progress.draw(progress_line(job))
    progress.end()
    return job


def _save_results(http: httpx.Client, job_id: str, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        with http.stream("GET", f"/v1/bulk-jobs/{job_id}/results") as stream:
            for text in stream.iter_text():
                f.write(text)


def _print_summary(job: dict[str, Any], out: TextIO) -> None:
    print(f"job {job['id']} {job['status']}: {job['processed']} of {job['total']} contacts", file=out)
    for status, count in sorted(job["counts"].items()):
        print(f"  {status:<20} {count:>9}", file=out)
    if job.get("error"):
        print(f"  error: {job['error']['code']}: {job['error']['message']}", file=out)
