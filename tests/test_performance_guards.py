"""Guards for the performance work (issue 7): speed must not change the numbers.

The fast paths are: ``Sequential`` packing its parameters and gradients into one flat
buffer each, so that an optimizer (``cr.Adam``, ``cr.SGD``, ``cr.RMSProp``, and the
estimators' scikit-learn rules) applies every line of its rule once to the whole buffer;
``backward(dY, need_dX=False)`` skipping the first layer's dX; ``accumulate=False``
setting the gradients instead of zeroing and adding to them; ``fit`` and the estimators
checking the targets once instead of at every batch; ``Dense`` computing a one-output
layer's dX as a broadcast product. Each is checked here against the simple path:

* pinned numbers: loss curves and weights of small fixed runs, recorded with the code
  as it was before the optimisation, to 1e-12 (two BLAS builds may round differently
  in the last bit; they cannot drift further in four epochs of these small nets);
* bit for bit, in this process: ``fit`` against a hand-written loop over the public
  per-batch contract with array-by-array optimizer steps, and the estimators against
  themselves with the flat update switched off;
* memory: ``fit`` copies no X per epoch (tracemalloc: its peak is a small fraction of X
  and does not grow with the number of epochs).

No timing is asserted here: ``benchmarks/compare.py`` measures speed.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import chainrule as cr
import chainrule.estimators._solvers
import chainrule.optimizers
from chainrule import MLPClassifier, MLPRegressor


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int) + (X[:, 2] > 0.8)
    return X, y  # three classes


def tanh_net(n_out, seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return cr.Sequential(
        cr.Dense(4, 6, rng=rng, dtype=dtype),
        cr.Tanh(),
        cr.Dense(6, 5, rng=rng, dtype=dtype),
        cr.Tanh(),
        cr.Dense(5, n_out, rng=rng, dtype=dtype),
    )


def parameters(net):
    return [p for _, _, p, _ in net.parameters()]


# ----------------------------------------------------------------- pinned numbers
# Recorded before the optimisation: (loss per epoch, sum of each parameter array, sum
# of squares of each), parameters in the order of net.parameters() (W, b per layer) or
# [*coefs_, *intercepts_] for the estimators.
PINNED = {
    "adam_ce": (
        [1.0708822650005194, 0.9401157004386708, 0.8583623961554232, 0.7996791274387772],
        [-0.805424563644024, 0.07847253193753573, 2.416021195081656, -0.11710050219000001,
         0.48457713690233783, 0.05346945485069157],
        [4.254596655375093, 0.09085836966356527, 5.3856413512608725, 0.09421032413614709,
         4.4084582643001715, 0.04191082384372134],
    ),
    "sgd_mse": (
        [0.8384734790149074, 0.5056984994358257, 0.5345505540753297, 0.37980975567494696],
        [-0.1914164555815575, 0.025631136626604205, 1.9733548822468494, 0.267723413105889,
         0.6657118787945298, -0.08084747857812774],
        [6.7512184250080205, 0.15647885874475473, 6.832079444360977, 0.12197057325349954,
         2.9974061366494724, 0.0065363147924408236],
    ),
    "rmsprop_bce": (
        [0.6439086333831079, 0.5658637493508897, 0.5297212351428141, 0.504611572853362],
        [-1.0436750839476123, -0.30569531788293863, 2.5247556104058853, 0.06599931398993741,
         0.8402860388526588, 0.07394349212837756],
        [4.407318807450781, 0.02265500271484743, 5.284554099234432, 0.025138032887887234,
         3.0056215222239686, 0.005467640028139434],
    ),
    "clf_adam": (
        [0.9951061823350826, 0.9654137587757858, 0.942460073022852, 0.9210847853942056],
        [4.059227279693225, -2.0507048020269987, -0.9377436575888939, -0.44572478497502344,
         -1.9625244151477887, -1.2187545720536757],
        [4.867619561681229, 3.3205043548326865, 4.08112298831931, 1.1586614393092827,
         1.346606768187093, 0.8472125648312938],
    ),
    "reg_sgd": (
        [1.758954305574836, 0.9496689262530469, 0.4532469631301629, 0.2723573308067569],
        [4.195690771533455, -1.0959904401471832, 0.2610154621495094, 0.5582949628591988],
        [6.705267962167804, 3.2798168956918685, 1.6170169443760516, 0.31169326555395416],
    ),
}  # fmt: skip


def run_fit(case: str, dtype=np.float64):
    """One of the pinned ``fit`` runs: (loss curve, parameters)."""
    X, y = data()
    X = X.astype(dtype)
    if case == "adam_ce":
        net = tanh_net(3, dtype=dtype)
        history = cr.fit(
            net, cr.CrossEntropy(), X, y, optimizer=cr.Adam(0.01), epochs=4, batch_size=16, rng=0
        )
    elif case == "sgd_mse":  # Nesterov, L2, a validation split, sample weights
        net = tanh_net(1, dtype=dtype)
        t = (X @ np.array([1.0, -2.0, 0.5, 0.0])).astype(dtype)
        history = cr.fit(
            net, cr.MeanSquaredError(), X, t,
            optimizer=cr.SGD(0.05, momentum=0.9, nesterov=True), epochs=4, batch_size=8,
            l2=1e-3, validation_split=0.2, sample_weight=np.linspace(0.5, 1.5, 60), rng=0,
        )  # fmt: skip
    else:  # "rmsprop_bce": full batch
        net = tanh_net(1, dtype=dtype)
        history = cr.fit(
            net, cr.BinaryCrossEntropy(), X, (y > 0).astype(float),
            optimizer=cr.RMSProp(0.01), epochs=4, batch_size=None, rng=0,
        )  # fmt: skip
    return history.loss, parameters(net)


def run_estimator(case: str, dtype=np.float64):
    """One of the pinned estimator runs: (loss_curve_, [*coefs_, *intercepts_])."""
    X, y = data()
    X = X.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if case == "clf_adam":
            est = MLPClassifier(
                hidden_layer_sizes=(6, 5), batch_size=16, max_iter=4, learning_rate_init=0.01,
                random_state=0,
            ).fit(X, y)  # fmt: skip
        else:  # "reg_sgd": momentum SGD with L2
            t = X @ np.array([1.0, -2.0, 0.5, 0.0])
            est = MLPRegressor(
                hidden_layer_sizes=(6,), solver="sgd", batch_size=8, max_iter=4, alpha=1e-3,
                learning_rate_init=0.01, random_state=0,
            ).fit(X, t)  # fmt: skip
    return est.loss_curve_, [*est.coefs_, *est.intercepts_]


def assert_pinned(case, curve, params):
    loss, sums, squares = PINNED[case]
    np.testing.assert_allclose(curve, loss, rtol=1e-12, atol=0)
    np.testing.assert_allclose([p.sum() for p in params], sums, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose([(p * p).sum() for p in params], squares, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", ["adam_ce", "sgd_mse", "rmsprop_bce"])
def test_fit_gives_the_numbers_of_before_the_optimisation(case):
    assert_pinned(case, *run_fit(case))


@pytest.mark.parametrize("case", ["clf_adam", "reg_sgd"])
def test_estimators_give_the_numbers_of_before_the_optimisation(case):
    assert_pinned(case, *run_estimator(case))


# ----------------------------------------------------------------- bit for bit
def simple_fit(net, loss, X, y, optimizer, epochs, batch_size, seed):
    """The training loop written with the public per-batch contract only: a forward, the
    loss, zero_grad, a full backward (dX of the input included), then each layer stepped
    on its own, so that the optimizer updates array by array (no flat buffer)."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    curve = []
    for _ in range(epochs):
        order = rng.permutation(n)  # what fit draws each epoch (no validation split)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            Y, backward = net.forward(X[idx], training=True)
            value, dY = loss(Y, y[idx])
            net.zero_grad()
            backward(dY)
            for layer in net.layers:
                optimizer.step(layer)
            total += value * len(idx)
        curve.append(total / n)
    return curve


