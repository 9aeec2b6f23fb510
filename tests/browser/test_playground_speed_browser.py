"""How long a training tick takes as the page sees it, in Chromium (reported, not asserted:
the figures depend on the machine; ``benchmarks/playground_tick.py`` measures the server).

A tick is what the play loop does once: POST /api/train, parse the JSON answer, redraw
(the output surface, the network with each hidden neuron's surface, the curves). Each
figure is printed as median and 95th percentile over the ticks, for the default network
(2-4-4-1 on 400 circles, 10 steps per tick) and the largest (six hidden layers of 16
neurons on 2,000 points, 50 steps per tick).
"""

from __future__ import annotations

import pytest

TICKS = 60
LARGEST = {
    "data": {"name": "circles", "n_points": 2000},
    "network": {"hidden": [16] * 6, "activations": ["tanh"] * 6},
}

# Runs ``ticks`` ticks in the page: the round trip (fetch + JSON parse) and the redraw
# (applyTick, as the play loop calls it), each timed with performance.now().
TIMED_TICKS = """async ([steps, ticks]) => {
  const round = [], whole = [];
  for (let i = 0; i < ticks + 3; i++) {
    const t0 = performance.now();
    const tick = await api("/api/train", {steps});
    const t1 = performance.now();
    applyTick(tick);
    const t2 = performance.now();
    if (i >= 3) { round.push(t1 - t0); whole.push(t2 - t0); }  // 3 to warm up
  }
  return {round, whole};
}"""


def _percentiles(values: list[float]) -> str:
    values = sorted(values)
    median = values[len(values) // 2]
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"median {median:6.1f} ms, p95 {p95:6.1f} ms"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("label", "config", "steps"),
    [("default 2-4-4-1, 400 points", None, 10), ("largest 6 x 16, 2000 points", LARGEST, 50)],
)
def test_report_tick_timings_in_the_browser(page, label, config, steps):
    if config is not None:
        page.evaluate(
            "async (c) => { await setConfig((cfg) => { Object.assign(cfg.data, c.data); "
            "Object.assign(cfg.network, c.network); }); }",
            config,
        )
        page.wait_for_function("window.playground.view.network.sizes.length === 8")
    times = page.evaluate(TIMED_TICKS, [steps, TICKS])
    assert len(times["whole"]) == TICKS
    print(
        f"\n{label}, {steps} steps per tick, {TICKS} ticks in Chromium:\n"
        f"  request + JSON parse   {_percentiles(times['round'])}\n"
        f"  ... + redraw           {_percentiles(times['whole'])}"
    )
