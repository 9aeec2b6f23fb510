"""The ``chainrule`` command.

Subcommands: ``train`` (a network on a bundled dataset or a CSV file, with metrics,
plots and a saved model), ``predict`` (apply a saved model to a CSV file), ``explain``
(one training step traced equation by equation) and ``gradcheck`` (analytic versus
numerical gradients of a network you describe).

Errors in what the user asked for are printed as one line on stderr, naming the
problem and the fix, with exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

import numpy as np

from . import __version__

ACTIVATIONS = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "logistic": "Sigmoid",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "identity": "Identity",
}
LOSSES = ("cross_entropy", "bce", "mse", "mae", "huber")


class UsageError(Exception):
    """A mistake in the command line or the data: printed as one line, exit status 2."""


def _parse_hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes layer sizes separated by commas, e.g. 64,32; got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _activation(name: str):
    import chainrule as cr

    try:
        return getattr(cr, ACTIVATIONS[name])()
    except KeyError:
        raise UsageError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None


def build_network(n_in: int, hidden: list[int], n_out: int, activation: str, rng, dtype=np.float64):
    """``Dense -> activation`` for each hidden size, then a linear ``Dense`` output."""
    import chainrule as cr

    layers, sizes = [], [n_in, *hidden]
    init = "he" if activation in ("relu", "leaky_relu", "elu") else "glorot"
    for a, b in itertools.pairwise(sizes):
        layers += [cr.Dense(a, b, init=init, rng=rng, dtype=dtype), _activation(activation)]
    layers.append(cr.Dense(sizes[-1], n_out, init="glorot", rng=rng, dtype=dtype))
    return cr.Sequential(*layers)


# ----------------------------------------------------------------------------- train
def cmd_train(args) -> int:
    from ._train_run import TrainOptions, run_train

    if args.activation not in ("identity", "logistic", "tanh", "relu"):
        raise UsageError(
            f"unknown activation {args.activation!r} for train; choose one of identity, "
            "logistic, tanh, relu"
        )
    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if not (np.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a positive number, got {args.lr}")
    if not (np.isfinite(args.alpha) and args.alpha >= 0):
        raise UsageError(f"--alpha (the L2 penalty) must be a number >= 0, got {args.alpha}")
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size must lie between 0 and 1, got {args.test_size}")
    from ._guards import check_not_a_pipe

    check_not_a_pipe(args.data, "--data")
    opts = TrainOptions(
        data=args.data,
        target=args.target,
        task=args.task,
        hidden=tuple(args.hidden),
        activation=args.activation,
        solver=args.solver,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        alpha=args.alpha,
        seed=args.seed,
        test_size=args.test_size,
        early_stopping=not args.no_early_stopping,
        out=args.out,
        progress=not args.no_progress,
        plots=not args.no_plots,
    )
    run_train(opts)
    return 0


# --------------------------------------------------------------------------- predict
def cmd_predict(args) -> int:
    import os
    import tempfile
    from pathlib import Path

    from . import load
    from ._guards import check_not_a_pipe
    from .bundle import ModelBundle
    from .datasets import read_csv

    check_not_a_pipe(args.model, "MODEL")
    check_not_a_pipe(args.data, "DATA")
    out = Path(args.out)
    _check_predict_out(out, args)
    model = load(args.model)
    if not isinstance(model, ModelBundle):
        raise UsageError(
            f"{args.model} holds a {type(model).__name__}, not a model saved by "
            "`chainrule train`; load it in Python with chainrule.load instead"
        )
    frame = read_csv(args.data)
    table = model.predictions_frame(frame)
    score = _score_line(model, frame, table)  # before writing: a failure writes nothing
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.resolve().parent)
    os.close(fd)
    try:
        table.to_csv(tmp, index_label="row")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"{len(table)} predictions from {args.model} ({model.task}) written to {out}")
    print(table.head(10).to_string(max_cols=12))  # 10,000 classes: not 10,000 columns
    if score:
        print(f"\n{score}")
    return 0


def _check_predict_out(out, args) -> None:
    """--out: a .csv file in an existing, writable folder, not the model or the data."""
    from ._guards import check_out_is_not_an_input, check_writable_folder

    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name a .csv file")
    check_out_is_not_an_input(out, {"model": args.model, "data": args.data})
    folder = out.resolve().parent
    check_writable_folder(folder, "--out", out)
    if not folder.is_dir():
        raise UsageError(f"--out {out}: the folder {folder} does not exist; create it first")


def _score_line(model, frame, table) -> str:
    """'the file has the target column: accuracy 0.9' when it has, else ''."""
    present = [t for t in model.target if t in frame.columns]
    if len(present) != len(model.target) or not frame[present].notna().all().all():
        return ""
    truth = frame[present[0]].to_numpy() if len(present) == 1 else frame[present].to_numpy()
    pred = model.predict(frame)
    try:
        if model.task == "classification":
            from sklearn.metrics import accuracy_score

            return f"the file has the target column: accuracy {accuracy_score(truth, pred):.4f}"
        from sklearn.metrics import r2_score

        return f"the file has the target column: R^2 {r2_score(truth, pred):.4f}"
    except (ValueError, TypeError) as exc:
        return (
            f"the file has the target column {present[0]!r}, but it cannot be compared with "
            f"the predictions ({' '.join(str(exc).split())[:120]}); no score."
        )


# --------------------------------------------------------------------------- explain
def cmd_explain(args) -> int:
    import chainrule as cr

    rng = np.random.default_rng(args.seed)
    X = np.round(rng.normal(size=(args.samples, 2)), 2)
    if args.task == "classification":
        net = build_network(2, [3], 2, "sigmoid", rng)  # the softmax is fused in the loss
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
        loss = cr.CrossEntropy()
        what = "a 2-3-2 network (sigmoid hidden layer, softmax + cross-entropy)"
    else:
        net = build_network(2, [3], 1, "tanh", rng)
        y = np.round(X[:, 0] - 0.5 * X[:, 1], 2)
        loss = cr.MeanSquaredError()
        what = "a 2-3-1 network (tanh hidden layer, linear output + mean squared error)"
    trace = cr.explain(net, loss, X, y, lr=args.lr)
    if args.format == "markdown":
        print(f"# One training step of {what}\n")
        print(f"Inputs `X` = `{X.tolist()}`, targets `y` = `{y.tolist()}`\n")
        print(trace.to_markdown())
    else:
        print(f"One training step of {what}, on {args.samples} samples:")
        print(f"X = {X.tolist()}\ny = {y.tolist()}\n")
        print(trace)
    return 0


# ------------------------------------------------------------------------- gradcheck
def cmd_gradcheck(args) -> int:
    import chainrule as cr

    from ._guards import check_gradcheck_size

    rng = np.random.default_rng(args.seed)
    n, d = args.samples, args.features
    n_out = {"cross_entropy": args.classes, "bce": 1}.get(args.loss, args.outputs)
    check_gradcheck_size([d, *args.hidden, n_out], n)
    X = rng.normal(size=(n, d))
    if args.loss == "cross_entropy":
        k, y, loss = args.classes, rng.integers(0, args.classes, size=n), cr.CrossEntropy()
    elif args.loss == "bce":
        k, y, loss = 1, rng.integers(0, 2, size=n).astype(float), cr.BinaryCrossEntropy()
    else:
        k, y = args.outputs, rng.normal(size=(n, args.outputs))
        loss = {"mse": cr.MeanSquaredError, "mae": cr.MeanAbsoluteError, "huber": cr.Huber}[
            args.loss
        ]()
    net = build_network(d, args.hidden, k, args.activation, rng)
    print(net.summary())
    print()
    report = cr.gradient_check(net, loss, X, y, eps=args.eps)
    print(f"gradient check of {loss!r} on {n} random samples:\n")
    print(report)
    return 0 if report.ok else 1


# ------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Neural networks and backpropagation from scratch in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "train",
        help="train a network on a bundled dataset or a CSV file",
        description="Train an MLP on a bundled dataset (iris, wine, breast_cancer, digits, "
        "diabetes, linnerud) or a CSV file; print metrics; write model.npz, metrics.json, "
        "history.csv and plots to --out.",
    )
    p.add_argument("--data", default="iris", help="dataset name or CSV path (default: iris)")
    p.add_argument("--target", help="the label column (default: the last column of a CSV)")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto")
    p.add_argument("--hidden", type=_parse_hidden, default=[64, 32], help="default 64,32")
    p.add_argument("--activation", default="relu", help="relu (default), tanh, logistic, identity")
    p.add_argument("--solver", choices=("adam", "sgd", "lbfgs"), default="adam")
    p.add_argument("--epochs", type=int, default=200, help="at most this many (default 200)")
    p.add_argument("--batch-size", type=int, default=32, help="default 32")
    p.add_argument("--lr", type=float, default=5e-3, help="learning rate (default 0.005)")
    p.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty (default 1e-4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-size", type=float, default=0.2, help="test fraction (default 0.2)")
    p.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="train all epochs (default: stop when the validation score stalls)",
    )
    p.add_argument("--out", default="chainrule-run", help="output folder (default chainrule-run)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "predict",
        help="apply a model saved by `chainrule train` to a CSV file",
        description="Apply the model and its preprocessing to DATA.csv and write one row "
        "of predictions (and class probabilities) per input row.",
    )
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--out", default="predictions.csv", help="default predictions.csv")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "explain",
        help="trace one training step of a tiny network, equation by equation",
        description="Trace one training step (forward, loss, backward, update) of a tiny "
        "seeded network, with every number the engine computes.",
    )
    p.add_argument("--task", choices=("classification", "regression"), default="classification")
    p.add_argument("--format", choices=("text", "markdown"), default="text")
    p.add_argument("--samples", type=int, default=3, help="batch size of the step (default 3)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "gradcheck",
        help="compare backprop's gradients with central differences",
        description="Build a network, then compare every analytic gradient with central "
        "differences in float64. Exit status 0 when all are at worst 'fine', 1 otherwise.",
    )
    p.add_argument("--hidden", type=_parse_hidden, default=[8, 4], help="e.g. 8,4 (default)")
    p.add_argument("--activation", default="tanh", help=f"one of {', '.join(ACTIVATIONS)}")
    p.add_argument("--loss", choices=LOSSES, default="cross_entropy")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--features", type=int, default=3)
    p.add_argument("--classes", type=int, default=3, help="outputs for cross_entropy")
    p.add_argument("--outputs", type=int, default=2, help="outputs for regression losses")
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_gradcheck)
    return parser


def _check_counts(args) -> None:
    from ._guards import check_memory, check_seed

    check_seed(getattr(args, "seed", None))
    if args.command == "explain":  # a 2-3-2 network: 7 numbers a row, a few copies each
        check_memory(
            f"--samples {args.samples:,}", 8 * 7 * 8 * max(args.samples, 0), "use fewer samples."
        )
    for name in ("samples", "features", "classes", "outputs"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise UsageError(f"--{name} must be a positive integer, got {value}")
    if getattr(args, "classes", 2) < 2:
        raise UsageError("--classes must be at least 2 for cross_entropy")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        _check_counts(args)
        return args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's status for SIGINT
        if args.debug:
            raise
        print(
            f"chainrule {args.command}: interrupted (Ctrl-C); nothing was written and "
            "existing files are as they were.",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, ValueError, TypeError, OSError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"chainrule {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    """An error message on one line (a file name or a JSON error may hold newlines)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
