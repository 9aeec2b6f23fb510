"""One registry per kind and one MLP builder (issue 21, section 3).

Every surface that takes an activation by name reads chainrule.layers.registry, every
MLP is built by chainrule.layers.build_mlp, and an unknown name of any kind gets the
same message: ``unknown <kind> <name>; choose one of a, b, c.``
"""

import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.layers import ACTIVATIONS, build_mlp, get_activation
from chainrule.layers.registry import SKLEARN_ACTIVATIONS, activation_name

ALL_NAMES = (
    "identity, linear, sigmoid, logistic, tanh, relu, leaky_relu, elu, gelu, softplus, softmax"
)
CLI_NAMES = "relu, tanh, sigmoid, logistic, leaky_relu, elu, gelu, softplus, identity"
PAGE_NAMES = "relu, tanh, sigmoid, leaky_relu, elu, linear"


# ------------------------------------------------------------------ the registry
def test_every_name_is_its_class_and_builds_it():
    expected = {
        "identity": cr.Identity, "linear": cr.Identity, "sigmoid": cr.Sigmoid,
        "logistic": cr.Sigmoid, "tanh": cr.Tanh, "relu": cr.ReLU, "leaky_relu": cr.LeakyReLU,
        "elu": cr.ELU, "gelu": cr.GELU, "softplus": cr.Softplus, "softmax": cr.Softmax,
    }  # fmt: skip
    assert ACTIVATIONS == expected
    for name, cls in expected.items():
        assert get_activation(name) is cls
        net = build_mlp([2, 3, 1], name, rng=0)
        assert type(net.layers[1]) is cls
        assert type(build_mlp([2, 1], "relu", output=name, rng=0).layers[-1]) is cls


def test_activation_name_gives_the_first_name_a_surface_offers():
    assert activation_name(cr.Sigmoid(), SKLEARN_ACTIVATIONS) == "logistic"
    assert activation_name(cr.Sigmoid) == "sigmoid"
    assert activation_name(cr.Identity()) == "identity"
    assert activation_name(cr.GELU(), SKLEARN_ACTIVATIONS) is None
    assert activation_name(cr.Dense(2, 2, rng=0)) is None


def test_the_registry_classes_are_all_saved_and_loaded(tmp_path):
    from chainrule.persistence.npz import _layer_classes

    # persistence's allow-list is layers.__all__, which exports every registry class
    assert {cls.__name__ for cls in ACTIVATIONS.values()} <= set(_layer_classes())
    net = build_mlp([3, 4, 4, 2], ["elu", "softplus"], output="softmax", rng=1)
    back = cr.load(cr.save(net, tmp_path / "net.npz"))
    X = np.random.default_rng(2).normal(size=(5, 3))
    np.testing.assert_array_equal(back.forward(X)[0], net.forward(X)[0])


