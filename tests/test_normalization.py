"""BatchNorm and LayerNorm: gradients against PyTorch and central differences, running
statistics, dtypes, errors, buffers in save/load, summary and the optimizers."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.layers.normalization import normalize, normalize_backward, normalize_paths
from helpers import numeric_grad, rel_error

TOL = 1e-7


def random_affine(layer, rng):
    """Give gamma and beta values away from their 1, 0 start (a stronger test)."""
    if layer.affine:
        layer.params["gamma"][:] = rng.normal(size=layer.n_features)
        layer.params["beta"][:] = rng.normal(size=layer.n_features)
    return layer


def analytic(layer, X, R, training):
    """dL/dX and dL/dparams of L = sum(R * layer(X))."""
    layer.zero_grad()
    Y, backward = layer.forward(X, training=training)
    dX = backward(R)
    return Y, dX, {k: g.copy() for k, g in layer.grads.items()}


def numeric(layer, X, R, training):
    def f():
        return float(np.sum(R * layer.forward(X, training=training)[0]))

    return numeric_grad(f, X), {k: numeric_grad(f, p) for k, p in layer.params.items()}


# ----------------------------------------------------------- central differences

CASES = [
    (cr.BatchNorm, True, 2),
    (cr.BatchNorm, True, 7),
    (cr.BatchNorm, False, 1),
    (cr.BatchNorm, False, 2),
    (cr.BatchNorm, False, 7),
    (cr.LayerNorm, True, 1),
    (cr.LayerNorm, True, 2),
    (cr.LayerNorm, True, 7),
    (cr.LayerNorm, False, 1),
    (cr.LayerNorm, False, 7),
]


@pytest.mark.parametrize("cls, training, n", CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_gradients_match_central_differences(cls, training, n, affine):
    rng = np.random.default_rng(n + 10 * training)
    # Batch norm of two samples maps each column to about (-1, 1) whatever X is, so
    # dX is only what eps leaves (~1e-5), too small for differences to resolve: a
    # larger eps makes the check meaningful there.
    eps = 0.1 if (cls is cr.BatchNorm and training and n == 2) else 1e-5
    layer = random_affine(cls(4, eps=eps, affine=affine), rng)
    if isinstance(layer, cr.BatchNorm):  # running statistics away from 0 and 1
        layer.buffers["running_mean"][:] = rng.normal(size=4)
        layer.buffers["running_var"][:] = rng.uniform(0.5, 2.0, size=4)
    X = rng.normal(size=(n, 4)) * rng.uniform(0.5, 3, size=4) + rng.normal(size=4)
    R = rng.normal(size=(n, 4))
    _, dX, grads = analytic(layer, X, R, training)
    num_dX, num_grads = numeric(layer, X, R, training)
    assert rel_error(dX, num_dX) < TOL
    assert set(grads) == ({"gamma", "beta"} if affine else set())
    for k in grads:
        assert rel_error(grads[k], num_grads[k]) < TOL, k


def test_columns_of_dX_sum_to_zero():
    # batch norm's output does not change when a column of X is shifted, so the
    # gradient has no component along (1, ..., 1) in any column: the via-mu path
    rng = np.random.default_rng(1)
    X, R = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    dX = analytic(random_affine(cr.BatchNorm(3), rng), X, R, True)[1]
    np.testing.assert_allclose(dX.sum(axis=0), 0, atol=1e-13)
    dX = analytic(random_affine(cr.LayerNorm(3), rng), X, R, True)[1]
    np.testing.assert_allclose(dX.sum(axis=1), 0, atol=1e-13)


@pytest.mark.parametrize("axis", [0, 1])
def test_three_paths_sum_to_the_compact_form(axis):
    rng = np.random.default_rng(2)
    X, dX_hat = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    X_hat, _, var, inv_std = normalize(X, axis, 1e-5)
    direct, via_mu, via_var = normalize_paths(dX_hat, X_hat, inv_std, axis)
    dX = normalize_backward(dX_hat, X_hat, inv_std, axis)
    np.testing.assert_allclose(direct + via_mu + via_var, dX, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(direct, dX_hat / np.sqrt(var + 1e-5), rtol=1e-13)


# ----------------------------------------------------------------- PyTorch

torch_cases = [(True, 2), (True, 5), (True, 64), (False, 1), (False, 2), (False, 64)]


@pytest.mark.parametrize("training, n", torch_cases)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_equals_torch(training, n, affine):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n)
    layer = random_affine(cr.BatchNorm(6, momentum=0.2, affine=affine), rng)
    ref = torch.nn.BatchNorm1d(6, momentum=0.2, affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(layer.params["gamma"]))
            ref.bias.copy_(torch.from_numpy(layer.params["beta"]))
    # three training steps first, so that evaluation uses non-trivial statistics
    for _ in range(3):
        Xs = rng.normal(size=(8, 6)) * 2 + 1
        layer.forward(Xs, training=True)
        ref.train()(torch.from_numpy(Xs))
    X, R = rng.normal(size=(n, 6)) * 3 - 1, rng.normal(size=(n, 6))
    Y, dX, grads = analytic(layer, X, R, training)
    x = torch.tensor(X, requires_grad=True)
    y = ref.train(training)(x)
    (y * torch.from_numpy(R)).sum().backward()
    assert rel_error(Y, y.detach().numpy()) < TOL
    assert rel_error(dX, x.grad.numpy()) < TOL
    if affine:
        assert rel_error(grads["gamma"], ref.weight.grad.numpy()) < TOL
        assert rel_error(grads["beta"], ref.bias.grad.numpy()) < TOL
    for name in ("running_mean", "running_var"):
        assert rel_error(layer.buffers[name], getattr(ref, name).numpy()) < 1e-12


@pytest.mark.parametrize("n", [1, 2, 64])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_equals_torch(n, affine):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + n)
    layer = random_affine(cr.LayerNorm(5, eps=1e-4, affine=affine), rng)
    ref = torch.nn.LayerNorm(5, eps=1e-4, elementwise_affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(layer.params["gamma"]))
            ref.bias.copy_(torch.from_numpy(layer.params["beta"]))
    X, R = rng.normal(size=(n, 5)) * 2 + 3, rng.normal(size=(n, 5))
    for training in (True, False):  # layer norm is the same in both modes
        Y, dX, grads = analytic(layer, X, R, training)
        x = torch.tensor(X, requires_grad=True)
        if affine:
            ref.zero_grad()
        y = ref(x)
        (y * torch.from_numpy(R)).sum().backward()
        assert rel_error(Y, y.detach().numpy()) < TOL
        assert rel_error(dX, x.grad.numpy()) < TOL
        if affine:
            assert rel_error(grads["gamma"], ref.weight.grad.numpy()) < TOL
            assert rel_error(grads["beta"], ref.bias.grad.numpy()) < TOL


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_running_statistics_equal_torch_after_several_steps(momentum):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    layer = cr.BatchNorm(4, momentum=momentum)
    ref = torch.nn.BatchNorm1d(4, momentum=momentum, dtype=torch.float64)
    for step in range(6):
        X = rng.normal(size=(3 + step, 4)) * [1, 2, 3, 4] + [0, -1, 5, 2]
        layer.forward(X, training=True)
        ref(torch.from_numpy(X))
    np.testing.assert_allclose(layer.buffers["running_mean"], ref.running_mean.numpy(), rtol=1e-13)
    np.testing.assert_allclose(layer.buffers["running_var"], ref.running_var.numpy(), rtol=1e-13)
    if momentum == 1.0:  # the last batch's mean and unbiased variance
        np.testing.assert_allclose(layer.buffers["running_var"], X.var(axis=0, ddof=1))


def test_running_statistics_by_hand():
    # one batch of two samples: mu = 2, biased var = 1, unbiased var = 2
    layer = cr.BatchNorm(1, momentum=0.1)
    layer.forward(np.array([[1.0], [3.0]]), training=True)
    assert layer.buffers["running_mean"][0] == pytest.approx(0.9 * 0 + 0.1 * 2)  # 0.2
    assert layer.buffers["running_var"][0] == pytest.approx(0.9 * 1 + 0.1 * 2)  # 1.1
    Y = layer.forward(np.array([[1.0], [3.0]]), training=True)[0]
    np.testing.assert_allclose(Y[:, 0], [-1, 1] / np.sqrt(1 + 1e-5))  # biased var used


def test_evaluation_uses_running_statistics_and_changes_nothing():
    layer = cr.BatchNorm(2)
    layer.buffers["running_mean"][:] = [1.0, -2.0]
    layer.buffers["running_var"][:] = [4.0, 0.25]
    X = np.array([[3.0, -2.0], [1.0, -1.5], [5.0, 0.0]])
    Y = layer.forward(X, training=False)[0]
    np.testing.assert_allclose(Y, (X - [1, -2]) / np.sqrt(np.array([4, 0.25]) + 1e-5))
    np.testing.assert_array_equal(layer.buffers["running_mean"], [1.0, -2.0])
    np.testing.assert_array_equal(layer.buffers["running_var"], [4.0, 0.25])


# ------------------------------------------------------------ dtypes and errors


@pytest.mark.parametrize("cls", [cr.BatchNorm, cr.LayerNorm])
def test_float32_stays_float32(cls):
    rng = np.random.default_rng(4)
    layer = cls(3, dtype=np.float32)
    X = rng.normal(size=(5, 3)).astype(np.float32)
    for training in (True, False):
        Y, backward = layer.forward(X, training=training)
        dX = backward(np.ones_like(Y))
        assert Y.dtype == dX.dtype == np.float32
        assert all(a.dtype == np.float32 for a in (*layer.params.values(), *layer.grads.values()))
        assert all(B.dtype == np.float32 for B in layer.buffers.values())
    # float32 agrees with float64 to float32 precision
    Y64 = cls(3).forward(X.astype(np.float64), training=True)[0]
    np.testing.assert_allclose(cls(3, dtype=np.float32)(X), cls(3)(X.astype(np.float64)), 1e-6)
    np.testing.assert_allclose(layer.forward(X, training=True)[0], Y64, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", [cr.BatchNorm, cr.LayerNorm])
def test_the_other_precision_is_refused_like_dense(cls):
    X = np.ones((4, 3), dtype=np.float64)
    with pytest.raises(TypeError) as ours:
        cls(3, dtype=np.float32).forward(X, training=True)
    with pytest.raises(TypeError) as dense:
        cr.Dense(3, 3, dtype=np.float32).forward(X)
    assert str(ours.value) == str(dense.value).replace("Dense", cls.__name__)


def test_astype_converts_buffers():
    net = cr.Sequential(cr.Dense(3, 4, rng=0), cr.BatchNorm(4), cr.LayerNorm(4))
    net.layers[1].forward(np.arange(8.0).reshape(2, 4), training=True)
    before = net.layers[1].buffers["running_var"].copy()
    net.astype(np.float32)
    bn = net.layers[1]
    assert bn.buffers["running_var"].dtype == bn.buffers["running_mean"].dtype == np.float32
    np.testing.assert_allclose(bn.buffers["running_var"], before, rtol=1e-7)
    assert net.predict(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


def test_batch_of_one_in_training_is_refused():
    with pytest.raises(ValueError) as err:
        cr.BatchNorm(3).forward(np.ones((1, 3)), training=True)
    assert str(err.value) == (
        "BatchNorm: a training batch needs at least 2 samples to estimate a variance, got X "
        "of shape (1, 3). Use a batch of 2 or more (in fit, a batch_size that leaves no last "
        "batch of one sample), or training=False to use the running statistics."
    )
    cr.BatchNorm(3).forward(np.ones((1, 3)), training=False)  # evaluation is fine


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: cr.BatchNorm(0), "n_features must be a positive integer, got 0"),
        (lambda: cr.BatchNorm(3, momentum=1.5), "must lie in [0, 1] (PyTorch's default is 0.1)"),
        (lambda: cr.LayerNorm(3, eps=0), "small positive number such as 1e-5, got 0"),
        (lambda: cr.BatchNorm(3, affine="yes"), "affine must be True or False, got 'yes'"),
    ],
)
def test_bad_arguments(make, words):
    with pytest.raises((ValueError, TypeError)) as err:
        make()
    assert words in str(err.value)


EPS_IN_FLOAT32 = (
    "eps=1e-50 is 0.0 in float32 (the layer's precision), so a constant column would give "
    "0 / 0 = NaN; float32's smallest usable eps is 1.18e-38. Use eps=1e-5, the usual value."
)


@pytest.mark.parametrize("cls", [cr.BatchNorm, cr.LayerNorm])
def test_eps_is_checked_in_the_layers_dtype(cls):
    """1e-50 passed as a Python float, then rounded to 0 in float32: NaN on a constant
    column, silently (issue 25). Refused at construction, and at the forward pass once
    astype or an affine=False LayerNorm's input makes it float32."""
    name = cls.__name__
    with pytest.raises(ValueError) as err:
        cls(3, eps=1e-50, dtype=np.float32)
    assert str(err.value) == f"{name}: {EPS_IN_FLOAT32}"
    layer = cls(3, eps=1e-50)  # float64 holds 1e-50: a constant column gives 0, not NaN
    np.testing.assert_array_equal(layer.forward(np.ones((2, 3)), training=True)[0], 0.0)
    with pytest.raises(ValueError, match=re.escape(EPS_IN_FLOAT32)):
        layer.astype(np.float32).forward(np.ones((2, 3), np.float32), training=True)
    free = cls(3, eps=1e-50, affine=False) if cls is cr.LayerNorm else None
    if free is not None:  # holds no arrays: its input's dtype decides
        with pytest.raises(ValueError, match=re.escape(EPS_IN_FLOAT32)):
            free.forward(np.ones((2, 3), np.float32))
    tiny = float(np.finfo(np.float32).tiny)  # the smallest usable eps works
    Y = cls(3, eps=tiny, dtype=np.float32).forward(np.ones((2, 3), np.float32), True)[0]
    np.testing.assert_array_equal(Y, 0.0)


