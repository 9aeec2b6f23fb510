"""Start and stop ``chainrule playground`` for the browser tests; save screenshots."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*extra: str) -> tuple[subprocess.Popen, str]:
    """``chainrule playground`` in a subprocess; returns it and its URL once it answers."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chainrule",
            "playground",
            "--no-browser",
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return proc, _answering(proc, port, "the playground server")


def start_static_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """``python -m http.server`` serving ``folder`` on 127.0.0.1; returns it and its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, _answering(proc, port, f"the static server of {folder}")


def _answering(proc: subprocess.Popen, port: int, what: str) -> str:
    """The server's URL once it answers; stops it and raises if it exits or is silent."""
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"{what} exited: {out}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return url
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"{what} did not answer within 30 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server we started, by its pid."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


def shot(tab, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
