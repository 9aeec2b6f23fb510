"""Export to PyTorch and ONNX, import from PyTorch: the other engine computes the same
numbers (1e-12 in float64, 1e-6 in float32), and what cannot be converted is named."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

import chainrule as cr
from chainrule.export import ExportError, from_torch, to_onnx, to_torch

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

TOL = {np.float64: 1e-12, np.float32: 1e-6}


def every_layer_net(dtype=np.float64) -> cr.Sequential:
    rng = np.random.default_rng(0)
    return cr.Sequential(
        cr.Dense(4, 6, rng=rng, dtype=dtype),
        cr.ReLU(),
        cr.Dense(6, 6, rng=rng, dtype=dtype),
        cr.LeakyReLU(0.2),
        cr.Dropout(0.3, rng=1),
        cr.Dense(6, 5, rng=rng, dtype=dtype),
        cr.ELU(0.7),
        cr.Sequential(cr.Dense(5, 5, rng=rng, dtype=dtype), cr.Tanh()),
        cr.Dense(5, 4, rng=rng, dtype=dtype),
        cr.Sigmoid(),
        cr.Identity(),
        cr.Dense(4, 3, rng=rng, dtype=dtype),
        cr.Softmax(),
    )


def onnx_run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_to_torch_and_to_onnx_compute_what_the_network_computes(dtype, tmp_path):
    net = every_layer_net(dtype)
    X = (np.random.default_rng(1).normal(size=(9, 4)) * 3).astype(dtype)
    expected = net.predict(X)
    module = to_torch(net)
    assert not module.training, "exported in evaluation mode: dropout off"
    with torch.no_grad():
        got = module(torch.from_numpy(X)).numpy()
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL[dtype])
    path = to_onnx(net, tmp_path / "net")  # ".onnx" is appended
    assert path.name == "net.onnx"
    (Y,) = onnx_run(path, {"X": X})
    assert Y.dtype == dtype
    np.testing.assert_allclose(Y, expected, rtol=0, atol=TOL[dtype])


def test_linear_weight_is_W_transposed():
    net = cr.Sequential(cr.Dense(3, 2, rng=0))
    linear = to_torch(net)[0]
    np.testing.assert_array_equal(linear.weight.detach().numpy(), net.layers[0].params["W"].T)
    np.testing.assert_array_equal(linear.bias.detach().numpy(), net.layers[0].params["b"])


def test_from_torch_round_trip_and_gradients_equal_torch_autograd():
    """A student's PyTorch model, imported: same outputs, and one backward step of
    chainrule gives torch's gradients (so explain() shows torch's numbers)."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(4, 5),
        torch.nn.Tanh(),
        torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.LeakyReLU(0.05)),
        torch.nn.Linear(5, 3),
    ).double()
    net = from_torch(module)
    assert isinstance(net.layers[2], cr.Sequential)
    X = np.random.default_rng(2).normal(size=(6, 4))
    y = np.array([0, 1, 2, 2, 1, 0])
    Xt = torch.from_numpy(X)
    loss_t = torch.nn.functional.cross_entropy(module(Xt), torch.from_numpy(y))
    loss_t.backward()
    Y, backward = net.forward(X, training=True)
    value, dY = cr.CrossEntropy()(Y, y)
    net.zero_grad()
    backward(dY)
    assert abs(value - loss_t.item()) < 1e-12
    dense = [layer for layer, name, _, _ in net.parameters() if name == "W"]
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    for d, lin in zip(dense, linears, strict=True):
        np.testing.assert_allclose(d.grads["W"], lin.weight.grad.numpy().T, atol=1e-12)
        np.testing.assert_allclose(d.grads["b"], lin.bias.grad.numpy(), atol=1e-12)
    trace = cr.explain(net, cr.CrossEntropy(), X[:2], y[:2])
    assert "dW" in str(trace)


def test_from_torch_keeps_float32_and_a_missing_bias_becomes_zeros():
    module = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), torch.nn.Softmax(dim=-1))
    net = from_torch(module)
    assert net.dtype == np.float32
    assert not net.layers[0].params["b"].any()
    X = np.random.default_rng(3).normal(size=(4, 3)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.predict(X), expected, atol=1e-6)


