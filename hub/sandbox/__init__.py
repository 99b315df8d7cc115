"""Sandbox provider: a simulated Twilio Messages API for demos, tests and benchmarks.

Standalone (tests, benchmarks)::

    app = build_sandbox_app(SandboxState())
    uvicorn.run(app, host="127.0.0.1", port=8100)   # lifespan opens/closes the session

Mounted inside the hub, e.g. ``Mount("/sandbox", app=sandbox_app)``: a mounted
app's lifespan never runs, so the callback session is created lazily on first
use and the host must close it on its own shutdown::

    await sandbox_app.state.callback_sender.aclose()

Point the twilio library at it with ``client.api.base_url = "<host>/sandbox"``.
Control endpoints live under ``/_sandbox/`` (accounts, rules, settings,
messages, stats, drain, replies); see ``hub.sandbox.app``. Standalone they are
open; mounted where tenants reach it, pass ``gate=`` and ``webhook_prefix=``
(see ``hub.sandbox.access``).

It speaks TeleSign's SMS API too (``/v1/messaging``, TSA-signed; accounts and
simulated customer replies under ``/_sandbox/telesign/``); see
``hub.sandbox.telesign``.
"""

from hub.sandbox.app import build_sandbox_app
from hub.sandbox.callbacks import CallbackSender
from hub.sandbox.state import RuleOutcome, SandboxState, StoredMessage

__all__ = ["CallbackSender", "RuleOutcome", "SandboxState", "StoredMessage", "build_sandbox_app"]
