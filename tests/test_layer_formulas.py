"""Each layer and loss carries its own formulas; explain, the quiz, check_backward's slips
and the playground's step-through show exactly those; export has one table per target."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.layers
import chainrule.losses
from chainrule.export._torch import TORCH_MODULES
from chainrule.layers.base import Formula, Formulas, Layer, tex_symbol
from chainrule.losses import Loss
from chainrule.practice import quiz

#: every layer class that computes something of its own (Layer is the contract,
#: Sequential a composition of layers)
LAYERS = [
    obj
    for obj in (getattr(chainrule.layers, name) for name in chainrule.layers.__all__)
    if isinstance(obj, type) and issubclass(obj, Layer) and obj not in (Layer, cr.Sequential)
]
LOSSES = [
    cls
    for _, cls in inspect.getmembers(chainrule.losses, inspect.isclass)
    if issubclass(cls, Loss) and cls is not Loss
]
ELEMENTWISE = [cls for cls in LAYERS if cls.__module__.endswith("activations")]
ELEMENTWISE.remove(cr.Softmax)  # row-wise: its derivative is a Jacobian


def own_formulas(cls) -> list[Formulas]:
    """The Formulas a class defines itself (not inherited from the base class)."""
    names = ("formulas", "formulas_without_affine", "formulas_from_probabilities")
    return [value for name, value in vars(cls).items() if name in names]


def check_complete(formula: Formula) -> None:
    assert isinstance(formula, Formula)
    for field in (formula.name, formula.text, formula.latex, formula.words):
        assert isinstance(field, str) and field.strip()


def test_the_layer_and_loss_lists_are_complete():
    assert {c.__name__ for c in LAYERS} == {
        "BatchNorm", "Dense", "Dropout", "ELU", "GELU", "Identity", "LayerNorm", "LeakyReLU",
        "ReLU", "Sigmoid", "Softmax", "Softplus", "Tanh",
    }  # fmt: skip
    assert {c.__name__ for c in LOSSES} == {
        "BinaryCrossEntropy", "CrossEntropy", "Huber", "MeanAbsoluteError", "MeanSquaredError",
        "MulticlassHinge",
    }  # fmt: skip


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_every_layer_carries_its_forward_and_backward_formulas(cls):
    own = own_formulas(cls)
    assert own, f"{cls.__name__} defines no formulas of its own"
    for formulas in own:
        assert formulas.forward and formulas.backward
        for formula in (*formulas.forward, *formulas.backward):
            check_complete(formula)
        assert formulas.forward[-1].name == "{o}"  # the last forward formula is the output
        assert formulas.backward[-1].name == "d{i}"  # the last backward one is dX
    # one gradient formula for each parameter (affine normalisation: gamma and beta)
    layer = cls(3, 2) if cls is cr.Dense else cls(3) if "Norm" in cls.__name__ else cls()
    grads = {f.name for f in layer.get_formulas().backward}
    for key in layer.params:
        assert {f"d{key}{{l}}", f"d{key}{{s}}"} & grads, (cls.__name__, key)


@pytest.mark.parametrize("cls", ELEMENTWISE, ids=lambda c: c.__name__)
def test_every_elementwise_activation_states_its_derivative(cls):
    check_complete(cls.formulas.derivative)
    assert cls.formulas.derivative.text.startswith(cls.formulas.derivative.name + "(z) = ")


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_every_loss_carries_its_forward_and_backward_formulas(cls):
    own = own_formulas(cls)
    assert own, f"{cls.__name__} defines no formulas of its own"
    for formulas in own:
        assert [f.name for f in formulas.forward][-1] == "L"
        assert [f.name for f in formulas.backward] == ["d{y}"]
        for formula in (*formulas.forward, *formulas.backward):
            check_complete(formula)


def test_a_loss_on_probabilities_has_its_own_formulas():
    for cls in (cr.CrossEntropy, cr.BinaryCrossEntropy):
        assert cls(from_logits=True).get_formulas() is cls.formulas
        assert cls(from_logits=False).get_formulas() is cls.formulas_from_probabilities
    assert cr.BatchNorm(2, affine=False).get_formulas() is cr.BatchNorm.formulas_without_affine


def test_a_formula_renders_its_names_in_text_and_latex():
    formula = cr.Dense.formulas.forward[0]
    assert formula.render(i="A1'", o="Z2", l=2) == (
        "Z2",
        "Z2 = A1' @ W2 + b2",
        "Z_{2} = A'_{1} W_2 + b_2",
        "affine map: weights times input plus bias",
    )
    assert [tex_symbol(s) for s in ("X", "Z10", "N1'", "mu")] == ["X", "Z_{10}", "N'_{1}", "mu"]


def every_latex() -> list[tuple[str, str]]:
    """Each formula's LaTeX with typical names filled in."""
    names = {"i": "A1", "o": "Z2", "l": 2, "y": "Z2", "s": "1", "axis": 0, "eps": "1e-05"}
    out = []
    for cls in (*LAYERS, *LOSSES):
        for formulas in own_formulas(cls):
            entries = (*formulas.forward, *formulas.backward, formulas.derivative)
            out += [(f"{cls.__name__} {f.name}", f.render(**names)[2]) for f in entries if f]
    return out


