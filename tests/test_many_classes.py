"""10,000 classes (issue 25): the memory estimate counts what the run allocates for the
targets and the metrics, so a machine short of it refuses before training; a table where
most classes have one row trains without a validation split instead of failing after it."""

import numpy as np
import pytest

from chainrule.cli import _guards
from chainrule.cli import _loop as tl


def test_the_estimate_counts_the_one_hot_targets_and_the_probabilities(monkeypatch):
    sizes, rows = [1, 64, 32, 10_000], 10_000
    network = _guards.network_bytes(sizes, rows, copies=2)
    assert _guards.network_bytes(sizes, rows) == network
    # between the network alone and the network with two (rows, 10,000) float64 arrays
    monkeypatch.setattr(_guards, "available_memory", lambda: network + 10**9)
    with pytest.raises(_guards.GuardError) as refused:
        _guards.check_training_size(sizes, rows, "adam")
    needed = network + 8 * 2 * rows * 10_000
    assert str(refused.value) == (
        "training a network 1 -> 64 -> 32 -> 10000 (10000 outputs) on 10,000 rows would "
        f"need about {_guards.human_bytes(needed)} of memory, but "
        f"{_guards.human_bytes(network + 10**9)} is available; use smaller layers than "
        "--hidden 64,32 or a target with fewer distinct values."
    )


def test_classes_of_one_row_leave_no_validation_set_not_an_empty_one():
    rng = np.random.default_rng(0)
    y = np.array([f"c{i}" for i in range(600)])  # every class once: none can be held out
    X = rng.normal(size=(600, 2))
    assert tl._split(X, y, 0.2, 0, classification=True) is None
    y2 = np.array([f"c{i % 100}" for i in range(600)])  # six rows each: a real split
    _, _, y_fit, y_val = tl._split(X, y2, 0.2, 0, classification=True)
    assert len(y_val) == 120 and set(y_val) <= set(y_fit)
