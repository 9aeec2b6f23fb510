"""The playground's data: seeded 2-D toy sets, four regression surfaces, or a CSV table.

Every set is returned as a :class:`PlayData`: inputs ``X`` of shape (n, 1) or (n, 2),
already on a scale near [-1, 1], targets ``y`` (class indices 0..k-1, or real values for
regression), and the split into train and test rows. The toy sets are generated here,
from the seed alone, so the exported Python snippet can rebuild them with
``make_toy(name, n_points, noise, seed)``.

A CSV is read by :func:`chainrule.datasets.load_table`, as ``chainrule train`` reads it
(the same checks, ID and date handling, and notes), then two numeric columns are
picked, or the whole table is projected on its first two principal components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOY_SETS = {
    "circles": "classification",
    "xor": "classification",
    "blobs": "classification",
    "spiral": "classification",
    "moons": "classification",
    "reg1d": "regression",
    "reg2d": "regression",
    "plane": "regression",
    "gaussians": "regression",
}
MAX_CLASSES = 10
MAX_POINTS = 2000
#: at most this many one-hot columns go into the PCA projection (see :func:`pca_columns`)
MAX_PCA_WIDTH = 500

#: the input features the page toggles, as TensorFlow Playground's: name -> the column
#: computed from a point's coordinates x1, x2 (the engine sees the chosen columns)
INPUTS = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1^2": lambda X: X[:, 0] ** 2,
    "x2^2": lambda X: X[:, 1] ** 2,
    "x1*x2": lambda X: X[:, 0] * X[:, 1],
    "sin(x1)": lambda X: np.sin(X[:, 0]),
    "sin(x2)": lambda X: np.sin(X[:, 1]),
}


def input_features(X: np.ndarray, inputs) -> np.ndarray:
    """The columns ``inputs`` (names of ``INPUTS``) of the points ``X``.

    Parameters
    ----------
    X : ndarray (n, 1) or (n, 2)
        The points' coordinates x1 (and x2).
    inputs : list of str

    Returns
    -------
    ndarray (n, len(inputs)), float64
    """
    return np.column_stack([INPUTS[name](X) for name in inputs]).astype(np.float64)


def usable_inputs(inputs, n_dims: int) -> list[str]:
    """``inputs`` in ``INPUTS``' order, without those of x2 when the points have one
    coordinate (then at least x1)."""
    kept = [name for name in INPUTS if name in inputs and (n_dims == 2 or "x2" not in name)]
    return kept or ["x1"]


@dataclass
class PlayData:
    """Inputs, targets and a train/test split, ready for the network and the page."""

    name: str
    task: str  # "classification" or "regression"
    X: np.ndarray  # (n, d), d = 1 or 2, float64
    y: np.ndarray  # (n,) int class indices, or float values
    train: np.ndarray  # row indices of the training part
    test: np.ndarray  # row indices of the test part
    classes: list[str]
    feature_names: list[str]
    notes: list[str]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def extent(self) -> list[float]:
        """[xmin, xmax, ymin, ymax] of the drawn square (padded, at least [-1, 1])."""
        lo = np.minimum(self.X.min(axis=0), -1.0)
        hi = np.maximum(self.X.max(axis=0), 1.0)
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        if self.n_features == 1:
            return [float(lo[0]), float(hi[0]), 0.0, 0.0]
        return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]


def make_toy(name: str, n_points: int = 400, noise: float = 0.1, seed: int = 0):
    """Generate a toy set: ``(X, y)`` with X of shape (n_points, 2) (or (n, 1) for reg1d).

    Parameters
    ----------
    name : one of ``TOY_SETS``
    n_points : int
    noise : float
        Standard deviation of the Gaussian noise, in units of the set's [-1, 1] scale.
    seed : int

    Returns
    -------
    X : ndarray (n_points, 2) or (n_points, 1)
    y : ndarray (n_points,), int for classification, float for regression
    """
    rng = np.random.default_rng(seed)
    n = n_points
    half = n // 2
    if name == "circles":
        r = np.concatenate([rng.uniform(0.0, 0.45, half), rng.uniform(0.65, 1.0, n - half)])
        t = rng.uniform(0, 2 * np.pi, n)
        X = np.c_[r * np.cos(t), r * np.sin(t)]
        y = (np.arange(n) >= half).astype(np.int64)
    elif name == "xor":
        X = rng.uniform(-1, 1, (n, 2))
        X += np.sign(X) * 0.05  # a small gap along the axes
        y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    elif name == "blobs":
        centres = np.array([[-0.5, -0.45], [0.5, -0.45], [0.0, 0.5]])
        y = np.arange(n) % 3
        X = centres[y] + rng.normal(0, 0.2, (n, 2))
    elif name == "spiral":
        y = (np.arange(n) >= half).astype(np.int64)
        s = np.concatenate([np.linspace(0, 1, half), np.linspace(0, 1, n - half)])
        t = 1.75 * s * 2 * np.pi + np.pi * y
        X = np.c_[s * np.cos(t), s * np.sin(t)] * 0.95
    elif name == "moons":
        t = rng.uniform(0, np.pi, n)
        y = (np.arange(n) >= half).astype(np.int64)
        upper = np.c_[np.cos(t), np.sin(t)]
        lower = np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
        X = np.where(y[:, None] == 0, upper, lower)
        X = (X - [0.5, 0.25]) / 1.5
    elif name == "reg1d":
        X = rng.uniform(-1, 1, (n, 1))
        y = np.sin(3 * X[:, 0]) * 0.8
    elif name == "reg2d":
        X = rng.uniform(-1, 1, (n, 2))
        y = np.sin(2.5 * X[:, 0]) * np.cos(2.0 * X[:, 1])
    elif name == "plane":  # TensorFlow Playground's regression plane
        X = rng.uniform(-1, 1, (n, 2))
        y = 0.5 * (X[:, 0] + X[:, 1])
    elif name == "gaussians":  # two Gaussian bumps, one up and one down
        X = rng.uniform(-1, 1, (n, 2))
        up = np.exp(-np.sum((X - [-0.4, 0.4]) ** 2, axis=1) / (2 * 0.3**2))
        down = np.exp(-np.sum((X - [0.4, -0.4]) ** 2, axis=1) / (2 * 0.3**2))
        y = up - down
    else:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {', '.join(TOY_SETS)}.")
    if TOY_SETS[name] == "classification":
        X = X + rng.normal(0, noise, X.shape)
    else:
        y = y + rng.normal(0, noise, y.shape)
    return X.astype(np.float64), y


def split(n: int, train_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded permutation of ``range(n)`` cut at ``round(train_ratio * n)``."""
    perm = np.random.default_rng(seed + 1).permutation(n)
    n_train = min(max(round(train_ratio * n), 1), n - 1)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