def test_wrong_width_names_both_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm\(4\) expects X of shape \(n_samples, 4\)"):
        cr.BatchNorm(4).forward(np.ones((3, 5)), training=True)
    with pytest.raises(ValueError, match=r"use LayerNorm\(8\)"):
        cr.Sequential(cr.Dense(3, 8), cr.LayerNorm(4))


# ------------------------------------------------- buffers: optimizers, packing


@pytest.mark.parametrize("opt", [cr.SGD(0.5, momentum=0.9), cr.Adam(0.1), cr.RMSProp(0.1)])
def test_optimizers_never_touch_buffers(opt):
    rng = np.random.default_rng(5)
    net = cr.Sequential(
        cr.Dense(3, 4, rng=rng), cr.BatchNorm(4), cr.ReLU(), cr.Dense(4, 2, rng=rng)
    )
    bn = net.layers[1]
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
    Y, backward = net.forward(X, training=True)
    running = {k: B.copy() for k, B in bn.buffers.items()}
    gamma = bn.params["gamma"].copy()
    backward(cr.CrossEntropy()(Y, y)[1])
    opt.step(net)
    for k, B in bn.buffers.items():
        np.testing.assert_array_equal(B, running[k])
    assert not np.array_equal(bn.params["gamma"], gamma)  # the parameters did move
    flat = net.layers[0].params["W"].base  # the packed parameter buffer
    assert flat is not None and np.shares_memory(bn.params["gamma"], flat)
    assert not any(np.shares_memory(B, flat) for B in bn.buffers.values())


