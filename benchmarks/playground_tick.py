"""How long one training tick of ``chainrule playground`` takes (the target: < 50 ms).

A tick is what the page asks for 20 times a second while playing: ``k`` mini-batch
steps, then everything it redraws (the output surface and each hidden neuron's on a
50x50 grid, the weights, the loss curves, the gradient norms), encoded as JSON. The
network is 2-8-8-1 (tanh, sigmoid + binary cross-entropy, Adam) on 500 points of the
circles set (400 to train), batch 10.

Two timings: the tick inside the server (train + view + JSON encoding), and a whole
HTTP round trip through the ASGI app (Starlette's TestClient, no network). The median
and the 95th percentile of the wall-clock time over the ticks are printed, per k, and
for the tick inside the server also the median CPU time of this process (which other
load on the machine inflates much less than the wall-clock time).

Run:    python benchmarks/playground_tick.py [--ticks 200]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from chainrule.playground import create_app
from chainrule.playground.session import Session

CONFIG = {
    "data": {"name": "circles", "n_points": 500, "train_ratio": 0.8, "noise": 0.1},
    "network": {
        "hidden": [8, 8],
        "activations": ["tanh", "tanh"],
        "output": "sigmoid",
        "loss": "bce",
        "optimizer": "adam",
        "lr": 0.03,
        "batch_size": 10,
    },
}


def in_process(k: int, ticks: int) -> tuple[np.ndarray, np.ndarray]:
    session = Session()
    session.configure(CONFIG)
    wall, cpu = [], []
    for _ in range(ticks):
        t0, c0 = time.perf_counter(), time.process_time()
        session.train(k)
        json.dumps(session.tick_view())
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return np.array(wall) * 1e3, np.array(cpu) * 1e3


def over_http(k: int, ticks: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    client = TestClient(create_app())
    sid = client.post("/api/session").json()["id"]
    client.post("/api/config", json={"id": sid, "config": CONFIG})
    times = []
    for _ in range(ticks):
        t0 = time.perf_counter()
        r = client.post("/api/train", json={"id": sid, "steps": k})
        r.json()
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1e3, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args()
    print("2-8-8-1 on 500 points (400 train), batch 10; milliseconds per tick")
    print(f"{'steps/tick':>10}  {'where':<12} {'median':>8} {'p95':>8} {'max':>8} {'CPU':>8}")
    for k in (1, 10, 40):
        for where, fn in (("in process", in_process), ("HTTP (ASGI)", over_http)):
            t, cpu = fn(k, args.ticks)
            cpu_text = f"{np.median(cpu):8.2f}" if cpu is not None else f"{'':>8}"
            print(
                f"{k:>10}  {where:<12} {np.median(t):8.2f} {np.percentile(t, 95):8.2f} "
                f"{t.max():8.2f} {cpu_text}"
            )
    print("target: under 50 ms per tick (20 updates per second)")


if __name__ == "__main__":
    main()