def toy_data(name: str, n_points: int, noise: float, train_ratio: float, seed: int) -> PlayData:
    """A toy set with its split (see :func:`make_toy` and :func:`split`)."""
    X, y = make_toy(name, n_points, noise, seed)
    train, test = split(n_points, train_ratio, seed)
    task = TOY_SETS[name]
    k = int(y.max()) + 1 if task == "classification" else 0
    names = ["x1"] if X.shape[1] == 1 else ["x1", "x2"]
    return PlayData(name, task, X, y, train, test, [str(c) for c in range(k)], names, [])


def table_data(dataset, features, train_ratio: float, seed: int) -> PlayData:
    """Project a :class:`chainrule.datasets.Dataset` on two numeric columns or on PCA.

    Parameters
    ----------
    dataset : chainrule.datasets.Dataset
        One target column; at most ``MAX_CLASSES`` classes.
    features : list of two column names, or "pca"
    train_ratio : float
    seed : int

    Returns
    -------
    PlayData
        Each input column standardised (mean 0, standard deviation 0.5).
    """
    from ..datasets.tables import DataError, LabelEncoder

    if len(dataset.target) != 1:
        raise DataError("the playground takes one target column; the table has several.")
    n = dataset.n_samples
    if n < 4:
        raise DataError(f"the table has {n} rows; the playground needs at least 4.")
    if n > MAX_POINTS:
        raise DataError(f"the table has {n} rows; the playground takes at most {MAX_POINTS}.")
    notes = list(dataset.notes)
    if features == "pca":
        X, pca_notes = pca_projection(dataset, seed)
        notes += pca_notes
        names = ["PC1", "PC2"]
    else:
        names = [str(f) for f in features]
        numeric = numeric_columns(dataset)
        bad = [f for f in names if f not in numeric]
        if len(names) != 2 or len(set(names)) != 2 or bad:
            raise DataError(
                f"pick two different numeric feature columns (got {names}); the numeric "
                f"columns are {numeric}, or choose the PCA projection."
            )
        X, pre_notes = encode(dataset.X[names])
        notes += pre_notes
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    X = 0.5 * (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    if dataset.task == "classification":
        enc = LabelEncoder().fit(dataset.y)
        classes = [str(c) for c in enc.classes_]
        if len(classes) > MAX_CLASSES:
            raise DataError(
                f"the target {dataset.target[0]!r} has {len(classes)} classes; the playground "
                f"draws at most {MAX_CLASSES}. Choose a CSV with fewer classes."
            )
        y = np.asarray(enc.transform(dataset.y), dtype=np.int64)
    else:
        classes = []
        y = dataset.y.to_numpy(dtype=np.float64)
        notes.append("regression target standardised to mean 0, standard deviation 0.5")
        sd = y.std()
        y = 0.5 * (y - y.mean()) / (sd if sd > 0 else 1.0)
    train, test = split(n, train_ratio, seed)
    return PlayData(dataset.name, dataset.task, X, y, train, test, classes, names, notes)


#: the Preprocessor's notes the page shows (its standardisation note is left out: the
#: playground standardises the inputs to a standard deviation of 0.5 itself)
SHOWN_PREPROCESSING = ("imputed ", "one-hot encoded ")


def encode(frame) -> tuple[np.ndarray, list[str]]:
    """``frame``'s columns as ``chainrule train`` preprocesses them (:class:`Preprocessor`:
    gaps imputed, text one-hot encoded), and its notes on the gaps and the encoding, each
    as ``chainrule train`` prints it after "preprocessing:"."""
    from ..datasets.tables import Preprocessor

    pre = Preprocessor()
    Z = pre.fit_transform(frame)
    return Z, [f"preprocessing: {n}" for n in pre.notes_ if n.startswith(SHOWN_PREPROCESSING)]


def pca_columns(dataset) -> tuple[list[str], dict[str, int]]:
    """The feature columns the PCA projection encodes, within ``MAX_PCA_WIDTH`` one-hot
    columns, and the widths of those it leaves out.

    Every column's one-hot width is counted before anything is encoded
    (:func:`chainrule.datasets.tables.one_hot_widths`); the narrowest columns are kept
    first, so a few text columns with a category in nearly every row (which would make a
    2,000 x 30,000 matrix: seconds and gigabytes for two components) are the ones left out.

    Returns
    -------
    kept : list of str
        In the table's order.
    left_out : dict
        Column name -> its number of one-hot columns, widest first.
    """
    from ..datasets.tables import one_hot_widths

    widths = one_hot_widths(dataset.frame, dataset.feature_names)
    kept, total = set(), 0
    for c in sorted(widths, key=widths.get):  # narrowest first; ties in the table's order
        if total + widths[c] <= MAX_PCA_WIDTH:
            kept.add(c)
            total += widths[c]
    left_out = {c: w for c, w in sorted(widths.items(), key=lambda cw: -cw[1]) if c not in kept}
    return [c for c in widths if c in kept], left_out


def pca_projection(dataset, seed: int) -> tuple[np.ndarray, list[str]]:
    """The table's features (one-hot encoded as ``chainrule train`` encodes them, within
    ``MAX_PCA_WIDTH`` columns: :func:`pca_columns`) on their first two principal
    components: ``(X, notes)``, X of shape (n, 2), a note naming any column left out."""
    from sklearn.decomposition import PCA

    from ..datasets.tables import DataError

    kept, left_out = pca_columns(dataset)
    shown = ", ".join(f"{c!r} ({w} categories)" for c, w in list(left_out.items())[:3])
    more = f" and {len(left_out) - 3} more" if len(left_out) > 3 else ""
    Z, notes = encode(dataset.X[kept]) if kept else (np.zeros((len(dataset.X), 0)), [])
    if Z.shape[1] < 2:
        if left_out:
            raise DataError(
                f"PCA needs at least two feature columns within {MAX_PCA_WIDTH} one-hot "
                f"columns; {shown}{more} would add {sum(left_out.values())} columns. Remove "
                "such text columns (a category in nearly every row) from the CSV, or train "
                "on it with `chainrule train --drop COL`."
            )
        raise DataError(
            f"PCA needs at least two feature columns; {dataset.name} has "
            f"{len(dataset.feature_names)} ({', '.join(map(repr, dataset.feature_names))}). "
            "Add a second feature column to the CSV: the playground draws two inputs."
        )
    if left_out:
        notes.append(
            f"PCA leaves out {shown}{more}: one-hot encoded they would add "
            f"{sum(left_out.values())} columns, and the projection takes at most "
            f"{MAX_PCA_WIDTH}; it uses the other {len(kept)} feature columns"
        )
    # at most MAX_PCA_WIDTH columns: the covariance matrix's eigenvectors are exact and
    # cheap (the randomized solver sklearn would pick is far slower at this size)
    pca = PCA(n_components=2, svd_solver="covariance_eigh", random_state=seed)
    return pca.fit_transform(Z), notes


def numeric_columns(dataset) -> list[str]:
    """The dataset's numeric feature columns (the ones a user may pick as an axis)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return [
        c
        for c in dataset.feature_names
        if is_numeric_dtype(dataset.frame[c].dtype) and not is_bool_dtype(dataset.frame[c].dtype)
    ]
