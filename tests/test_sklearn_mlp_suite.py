"""scikit-learn's own MLP test suite, run against chainrule's drop-ins.

The installed scikit-learn ships ``sklearn/neural_network/tests/test_mlp.py``. This
module reads that file (no copy is committed), swaps its one line

    from sklearn.neural_network import MLPClassifier, MLPRegressor

for chainrule's classes, compiles it in memory (asserts rewritten by pytest, so a
failure shows its values) and re-exports its test functions here. pytest then collects
them as tests of this module under their upstream names and parametrisations, e.g.
``tests/test_sklearn_mlp_suite.py::test_early_stopping[MLPClassifier]``: each upstream
test passes or fails on its own, by name.

Tests that read scikit-learn's private internals are skipped by name, each with its
reason in ``DESELECTED``; every other (behavioural) test must pass. Two guards keep
this honest: the swap must have happened (the module's classes are chainrule's) and
every name in ``DESELECTED`` must still exist upstream.
"""

from __future__ import annotations

import linecache
from pathlib import Path

import pytest
import sklearn

import chainrule

UPSTREAM = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
CHAINRULE_IMPORT = "from chainrule import MLPClassifier, MLPRegressor"

# Upstream tests that exercise scikit-learn's private machinery, not behaviour.
DESELECTED = {
    "test_fit": "sets and reads _coef_grads, _intercept_velocity, ... and calls _backprop",
    "test_gradient": "checks _loss_grad_lbfgs, scikit-learn's private L-BFGS gradient",
}


def _compile_upstream() -> tuple[dict, str | None]:
    """The upstream module's namespace with chainrule's classes, or ``({}, reason)``."""
    if not UPSTREAM.is_file():
        return {}, f"scikit-learn {sklearn.__version__} ships no {UPSTREAM}"
    source = UPSTREAM.read_text(encoding="utf-8")
    if source.count(SKLEARN_IMPORT) != 1:
        return {}, f"{UPSTREAM} no longer contains the line {SKLEARN_IMPORT!r} exactly once"
    source = source.replace(SKLEARN_IMPORT, CHAINRULE_IMPORT)
    filename = f"<scikit-learn {sklearn.__version__} test_mlp.py on chainrule>"
    # tracebacks show the swapped source through linecache (no file is written)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:  # pytest's assertion rewriting, as for a collected test file
        import ast

        from _pytest.assertion.rewrite import rewrite_asserts

        tree = ast.parse(source, filename)
        rewrite_asserts(tree, source.encode(), filename)
        code = compile(tree, filename, "exec")
    except (ImportError, TypeError):  # pragma: no cover - another pytest's internals
        code = compile(source, filename, "exec")
    namespace = {"__name__": "sklearn_test_mlp_on_chainrule", "__file__": str(UPSTREAM)}
    exec(code, namespace)
    return namespace, None


# about 60 upstream tests, ~10 s of CPU in all (run in CI all the same)
pytestmark = pytest.mark.slow

_UPSTREAM, _MISSING = _compile_upstream()
UPSTREAM_TESTS = sorted(name for name in _UPSTREAM if name.startswith("test_"))

for _name in UPSTREAM_TESTS:
    _test = _UPSTREAM[_name]
    if _name in DESELECTED:
        _test = pytest.mark.skip(reason=f"private internals: {DESELECTED[_name]}")(_test)
    globals()[_name] = _test


@pytest.fixture(params=[42])
def global_random_seed(request):
    """scikit-learn's conftest fixture, at its default seed (42)."""
    return request.param


def test_upstream_suite_was_swapped_to_chainrule():
    assert _MISSING is None, _MISSING
    assert _UPSTREAM["MLPClassifier"] is chainrule.MLPClassifier
    assert _UPSTREAM["MLPRegressor"] is chainrule.MLPRegressor
    assert len(UPSTREAM_TESTS) >= 30, UPSTREAM_TESTS


def test_every_deselected_test_exists_upstream():
    assert set(DESELECTED) <= set(UPSTREAM_TESTS), set(DESELECTED) - set(UPSTREAM_TESTS)
