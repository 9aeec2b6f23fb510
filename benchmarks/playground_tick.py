"""How long one training tick of ``chainrule playground`` takes (the target: < 50 ms).

A tick is what the page asks for 20 times a second while playing: ``k`` mini-batch
steps, then everything it redraws (the output surface on a 50x50 grid, each hidden
neuron's on 25x25, the weights, the loss curves, the gradient norms), encoded as JSON.
Three networks (tanh, Adam, batch 10, half the points to train unless said):

- the page's default: 2-4-4-1 (sigmoid + BCE) on 400 circles, 10 steps per tick;
- 2-8-8-1 on 500 circles (400 to train), 10 steps per tick;
- the largest the page allows: six hidden layers of 16 on 2,000 circles, 50 steps.

Two timings: the tick inside the server (train + view + JSON encoding), and a whole
HTTP round trip through the ASGI app (Starlette's TestClient, no network). The median
and the 95th percentile of the wall-clock time over the ticks are printed, and for the
tick inside the server also those of this process's CPU time (which other load on the
machine inflates much less than the wall-clock time). What the browser sees is measured
by ``tests/browser/test_playground_speed_browser.py`` (run with ``-s`` to see it).

Run:    python benchmarks/playground_tick.py [--ticks 200]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

from chainrule.playground import create_app
from chainrule.playground.session import Session

TANH = {"optimizer": "adam", "lr": 0.03, "batch_size": 10}
NETWORKS = [
    ("default 2-4-4-1, 400 points", {}, 10),
    (
        "2-8-8-1, 500 points",
        {
            "data": {"name": "circles", "n_points": 500, "train_ratio": 0.8, "noise": 0.1},
            "network": {"hidden": [8, 8], "activations": ["tanh", "tanh"], **TANH},
        },
        10,
    ),
    (
        "largest 6 x 16, 2000 points",
        {
            "data": {"name": "circles", "n_points": 2000},
            "network": {"hidden": [16] * 6, "activations": ["tanh"] * 6, **TANH},
        },
        50,
    ),
]


def in_process(config: dict, k: int, ticks: int) -> tuple[np.ndarray, np.ndarray]:
    session = Session()
    session.configure(config)
    wall, cpu = [], []
    for _ in range(ticks + 3):  # 3 to warm up
        t0, c0 = time.perf_counter(), time.process_time()
        session.train(k)
        json.dumps(session.tick_view())
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return np.array(wall[3:]) * 1e3, np.array(cpu[3:]) * 1e3


def over_http(config: dict, k: int, ticks: int) -> tuple[np.ndarray, None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    client = TestClient(create_app())
    sid = client.post("/api/session").json()["id"]
    client.post("/api/config", json={"id": sid, "config": config})
    times = []
    for _ in range(ticks + 3):
        t0 = time.perf_counter()
        r = client.post("/api/train", json={"id": sid, "steps": k})
        r.json()
        times.append(time.perf_counter() - t0)
    return np.array(times[3:]) * 1e3, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args()
    print(f"milliseconds per tick; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{'network':<28} {'steps':>5}  {'where':<12} {'median':>7} {'p95':>7} "
        f"{'CPU med':>7} {'CPU p95':>7}"
    )
    for label, config, k in NETWORKS:
        for where, fn in (("in process", in_process), ("HTTP (ASGI)", over_http)):
            t, cpu = fn(config, k, args.ticks)
            cpu_text = (
                f"{np.median(cpu):7.2f} {np.percentile(cpu, 95):7.2f}" if cpu is not None else ""
            )
            print(
                f"{label:<28} {k:>5}  {where:<12} {np.median(t):7.2f} "
                f"{np.percentile(t, 95):7.2f} {cpu_text}"
            )
    print("target: under 50 ms per tick (20 updates per second)")


if __name__ == "__main__":
    main()
