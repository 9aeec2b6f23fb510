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
import os
import sys

import numpy as np

from .. import __version__, _interrupt
from ..layers import build_mlp, get_activation
from ..layers.registry import SKLEARN_ACTIVATIONS, activation_name

#: the hidden activations gradcheck offers: name -> class name, a view of the one
#: registry (chainrule.layers.ACTIVATIONS)
ACTIVATIONS = {
    name: get_activation(name).__name__
    for name in ("relu", "tanh", "sigmoid", "logistic", "leaky_relu", "elu", "gelu", "softplus",
                 "identity")
}  # fmt: skip
#: the losses gradcheck offers, by their names in chainrule.losses.LOSSES
LOSSES = ("cross_entropy", "bce", "mse", "mae", "huber")


class UsageError(Exception):
    """A mistake in the command line or the data: printed as one line, exit status 2."""


def _parse_hidden(text: str) -> list[int]:
    """``"64,32"`` -> ``[64, 32]``; an empty size (``''``, ``64,,32``, a trailing comma)
    is refused as a zero is: no layer of no units."""
    parts = [s.strip() for s in text.split(",")]
    if any(not s for s in parts):
        raise argparse.ArgumentTypeError(
            f"--hidden sizes must be positive integers separated by commas, e.g. 64,32; "
            f"got {text!r}, which has an empty size"
        )
    try:
        sizes = [int(s) for s in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes layer sizes separated by commas, e.g. 64,32; got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _parse_alpha(text: str) -> float | None:
    if text.strip().lower() == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--alpha takes a number >= 0 or 'auto', got {text!r}"
        ) from None


def _parse_lr(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--lr takes a number > 0 or 'auto', got {text!r}"
        ) from None


def _activation_class(name: str, among) -> type:
    """The registry's class for ``name``, its error as a one-line usage error."""
    try:
        return get_activation(name, among)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def build_network(n_in: int, hidden: list[int], n_out: int, activation: str, rng, dtype=np.float64):
    """``Dense -> activation`` for each hidden size, then a linear ``Dense`` output
    (``chainrule.layers.build_mlp``, with an unknown activation as a usage error)."""
    _activation_class(activation, ACTIVATIONS)
    return build_mlp([n_in, *hidden, n_out], activation, rng=rng, dtype=dtype)


# ----------------------------------------------------------------------------- train
def cmd_train(args) -> int:
    from .train import run_train

    # scikit-learn's four, and "sigmoid" for "logistic" (the same class, scikit-learn's name)
    cls = _activation_class(args.activation, (*SKLEARN_ACTIVATIONS, "sigmoid"))
    args.activation = activation_name(cls, SKLEARN_ACTIVATIONS)
    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if args.lr == "auto" and args.solver == "lbfgs":
        raise UsageError(
            "--lr auto finds a rate for --solver adam or sgd; lbfgs has no learning rate "
            "(drop --lr, or choose --solver adam)"
        )
    if args.lr != "auto" and not (np.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a positive number or auto, got {args.lr}")
    if args.alpha is not None and not (np.isfinite(args.alpha) and args.alpha >= 0):
        raise UsageError(f"--alpha (the L2 penalty) must be a number >= 0, got {args.alpha}")
    if not 0 < args.validation_fraction < 1:
        raise UsageError(
            f"--validation-fraction must lie between 0 and 1, got {args.validation_fraction}"
        )
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size must lie between 0 and 1, got {args.test_size}")
    from ._guards import check_not_a_pipe

    check_not_a_pipe(args.data, "--data")
    opts = _train_options(args)
    if args.resume is None:
        run_train(opts)
        return 0
    from ._resume import read_run, resumed_options

    checkpoint = read_run(args.resume)
    if args.out == _DEFAULT_OUT:
        opts.out = args.resume  # the resumed run replaces the files in DIR
    opts = resumed_options(checkpoint, opts, _train_options(build_parser().parse_args(["train"])))
    if checkpoint.stopped:
        print(f"the run in {args.resume} stopped early after epoch {checkpoint.epoch} (its "
              "stopping rule); there is nothing more to train. Nothing was written.")  # fmt: skip
        return 0
    if opts.epochs <= checkpoint.epoch:
        raise UsageError(
            f"--resume {args.resume}: the run has trained {checkpoint.epoch} epochs already; "
            f"pass --epochs larger than {checkpoint.epoch} (the total, from the first epoch)."
        )
    run_train(opts, checkpoint)
    return 0


def _train_options(args):
    """The ``TrainOptions`` of parsed ``chainrule train`` arguments."""
    from .train import TrainOptions

    return TrainOptions(
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
        validation_fraction=args.validation_fraction,
        sep=_sep(args.sep),
        decimal=args.decimal,
        drop=tuple(args.drop),
        id_column=args.id,
        keep=tuple(args.keep),
        out=args.out,
        progress=not args.no_progress,
        plots=not args.no_plots,
    )


# --------------------------------------------------------------------------- predict
def cmd_predict(args) -> int:
    import os
    from pathlib import Path

    from .. import load
    from .._checks import new_file_beside
    from ..persistence.bundle import ModelBundle
    from ._guards import check_not_a_pipe

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
    frame = _predict_frame(args.data, args, model.info)
    for note in _predict_notes(model, frame):
        print(f"note: {note}")
    table = model.predictions_frame(frame)
    for c in reversed(_copied_columns(model.info, frame, table)):
        table.insert(0, c, frame[c])
    score = _score_line(model, frame, table)  # before writing: a failure writes nothing
    tmp = new_file_beside(out.resolve(), ".partial")
    try:
        table.to_csv(tmp, index_label="row")
        _interrupt.commit()  # Ctrl-C until here writes nothing; after, it is ignored
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"{len(table)} predictions from {args.model} ({model.task}) written to {out}")
    print(table.head(10).to_string(max_cols=12))  # 10,000 classes: not 10,000 columns
    if score:
        print(f"\n{score}")
    return 0


