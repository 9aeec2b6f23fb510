"""How long a training tick takes as the page sees it, in Chromium (reported, not asserted:
the figures depend on the machine; ``benchmarks/playground_tick.py`` measures the server).

A tick is what the play loop does once: POST /api/train, parse the JSON answer, redraw
(the output surface, the network with each hidden neuron's surface, the curves). The
server's share comes from the answer's ``Server-Timing`` header. Each
figure is printed as median and 95th percentile over the ticks, for the default network
(2-4-4-1 on 400 circles, 10 steps per tick) and the largest (six hidden layers of 16
neurons on 2,000 points, 50 steps per tick). The faster colouring of a surface (once per
byte value, on a reused canvas) is checked pixel by pixel.
"""

from __future__ import annotations

import os

import pytest

TICKS = 60
LARGEST = {
    "data": {"name": "circles", "n_points": 2000},
    "network": {"hidden": [16] * 6, "activations": ["tanh"] * 6},
}

# Runs ``ticks`` ticks in the page: the round trip (fetch + JSON parse, as api() does) and
# the redraw (applyTick, as the play loop calls it), timed with performance.now(); and the
# server's own time for the tick, from the answer's Server-Timing header.
TIMED_TICKS = """async ([steps, ticks]) => {
  const round = [], whole = [], compute = [], cpu = [];
  const body = JSON.stringify({id: window.playground.id, steps});
  for (let i = 0; i < ticks + 3; i++) {
    const t0 = performance.now();
    const r = await fetch("/api/train", {method: "POST", body,
                                         headers: {"Content-Type": "application/json"}});
    const tick = await r.json();
    const t1 = performance.now();
    applyTick(tick);
    const t2 = performance.now();
    if (i < 3) continue;  // 3 to warm up
    round.push(t1 - t0); whole.push(t2 - t0);
    const timing = Object.fromEntries((r.headers.get("server-timing") || "").split(", ").map(
      (x) => [x.split(";")[0], Number(x.split("dur=")[1])]));
    compute.push(timing.compute ?? NaN); cpu.push(timing.cpu ?? NaN);
  }
  return {round, whole, compute, cpu};
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
        f"\n{label}, {steps} steps per tick, {TICKS} ticks in Chromium "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):\n"
        f"  server: the tick (train + view)      {_percentiles(times['compute'])}\n"
        f"  server: its CPU time                  {_percentiles(times['cpu'])}\n"
        f"  page: request + JSON parse            {_percentiles(times['round'])}\n"
        f"  page: request + JSON parse + redraw   {_percentiles(times['whole'])}"
    )


# Each pixel of surfaceImage (one colour per byte value, looked up) against the colour
# its value gives directly, for the output (binary) and a hidden neuron (diverging).
PIXELS = """() => {
  const tick = window.playground.view.tick;
  const check = (tile, kind) => {
    const c = surfaceImage(tile, kind), g = c.width;
    const px = c.getContext("2d").getImageData(0, 0, g, g).data;
    const scale = Math.max(Math.abs(tile.lo), Math.abs(tile.hi));
    let bad = 0;
    dequantise(tile).forEach((v, i) => {
      const rgb = kind === "binary"
        ? mix(WHITE, v >= 0.5 ? POS : NEG, 0.75 * Math.abs(2 * v - 1)) : diverging(v, scale);
      if ([...rgb, 255].some((x, j) => x !== px[4 * i + j])) bad++;
    });
    return [g, bad];
  };
  return [check(tick.surfaces.output, "binary"), check(tick.surfaces.hidden[0][0], "regression")];
}"""


def test_each_pixel_of_a_surface_has_the_colour_of_its_value(page):
    page.click("#epoch")
    page.wait_for_function("window.playground?.view?.tick.epoch === 1")
    assert page.evaluate(PIXELS) == [[50, 0], [25, 0]]  # sizes, pixels off
