"""The supervisor page's PIN unlock in headless Chromium, against the HTTP API of a daemon with no
PBX (served from a thread), whose advisor's PIN was locked by wrong tries."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin.conftest import SUPERVISOR_TOKENS, Api, serving_api

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev dependency)")
expect = playwright_api.expect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium for tests/browser (.ci/run installs it)")
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.slow
WAIT_MS = 30_000  # a loaded machine: Chromium shares two cores with everything else
# expect() has its own default (5 s), which page.set_default_timeout does not change.
expect.set_options(timeout=WAIT_MS)


class ServedApi:
    """``serving_api`` on its own event loop in a thread, so the sync browser can drive it."""

    def __init__(self) -> None:
        self.api: Api | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serving_api() as api:
            self.api = api
            self._ready.set()
            await self._stop.wait()

    def start(self) -> Api:
        self._thread.start()
        assert self._ready.wait(30), "the HTTP API did not start within 30 s"
        assert self.api is not None
        return self.api

    def run(self, action: Any) -> Any:
        """Run ``action()`` on the server's loop (the daemon's objects are the loop's)."""
        assert self.loop is not None

        async def call() -> Any:
            return action()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(30)

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture
def served() -> Iterator[ServedApi]:
    server = ServedApi()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_supervisor_unlocks_a_locked_pin_from_the_page(served: ServedApi) -> None:
    """Bob's PIN is locked: his row says so with an unlock button; Sam clicks it, the page says
    it is done, the badge and the button go, and the daemon's lock is gone."""
    api = served.api
    assert api is not None
    locks = api.daemon.calls.features.pin_locks

    def lock_bob() -> None:
        for n in range(locks.limits.advisor_limit):
            locks.check("bob", "192.0.2.1", right=False, at=float(n))

    served.run(lock_bob)
    assert served.run(lambda: api.daemon.pin_locked("bob"))
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{api.base_url}/supervisor#token={SUPERVISOR_TOKENS['sam']}")
            rows = page.locator("#advisors tbody tr")
            bob = rows.filter(has_text="Bob Durand")
            expect(bob).to_contain_text("Code PIN bloqué")
            alice = rows.filter(has_text="Alice Martin")
            expect(alice).to_have_count(1)
            expect(alice.get_by_role("button", name="Débloquer le code PIN")).to_be_hidden()
            bob.get_by_role("button", name="Débloquer le code PIN").click()
            expect(page.locator("#message")).to_have_text("Bob Durand : code PIN débloqué.")
            expect(bob).not_to_contain_text("Code PIN bloqué")
            expect(bob.get_by_role("button", name="Débloquer le code PIN")).to_be_hidden()
            assert not served.run(lambda: api.daemon.pin_locked("bob"))
            assert errors == []
        finally:
            browser.close()