def _copied_columns(info: dict, frame, table) -> list[str]:
    """The columns predict copies from the rows into its table: the --id column, then
    the identifier-like columns training left out (each when the rows have it and the
    table has no column, nor the 'row' index, of that name)."""
    named = info.get("identifiers")
    named = [c for c in named if isinstance(c, str)] if isinstance(named, list) else []
    taken = {"row", *table.columns}
    return [c for c in [info.get("id_column"), *named] if c in frame.columns and c not in taken]


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
    try:
        return _score_note(model, frame, present, table)
    except (ValueError, TypeError) as exc:
        return (
            f"the file has the target column {present[0]!r}, but it cannot be compared with "
            f"the predictions ({' '.join(str(exc).split())[:120]}); no score."
        )


def _predict_frame(data: str, args, info: dict):
    """The rows to predict: a CSV file, or a bundled dataset by name (e.g. ``iris``)."""
    from pathlib import Path

    from ..datasets.tables import BUNDLED_DATASETS, _bundled_name, _load_bundled_frame, read_csv

    key = _bundled_name(data)
    if key in BUNDLED_DATASETS and not Path(data).is_file():
        return _load_bundled_frame(key)
    # the training run's separator and decimal mark, unless the options say otherwise
    sep = _sep(args.sep) if args.sep is not None else info.get("sep")
    decimal = args.decimal if args.decimal is not None else info.get("decimal", ".")
    return read_csv(data, sep=sep, decimal=decimal)


def _predict_notes(model, frame) -> list[str]:
    """One line each: columns the model does not use, categories it never saw."""
    from ..datasets.preprocess import _quote_list, as_label_strings

    pre = model.preprocessor
    used = set(pre.feature_names_in_) | set(model.target) | {model.info.get("id_column")}
    used |= set(_copied_columns(model.info, frame, frame.iloc[:0, :0]))
    extra = [c for c in frame.columns if c not in used]
    notes = []
    if extra:
        notes.append(f"ignored {len(extra)} columns the model was not trained on: "
                     f"{_quote_list(extra, 8)}")  # fmt: skip
    for c, cats in zip(pre.categorical_columns_, pre.categories_, strict=True):
        if c not in frame.columns:
            continue
        values = as_label_strings(frame[c])
        values = values[~frame[c].isna().to_numpy()].astype(str)
        unseen = sorted(set(values) - set(cats))
        if unseen:
            n = int(np.isin(values, unseen).sum())
            notes.append(
                f"{n} rows have categories of {c!r} unseen in training "
                f"({_quote_list(unseen, 5)}); they count as none of the known ones"
            )
    imputed = _imputed_note(pre, frame)
    return notes + ([imputed] if imputed else [])