def test_fits_backward_options_give_the_same_gradients():
    # fit calls backward(dY, need_dX=False, accumulate=False) on stale gradients: the
    # normalisation layers (no fast options) are zeroed and accumulate, Dense sets
    rng = np.random.default_rng(14)
    net = cr.Sequential(
        random_affine(cr.BatchNorm(3), rng),
        cr.Dense(3, 4, rng=rng),
        random_affine(cr.LayerNorm(4), rng),
        cr.Tanh(),
        cr.Dense(4, 2, rng=rng),
    )
    X, dY = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    net.zero_grad()
    net.forward(X, training=True)[1](dY)
    expected = [g.copy() for _, _, _, g in net.parameters()]
    for _, _, _, g in net.parameters():
        g += 5.0  # stale
    assert net.forward(X, training=True)[1](dY, need_dX=False, accumulate=False) is None
    for want, (_, name, _, got) in zip(expected, net.parameters(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=name)


def test_iter_buffers_and_n_buffers():
    from chainrule.layers.base import iter_buffers

    net = cr.Sequential(cr.Dense(3, 4), cr.Sequential(cr.BatchNorm(4), cr.LayerNorm(4)))
    names = [(type(layer).__name__, name) for layer, name, _ in iter_buffers(net)]
    assert names == [("BatchNorm", "running_mean"), ("BatchNorm", "running_var")]
    assert net.n_buffers == 8 and net.n_params == 16 + 8 + 8


def test_summary_counts_parameters_and_buffers():
    net = cr.Sequential(
        cr.Dense(4, 8, rng=0), cr.BatchNorm(8), cr.ReLU(), cr.Dense(8, 3, rng=0), cr.LayerNorm(3)
    )
    lines = net.summary().splitlines()
    assert lines[0].split() == ["#", "layer", "output", "shape", "params", "buffers"]
    bn_row = lines[3].split()
    assert bn_row[-4:] == ["(n,", "8)", "16", "16"]  # gamma, beta; running mean, var
    assert lines[6].split()[-2:] == ["6", "0"]  # LayerNorm(3): gamma, beta, no buffers
    assert lines[-2] == f"total trainable parameters: {40 + 16 + 27 + 6}"
    assert lines[-1] == "buffers (running statistics, not trained): 16"
    assert "buffers" not in cr.Sequential(cr.Dense(2, 2), cr.LayerNorm(2)).summary()


def test_repr_gives_the_constructor_arguments():
    assert repr(cr.BatchNorm(8, momentum=0.2)) == (
        "BatchNorm(n_features=8, momentum=0.2, eps=1e-05, affine=True)"
    )
    assert repr(cr.LayerNorm(3, affine=False)) == "LayerNorm(n_features=3, eps=1e-05, affine=False)"
    assert isinstance(eval(repr(cr.BatchNorm(8)), {"BatchNorm": cr.BatchNorm}), cr.BatchNorm)


# ------------------------------------------------------------------ persistence


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_with_running_statistics(tmp_path, dtype):
    rng = np.random.default_rng(6)
    net = cr.Sequential(
        cr.Dense(3, 5, rng=rng, dtype=dtype),
        cr.BatchNorm(5, momentum=0.3, eps=1e-3, dtype=dtype),
        cr.Tanh(),
        cr.LayerNorm(5, dtype=dtype),
        cr.BatchNorm(5, affine=False, dtype=dtype),
        cr.Dense(5, 2, rng=rng, dtype=dtype),
    )
    for _ in range(4):
        net.forward(rng.normal(size=(6, 3)).astype(dtype), training=True)
    for layer in (net.layers[1], net.layers[3]):
        random_affine(layer, rng)
    path = cr.save(net, tmp_path / "bn")
    back = cr.load(path)
    assert repr(back) == repr(net)
    for ours, theirs in zip(net.layers, back.layers, strict=True):
        assert ours.buffers.keys() == theirs.buffers.keys()
        for k in ours.buffers:
            np.testing.assert_array_equal(ours.buffers[k], theirs.buffers[k])
            assert theirs.buffers[k].dtype == dtype and theirs.buffers[k].flags.writeable
        for k in ours.params:
            np.testing.assert_array_equal(ours.params[k], theirs.params[k])
    X = rng.normal(size=(4, 3)).astype(dtype)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))  # uses running stats
    assert not np.array_equal(back.layers[1].buffers["running_mean"], 0)
    back.forward(X, training=True)  # the loaded buffers update in place
    assert not np.array_equal(
        back.layers[1].buffers["running_mean"], net.layers[1].buffers["running_mean"]
    )