OPTIMIZERS = {
    "adam": lambda: cr.Adam(0.01),
    "sgd_nesterov": lambda: cr.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: cr.RMSProp(0.01),
}
TASKS = {
    "cross_entropy": (cr.CrossEntropy, 3),
    "mse_one_output": (cr.MeanSquaredError, 1),  # also Dense's one-output dX
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_fit_is_bit_identical_to_the_simple_loop(optimizer, task, dtype):
    X, y = data(n=70)  # 70 = 4 batches of 16 and one of 6
    X = X.astype(dtype)
    make_loss, n_out = TASKS[task]
    if n_out == 1:
        y = (X @ np.array([1.0, -2.0, 0.5, 0.0])).astype(dtype)
    fast, simple = tanh_net(n_out, dtype=dtype), tanh_net(n_out, dtype=dtype)
    history = cr.fit(
        fast, make_loss(), X, y, optimizer=OPTIMIZERS[optimizer](), epochs=3, batch_size=16,
        rng=5,
    )  # fmt: skip
    curve = simple_fit(simple, make_loss(), X, y, OPTIMIZERS[optimizer](), 3, 16, seed=5)
    for p, q in zip(parameters(fast), parameters(simple), strict=True):
        assert p.dtype == q.dtype == dtype
        np.testing.assert_array_equal(p, q)
    np.testing.assert_allclose(history.loss, curve, rtol=1e-15 if dtype == np.float64 else 1e-6)


@pytest.fixture
def no_flat_update(monkeypatch):
    """Switch the flat-buffer update off: every optimizer updates array by array."""
    monkeypatch.setattr(chainrule.optimizers, "flat_layout", lambda *lists: None)
    monkeypatch.setattr(chainrule.estimators._solvers, "flat_layout", lambda *lists: None)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", ["clf_adam", "reg_sgd"])
def test_estimators_flat_update_is_bit_identical(case, dtype, request):
    curve, params = run_estimator(case, dtype)
    request.getfixturevalue("no_flat_update")
    simple_curve, simple_params = run_estimator(case, dtype)
    assert curve == simple_curve
    for p, q in zip(params, simple_params, strict=True):
        assert p.dtype == dtype
        np.testing.assert_array_equal(p, q)


def test_the_fast_paths_are_taken():
    # Otherwise the tests above would compare the simple path with itself.
    X, y = data()
    net = tanh_net(3)
    flat = net.layers[0].params["W"].base
    assert flat is not None and flat.ndim == 1 and flat.size == net.n_params
    assert all(p.base is flat for p in parameters(net))
    assert all(g.base is net.layers[0].grads["W"].base for _, _, _, g in net.parameters())
    opt = cr.Adam()
    cr.fit(net, cr.CrossEntropy(), X, y, optimizer=opt, epochs=1, batch_size=16, rng=0)
    ((P, state),) = opt._flat_states.values()  # one flat state, updated as a whole
    assert P is flat and state["M"].size == net.n_params and state["t"] == 4
    est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.coefs_[0] is est.network_.layers[0].params["W"]
    assert est._optimizer.ms[0].base is est._optimizer.ms[1].base is not None


def test_packing_keeps_the_values_and_astype_repacks():
    rng = np.random.default_rng(0)
    layers = [cr.Dense(3, 4, rng=rng), cr.ReLU(), cr.Dense(4, 2, rng=rng)]
    before = [p.copy() for layer in layers for p in layer.params.values()]
    net = cr.Sequential(*layers)
    for p, q in zip(parameters(net), before, strict=True):
        np.testing.assert_array_equal(p, q)
    net.astype(np.float32)
    assert all(p.dtype == np.float32 and p.base is parameters(net)[0].base for p in parameters(net))


def test_a_replaced_parameter_falls_back_to_array_by_array():
    X, y = data()
    net, twin = tanh_net(3), tanh_net(3)
    W = net.layers[2].params["W"]
    net.layers[2].params["W"] = W.copy()  # no longer a view of the flat buffer
    net.layers[2].grads["W"] = np.zeros_like(W)
    h1 = cr.fit(
        net, cr.CrossEntropy(), X, y, optimizer=cr.Adam(0.01), epochs=2, batch_size=16, rng=0
    )
    h2 = cr.fit(
        twin, cr.CrossEntropy(), X, y, optimizer=cr.Adam(0.01), epochs=2, batch_size=16, rng=0
    )
    assert h1.loss == h2.loss
    for p, q in zip(parameters(net), parameters(twin), strict=True):
        np.testing.assert_array_equal(p, q)


def test_sequential_backward_without_dX_fills_the_same_gradients():
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Dropout(0.0), cr.Dense(4, 5, rng=rng), cr.Tanh(), cr.Dense(5, 2, rng=rng)
    )
    X, dY = rng.normal(size=(7, 4)), rng.normal(size=(7, 2))
    _, backward = net.forward(X, training=True)
    net.zero_grad()
    assert backward(dY).shape == X.shape
    full = [g.copy() for _, _, _, g in net.parameters()]
    net.zero_grad()
    assert backward(dY, need_dX=False) is None  # and no dX was computed for Dense(4, 5)
    for g, h in zip(full, (g for _, _, _, g in net.parameters()), strict=True):
        np.testing.assert_array_equal(g, h)