def _imputed_note(pre, frame) -> str | None:
    """The blank cells ``predict`` fills, as ``train`` did: with the training rows'
    median (numbers) or most frequent value (text), per column; None without blanks."""
    numeric = zip(pre.numeric_columns_, pre.median_, strict=True)
    text = zip(pre.categorical_columns_, pre.fill_values_, strict=True)
    fills = [(c, f"median {float(m):.4g}") for c, m in numeric]
    fills += [(c, f"most frequent {str(v)!r}") for c, v in text]
    counts = [(c, how, int(frame[c].isna().sum())) for c, how in fills if c in frame.columns]
    filled = [(c, how, n) for c, how, n in counts if n]
    if not filled:
        return None
    shown = "; ".join(f"{n} in {c!r} ({how})" for c, how, n in filled[:8])
    if len(filled) > 8:
        shown += f"; and {len(filled) - 8} more columns"
    total = sum(n for _, _, n in filled)
    return f"imputed {total} blank cells with the training rows' values: {shown}"


def _score_note(model, frame, present, table) -> str:
    """One line scoring the predictions against the file's own target column(s)."""
    from ..datasets.preprocess import as_label_strings

    name = ", ".join(present)
    if model.task == "classification":
        from sklearn.metrics import accuracy_score

        truth = as_label_strings(frame[present[0]]).astype(str)
        pred = as_label_strings(table[f"predicted_{present[0]}"]).astype(str)
        known = {str(c) for c in model.classes_}
        if not set(truth) & known:
            return (
                f"note: the file's column {name!r} holds none of the model's classes "
                f"({', '.join(sorted(known)[:5])}), so no accuracy is computed"
            )
        return f"the file has the target column: accuracy {accuracy_score(truth, pred):.4f}"
    from pandas.api.types import is_bool_dtype, is_numeric_dtype
    from sklearn.metrics import r2_score

    if not all(is_numeric_dtype(frame[t]) and not is_bool_dtype(frame[t]) for t in present):
        return f"note: the file's column {name!r} is not numeric, so no R^2 is computed"
    truth = frame[present].to_numpy(dtype=float)
    pred = table[[f"predicted_{t}" for t in present]].to_numpy(dtype=float)
    if not np.isfinite(pred).all():
        return "note: some predictions are not finite numbers, so no R^2 is computed"
    largest = max(float(np.abs(truth).max(initial=0)), float(np.abs(pred).max(initial=0)))
    if largest > 2.0**500:  # squares would overflow: R^2 is the same for both scaled by 2^-k
        k = -int(np.ceil(np.log2(largest)))
        truth, pred = np.ldexp(truth, k), np.ldexp(pred, k)
    return f"the file has the target column: R^2 {r2_score(truth, pred):.4f}"


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
    loss = cr.losses.get_loss(args.loss)
    if args.loss == "cross_entropy":
        k, y = args.classes, rng.integers(0, args.classes, size=n)
    elif args.loss == "bce":
        k, y = 1, rng.integers(0, 2, size=n).astype(float)
    else:
        k, y = args.outputs, rng.normal(size=(n, args.outputs))
    net = build_network(d, args.hidden, k, args.activation, rng)
    print(net.summary())
    print()
    report = cr.gradient_check(net, loss, X, y, eps=args.eps)
    print(f"gradient check of {loss!r} on {n} random samples:\n")
    text = str(report)
    if not report.ok and args.eps > 1e-5:
        # A large step: the central difference's own error (order eps**2) may be all
        # that is measured. Check again with the default step before blaming backward.
        again = cr.gradient_check(net, loss, X, y, eps=1e-6)
        if again.ok:
            text = text.rsplit("\n", 1)[0]  # drop "check the backward pass ..."
            print(text)
            print(
                f"the step --eps {args.eps:g} is too large: the central difference has an "
                "error of order eps**2 times the third derivative. With the default --eps "
                f"1e-6 every array is at worst fine (max relative error "
                f"{again.max_rel_error:.2e}), so the backward pass is right."
            )
            return 0
    print(text)
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------- export
def cmd_export(args) -> int:
    from pathlib import Path

    from ..export.bridges import export_file
    from ._guards import check_not_a_pipe, check_out_is_not_an_input, check_writable_folder

    check_not_a_pipe(args.model, "MODEL")
    out = Path(args.out or Path(args.model).with_suffix(".onnx" if args.to == "onnx" else ".pt2"))
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name a file")
    check_out_is_not_an_input(out, {"model": args.model})
    folder = out.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"--out {out}: the folder {folder} does not exist; create it first")
    check_writable_folder(folder, "--out", out)
    path, notes = export_file(args.model, args.to, out)
    print(f"{args.model} exported to {path} ({args.to})")
    for note in notes:
        print(f"note: {note}")
    return 0