def test_every_formula_parses_with_katex():
    from test_formulas import _katex_errors

    items = [{"id": where, "tex": tex, "display": False} for where, tex in every_latex()]
    assert _katex_errors(items) == []


# ------------------------------------------------------- one place, shown everywhere
def traced(hidden: Layer, loss: Loss, k: int = 2):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 3)), np.array([0, 1, 1, 0])
    if k == 1:
        y = y[:, None].astype(float)
    net = cr.Sequential(cr.Dense(3, 3, rng=rng), hidden, cr.Dense(3, k, rng=rng))
    return {s.name: s for s in cr.explain(net, loss, X, y).steps}


def shown(step) -> tuple[str, str, str, str]:
    return step.name, step.text, step.latex, step.words


@pytest.mark.parametrize("cls", [*ELEMENTWISE, cr.Softmax, cr.Dropout], ids=lambda c: c.__name__)
def test_explain_shows_the_layers_own_formulas(cls):
    steps = traced(cls(), cr.CrossEntropy())
    (forward,), backward = cls.formulas.forward, cls.formulas.backward
    assert shown(steps["A1"]) == forward.render(i="Z1", o="A1", l=1)
    assert shown(steps["dZ1"]) == backward[0].render(i="Z1", o="A1", l=1)
    dense = cr.Dense.formulas
    assert shown(steps["Z2"]) == dense.forward[0].render(i="A1", o="Z2", l=2)
    for formula in dense.backward:
        assert (
            shown(steps[formula.render(i="A1", o="Z2", l=2)[0]])[1:]
            == (formula.render(i="A1", o="Z2", l=2)[1:])
        )


def traced_loss(loss: Loss):
    """explain on a 3-3-k network ending as ``loss`` needs; the output's name too."""
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(4, 3)), np.array([0, 1, 1, 0])
    classes = isinstance(loss, (cr.CrossEntropy, cr.MulticlassHinge))
    k, y = (2, labels) if classes else (1, labels[:, None].astype(float))
    head = []
    if not loss.from_logits and isinstance(loss, (cr.CrossEntropy, cr.BinaryCrossEntropy)):
        head = [cr.Softmax() if classes else cr.Sigmoid()]
    net = cr.Sequential(cr.Dense(3, 3, rng=rng), cr.Tanh(), cr.Dense(3, k, rng=rng), *head)
    return {s.name: s for s in cr.explain(net, loss, X, y).steps}, "A2" if head else "Z2"


PROBABILITIES = [cr.CrossEntropy(from_logits=False), cr.BinaryCrossEntropy(from_logits=False)]


@pytest.mark.parametrize("loss", [cls() for cls in LOSSES] + PROBABILITIES, ids=repr)
def test_explain_shows_the_losss_own_formulas(loss):
    steps, out = traced_loss(loss)
    formulas = loss.get_formulas()
    for formula in (*formulas.forward, *formulas.backward):
        assert shown(steps[formula.render(y=out)[0]]) == formula.render(y=out)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("cls", [cr.BatchNorm, cr.LayerNorm])
def test_explain_shows_the_normalisations_own_formulas(cls, affine):
    layer = cls(3, affine=affine)
    steps = traced(layer, cr.CrossEntropy())
    names = {"i": "Z1", "o": "N1", "s": "1", "axis": cls.axis, "eps": "1e-05"}
    formulas = layer.get_formulas()
    for formula in (*formulas.forward, *formulas.backward):
        assert shown(steps[formula.render(**names)[0]]) == formula.render(**names)