def test_a_single_float32_batch_norm_without_affine_round_trips(tmp_path):
    bn = cr.BatchNorm(3, momentum=0.5, affine=False, dtype=np.float32)
    bn.forward(np.arange(12, dtype=np.float32).reshape(4, 3), training=True)
    back = cr.load(cr.save(bn, tmp_path / "bn"))
    assert repr(back) == repr(bn) and back.params == {}
    # running_mean = 0.5 * [4.5, 5.5, 6.5]; running_var = 0.5 + 0.5 * 15 (unbiased: 45 / 3)
    np.testing.assert_array_equal(back.buffers["running_mean"], [2.25, 2.75, 3.25])
    np.testing.assert_array_equal(back.buffers["running_var"], [8.0, 8.0, 8.0])
    assert back.dtype == np.float32 and back(np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "damage, words",
    [
        ("missing", r"stores buffers \['running_mean'\], but a BatchNorm has \['running_mean', "),
        ("shape", r"buffer 'running_var' must have shape \(3,\), but 'layers.1.running_var' has"),
        (
            "precision",
            r"mixes precisions in its parameters and buffers \(\['float32', 'float64'\]\)",
        ),
        ("nan", r"buffer 'running_var' \(array 'layers.1.running_var'\) holds NaN or inf"),
    ],
)
def test_a_file_with_a_wrong_buffer_is_refused(tmp_path, damage, words):
    import json

    path = cr.save(cr.Sequential(cr.Dense(2, 3, rng=0), cr.BatchNorm(3)), tmp_path / "m.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays.pop("__spec__").item())
    name = "layers.1.running_var"
    if damage == "missing":
        header["spec"]["architecture"]["layers"][1]["buffers"].pop("running_var")
        header["arrays"] = [a for a in header["arrays"] if a["name"] != name]
        del arrays[name]
    else:
        arrays[name] = {
            "shape": np.ones(4),
            "precision": np.ones(3, dtype=np.float32),
            "nan": np.array([1.0, np.nan, 1.0]),
        }[damage]
        entry = next(a for a in header["arrays"] if a["name"] == name)
        entry["shape"], entry["dtype"] = list(arrays[name].shape), str(arrays[name].dtype)
    bad = tmp_path / "bad.npz"
    np.savez(bad, __spec__=np.array(json.dumps(header)), **arrays)
    with pytest.raises(cr.ModelFileError, match=words):
        cr.load(bad)


# ---------------------------------------------------------- in networks, with fit


def test_gradient_check_passes_with_batch_norm_and_layer_norm():
    rng = np.random.default_rng(7)
    net = cr.Sequential(
        cr.Dense(4, 5, rng=rng),
        cr.Tanh(),  # (a bias just before batch norm has gradient 0: see the next test)
        random_affine(cr.BatchNorm(5), rng),
        cr.Dense(5, 5, rng=rng),
        random_affine(cr.LayerNorm(5), rng),
        cr.ReLU(),
        cr.Dense(5, 3, rng=rng),
    )
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    net.forward(rng.normal(size=(6, 4)), training=True)  # non-trivial running statistics
    for training in (True, False):
        report = cr.gradient_check(net, cr.CrossEntropy(), X, y, training=training)
        assert report.max_rel_error < TOL, str(report)
        names = {e.name for e in report.entries}
        assert {"layers[2].gamma", "layers[2].beta", "layers[4].gamma", "X"} <= names


def test_a_bias_just_before_batch_norm_gets_no_gradient_in_training():
    # mean subtraction cancels any constant added to a column: b has no effect on the
    # output, so db = 0 (the via-mu path cancels the direct one), up to rounding
    rng = np.random.default_rng(10)
    net = cr.Sequential(cr.Dense(3, 4, rng=rng), random_affine(cr.BatchNorm(4), rng))
    X, R = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    net.zero_grad()
    net.forward(X, training=True)[1](R)
    np.testing.assert_allclose(net.layers[0].grads["b"], 0, atol=1e-14)
    assert np.abs(net.layers[0].grads["W"]).max() > 0.1
    net.zero_grad()
    net.forward(X, training=False)[1](R)  # in evaluation the statistics are constants
    assert np.abs(net.layers[0].grads["b"]).max() > 0.1


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    X_train, y_train, X_test, y_test = X[:400], y[:400], X[400:], y[400:]
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, y_train, (X_test - mean) / std, y_test


@pytest.mark.parametrize(
    "order",
    ["bn-before-activation", "bn-after-activation", "bn-with-dropout"],
)
def test_batch_norm_networks_train_with_fit(order):
    X, y, X_test, y_test = _breast_cancer()
    rng = np.random.default_rng(8)
    middle = {
        "bn-before-activation": [cr.BatchNorm(16), cr.ReLU()],
        "bn-after-activation": [cr.ReLU(), cr.BatchNorm(16)],
        "bn-with-dropout": [cr.BatchNorm(16), cr.ReLU(), cr.Dropout(0.3, rng=rng)],
    }[order]
    net = cr.Sequential(cr.Dense(30, 16, init="he", rng=rng), *middle, cr.Dense(16, 2, rng=rng))
    history = cr.fit(
        net, cr.CrossEntropy(), X, y, optimizer=cr.Adam(0.01), epochs=15, batch_size=32, rng=0
    )
    losses = history["loss"]
    assert losses[-1] < 0.3 * losses[0]
    accuracy = np.mean(net.predict(X_test).argmax(axis=1) == y_test)
    assert accuracy > 0.94
    bn = next(layer for layer in net.layers if isinstance(layer, cr.BatchNorm))
    assert not np.allclose(bn.buffers["running_var"], 1)  # training updated them


def test_early_stopping_restores_the_running_statistics_of_the_best_epoch():
    X, y, X_val, y_val = _breast_cancer()
    rng = np.random.default_rng(9)
    net = cr.Sequential(
        cr.Dense(30, 8, rng=rng), cr.BatchNorm(8), cr.ReLU(), cr.Dense(8, 2, rng=rng)
    )
    bn = net.layers[1]
    seen = {}

    class Record(cr.Callback):
        def on_epoch_end(self, epoch, logs):
            seen[epoch] = (bn.buffers["running_mean"].copy(), net.predict(X_val).copy())
            return False

    stop = cr.EarlyStopping(monitor="val_loss", patience=2)
    history = cr.fit(
        net,
        cr.CrossEntropy(),
        X,
        y,
        optimizer=cr.SGD(0.5),
        epochs=30,
        batch_size=50,
        validation_data=(X_val, y_val),
        callbacks=[Record()],
        early_stopping=stop,
        rng=0,
    )
    best = stop.best_epoch
    assert best < len(history["loss"])  # training went on after the best epoch
    np.testing.assert_array_equal(bn.buffers["running_mean"], seen[best][0])
    np.testing.assert_array_equal(net.predict(X_val), seen[best][1])


def test_batch_norm_lets_a_deep_sigmoid_network_train_where_the_plain_one_stalls():
    # eight Dense(., 16) + Sigmoid layers on wine (178 samples, 3 classes), plain SGD:
    # the plain network's early layers get vanishing gradients and it stays at chance
    # (measured: loss 1.146 -> 1.095, accuracy 0.33); with batch norm before every
    # sigmoid it fits the data (loss 0.83 -> 0.21, accuracy 1.0)
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)

    def train(batch_norm):
        rng, layers, width = np.random.default_rng(0), [], X.shape[1]
        for _ in range(8):
            layers.append(cr.Dense(width, 16, rng=rng))
            layers += [cr.BatchNorm(16)] if batch_norm else []
            layers.append(cr.Sigmoid())
            width = 16
        net = cr.Sequential(*layers, cr.Dense(16, 3, rng=rng))
        h = cr.fit(
            net, cr.CrossEntropy(), X, y, optimizer=cr.SGD(0.1), epochs=30, batch_size=16, rng=0
        )
        return h.history["loss"], np.mean(net.predict(X).argmax(axis=1) == y)

    plain_loss, plain_accuracy = train(batch_norm=False)
    bn_loss, bn_accuracy = train(batch_norm=True)
    assert plain_loss[-1] > 0.95 * plain_loss[0] and plain_accuracy < 0.45  # stalled
    assert bn_loss[-1] < 0.3 * bn_loss[0] and bn_accuracy > 0.97