# ------------------------------------------------------------------------------ quiz
def cmd_quiz(args) -> int:
    from ..practice.quiz import Drill, answers_from

    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 10**6)
    drill = Drill(seed, args.topic, args.count)
    if args.answers:  # opened first: a missing file is one error line, before the drill
        try:
            f = open(args.answers, encoding="utf-8-sig")  # a BOM is not the first answer
        except OSError as exc:
            raise UsageError(
                f"--answers {args.answers}: {exc.strerror.lower()}; give a text file with "
                "one answer a line"
            ) from None
    print(f"chainrule quiz, seed {seed} (`chainrule quiz --seed {seed}` repeats this drill)")
    print("Carry 4 significant figures, answer with 3 or more; an empty line skips.\n")
    if args.answers:
        with f:
            drill.run(answers_from(answer_lines(f, args.answers)))
        return 0

    def ask(prompt: str) -> str | None:
        try:
            return input(prompt)
        except EOFError:
            return None

    drill.run(ask)
    return 0


#: an answer line longer than this is shortened (it cannot be a number to 3 figures)
ANSWER_MAX_CHARS = 1000


def answer_lines(f, path: str):
    """The lines of ``--answers``, read lazily: only as far as the drill asks (so a pipe
    fed by ``yes`` costs nothing), each at most :data:`ANSWER_MAX_CHARS` characters (a
    longer line is read past and stands as ``'<its start>... (N characters)'``, not
    echoed back whole). A file that is not UTF-8 text is a UsageError naming it."""
    try:
        while line := f.readline(ANSWER_MAX_CHARS + 1):
            if len(line.rstrip("\n")) > ANSWER_MAX_CHARS:
                n = len(line)
                while (rest := f.readline(1 << 16)) and not rest.endswith("\n"):
                    n += len(rest)
                n += len(rest.rstrip("\n"))
                line = f"{line[:20]}... ({n:,} characters)\n"
            yield line
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"--answers {path} is not a text file (it holds bytes that are not UTF-8: "
            f"{exc.reason}); write one answer per line in a plain text file."
        ) from None


# ------------------------------------------------------------------------ playground
def cmd_playground(args) -> int:
    try:
        from ..playground import allowed_hosts, serve  # needs the playground extra
    except ImportError as exc:
        raise UsageError(
            f"the playground needs {exc.name}; install it from the source folder with "
            'pip install -e ".[playground]"'
        ) from exc
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    try:
        allowed_hosts(args.host, args.allow_remote)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    serve(
        args.data,
        host=args.host,
        port=args.port,
        open_browser=not args.no_browser,
        allow_remote=args.allow_remote,
    )
    return 0


