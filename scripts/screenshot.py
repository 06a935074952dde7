"""Screenshot a page (the Temporal Web UI) with headless Chromium, waiting in real time.

    .venv/bin/python scripts/screenshot.py <url> <file.png> [seconds]

Chromium's own `--screenshot` waits for the page to settle, which a running workflow's page,
polled by the Web UI, never does; this drives Chromium over its DevTools protocol instead:
open the page, wait, capture. Needs `chromium` on the PATH (`apt install chromium`).
"""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def screenshot(url: str, out: Path, wait: float = 6.0, size: str = "1500,1000") -> None:
    port = free_port()
    browser = subprocess.Popen(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={size}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            pages = await _pages(http, port)
            target = next(page for page in pages if page["type"] == "page")
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                calls = 0

                async def call(method: str, **params: Any) -> dict[str, Any]:
                    nonlocal calls
                    calls += 1
                    await ws.send_json({"id": calls, "method": method, "params": params})
                    while True:
                        message = await ws.receive_json()
                        if message.get("id") == calls:
                            return dict(message.get("result", {}))

                await call("Page.enable")
                await call("Page.navigate", url=url)
                await asyncio.sleep(wait)
                shot = await call("Page.captureScreenshot", format="png")
                out.write_bytes(base64.b64decode(shot["data"]))
    finally:
        browser.kill()
        browser.wait()


async def _pages(http: aiohttp.ClientSession, port: int) -> list[dict[str, Any]]:
    for _ in range(100):  # Chromium takes a moment to listen
        try:
            async with http.get(f"http://127.0.0.1:{port}/json") as response:
                return list(await response.json())
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise RuntimeError("chromium did not start its DevTools endpoint")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 6.0
    asyncio.run(screenshot(sys.argv[1], Path(sys.argv[2]), seconds))
    print(f"saved {sys.argv[2]}")