def test_a_divergence_rolls_the_running_statistics_back_with_the_weights():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(64, 3))
    y = X @ [1.0, -2.0, 0.5]
    net = cr.Sequential(cr.Dense(3, 8, rng=rng), cr.BatchNorm(8), cr.Dense(8, 1, rng=rng))
    cr.fit(net, cr.MeanSquaredError(), X, y, optimizer=cr.SGD(0.01), epochs=2, rng=0)
    before = {k: B.copy() for k, B in net.layers[1].buffers.items()}
    with pytest.raises(cr.TrainingDivergedError):
        cr.fit(net, cr.MeanSquaredError(), X, y * 1e150, optimizer=cr.SGD(1e3), epochs=5, rng=0)
    for k, B in net.layers[1].buffers.items():
        np.testing.assert_array_equal(B, before[k])  # finite, as before the failed run
    assert np.isfinite(net.predict(X)).all()


def test_batch_norm_as_the_first_layer_standardises_raw_features():
    # the breast-cancer features are unscaled (some in the thousands): a plain network
    # with SGD is wrecked by the first steps (measured: loss 2.3e4 -> 0.658, test accuracy
    # 0.62, the majority class); BatchNorm(30) in front learns the scaling itself
    # (loss 0.44 -> 0.094, test accuracy 0.97). Also exercises fit's backward options
    # (need_dX=False, accumulate=False) with a normalisation layer first.
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]

    def train(first):
        rng = np.random.default_rng(0)
        net = cr.Sequential(
            *first, cr.Dense(30, 16, init="he", rng=rng), cr.ReLU(), cr.Dense(16, 2, rng=rng)
        )
        cr.fit(net, cr.CrossEntropy(), X[:400], y[:400], optimizer=cr.SGD(0.05), epochs=20, rng=0)
        return np.mean(net.predict(X[400:]).argmax(axis=1) == y[400:])

    assert train([]) < 0.7
    assert train([cr.BatchNorm(30)]) > 0.95