# ------------------------------------------------------------------------------ main
class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as the command's others are: one line, then a hint
    (where the options are listed), not the usage block; exit status 2."""

    def error(self, message: str):
        self.exit(
            2, f"{self.prog}: error: {message}\n  hint: {self.prog} --help lists the options\n"
        )


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``chainrule [--version] [--debug] COMMAND ...``, one subparser
    per subcommand (each added by its ``_add_<command>``)."""
    parser = _Parser(
        prog="chainrule",
        description="Neural networks and backpropagation from scratch in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # --debug is accepted after the subcommand too; SUPPRESS keeps the top-level value
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    _add_train(sub, debug)
    _add_predict(sub, debug)
    _add_explain(sub, debug)
    _add_gradcheck(sub, debug)
    _add_export(sub, debug)
    _add_quiz(sub, debug)
    _add_playground(sub, debug)
    return parser


_DEFAULT_OUT = "chainrule-run"


def _add_train(sub, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "train",
        parents=[debug],
        help="train a network on a bundled dataset or a CSV file",
        description="Train an MLP on a bundled dataset (iris, wine, breast_cancer, digits, "
        "diabetes, linnerud, penguins) or a CSV file; print metrics; write model.npz, "
        "metrics.json, history.csv and plots to --out.",
    )
    p.add_argument("--data", default="iris", help="dataset name or CSV path (default: iris)")
    p.add_argument("--target", help="the label column (default: the last column of a CSV)")
    p.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto (default): text, or at most 20 distinct integers, is classification; "
        "other numbers regression",
    )
    _train_fit_options(p)
    _csv_options(p)
    p.add_argument("--drop", nargs="+", default=[], metavar="COL", help="columns to leave out")
    p.add_argument("--id", metavar="COL", help="a row-ID column: not a feature; predict copies it")
    p.add_argument(
        "--keep",
        nargs="+",
        default=[],
        metavar="COL",
        help="use these identifier-like columns as features (left out by default)",
    )
    p.add_argument("--out", default=_DEFAULT_OUT, help="output folder (default chainrule-run)")
    p.add_argument(
        "--resume",
        metavar="DIR",
        help="go on with the run whose --out is DIR, from its last epoch (DIR/checkpoint.npz, "
        "written by sgd and adam runs), up to --epochs in all, writing into DIR: the same "
        "data, split, preprocessing and options (pass none that differ), the solver's and "
        "early stopping's state; equal, bit for bit, to one run of as many epochs",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=cmd_train)


def _train_fit_options(p) -> None:
    """train's network, solver, split and early-stopping options."""
    p.add_argument("--hidden", type=_parse_hidden, default=[64, 32], help="default 64,32")
    p.add_argument(
        "--activation", default="relu", help="relu (default), tanh, logistic (= sigmoid), identity"
    )
    p.add_argument(
        "--solver",
        choices=("adam", "sgd", "lbfgs"),
        default="adam",
        help="adam (default) or sgd: minibatches, epochs, early stopping; lbfgs: full-batch "
        "quasi-Newton, --epochs iterations, no early stopping",
    )
    p.add_argument("--epochs", type=int, default=200, help="at most this many (default 200)")
    p.add_argument("--batch-size", type=int, default=32, help="default 32")
    p.add_argument(
        "--lr",
        type=_parse_lr,
        default=1e-3,
        help="learning rate (default 0.001), or auto: the suggestion of a learning-rate range "
        "test (lr_find) on the training rows, plotted in lr_find.png (adam and sgd)",
    )
    p.add_argument(
        "--alpha",
        type=_parse_alpha,
        default=None,
        help="L2 penalty, a number >= 0, or auto (default): try 1 and 0.1 and keep the better "
        "on the validation set (3 when there is none)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the split, the weights and the shuffling (default 0)",
    )
    p.add_argument("--test-size", type=float, default=0.2, help="test fraction (default 0.2)")
    p.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="hold out no validation rows; train up to --epochs, stopping only when the "
        "training loss stalls for 20 epochs (default: stop when the validation loss has not "
        "improved for 20 epochs and keep the best epoch's weights; off anyway when the "
        "validation set would have fewer than 50 rows)",
    )
    p.add_argument(
        "--validation-fraction",
        type=float,
        default=0.2,
        help="share of the training rows held out for early stopping (default 0.2)",
    )


def _add_predict(sub, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "predict",
        parents=[debug],
        help="apply a model saved by `chainrule train` to a CSV file",
        description="Apply the model and its preprocessing to DATA.csv and write one row "
        "of predictions (and class probabilities) per input row.",
    )
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("data", metavar="DATA.csv|NAME")
    p.add_argument("--out", default="predictions.csv", help="default predictions.csv")
    _csv_options(p, as_trained=True)
    p.set_defaults(func=cmd_predict)