# ------------------------------------------------------------ the one message
def test_an_unknown_name_gets_the_one_message_everywhere(capsys):
    from chainrule.cli import main
    from chainrule.playground.config import ConfigError, clean_config

    message = f"unknown activation 'swish'; choose one of {ALL_NAMES}."
    for call in (
        lambda: get_activation("swish"),
        lambda: build_mlp([2, 3, 1], "swish"),
        lambda: build_mlp([2, 3, 1], "relu", output="swish"),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message
    with pytest.raises(ValueError) as info:
        get_activation("swish", among=SKLEARN_ACTIVATIONS)
    assert (
        str(info.value)
        == "unknown activation 'swish'; choose one of identity, logistic, tanh, relu."
    )

    # the command: its names, one line, exit status 2
    assert main(["gradcheck", "--activation", "swish"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"chainrule gradcheck: error: unknown activation 'swish'; choose one of {CLI_NAMES}.\n"
    )
    assert main(["train", "--activation", "swish", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        "chainrule train: error: unknown activation 'swish'; choose one of identity, "
        "logistic, tanh, relu, sigmoid.\n"
    )
    # the playground: its names, and which hidden layer
    with pytest.raises(ConfigError) as info:
        clean_config({"network": {"hidden": [4, 4], "activations": ["tanh", "swish"]}})
    assert (
        str(info.value)
        == f"hidden layer 2: unknown activation 'swish'; choose one of {PAGE_NAMES}."
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cr.losses.get_loss("hinge"),
         "unknown loss 'hinge'; choose one of mse, mean_squared_error, mae, mean_absolute_error,"
         " huber, bce, binary_cross_entropy, cross_entropy, ce, multiclass_hinge."),
        (lambda: cr.optimizers.get_optimizer("lion", lr=0.1),
         "unknown optimizer 'lion'; choose one of sgd, adam, adamw, rmsprop."),
        (lambda: cr.initializers.get_initializer("uniformish"),
         "unknown init 'uniformish'; choose one of glorot, glorot_uniform, glorot_normal, "
         "glorot_uniform_logistic, xavier, xavier_uniform, xavier_normal, he, he_normal, "
         "he_uniform, normal, zeros or a callable init(rng, shape, dtype) -> array."),
        (lambda: cr.schedules.get_schedule("cosine"),
         "unknown schedule 'cosine'; choose one of constant, invscaling, inverse_scaling, "
         "plateau, reduce_on_plateau, None or a Schedule instance (ConstantLR(), "
         "InverseScalingLR(power_t), StepDecayLR(step_size, gamma), ReduceLROnPlateau(...))."),
        (lambda: cr.metrics.get_metric("auc"),
         "unknown metric 'auc'; choose one of accuracy, mse, mae, r2 or a function "
         "f(Y, T, sample_weight=None) -> float."),
        (lambda: get_activation(["relu"]),  # unhashable: the same message, no TypeError
         f"unknown activation ['relu']; choose one of {ALL_NAMES}."),
    ],
)  # fmt: skip
def test_every_kind_has_one_lookup_with_the_same_message(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_get_optimizer_builds_by_name_and_passes_an_instance_through():
    opt = cr.optimizers.get_optimizer("sgd", lr=0.1, momentum=0.9)
    assert type(opt) is cr.SGD and opt.lr0 == 0.1 and opt.momentum == 0.9
    adam = cr.Adam(1e-3)
    assert cr.optimizers.get_optimizer(adam) is adam
    assert set(cr.optimizers.OPTIMIZERS) == {"sgd", "adam", "adamw", "rmsprop"}


# ------------------------------------------------------- the surfaces' choices
def test_the_command_offers_registry_names():
    from chainrule.cli import ACTIVATIONS as CLI
    from chainrule.cli import LOSSES, build_network, build_parser

    assert ", ".join(CLI) == CLI_NAMES
    assert all(CLI[name] == get_activation(name).__name__ for name in CLI)
    assert set(LOSSES) <= set(cr.losses.LOSSES)
    help_text = build_parser()._subparsers._group_actions[0].choices["gradcheck"].format_help()
    assert f"one of {CLI_NAMES}" in " ".join(help_text.split())
    for name in CLI:
        net = build_network(3, [4], 2, name, np.random.default_rng(0))
        assert type(net.layers[1]) is get_activation(name)


def test_the_playground_offers_registry_names_and_the_page_lists_the_same():
    from chainrule.playground import config

    assert ", ".join(config.ACTIVATIONS) == PAGE_NAMES
    assert all(config.ACTIVATIONS[n] == get_activation(n).__name__ for n in config.ACTIVATIONS)
    app_js = Path(config.__file__).with_name("static").joinpath("app.js").read_text()
    page = re.search(r"const ACTIVATIONS = \[(.*?)\];", app_js).group(1)
    assert [s.strip().strip('"') for s in page.split(",")] == list(config.ACTIVATIONS)
    for name in config.ACTIVATIONS:
        net_config = config.clean_config({"network": {"hidden": [3], "activations": [name]}})
        net, _, _ = config.build_network(net_config["network"], 2, 1)
        assert type(net.layers[1]) is get_activation(name)
    assert set(config.LOSSES) <= set(cr.losses.LOSSES)
    for name in config.OPTIMIZERS:
        net_config = dict(config.DEFAULT_CONFIG["network"], optimizer=name, lr=0.5)
        opt = config.build_optimizer(net_config)
        assert opt.lr0 == 0.5 and type(opt) is {"adam": cr.Adam, "rmsprop": cr.RMSProp}.get(
            name, cr.SGD
        )
        assert getattr(opt, "momentum", 0.0) == (0.9 if name == "momentum" else 0.0)


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # max_iter=2 does not converge
def test_the_estimators_accept_scikit_learns_names_from_the_registry():
    from sklearn.utils._param_validation import InvalidParameterError

    from chainrule.estimators._base import HIDDEN_ACTIVATIONS, BaseMLP

    assert HIDDEN_ACTIVATIONS == {
        n: ACTIVATIONS[n] for n in ("identity", "logistic", "tanh", "relu")
    }
    assert BaseMLP._parameter_constraints["activation"][0].options == set(SKLEARN_ACTIVATIONS)
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    for name in SKLEARN_ACTIVATIONS:
        est = cr.MLPClassifier((4, 3), activation=name, max_iter=2, random_state=0).fit(X, y)
        kinds = [type(layer) for layer in est.network_.layers]
        act = get_activation(name)
        assert kinds == [cr.Dense, act, cr.Dense, act, cr.Dense]
    with pytest.raises(InvalidParameterError, match="'activation' parameter"):
        cr.MLPClassifier(activation="sigmoid").fit(X, y)  # scikit-learn's names only


def test_the_quiz_draws_registry_activations(monkeypatch):
    from chainrule.practice import quiz

    assert set(quiz.ACTIVATIONS) <= set(ACTIVATIONS)
    assert all(quiz.ACTIVATIONS[n][0] is get_activation(n) for n in quiz.ACTIVATIONS)
    built = []
    monkeypatch.setattr(
        quiz, "build_mlp", lambda *a, **k: built.append(build_mlp(*a, **k)) or built[-1]
    )
    seen = set()
    for seed in range(30):
        p = quiz.draw_problem(np.random.default_rng(seed))
        seen.add(p.activation)
        kinds = [type(layer) for layer in built[-1].layers]
        assert kinds == [cr.Dense, get_activation(p.activation), cr.Dense]
        np.testing.assert_array_equal(built[-1].layers[2].params["W"], p.W2)
    assert seen == set(quiz.ACTIVATIONS) and len(built) == 30


# ------------------------------------------------------------------ build_mlp
def test_build_mlp_layer_sequence_shapes_and_inits():
    net = build_mlp([3, 5, 4, 2], "relu", rng=0, dropout=0.25)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "ReLU", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]
    denses = [layer for layer in net.layers if isinstance(layer, cr.Dense)]
    assert [d.params["W"].shape for d in denses] == [(3, 5), (5, 4), (4, 2)]
    assert [d.init for d in denses] == ["he", "he", "glorot"]
    assert net.layers[2].p == 0.25
    assert net.forward(np.zeros((7, 3)))[0].shape == (7, 2)

    net = build_mlp([3, 5, 4, 1], ["tanh", "elu"], output="sigmoid", rng=0)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Dense", "Tanh", "Dense", "ELU", "Dense", "Sigmoid",
    ]  # fmt: skip
    assert [layer.init for layer in net.layers if isinstance(layer, cr.Dense)] == [
        "glorot", "he", "glorot",
    ]  # fmt: skip
    assert [type(x).__name__ for x in build_mlp([3, 2], "tanh", rng=0).layers] == ["Dense"]
    net = build_mlp([3, 4, 2], "relu", init="zeros")
    assert all(not d.params["W"].any() for d in net.layers if isinstance(d, cr.Dense))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_build_mlp_dtype_and_determinism(dtype):
    a = build_mlp([3, 6, 2], "tanh", rng=5, dtype=dtype)
    b = build_mlp([3, 6, 2], "tanh", rng=np.random.default_rng(5), dtype=dtype)
    for (_, name, W, _), (_, _, W2, _) in zip(a.parameters(), b.parameters(), strict=True):
        assert W.dtype == dtype
        np.testing.assert_array_equal(W, W2, err_msg=name)
    X = np.ones((2, 3), dtype=dtype)
    assert a.forward(X)[0].dtype == dtype
    c = build_mlp([3, 6, 2], "tanh", rng=6, dtype=dtype)
    assert not np.array_equal(a.layers[0].params["W"], c.layers[0].params["W"])