class Scale(cr.Layer):
    """A layer with a parameter that knows nothing of the fast backward options."""

    def __init__(self, n):
        super().__init__()
        self.params = {"s": np.linspace(0.5, 1.5, n)}
        self.grads = {"s": np.zeros(n)}

    def forward(self, X, training=False):
        s = self.params["s"]

        def backward(dY):
            self.grads["s"] += (dY * X).sum(axis=0)
            return dY * s

        return X * s, backward


def accumulated_and_set(net, X, dY, junk=7.0, **options):
    """The grads from zero_grad() + backward(dY), and from backward(dY, accumulate=False)
    called on grads full of junk (which setting must overwrite, never add to)."""
    _, backward = net.forward(X, training=True)
    net.zero_grad()
    backward(dY, **options)
    accumulated = [g.copy() for _, _, _, g in net.parameters()]
    for _, _, _, g in net.parameters():
        g.fill(junk)
    backward(dY, accumulate=False, **options)
    return accumulated, [g.copy() for _, _, _, g in net.parameters()]


@pytest.mark.parametrize("need_dX", [True, False])
def test_setting_gradients_equals_zeroing_then_accumulating(need_dX):
    rng = np.random.default_rng(1)
    shared = cr.Dense(5, 5, rng=rng)  # used twice: its gradient is a sum of two terms
    inner = cr.Sequential(cr.Dense(5, 5, rng=rng), cr.Tanh())
    net = cr.Sequential(
        cr.Dense(4, 5, rng=rng), Scale(5), shared, cr.ReLU(), shared, inner,
        cr.Sequential(cr.Dense(5, 3, rng=rng)),
    )  # fmt: skip
    X, dY = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    accumulated, written = accumulated_and_set(net, X, dY, need_dX=need_dX)
    assert len(accumulated) == 11  # parameters() lists the shared layer twice
    for a, w in zip(accumulated, written, strict=True):
        np.testing.assert_array_equal(a, w)
    assert np.abs(accumulated[3]).max() > 0  # the shared layer did get a gradient