def _add_explain(sub, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "explain",
        parents=[debug],
        help="trace one training step of a tiny network, equation by equation",
        description="Trace one training step (forward, loss, backward, update) of a tiny "
        "seeded network, with every number the engine computes.",
    )
    p.add_argument(
        "--task",
        choices=("classification", "regression"),
        default="classification",
        help="a 2-3-2 classifier (default) or a 2-3-1 regressor",
    )
    p.add_argument("--format", choices=("text", "markdown"), default="text")
    p.add_argument("--samples", type=int, default=3, help="batch size of the step (default 3)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="seeds the inputs and weights (default 0)")
    p.set_defaults(func=cmd_explain)


def _add_gradcheck(sub, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "gradcheck",
        parents=[debug],
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
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (1e-6)")
    p.add_argument("--seed", type=int, default=0, help="seeds the data and weights (default 0)")
    p.set_defaults(func=cmd_gradcheck)


def _add_export(sub, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[debug],
        help="convert a saved model to ONNX or PyTorch",
        description="Convert MODEL.npz (from chainrule.save or `chainrule train`) to an ONNX "
        "graph (with a bundle's preprocessing) or a PyTorch program (torch.export, .pt2).",
    )
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("--to", choices=("onnx", "torch"), required=True, help="the target format")
    p.add_argument("--out", help="default: MODEL with the suffix .onnx or .pt2")
    p.set_defaults(func=cmd_export)


def _add_quiz(sub, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "quiz",
        parents=[debug],
        help="practise one training step by hand: forward, loss, backward, update",
        description="A numeric drill: a small network with short decimals; compute one "
        "quantity at a time; a wrong answer gets the worked solution and the likely slip.",
    )
    p.add_argument(
        "--topic",
        choices=("forward", "loss", "backward", "update", "all"),
        default="all",
        help="which part of the step to drill (default all)",
    )
    p.add_argument("--count", type=int, default=5, help="number of questions (default 5)")
    p.add_argument("--seed", type=int, help="the same seed gives the same drill")
    p.add_argument(
        "--answers",
        metavar="FILE",
        help="read answers from FILE, one per line (UTF-8 text, read only as far as the "
        "drill asks: /dev/stdin works)",
    )
    p.set_defaults(func=cmd_quiz)


def _add_playground(sub, debug: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "playground",
        parents=[debug],
        help="watch backpropagation happen in a local web page",
        description="Start a local web page that trains chainrule networks on toy data or a "
        "CSV file and shows every step of backpropagation.",
    )
    p.add_argument(
        "--data",
        metavar="NAME|PATH.csv",
        help="a bundled dataset or a CSV file to offer on the page",
    )
    p.add_argument("--port", type=int, default=8000, help="default 8000")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --host be an address other machines can reach (no password: anyone on "
        "the network can use it)",
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_playground)


def _csv_options(p, *, as_trained: bool = False) -> None:
    """--sep and --decimal; for predict (``as_trained``) they default to the training run's."""
    p.add_argument(
        "--sep",
        default=None if as_trained else "auto",
        help="CSV field separator: auto (detects , ; tab |), or e.g. ';' or tab "
        + ("(default: as in training)" if as_trained else "(default auto)"),
    )
    p.add_argument(
        "--decimal",
        choices=(".", ","),
        default=None if as_trained else ".",
        help="decimal mark of numbers "
        + ("(default: as in training)" if as_trained else "(default .)"),
    )


def _sep(text: str) -> str | None:
    if text == "auto":
        return None
    text = {"tab": "\t", "\\t": "\t"}.get(text, text)
    if len(text) == 1 and not text.isascii():  # pandas' C parser reads one byte
        raise UsageError(
            f"--sep {text!r} is not an ASCII character; a CSV separator is one byte such "
            "as ',' ';' '|' or tab: convert the file's separator first (e.g. with sed)"
        )
    if len(text) != 1 or text.isalnum() or text in "\"'.":
        raise UsageError(f"--sep takes one character such as ',' ';' '|' or tab, got {text!r}")
    return text


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
    saved = _interrupt.install()  # Ctrl-C recorded from here on, even if its exception is lost
    code = None
    try:
        code = _main(argv)
    finally:
        _interrupt.restore(saved, code)
    return code


def _main(argv: list[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print(_interrupt.message(_command_in(argv)), file=sys.stderr)
        return 130
    if args.command is None:
        parser.print_help()
        return 0
    try:
        _check_counts(args)
        code = args.func(args)
        _interrupt.check()  # an interrupt whose exception a finaliser swallowed
        return code
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's status for SIGINT
        if args.debug:
            raise
        print(_interrupt.message(args.command), file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, ValueError, TypeError, OSError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"chainrule {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _command_in(argv: list[str] | None) -> str:
    """The subcommand named on the command line (for a message before parsing ends)."""
    words = sys.argv[1:] if argv is None else argv
    return next((str(a) for a in words if not str(a).startswith("-")), "")


def _one_line(exc: BaseException) -> str:
    """An error message on one line (a file name or a JSON error may hold newlines)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