def test_build_mlp_draws_as_the_hand_built_chain_did():
    # the command and the playground built Dense(he/glorot, rng) -> act [-> Dropout] by
    # hand; build_mlp draws the same weights from the same generator in the same order
    rng = np.random.default_rng(3)
    by_hand = cr.Sequential(
        cr.Dense(2, 4, init="he", rng=rng), cr.ReLU(), cr.Dropout(0.5, rng=rng),
        cr.Dense(4, 3, init="he", rng=rng), cr.ReLU(), cr.Dropout(0.5, rng=rng),
        cr.Dense(3, 1, init="glorot", rng=rng),
    )  # fmt: skip
    built = build_mlp([2, 4, 3, 1], "relu", rng=3, dropout=0.5)
    assert [repr(x) for x in built.layers] == [repr(x) for x in by_hand.layers]
    X = np.random.default_rng(9).normal(size=(6, 2))
    for _ in range(3):  # the dropout masks come from the same generator, in turn
        np.testing.assert_array_equal(built.forward(X, True)[0], by_hand.forward(X, True)[0])


def test_build_mlp_uses_given_dense_layers_as_they_are():
    denses = [cr.Dense(3, 4, rng=0), cr.Dense(4, 2, rng=1)]
    net = build_mlp(denses=denses, activation="logistic", dropout=0.1, rng=2)
    assert net.layers[0] is denses[0] and net.layers[3] is denses[1]
    assert [type(x).__name__ for x in net.layers] == ["Dense", "Sigmoid", "Dropout", "Dense"]


def test_build_mlp_refuses_a_bad_spec():
    cases = [
        (lambda: build_mlp(), "build_mlp takes exactly one of sizes (e.g. [4, 16, 3]) and "
                              "denses (Dense layers)."),
        (lambda: build_mlp([3], denses=[cr.Dense(3, 1)]), "build_mlp takes exactly one of"),
        (lambda: build_mlp([3]), "sizes must list the input and output widths at least, e.g. "
                                 "[4, 16, 3]; got [3]."),
        (lambda: build_mlp([3, 4, 4, 1], ["tanh"]),
         "activation needs one name per hidden layer (2), got 1: ['tanh']; or give one name "
         "for all."),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value).startswith(message)