def test_from_torch_names_every_unsupported_module():
    module = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Conv1d(1, 1, 1), torch.nn.Softmax(dim=0)
    )
    with pytest.raises(ExportError) as info:
        from_torch(module)
    message = str(info.value)
    assert "module 1 (Conv1d)" in message
    assert "module 2 (Softmax with dim=0)" in message
    assert "Supported modules: Linear" in message


class ResidualLinear(torch.nn.Linear):
    def forward(self, x):
        return x + super().forward(x)


class ResidualSequential(torch.nn.Sequential):
    def forward(self, x):
        return x + super().forward(x)


class NamedLinear(torch.nn.Linear):  # same forward: its behaviour is Linear's
    pass


def test_from_torch_refuses_a_subclass_that_overrides_forward():
    """A residual forward was converted to plain Linear/Sequential (outputs off by up to
    1.45, issue 25): only the table's classes, or subclasses keeping forward, convert."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(ResidualLinear(3, 3), torch.nn.ReLU(), NamedLinear(3, 2))
    with pytest.raises(ExportError) as info:
        from_torch(module)
    assert str(info.value).startswith(
        "from_torch: cannot convert module 0 (ResidualLinear overrides Linear.forward: "
        "chainrule cannot know what it computes; convert the modules its forward uses). "
        "Supported modules: Linear,"
    )
    inner = ResidualSequential(torch.nn.Linear(3, 3), torch.nn.Tanh())
    for outer, where in [(inner, "itself"), (torch.nn.Sequential(torch.nn.ReLU(), inner), "1")]:
        with pytest.raises(ExportError, match=rf"module {where} \(ResidualSequential overrides "
                           r"Sequential.forward"):  # fmt: skip
            from_torch(outer)
    hooked = torch.nn.Linear(3, 3)
    hooked.register_forward_hook(lambda m, args, out: out * 2)
    with pytest.raises(ExportError, match=r"module 0 \(Linear has forward hooks"):
        from_torch(hooked)
    kept = torch.nn.Sequential(NamedLinear(3, 2).double())  # a subclass keeping forward
    X = np.random.default_rng(0).normal(size=(5, 3))
    with torch.no_grad():
        expected = kept(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(from_torch(kept).predict(X), expected, rtol=0, atol=1e-12)


def test_from_torch_names_a_module_on_the_meta_device():
    module = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 2, device="meta"))
    with pytest.raises(ExportError) as info:
        from_torch(module)
    assert str(info.value).startswith(
        "from_torch: cannot convert module 1 (Linear is on the meta device and holds no "
        "values: materialise it first (module.to_empty(device='cpu'), then load_state_dict))."
    )
    with pytest.raises(ExportError, match=r"module 0 \(BatchNorm1d is on the meta device"):
        from_torch(torch.nn.BatchNorm1d(3, device="meta"))


def fitted(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of a short fit
        return estimator.fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_classifier_exports_label_and_probabilities(dtype, tmp_path):
    X, y = load_iris(return_X_y=True)
    X = X.astype(dtype)
    clf = fitted(cr.MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0), X, y)
    path = to_onnx(clf, tmp_path / "clf.onnx")
    label, P = onnx_run(path, {"X": X})
    np.testing.assert_allclose(P, clf.predict_proba(X), rtol=0, atol=TOL[dtype])
    np.testing.assert_array_equal(label, clf.predict(X))
    with torch.no_grad():
        Pt = to_torch(clf)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(Pt, clf.predict_proba(X), rtol=0, atol=TOL[dtype])


def test_a_binary_classifier_with_string_labels(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    labels = np.where(y == 1, "benign", "malignant")
    clf = fitted(cr.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0), X, labels)
    label, P = onnx_run(to_onnx(clf, tmp_path / "b.onnx"), {"X": X})
    np.testing.assert_allclose(P, clf.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(label, clf.predict(X))
    with torch.no_grad():
        p = to_torch(clf)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(p[:, 0], clf.predict_proba(X)[:, 1], rtol=0, atol=1e-12)


def test_a_multilabel_classifier(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], axis=1).astype(int)
    clf = fitted(cr.MLPClassifier(hidden_layer_sizes=(5,), max_iter=40, random_state=0), X, Y)
    label, P = onnx_run(to_onnx(clf, tmp_path / "m.onnx"), {"X": X})
    np.testing.assert_allclose(P, clf.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(label, clf.predict(X))


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_a_regressor_exports_variable(loss, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = np.exp(0.5 * X[:, 0]) + 0.1 * X[:, 1] ** 2
    reg = fitted(
        cr.MLPRegressor(loss=loss, hidden_layer_sizes=(7,), max_iter=40, random_state=0), X, y
    )
    (variable,) = onnx_run(to_onnx(reg, tmp_path / "r.onnx"), {"X": X})
    np.testing.assert_allclose(variable[:, 0], reg.predict(X), rtol=1e-12, atol=1e-12)
    if loss == "poisson":
        with pytest.raises(ExportError, match=r"'exp' has no torch\.nn module"):
            to_torch(reg)
    else:
        with torch.no_grad():
            got = to_torch(reg)(torch.from_numpy(X)).numpy()[:, 0]
        np.testing.assert_allclose(got, reg.predict(X), rtol=0, atol=1e-12)


def test_an_unfitted_estimator_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ExportError, match=r"not fitted yet; call fit\(X, y\) before exporting"):
        to_onnx(cr.MLPClassifier(), tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir()), "nothing written"


def test_skl2onnx_converts_a_pipeline_holding_chainrules_classifier():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from chainrule.export import register_skl2onnx

    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    pipe = make_pipeline(
        StandardScaler(), cr.MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0)
    )
    fitted(pipe, X, y)
    register_skl2onnx()
    proto = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    label, P = session.run(None, {session.get_inputs()[0].name: X})
    np.testing.assert_allclose(P, pipe.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(label, pipe.predict(X))


# ---------------------------------------------------------------- chainrule export
def run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def messy_frame(n=160, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n) * 10 + 3,
            "color": rng.choice(["red", "green", "blue"], n),
            "size": rng.choice(["S", "M"], n),
        }
    )
    df.loc[[3, 17], "a"] = np.nan
    df.loc[[5, 40], "color"] = np.nan
    return df


def onnx_feeds(bundle, frame) -> dict:
    pre = bundle.preprocessor
    feeds = {c: frame[[c]].to_numpy(np.float64) for c in pre.numeric_columns_}
    for c in pre.categorical_columns_:  # missing text is passed as ""
        feeds[c] = frame[[c]].fillna("").astype(str).to_numpy(object)
    return feeds


@pytest.mark.slow
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_chainrule_export_includes_the_preprocessing(task, tmp_path):
    df = messy_frame()
    if task == "classification":
        df["label"] = np.where(df.a.fillna(0) + (df.color == "red") > 0.3, "yes", "no")
    else:
        df["label"] = 2 * df.b + 5 * (df.color == "red") + 100
    df.to_csv(tmp_path / "data.csv", index=False)
    train = run("train", "--data", "data.csv", "--target", "label", "--epochs", "20",
                "--no-plots", "--no-progress", "--out", "run", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr
    bundle = cr.load(tmp_path / "run" / "model.npz")

    done = run("export", "run/model.npz", "--to", "onnx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "exported to run/model.onnx (onnx)" in done.stdout
    outputs = onnx_run(tmp_path / "run" / "model.onnx", onnx_feeds(bundle, df))
    if task == "classification":
        label, P = outputs
        np.testing.assert_allclose(P, bundle.predict_proba(df), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(label, bundle.predict(df))
    else:
        np.testing.assert_allclose(outputs[0][:, 0], bundle.predict(df), rtol=1e-12, atol=1e-9)
        session = ort.InferenceSession(
            str(tmp_path / "run" / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        assert [o.name for o in session.get_outputs()] == ["predicted_label"]  # the target

    done = run("export", "run/model.npz", "--to", "torch", "--out", "m.pt2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note: the module takes the preprocessed features" in done.stdout
    module = torch.export.load(str(tmp_path / "m.pt2")).module()
    with torch.no_grad():
        got = module(torch.from_numpy(bundle.transform(df))).numpy()
    X = bundle.transform(df)
    if task == "regression":  # the standardised target: the scaling is left out
        expected = bundle.estimator.predict(X)[:, None]
        scale, mean = float(bundle.target_scaler.scale_[0]), float(bundle.target_scaler.mean_[0])
        assert (
            "note: the module predicts the standardised target; in the target's units: "
            f"label = output[:, 0] * {scale!r} + {mean!r} (the training rows' standard "
            "deviation and mean)"
        ) in done.stdout
        np.testing.assert_allclose(got[:, 0] * scale + mean, bundle.predict(df), rtol=1e-12)
    else:  # binary: the positive class's probability
        expected = bundle.estimator.predict_proba(X)[:, 1:]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_chainrule_export_errors_are_one_line(tmp_path):
    cr.save(cr.Sequential(cr.Dense(2, 1, rng=0)), tmp_path / "net.npz")
    same = run("export", "net.npz", "--to", "onnx", "--out", "net.npz", cwd=tmp_path)
    assert same.returncode == 2
    assert same.stderr.strip() == (
        "chainrule export: error: --out net.npz is the model itself (net.npz); writing there "
        "would destroy it. Name another file."
    )
    missing = run("export", "net.npz", "--to", "onnx", "--out", "nodir/x.onnx", cwd=tmp_path)
    assert missing.returncode == 2
    assert "the folder" in missing.stderr and "nodir does not exist" in missing.stderr
    assert ".tmp" not in missing.stderr
    ok = run("export", "net.npz", "--to", "onnx", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    (Y,) = onnx_run(tmp_path / "net.onnx", {"X": np.ones((3, 2))})
    np.testing.assert_allclose(Y, cr.load(tmp_path / "net.npz").predict(np.ones((3, 2))))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normalization_layers_export_with_their_running_statistics(dtype, tmp_path):
    rng = np.random.default_rng(5)
    net = cr.Sequential(
        cr.Dense(4, 6, rng=rng, dtype=dtype),
        cr.BatchNorm(6, momentum=0.3, dtype=dtype),
        cr.Tanh(),
        cr.Dense(6, 5, rng=rng, dtype=dtype),
        cr.LayerNorm(5, dtype=dtype),
        cr.Dense(5, 2, rng=rng, dtype=dtype),
        cr.LayerNorm(2, affine=False, dtype=dtype),
    )
    for _ in range(4):  # running statistics away from their start (0 and 1)
        net.forward((rng.normal(size=(16, 4)) * 3 + 1).astype(dtype), training=True)
    for layer in (net.layers[1], net.layers[4]):
        layer.params["gamma"][...] = rng.uniform(0.5, 2, layer.n_features)
        layer.params["beta"][...] = rng.normal(size=layer.n_features)
    X = rng.normal(size=(7, 4)).astype(dtype)
    expected = net.predict(X)  # inference: BatchNorm uses its running statistics
    with torch.no_grad():
        got = to_torch(net)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL[dtype] * 10)
    (Y,) = onnx_run(to_onnx(net, tmp_path / "norm.onnx"), {"X": X})
    np.testing.assert_allclose(Y, expected, rtol=0, atol=TOL[dtype] * 10)
    back = from_torch(to_torch(net))
    np.testing.assert_array_equal(
        back.layers[1].buffers["running_var"], net.layers[1].buffers["running_var"]
    )
    np.testing.assert_allclose(back.predict(X), expected, rtol=0, atol=TOL[dtype])


def test_from_torch_refuses_normalisation_it_cannot_hold():
    module = torch.nn.Sequential(torch.nn.BatchNorm1d(3, momentum=None), torch.nn.LayerNorm([2, 3]))
    with pytest.raises(ExportError) as info:
        from_torch(module)
    assert "module 0 (BatchNorm1d without running statistics or with momentum=None" in str(
        info.value
    )
    assert "module 1 (LayerNorm over (2, 3)" in str(info.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_and_softplus_export(dtype, tmp_path):
    rng = np.random.default_rng(6)
    net = cr.Sequential(
        cr.Dense(3, 5, rng=rng, dtype=dtype),
        cr.GELU(),
        cr.Dense(5, 4, rng=rng, dtype=dtype),
        cr.Softplus(),
        cr.Dense(4, 2, rng=rng, dtype=dtype),
    )
    X = (rng.normal(size=(9, 3)) * 8).astype(dtype)  # softplus sees inputs past 20
    expected = net.predict(X)
    with torch.no_grad():
        got = to_torch(net)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])
    back = from_torch(to_torch(net))
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
    if dtype == np.float64:  # onnxruntime has no float64 Erf: refused, with the way out
        with pytest.raises(ExportError, match=r"no float64 Erf, which GELU needs"):
            to_onnx(net, tmp_path / "g.onnx")
        assert not (tmp_path / "g.onnx").exists()
        net = cr.Sequential(*net.layers[2:])  # Softplus alone runs in float64
        X = (rng.normal(size=(9, 5)) * 8).astype(dtype)
        expected = net.predict(X)
    (Y,) = onnx_run(to_onnx(net, tmp_path / "g.onnx"), {"X": X})
    np.testing.assert_allclose(Y, expected, rtol=TOL[dtype], atol=TOL[dtype])


def test_from_torch_names_the_gelu_and_softplus_it_cannot_match():
    module = torch.nn.Sequential(torch.nn.GELU(approximate="tanh"), torch.nn.Softplus(beta=2))
    with pytest.raises(ExportError) as info:
        from_torch(module)
    assert "module 0 (GELU with approximate='tanh')" in str(info.value)
    assert "module 1 (Softplus with beta=2, threshold=20)" in str(info.value)


def test_a_network_that_starts_with_batch_norm_exports(tmp_path):
    net = cr.Sequential(cr.BatchNorm(3), cr.Dense(3, 2, rng=0))
    net.forward(np.random.default_rng(8).normal(size=(10, 3)) * 4 + 1, training=True)
    X = np.random.default_rng(9).normal(size=(5, 3))
    (Y,) = onnx_run(to_onnx(net, tmp_path / "bn_first.onnx"), {"X": X})
    np.testing.assert_allclose(Y, net.predict(X), rtol=0, atol=1e-12)


def colliding_bundle(task: str):
    """A bundle whose feature columns carry the graph's own names: each output's, an
    intermediate's (``concat_1``, ``where_5``), a constant's (``median_2``)."""
    from chainrule.datasets import Preprocessor, TargetScaler
    from chainrule.persistence.bundle import ModelBundle

    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame(
        {
            "label": rng.normal(size=n),
            "probabilities": rng.normal(size=n),
            "variable": rng.normal(size=n),
            "Y": rng.normal(size=n),
            "X": rng.normal(size=n),
            "concat_1": rng.normal(size=n),
            "where_5": rng.normal(size=n),
            "label_output": rng.normal(size=n),
            "median_2": rng.choice(["a", "b"], n),
            "cast_9": rng.choice(["u", "v", "w"], n),
        }
    )
    pre = Preprocessor().fit(frame)
    X = pre.transform(frame)
    warnings.simplefilter("ignore")  # not converged in 30 epochs: the numbers still agree
    if task == "classification":
        y = np.where(frame.label + frame.concat_1 > 0, "yes", "no")
        est = cr.MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, y)
        return ModelBundle(pre, est, task, ["target"]), frame
    scaler = TargetScaler().fit(frame.variable.to_numpy() * 3 + 1)
    est = cr.MLPRegressor(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
    est.fit(X, scaler.transform(frame.variable.to_numpy() * 3 + 1))
    return ModelBundle(pre, est, task, ["target"], scaler), frame


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_column_names_cannot_collide_with_the_graphs_names(task, tmp_path):
    """A column named ``label`` made the graph leave SSA form (issue 25): inputs keep
    the columns' names, an output whose name is a column's becomes ``<name>_output``."""
    import onnx

    from chainrule.export import export_file

    with warnings.catch_warnings():
        bundle, frame = colliding_bundle(task)
    cr.save(bundle, tmp_path / "m.npz")
    path, notes = export_file(tmp_path / "m.npz", "onnx")
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == list(frame.columns)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    outputs = session.run(None, onnx_feeds(bundle, frame))
    if task == "classification":
        assert names == ["label_output_output", "probabilities_output"]
        assert notes == [
            "a feature column is named 'label', so that output is named 'label_output_output'",
            "a feature column is named 'probabilities', so that output is named "
            "'probabilities_output'",
        ]
        np.testing.assert_allclose(outputs[1], bundle.predict_proba(frame), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(outputs[0], bundle.predict(frame))
    else:  # issue 24: a bundle's regressor names its output after the target
        assert names == ["predicted_target"]
        assert notes == []
        np.testing.assert_allclose(outputs[0][:, 0], bundle.predict(frame), rtol=1e-12)