def test_gradient_check_of_a_float32_network_converts_its_buffers():
    rng = np.random.default_rng(12)
    net = cr.Sequential(
        cr.Dense(3, 4, rng=rng), cr.Tanh(), cr.BatchNorm(4), cr.LayerNorm(4, affine=False)
    ).astype(np.float32)
    net.forward(rng.normal(size=(5, 3)).astype(np.float32), training=True)
    X, T = rng.normal(size=(4, 3)), rng.normal(size=(4, 4))
    for training in (True, False):
        report = cr.gradient_check(net, cr.MeanSquaredError(), X, T, training=training)
        assert report.max_rel_error < TOL, str(report)
    assert net.layers[2].buffers["running_var"].dtype == np.float32  # the original is untouched
    assert net.layers[3].forward(np.ones((2, 4), np.float32))[0].dtype == np.float32


def test_sparse_input_is_normalised_like_dense():
    sparse = pytest.importorskip("scipy.sparse")
    X = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    for layer in (cr.BatchNorm(3), cr.LayerNorm(3), cr.LayerNorm(3, affine=False)):
        Y = layer.forward(sparse.csr_matrix(X), training=True)[0]
        assert isinstance(Y, np.ndarray)
        np.testing.assert_array_equal(Y, layer.forward(X, training=True)[0])