def test_a_dense_layer_sets_its_gradients_for_sparse_X_too():
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(2)
    X = sparse.random(8, 6, density=0.3, format="csr", random_state=3)
    dense = cr.Dense(6, 2, rng=rng)
    dY = rng.normal(size=(8, 2))
    accumulated, written = accumulated_and_set(cr.Sequential(dense), X, dY, need_dX=False)
    np.testing.assert_allclose(written[0], X.T @ dY, rtol=1e-14)
    for a, w in zip(accumulated, written, strict=True):
        np.testing.assert_array_equal(a, w)


# ----------------------------------------------------------------- memory
def peak_allocation(run) -> int:
    """Peak bytes NumPy and Python allocate while ``run()`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_fit_makes_no_copy_of_X(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 100)).astype(dtype)  # 16 MB in float64
    y = rng.integers(0, 3, size=20_000)

    def train(epochs):
        net = cr.Sequential(
            cr.Dense(100, 32, rng=0, dtype=dtype), cr.ReLU(), cr.Dense(32, 3, rng=1, dtype=dtype)
        )
        cr.fit(
            net, cr.CrossEntropy(), X, y, optimizer=cr.Adam(), epochs=epochs, batch_size=64, rng=0
        )

    train(1)  # warm-up: first calls allocate caches of their own
    one, three = peak_allocation(lambda: train(1)), peak_allocation(lambda: train(3))
    # a batch of X is 64 rows = 0.3% of X; the optimizer state is 3 x 3,331 parameters
    assert one < X.nbytes / 10 and three < X.nbytes / 10, (one, three, X.nbytes)
    assert three < 1.5 * one  # nothing grows with the number of epochs


def test_estimator_fit_makes_no_copy_of_X():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 100))
    y = rng.integers(0, 3, size=20_000)

    def train():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier((32,), batch_size=64, max_iter=2, random_state=0).fit(X, y)

    train()
    # the one-hot targets (20,000 x 3 integers) are 6% of X; no copy of X itself
    assert peak_allocation(train) < X.nbytes / 5
