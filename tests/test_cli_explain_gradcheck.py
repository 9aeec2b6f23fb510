"""The `chainrule explain` and `chainrule gradcheck` commands, run as a user runs them."""

import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120
    )


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("chainrule ")
    r = run()
    assert r.returncode == 0 and "explain" in r.stdout and "gradcheck" in r.stdout


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_explain_prints_every_phase(task):
    r = run("explain", "--task", task)
    assert r.returncode == 0, r.stderr
    for words in (
        "FORWARD PASS",
        "LOSS",
        "BACKWARD PASS",
        "UPDATE",
        "dW1 = X.T @ dZ1",
        "W1    shape",
    ):
        assert words in r.stdout
    assert ("softmax + cross-entropy" if task == "classification" else "mean squared") in r.stdout


def test_explain_markdown():
    r = run("explain", "--format", "markdown", "--task", "regression")
    assert r.returncode == 0
    assert r.stdout.startswith("# One training step") and "### Backward" in r.stdout
    assert r"\partial W_2" in r.stdout


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", "mse", "mae", "huber"])
def test_gradcheck_passes_for_every_loss(loss):
    r = run("gradcheck", "--loss", loss, "--hidden", "4", "--activation", "elu")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "overall: excellent" in r.stdout and "layers[0].W" in r.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["gradcheck", "--activation", "swish"], "unknown activation 'swish'; choose one of"),
        (["gradcheck", "--samples", "0"], "--samples must be a positive integer"),
        (["gradcheck", "--loss", "cross_entropy", "--classes", "1"], "at least 2"),
    ],
)
def test_usage_errors_are_one_line_with_status_2(args, message):
    r = run(*args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback():
    r = run("--debug", "gradcheck", "--activation", "swish")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_bad_hidden_sizes_are_refused_by_argparse():
    r = run("gradcheck", "--hidden", "4,x")
    assert r.returncode == 2 and "--hidden takes layer sizes separated by commas" in r.stderr


def test_explain_regression_defines_the_n_it_divides_by():
    """The MSE gradient's N is defined in the trace (issue 22: it was left undefined)."""
    r = run("explain", "--task", "regression")
    assert r.returncode == 0, r.stderr
    assert "dZ2 = 2 (Z2 - T) / N" in r.stdout
    assert "(gradient of the mean loss; N = n * k, the number of entries)" in r.stdout
    assert "(mean over all N = n * k entries of the batch)" in r.stdout