def test_fit_refuses_a_last_batch_of_one_before_any_step():
    rng = np.random.default_rng(13)
    X, y = rng.normal(size=(33, 3)), rng.integers(0, 2, 33)
    net = cr.Sequential(cr.Dense(3, 4, rng=rng), cr.Sequential(cr.BatchNorm(4)), cr.Dense(4, 2))
    before = [p.copy() for _, _, p, _ in net.parameters()]
    with pytest.raises(ValueError) as err:
        cr.fit(net, cr.CrossEntropy(), X, y, optimizer=cr.SGD(0.1), epochs=1, batch_size=32, rng=0)
    assert str(err.value) == (
        "the network has a BatchNorm layer, which needs at least 2 samples per training "
        "batch, but 33 training samples in batches of 32 leave a last batch of 1 sample. "
        "Use e.g. batch_size=33."
    )
    for p, q in zip(before, [p for _, _, p, _ in net.parameters()], strict=True):
        np.testing.assert_array_equal(p, q)  # nothing moved
    np.testing.assert_array_equal(net.layers[1].layers[0].buffers["running_var"], 1)
    cr.fit(net, cr.CrossEntropy(), X, y, optimizer=cr.SGD(0.1), batch_size=31, epochs=2, rng=0)
    with pytest.raises(ValueError, match="Train on at least 2 samples"):
        cr.fit(net, cr.CrossEntropy(), X[:1], y[:1], optimizer=cr.SGD(0.1), epochs=1, rng=0)
    # without batch norm a batch of one is fine
    plain = cr.Sequential(cr.Dense(3, 2))
    cr.fit(plain, cr.CrossEntropy(), X, y, optimizer=cr.SGD(0.1), epochs=1, batch_size=32, rng=0)


