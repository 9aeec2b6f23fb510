"""A model file whose layers mix float32 and float64 (issue 25): ``save`` refuses to
write such a network, naming the cast; ``load`` refuses such a file (written by hand or
another tool) as a whole, in one clear error, instead of loading a network whose first
forward pass fails."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.persistence import state


def mixed_net():
    return cr.Sequential(cr.Dense(3, 4, rng=0), cr.ReLU(), cr.Dense(4, 2, rng=1, dtype=np.float32))


def test_save_refuses_a_network_of_two_precisions(tmp_path):
    with pytest.raises(TypeError) as refused:
        cr.save(mixed_net(), tmp_path / "m.npz")
    assert str(refused.value) == (
        "cannot save the model: it mixes float32 ('layers.2.W') and float64 ('layers.0.W') "
        "arrays. A network computes in one precision (a float32 layer refuses a float64 "
        "input): cast it first, net.astype(np.float64) or net.astype(np.float32)."
    )
    assert list(tmp_path.iterdir()) == []
    cr.save(mixed_net().astype(np.float64), tmp_path / "m.npz")  # the documented cast
    assert cr.load(tmp_path / "m.npz").dtype == np.float64


def _written_anyway(obj, path, monkeypatch):
    """The file another tool could write: header and arrays consistent, layers mixed."""
    with monkeypatch.context() as m:
        m.setattr(state, "_mixed_precisions", lambda arrays: None)
        cr.save(obj, path)


def test_load_refuses_a_file_whose_layers_mix_precisions(tmp_path, monkeypatch):
    _written_anyway(mixed_net(), tmp_path / "m.npz", monkeypatch)
    with pytest.raises(cr.ModelFileError) as refused:
        cr.load(tmp_path / "m.npz")
    assert str(refused.value) == (
        f"cannot load model file '{tmp_path / 'm.npz'}': the network mixes float32 "
        "('layers.2.W') and float64 ('layers.0.W') arrays across its layers; a network "
        "computes in one precision, and chainrule.save never writes such a file. Save the "
        "network again from the code that built it, after net.astype(np.float64) (or "
        "np.float32). Only files written by chainrule.save() can be loaded."
    )
