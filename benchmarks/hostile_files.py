"""What refusing the worst model files costs: time and peak traced memory of ``load``.

Builds, in a temporary folder, the crafted files of tests/test_hostile_model_files.py
at full size (a 2.6 KB file declaring Dense(1_000_000, 1_000_000); a zip bomb of about
1.9 MB that expands to 1.9 GB; a header of 340,000 JSON values; duplicate entries) and
times ``chainrule.load`` refusing each (median of 5), with the peak memory tracemalloc
sees during one refusal. The promise (docs/errors.md): a refused file costs at most a
few MB and well under a second.

Run:    PYTHONPATH=src python benchmarks/hostile_files.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import chainrule as cr
from test_hostile_model_files import (
    MB,
    dense_file,
    header_entry,
    npy_bytes,
    read_good,
    write_bomb,
    write_zip,
)


def cost(path: Path) -> tuple[float, float, str]:
    """(median seconds, peak MB, message) of load(path) raising ModelFileError."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        try:
            cr.load(path)
        except cr.ModelFileError:
            pass
        else:  # pragma: no cover
            raise AssertionError(f"{path.name} loaded")
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    try:
        cr.load(path)
    except cr.ModelFileError as exc:
        message = str(exc).split(": ", 1)[1]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / MB, message


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    files = {
        "Dense(10^6, 10^6) declared": dense_file(
            folder / "huge.npz", 10**6, 10**6, declared=[10**6, 10**6]
        ),
        "Dense(10^6, 10^6) config": dense_file(folder / "config.npz", 10**6, 10**6),
    }
    header, arrays = read_good(dense_file(folder / "ok.npz", 2, 2))
    header["arrays"] = [{"name": "W", "shape": [(1900 * MB - 128) // 8], "dtype": "float64"}]
    files["zip bomb 1.9 GB"] = write_bomb(folder / "bomb.npz", header, "W.npy", 1900 * MB)
    text = '{"format": "chainrule", "junk": ' + "[" + "[]," * 170_000 + "[]]}"
    files["340,000 JSON values"] = write_zip(
        folder / "many.npz", [("__spec__.npy", header_entry(text))]
    )
    W = npy_bytes(arrays["W"])
    files["duplicate entries"] = write_zip(
        folder / "dup.npz",
        [("__spec__.npy", header_entry(header)), ("W.npy", W), ("W.npy", W)],
    )
    print(f"{'file':30} {'size':>12} {'refused in':>11} {'peak memory':>12}")
    for name, path in files.items():
        seconds, peak, message = cost(path)
        size = path.stat().st_size
        print(f"{name:30} {size:>10,} B {seconds * 1000:>8.1f} ms {peak:>9.2f} MB")
        print(f"    {message[:150]}")


if __name__ == "__main__":
    main()