# ------------------------------------------------------------------ properties

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
hnp = pytest.importorskip("hypothesis.extra.numpy")


@hypothesis.settings(max_examples=40, deadline=None, derandomize=True, database=None)
@hypothesis.given(data=st.data(), n=st.integers(2, 6), d=st.integers(1, 4), batch=st.booleans())
def test_output_is_standardised_and_dX_is_orthogonal_to_1_and_X_hat(data, n, d, batch):
    axis = 0 if batch else 1
    X = data.draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-100, 100)))
    R = data.draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-3, 3)))
    layer = cr.BatchNorm(d) if batch else cr.LayerNorm(d)
    Y, backward = layer.forward(X, training=True)
    dX = backward(R)
    var, eps = X.var(axis=axis), 1e-5
    s = 1 / np.sqrt(var + eps)
    # mean 0 and variance var / (var + eps) <= 1 along the axis of the statistics
    np.testing.assert_allclose(Y.mean(axis=axis), 0, atol=1e-9)
    np.testing.assert_allclose(Y.var(axis=axis), var / (var + eps), atol=1e-9)
    # dX has no component along 1 (shifting X along the axis changes nothing), and along
    # X_hat (= Y here) only what eps leaves: sum dX * X_hat = s * eps / (var + eps) *
    # sum R * X_hat, from the compact form and sum X_hat**2 = count * var / (var + eps)
    scale = s * (np.abs(R).sum(axis=axis) + 1e-300)  # the size of the terms that cancel
    assert np.all(np.abs(dX.sum(axis=axis)) <= 1e-12 * scale)
    along = (dX * Y).sum(axis=axis)
    expected = s * eps / (var + eps) * (R * Y).sum(axis=axis)
    # X - mu carries the rounding of X (a few ulps); with var ~ 0 (a constant column) s
    # magnifies it into Y, and the identity holds only to that error (s * sum|R| * dY)
    dY = s * 4 * np.spacing(np.abs(X).max(axis=axis))
    assert np.all(np.abs(along - expected) <= 1e-12 * scale + s * np.abs(R).sum(axis=axis) * dY)