def test_a_changed_formula_shows_in_explain_and_the_step_through(monkeypatch):
    changed = Formulas(
        forward=(Formula("{o}", "{o} = th({i})", r"{o} = \mathrm{{th}}({i})", "changed"),),
        backward=(Formula("d{i}", "d{i} = d{o} th'", r"\partial {i}", "changed back"),),
    )
    monkeypatch.setattr(cr.Tanh, "formulas", changed)
    steps = traced(cr.Tanh(), cr.CrossEntropy())
    assert shown(steps["A1"]) == ("A1", "A1 = th(Z1)", r"A_{1} = \mathrm{th}(Z_{1})", "changed")
    assert steps["dZ1"].text == "dZ1 = dA1 th'"

    from chainrule.playground.session import Session
    from chainrule.playground.stepthrough import stages

    session = Session()
    session.configure({"network": {"activation": "tanh"}})
    by_name = {s["name"]: s for s in stages(session, 0, 2)["stages"]}
    assert (by_name["A1"]["text"], by_name["A1"]["latex"]) == ("A1 = th(Z1)", steps["A1"].latex)
    assert by_name["dZ1"]["words"] == "changed back"


def test_the_step_through_shows_the_layers_formulas():
    from chainrule.playground.session import Session
    from chainrule.playground.stepthrough import stages

    session = Session()
    by_name = {s["name"]: s for s in stages(session, 0, 2)["stages"]}
    dense = cr.Dense.formulas
    assert by_name["Z1"]["text"] == dense.forward[0].render(i="X", o="Z1", l=1)[1]
    assert by_name["dW1"]["latex"] == dense.backward[0].render(i="X", o="Z1", l=1)[2]


def test_the_quiz_writes_the_layers_and_losss_formulas():
    for name, (cls, *_) in quiz.ACTIVATIONS.items():
        assert quiz.DERIVATIVE_TEXT[name] == cls.formulas.derivative.text
    assert quiz.DERIVATIVE_TEXT["sigmoid"] == "sigmoid'(z) = a (1 - a)"
    for loss, _, gradient in quiz.OUTPUTS.values():
        assert gradient == loss.formulas.backward[0].render(y="Z2")[1]
    assert quiz.OUTPUTS["softmax"][2] == "dZ2 = (P - T) / n"
    drill = next(
        d
        for d in (quiz.Drill(seed=seed, topic="backward", count=5) for seed in range(100))
        if d.problem.activation == "tanh"
    )
    assert "network: Z1 = X @ W1 + b1, A1 = tanh(Z1), Z2 = A1 @ W2 + b2; output: " in (
        drill.statement()
    )
    dZ1 = next(q for q in drill.questions if q.symbol.startswith("dZ1"))
    assert f"with {cr.Tanh.formulas.derivative.text}:" in dZ1.working


def test_check_backward_quotes_the_losss_formulas():
    from chainrule.practice._slips import loss_slips

    Z, T = np.array([[1.0, 2.0], [0.5, -1.0]]), np.eye(2)
    (story, _), _ = loss_slips(cr.CrossEntropy(), Z, T)
    assert story == (
        "the logits Z were used where the probabilities belong: dZ = (P - T) / n with "
        "P = softmax(Z)"
    )


# ------------------------------------------------------------------------- export
def test_each_export_table_covers_every_layer_class():
    assert set(TORCH_MODULES) == set(LAYERS)
    pytest.importorskip("onnx")
    from chainrule.export._onnx_graph import ONNX_BUILDERS

    assert set(ONNX_BUILDERS) == set(LAYERS)


def test_the_torch_table_names_modules_that_exist():
    torch = pytest.importorskip("torch")
    for cls, pair in TORCH_MODULES.items():
        layer = cls(3, 2) if cls is cr.Dense else cls(3) if "Norm" in cls.__name__ else cls()
        module = pair.to_torch(layer, torch, torch.float64)
        assert type(module) is getattr(torch.nn, pair.module)
        assert type(pair.from_torch(module)) is cls


class Doubling(Layer):
    def forward(self, X, training=False):
        return 2 * X, lambda dY: 2 * dY


def test_a_layer_missing_from_the_torch_table_is_named():
    pytest.importorskip("torch")
    with pytest.raises(cr.ExportError, match=r"^to_torch: no PyTorch module for chainrule's "
                                             r"Doubling\.$"):  # fmt: skip
        cr.to_torch(cr.Sequential(cr.Dense(2, 2), Doubling()))


def test_a_layer_missing_from_the_onnx_table_is_named(tmp_path):
    pytest.importorskip("onnx")
    with pytest.raises(cr.ExportError, match=r"^to_onnx: no ONNX form for chainrule's "
                                             r"Doubling\.$"):  # fmt: skip
        cr.to_onnx(cr.Sequential(cr.Dense(2, 2), Doubling()), tmp_path / "d.onnx")
    assert not (tmp_path / "d.onnx").exists()
