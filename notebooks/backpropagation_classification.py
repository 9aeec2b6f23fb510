# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Backpropagation, step by step: a classifier in raw NumPy
#
# This lesson trains a small neural network to tell three wine cultivars apart
# from 13 chemical measurements, and writes every piece by hand first: the
# forward pass, the loss, **backpropagation by the chain rule**, and gradient
# descent. Then it checks the gradients numerically, shows that
# [chainrule](../README.md) computes exactly the same numbers, and compares
# with scikit-learn.
#
# 1. The data: loading, a first look, standardisation, a train/test split; then a real,
#    messy table (Palmer penguins): missing values, one-hot encoding, leakage
# 2. The network in raw NumPy: initialisation, forward pass, loss, the chain rule on
#    a graph of four numbers, backpropagation in matrix form (and the row and column
#    conventions), update, training loop
# 3. A gradient check of the raw implementation
# 4. The same network in chainrule, and `MLPClassifier` vs scikit-learn
# 5. Plots: loss curves, confusion matrix, decision regions, vanishing gradients
# 6. Classification vs regression: why both output gradients are
#    *prediction - target*
# 7. Exercises with checked answers
#
# The companion lesson, `backpropagation_regression.ipynb`, does the same for
# regression (linear output and mean squared error).
#
# **Run it yourself.** From the repository root: `pip install -e ".[notebooks]"` (plus
# `pip install jupyterlab`, unless you use VS Code), open this file and run all cells; the
# whole notebook takes seconds.
#
# **Edit it (teachers).** This lesson is a pair of files:
# `backpropagation_classification.ipynb` and its readable source
# `backpropagation_classification.py` (jupytext percent format: `# %%` starts a code
# cell, `# %% [markdown]` a text cell). Edit either one, then run `jupytext --sync
# notebooks/backpropagation_classification.py` to carry the edit to the other, and
# `python notebooks/execute.py backpropagation_classification` to re-run it on a fresh
# kernel and save the outputs. Commit both files: `tests/test_notebooks.py` fails on a
# pair out of sync, a notebook saved without outputs, and (through the assertions in the
# cells) a claim in the text that stops being true.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

import chainrule as cr

SEED = 0  # every random choice in this notebook derives from this seed
np.set_printoptions(precision=4, suppress=True)
pd.set_option("display.precision", 3)

# %% [markdown]
# ## 1. The data
#
# The wine dataset ships with scikit-learn (nothing is downloaded): 178 wines
# from three cultivars of the same Italian region, 13 measurements each.
# `as_frame=True` gives a pandas DataFrame.

# %%
wine = load_wine(as_frame=True)
df = wine.frame  # 13 feature columns and the integer column "target"
print(df.shape)
assert df.shape == (178, 14) and df["target"].nunique() == 3  # as the text says
df.head()

# %%
df.describe().T[["mean", "std", "min", "max"]]

# %% [markdown]
# The class balance: no class is rare, so accuracy is a fair first measure.

# %%
counts = df["target"].value_counts().sort_index()
shares = counts / len(df)
pd.DataFrame({"cultivar": wine.target_names, "wines": counts, "share": shares})

# %% [markdown]
# ### Split, then standardise
#
# The features live on very different scales: proline is in the hundreds to
# thousands, hue around 1. A weight update $\Delta W_1 = -\eta\, X^\top dZ_1$ is
# proportional to the inputs, so unscaled features would get steps in proportion to
# their scale (the cell prints the largest column's spread over the smallest's) and
# no single learning rate would suit them all.
# Standardising each column,
#
# $$x'_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j},$$
#
# puts every feature at mean 0 and standard deviation 1. The mean $\mu_j$ and
# standard deviation $\sigma_j$ come from the **training set only**: the test set
# plays the role of future data, which we would not have seen. The split is
# stratified (the same class shares in both parts) and seeded.

# %%
feature_names = wine.feature_names
X_all = df[feature_names].to_numpy(dtype=np.float64)
y_all = df["target"].to_numpy()
X_train_raw, X_test_raw, y_train, y_test = train_test_split(
    X_all, y_all, test_size=0.25, stratify=y_all, random_state=SEED
)

mu = X_train_raw.mean(axis=0)
sigma = X_train_raw.std(axis=0)
X_train = (X_train_raw - mu) / sigma
X_test = (X_test_raw - mu) / sigma  # the training mu and sigma, on purpose

spread = sigma.max() / sigma.min()
assert df["proline"].min() > 100 and df["proline"].max() > 1000  # hundreds to thousands
assert 0.5 < df["hue"].mean() < 1.5  # hue around 1
print(f"largest column std / smallest: {spread:,.0f}")
assert spread > 1000  # the prose above says "a thousand times"

print("X_train", X_train.shape, "  X_test", X_test.shape)
print("largest |column mean| after scaling:", np.abs(X_train.mean(axis=0)).max())
print("column standard deviations:", X_train.std(axis=0).round(12))

# %% [markdown]
# scikit-learn's `StandardScaler` does exactly this (population standard
# deviation, fitted on the training data):

# %%
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler().fit(X_train_raw)
np.testing.assert_allclose(scaler.transform(X_test_raw), X_test)
print("StandardScaler agrees")

# %% [markdown]
# The targets become **one-hot** rows: $T_{ik} = 1$ if sample $i$ belongs to
# class $k$, else 0. Row $k$ of the identity matrix is the code of class $k$.

# %%
n_classes = len(wine.target_names)
T_train = np.eye(n_classes)[y_train]
T_test = np.eye(n_classes)[y_test]
print("y_train[:4] =", y_train[:4])
print(T_train[:4])


# %% [markdown]
# ### 1.1 A real table is messy: the Palmer penguins
#
# The wine table came clean: numbers only, nothing missing. Real tables are not. The
# Palmer penguins table (the `palmerpenguins` package ships it as a CSV, CC0; nothing
# is downloaded) records 344 penguins of three species on three islands of the Palmer
# Archipelago: four body measurements, the island and sex as **text**, the year, and
# **gaps**. Predicting the species from the rest is the same classification task as
# wine, so the network of this lesson learns it once the table is prepared. Each step
# below says why it is done, and in which order: the order matters.
#
# **Step 1: look before touching.** `info()` shows each column's type and how many
# values are present; `describe()` the scales.

# %%
from palmerpenguins import load_penguins

penguins = load_penguins()  # a pandas DataFrame read from the package's CSV
assert len(penguins) == 344 and penguins["species"].nunique() == penguins["island"].nunique() == 3
penguins.info()

# %%
penguins.describe(include="all").T[["count", "unique", "top", "mean", "std", "min", "max"]]

# %% [markdown]
# **Step 2: missing values.** Count them per column, then look at the rows that
# have them: whether to drop or to fill depends on *which* values are missing.

# %%
missing = penguins.isna().sum()
no_measurements = penguins[["bill_length_mm", "body_mass_g"]].isna().all(axis=1)
no_sex_only = penguins["sex"].isna() & ~no_measurements
sex_counts = penguins["sex"].value_counts()
print(missing[missing > 0].to_string())
print(f"rows without any measurement: {no_measurements.sum()}")
print(f"rows with measurements but no sex: {no_sex_only.sum()}")
print(sex_counts.to_string())
assert no_measurements.sum() == 2 and no_sex_only.sum() == 9

# %%
Markdown(
    f"Two rows have no measurement at all (only species, island and year): nothing to "
    f"learn from, so they are **dropped**. {no_sex_only.sum()} more rows lack only `sex`. "
    f"Dropping them would throw away good measurements; filling in the most frequent "
    f"sex would be a coin toss dressed up as data ({sex_counts['male']} males against "
    f"{sex_counts['female']} females). So `sex` stays **unknown**: after one-hot "
    "encoding (step 3) an unknown sex is a 0 in both the `male` and the `female` column, "
    "which is exactly what we know. `year` is when the bird was measured, not a "
    "property of the bird: it is dropped too."
)

# %%
table = penguins.loc[~no_measurements].drop(columns="year")
numeric_columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
assert table[numeric_columns].notna().all().all()  # no gap left in the numbers
print(table.shape)

# %% [markdown]
# **Step 3: one-hot encode the text columns.** A network multiplies its inputs by
# weights, so `island` must become numbers; but coding Biscoe, Dream, Torgersen as 0,
# 1, 2 would invent an order and a distance between islands. One-hot encoding gives
# each value its own 0/1 column (the same idea as the one-hot targets above).
# `pd.get_dummies` does it; a missing value gets 0 in every column of its group.

# %%
encoded = pd.get_dummies(table, columns=["island", "sex"], dtype=np.float64)
encoded.head()

# %% [markdown]
# **Step 4: split *before* fitting anything to the data.** The standardisation of
# step 5 learns a mean and a standard deviation per column. Learnt on all rows, they
# would carry information from the test rows into training (**leakage**): the test set
# would no longer play the part of unseen data, and its score would flatter the
# model. So split first (stratified by species, seeded), then fit on the training part
# only. The cell also shows how far the leaked statistics would be from the honest
# ones.

# %%
feature_columns = [c for c in encoded.columns if c != "species"]
P_train_frame, P_test_frame = train_test_split(
    encoded, test_size=0.25, stratify=encoded["species"], random_state=SEED
)
mu_penguins = P_train_frame[numeric_columns].mean()
sd_penguins = P_train_frame[numeric_columns].std(ddof=0)
leaked = encoded[numeric_columns].mean()  # what fitting before the split would use
pd.DataFrame({"train mean (honest)": mu_penguins, "all rows (leaks the test set)": leaked})

# %% [markdown]
# **Step 5: standardise the numeric columns** with the training statistics, on both
# parts. The one-hot columns are already 0/1 and stay as they are. Then the arrays
# the network takes: `X` as float64 and the species as class indices.

# %%
def penguin_arrays(frame):
    scaled = frame.copy()
    scaled[numeric_columns] = (frame[numeric_columns] - mu_penguins) / sd_penguins
    return scaled[feature_columns].to_numpy(dtype=np.float64)


species_names = sorted(encoded["species"].unique())
Xp_train, Xp_test = penguin_arrays(P_train_frame), penguin_arrays(P_test_frame)
yp_train = P_train_frame["species"].map(species_names.index).to_numpy()
yp_test = P_test_frame["species"].map(species_names.index).to_numpy()
print("features:", feature_columns)
print("Xp_train", Xp_train.shape, "  Xp_test", Xp_test.shape)
np.testing.assert_allclose(Xp_train[:, :4].mean(axis=0), 0, atol=1e-12)

# %% [markdown]
# **Step 6: train.** The same kind of network as the rest of this lesson (16 sigmoid
# units, softmax output, cross-entropy), here through `cr.MLPClassifier`. Its layers
# compute exactly the forward and backward passes written by hand (section 4 checks
# them to rounding), but it trains as scikit-learn's `MLPClassifier` does, not as our
# raw loop: scikit-learn's initialisation, Adam on minibatches of 200, and an L2
# penalty (`alpha=1e-4`); section 4 shows the two libraries agree epoch for epoch.

# %%
penguin_model = cr.MLPClassifier(
    hidden_layer_sizes=(16,), activation="logistic", learning_rate_init=0.01,
    max_iter=300, random_state=SEED,
).fit(Xp_train, yp_train)  # fmt: skip
# Adam, L2 alpha = 1e-4, and batch_size "auto": min(200, n) rows, so several batches
settings_used = (penguin_model.solver, penguin_model.alpha, penguin_model.batch_size)
assert settings_used == ("adam", 1e-4, "auto") and len(Xp_train) > 200
penguin_accuracy = penguin_model.score(Xp_test, yp_test)
assert penguin_accuracy >= 0.95
Markdown(
    f"Test accuracy on the {len(yp_test)} held-out penguins: **{penguin_accuracy:.3f}**. "
    "`chainrule train --data penguins` prepares the same table from the command line, "
    "with the simpler general-purpose choices of its preprocessor (the median for a "
    "missing number, the most frequent label for a missing text value), fitted on its "
    "training split. The rest "
    "of this lesson stays with the wine table, whose 13 clean columns keep the printed "
    "arrays and the hand computations short."
)


# %% [markdown]
# ## 2. The network in raw NumPy
#
# One hidden layer of 16 sigmoid units and a softmax output over the 3 classes,
# for a batch of $n$ samples:
#
# $$
# X \xrightarrow{\;W_1,\, b_1\;} Z_1 \xrightarrow{\;\sigma\;} A_1
#   \xrightarrow{\;W_2,\, b_2\;} Z_2 \xrightarrow{\;\operatorname{softmax}\;} P
#   \xrightarrow{\;T\;} L
# $$
#
# | array | shape | meaning |
# |---|---|---|
# | $X$ | $n \times 13$ | inputs, one sample per row |
# | $W_1$, $b_1$ | $13 \times 16$, $16$ | first layer's weights and biases |
# | $Z_1$, $A_1$ | $n \times 16$ | hidden pre-activations and activations |
# | $W_2$, $b_2$ | $16 \times 3$, $3$ | output layer's weights and biases |
# | $Z_2$ | $n \times 3$ | logits (unnormalised scores) |
# | $P$ | $n \times 3$ | class probabilities; each row sums to 1 |
# | $L$ | scalar | mean cross-entropy |
#
# Samples are rows, so a layer computes $XW + b$ (with $b$ added to every row),
# the convention of chainrule and of scikit-learn's `coefs_`.
#
# ### 2.1 Parameter initialisation
#
# Glorot (Xavier) uniform: $W \sim \mathcal{U}(-a, a)$ with
# $a = \sqrt{6/(n_\text{in} + n_\text{out})}$, and $b = 0$. Random, because
# if every weight started equal, every hidden unit would compute the same
# function and receive the same gradient, forever (the symmetry is never
# broken). Scaled, because that keeps the variance of the signal roughly
# constant from layer to layer, in the forward and the backward pass.

# %%
def init_params(n_in, n_hidden, n_out, rng):
    """Glorot-uniform weights and zero biases, in a dict named after the math."""
    a1 = np.sqrt(6 / (n_in + n_hidden))
    a2 = np.sqrt(6 / (n_hidden + n_out))
    return {
        "W1": rng.uniform(-a1, a1, size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.uniform(-a2, a2, size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


n_features, n_hidden = X_train.shape[1], 16
params0 = init_params(n_features, n_hidden, n_classes, np.random.default_rng(SEED))
for name, value in params0.items():
    print(f"{name}: {value.shape}")


# %% [markdown]
# ### 2.2 Forward propagation
#
# $$
# Z_1 = X W_1 + b_1, \qquad A_1 = \sigma(Z_1) = \frac{1}{1 + e^{-Z_1}}, \qquad
# Z_2 = A_1 W_2 + b_2, \qquad P_{ik} = \frac{e^{Z_{2,ik}}}{\sum_j e^{Z_{2,ij}}}.
# $$
#
# Softmax does not change when the same constant is added to a whole row, so we
# subtract each row's maximum first: then $e^{z} \le 1$ and nothing overflows.
# (`1 / (1 + np.exp(-Z))` would overflow for $Z < -709$; our standardised inputs
# never get near that, and chainrule's `Sigmoid` uses a form that never
# overflows.) The forward pass also returns a **cache**: the intermediate arrays
# that the backward pass will need.

# %%
def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # a row shift changes nothing
    return E / E.sum(axis=1, keepdims=True)


def forward(X, params):
    """Return the class probabilities P and the cache backpropagation needs."""
    Z1 = X @ params["W1"] + params["b1"]  # (n, 16); b1 is added to every row
    A1 = sigmoid(Z1)  # (n, 16)
    Z2 = A1 @ params["W2"] + params["b2"]  # (n, 3)
    P = softmax(Z2)  # (n, 3)
    return P, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "P": P}


P, cache = forward(X_train, params0)
for name, value in cache.items():
    print(f"{name:>2}: {value.shape}")
print("every row of P sums to 1:", np.allclose(P.sum(axis=1), 1))
assert np.abs(cache["Z1"]).max() < 709  # nowhere near where exp(-Z) overflows
P[:3]


# %% [markdown]
# ### 2.3 The loss: cross-entropy
#
# $$L = -\frac{1}{n} \sum_{i=1}^{n} \sum_{k} T_{ik} \log P_{ik}$$
#
# For each sample only the log-probability of its true class counts. A first
# sanity check: a network that knows nothing says $P_{ik} = 1/3$, a loss of
# $\log 3 \approx 1.10$. Random initial weights already make it somewhat
# confident (and as often wrong as right), so the loss starts a little higher; a
# loss of 5 or 50 would point to a bug or a badly scaled initialisation, before
# any training.

# %%
def cross_entropy(P, T):
    n = P.shape[0]
    return -np.sum(T * np.log(P)) / n


print(f"initial loss {cross_entropy(P, T_train):.4f}; log(3) = {np.log(3):.4f}")
assert np.log(3) < cross_entropy(P, T_train) < 1.5 * np.log(3)  # "a little higher"


# %% [markdown]
# ### 2.4 The chain rule on a graph of numbers
#
# Before the matrices, the whole idea on four numbers. Any computation is a graph of
# small operations ("gates"); the forward pass evaluates it, and the backward pass
# walks it in reverse, each gate multiplying the gradient arriving from above by its
# own local derivative (the chain rule) and handing the product down. Take
#
# $$u = a \cdot b, \qquad v = u + c, \qquad L = \max(v, d)$$
#
# with $a = 3$, $b = -2$, $c = 10$, $d = 1$. Starting from $\partial L/\partial L = 1$:
#
# * **max routes**: the gradient goes entirely to the input that won, and 0 to the other;
# * **add distributes**: both inputs of a sum receive the gradient unchanged;
# * **multiply swaps**: each input of a product receives the gradient times the *other*
#   input.

# %%
a, b, c, d = 3.0, -2.0, 10.0, 1.0
# forward, one gate at a time
u = a * b
v = u + c
L_scalar = max(v, d)
# backward, in reverse; dq means dL/dq
dL = 1.0
dv, dd = (dL, 0.0) if v > d else (0.0, dL)  # max routes to the winner
du, dc = dv, dv  # add distributes
da, db = b * du, a * du  # multiply swaps
print(f"forward: u = {u}, v = {v}, L = {L_scalar}")
print(f"backward: da = {da}, db = {db}, dc = {dc}, dd = {dd}")


def L_of(a, b, c, d):
    return max(a * b + c, d)


h = 1e-6  # central differences, one input at a time
numeric = [
    (L_of(a + h, b, c, d) - L_of(a - h, b, c, d)) / (2 * h),
    (L_of(a, b + h, c, d) - L_of(a, b - h, c, d)) / (2 * h),
    (L_of(a, b, c + h, d) - L_of(a, b, c - h, d)) / (2 * h),
    (L_of(a, b, c, d + h) - L_of(a, b, c, d - h)) / (2 * h),
]
np.testing.assert_allclose([da, db, dc, dd], numeric, atol=1e-8)
print("central differences agree:", np.round(numeric, 6))

# %% [markdown]
# A network is this graph with arrays on the edges: a `Dense` layer is many multiply
# gates and add gates at once, which is why its backward step swaps ($dW = X^\top dZ$
# holds the *inputs*, $dX = dZ\, W^\top$ the *weights*) and sums (the bias adds to
# every row, so $db$ sums $dZ$ over the rows); ReLU is a max gate per entry.
#
# **Forward or reverse mode.** The chain rule can also be applied from the inputs
# forwards: *forward-mode* differentiation carries $\partial(\cdot)/\partial\theta_j$
# for **one** input $\theta_j$ through the graph alongside the values, so the gradient
# of a loss with respect to $p$ parameters takes $p$ such passes. *Reverse mode*
# (backpropagation) carries $\partial L/\partial(\cdot)$ for the **one** output $L$
# backwards, and one backward pass yields the gradient with respect to every parameter
# at once, for a cost of the same order as the forward pass (it visits each gate once
# and stores the forward values it needs). One scalar loss and many parameters: reverse
# mode wins by a factor of about $p$. Forward mode pays off in the opposite case, few
# inputs and many outputs. The cell counts $p$ for the network of this lesson.

# %%
n_parameters = sum(value.size for value in params0.values())
print(f"parameters of the 13-16-3 network: p = {n_parameters}")
print(f"forward mode: {n_parameters} passes for the gradient; reverse mode: 1 backward pass")


# %% [markdown]
# ### 2.5 Backpropagation by the chain rule: the matrix form
#
# Write $dA$ for $\partial L / \partial A$: an array of **the same shape as
# $A$**. Backprop walks the forward pass in reverse, and each step multiplies
# by the local derivative of one forward operation.
#
# **Output: softmax and cross-entropy together.** For one sample (dropping the
# index $i$), $l = -\sum_k T_k \log P_k$ and the softmax derivative is
# $\partial P_k / \partial Z_j = P_k(\delta_{kj} - P_j)$. So
#
# $$
# \frac{\partial l}{\partial Z_j}
# = \sum_k \left(-\frac{T_k}{P_k}\right) P_k (\delta_{kj} - P_j)
# = -T_j + P_j \sum_k T_k = P_j - T_j,
# $$
#
# because a one-hot row sums to 1. With the mean over the batch:
#
# $$dZ_2 = \frac{P - T}{n}.$$
#
# This is the **fused softmax-cross-entropy gradient**: the $1/P$ of the
# logarithm cancels the $P$ of the softmax derivative, the $k \times k$ softmax
# Jacobian is never formed, and nothing is divided by a probability that may be
# 0 in floating point. That is why chainrule's `CrossEntropy()` takes logits
# $Z_2$ rather than probabilities.
#
# **Second dense layer**, $Z_2 = A_1 W_2 + b_2$:
#
# $$dW_2 = A_1^\top dZ_2, \qquad db_2 = \textstyle\sum_i dZ_{2,i\cdot}, \qquad
#   dA_1 = dZ_2 W_2^\top.$$
#
# Entry by entry, $\partial L/\partial W_{2,jk} = \sum_i A_{1,ij}\, dZ_{2,ik}$: a
# weight's gradient sums, over the samples, its input times the error it fed.
# $b_2$ was added to every row, so its gradient sums over the rows. The
# transposes need no memorising: $dW_2$ must be $16 \times 3$, and
# $A_1^\top dZ_2$ is the only product of the available arrays with that shape.
#
# **Sigmoid**, $A_1 = \sigma(Z_1)$ element-wise, with
# $\sigma'(z) = \sigma(z)(1 - \sigma(z))$ read off the cached output:
#
# $$dZ_1 = dA_1 \odot A_1 \odot (1 - A_1).$$
#
# **First dense layer**, $Z_1 = X W_1 + b_1$, the same three rules:
#
# $$dW_1 = X^\top dZ_1, \qquad db_1 = \textstyle\sum_i dZ_{1,i\cdot}, \qquad
#   dX = dZ_1 W_1^\top.$$
#
# $dX$ is not needed for training, but it is what a layer hands back to the
# layer before it, and the gradient check below checks it too.

# %%
def output_gradient(P, T):
    """dL/dZ2 for softmax followed by mean cross-entropy: (P - T) / n."""
    return (P - T) / P.shape[0]


def backward(dZ2, cache, params):
    """Backpropagate dZ2 = dL/dZ2 through the network: every gradient, by name."""
    X, A1 = cache["X"], cache["A1"]
    dW2 = A1.T @ dZ2  # (16, 3)
    db2 = dZ2.sum(axis=0)  # (3,)
    dA1 = dZ2 @ params["W2"].T  # (n, 16)
    dZ1 = dA1 * A1 * (1 - A1)  # (n, 16): sigmoid'(Z1) = A1 (1 - A1)
    dW1 = X.T @ dZ1  # (13, 16)
    db1 = dZ1.sum(axis=0)  # (16,)
    dX = dZ1 @ params["W1"].T  # (n, 13)
    return {
        "dZ2": dZ2,
        "dW2": dW2,
        "db2": db2,
        "dA1": dA1,
        "dZ1": dZ1,
        "dW1": dW1,
        "db1": db1,
        "dX": dX,
    }


dZ2 = output_gradient(P, T_train)
grads = backward(dZ2, cache, params0)
arrays = {**cache, **params0}
for name, g in grads.items():
    assert g.shape == arrays[name[1:]].shape  # a gradient has its variable's shape
    print(f"{name:>3}: {g.shape!s:9}  like {name[1:]}")


# %% [markdown]
# > **Conventions: rows or columns?** chainrule, scikit-learn and PyTorch store one
# > sample per **row**: $Z = XW + b$ with $X$ of shape $n \times n_\text{in}$ and $W$ of
# > shape $n_\text{in} \times n_\text{out}$, so $dW = X^\top dZ$ and $dX = dZ\,W^\top$,
# > with the $1/n$ of the mean already inside $dZ$. Many courses (Andrew Ng's, for
# > one) store one sample per **column**: $Z = WX + b$ with $X$ of shape
# > $n_\text{in} \times m$ and $W$ of shape $n_\text{out} \times n_\text{in}$; their
# > $dZ$ is the per-sample gradient, without the $1/m$, and the mean appears in the
# > weight gradient: $dW = \frac{1}{m}\, dZ\, X^\top$ and
# > $db = \frac{1}{m}\sum_i dZ_{\cdot i}$. Same numbers, transposed: the cell below
# > computes the first layer's gradients both ways and compares them.

# %%
m = X_train.shape[0]
X_col, W1_col = X_train.T, params0["W1"].T  # columns are samples; W is (out, in)
Z1_col = W1_col @ X_col + params0["b1"][:, None]  # (16, m)
np.testing.assert_allclose(Z1_col, cache["Z1"].T)  # the same pre-activations
dZ1_col = m * grads["dZ1"].T  # the column convention's dZ: per sample, no 1/m
dW1_col = dZ1_col @ X_col.T / m  # (16, 13) = dZ X^T / m
db1_col = dZ1_col.sum(axis=1) / m
np.testing.assert_allclose(dW1_col, grads["dW1"].T, rtol=1e-12, atol=1e-15)
np.testing.assert_allclose(db1_col, grads["db1"], rtol=1e-12, atol=1e-15)
print(f"rows-as-samples dW1 {grads['dW1'].shape} = transpose of columns-as-samples "
      f"dW1 {dW1_col.shape}")  # fmt: skip


# %% [markdown]
# ### 2.6 The gradient-descent update
#
# Every parameter takes a small step against its gradient, with learning rate
# $\eta$:
#
# $$\theta \leftarrow \theta - \eta\, \frac{\partial L}{\partial \theta}
#   \qquad \text{for } \theta \in \{W_1, b_1, W_2, b_2\}.$$
#
# Why it goes downhill: to first order,
# $L(\theta - \eta g) \approx L(\theta) - \eta \lVert g \rVert^2$, which is
# below $L(\theta)$ for a small enough $\eta$. The cell checks that prediction: the
# loss goes down, and by within 25% of $\eta \lVert g \rVert^2$ (the rest is the
# second-order term the approximation leaves out).

# %%
def gradient_descent_step(params, grads, lr):
    return {name: value - lr * grads["d" + name] for name, value in params.items()}


lr = 0.5
params1 = gradient_descent_step(params0, grads, lr)
loss0 = cross_entropy(forward(X_train, params0)[0], T_train)
loss1 = cross_entropy(forward(X_train, params1)[0], T_train)
first_order = lr * sum(np.sum(grads["d" + name] ** 2) for name in params0)
print(f"one step: loss {loss0:.5f} -> {loss1:.5f}, down by {loss0 - loss1:.5f}")
print(f"first-order prediction lr * ||g||^2 = {first_order:.5f}")
assert loss1 < loss0 and abs((loss0 - loss1) / first_order - 1) < 0.25


# %% [markdown]
# ### 2.7 The training loop
#
# One **epoch** here is one pass over the training set in a single batch
# (full-batch gradient descent): forward, loss, backward, update. The test loss
# is only watched, never used for a gradient.

# %%
def accuracy(P, y):
    return np.mean(P.argmax(axis=1) == y)


def train(params, X, T, lr, epochs, X_test=None, T_test=None):
    """Full-batch gradient descent; return the trained parameters and the losses, both
    measured at the start of each epoch, at the weights *before* its update."""
    history = {"train_loss": [], "test_loss": []}
    for _ in range(epochs):
        if X_test is not None:
            P_test = forward(X_test, params)[0]
            history["test_loss"].append(cross_entropy(P_test, T_test))
        P, cache = forward(X, params)  # 1. forward
        history["train_loss"].append(cross_entropy(P, T))  # 2. loss
        dZ2 = output_gradient(P, T)  # 3. backward
        grads = backward(dZ2, cache, params)
        params = gradient_descent_step(params, grads, lr)  # 4. update
    return params, history


epochs = 300
params, history = train(params0, X_train, T_train, lr, epochs, X_test, T_test)
for epoch in (0, 10, 50, 100, 200, epochs - 1):
    print(
        f"epoch {epoch + 1:3d}, before its update:  train loss "
        f"{history['train_loss'][epoch]:.4f}"
        f"  test loss {history['test_loss'][epoch]:.4f}"
    )
P_train, P_test = forward(X_train, params)[0], forward(X_test, params)[0]
print(f"train accuracy {accuracy(P_train, y_train):.3f}")
print(f"test accuracy  {accuracy(P_test, y_test):.3f}")


# %% [markdown]
# ## 3. Is the backward pass right? A gradient check
#
# Backpropagation is easy to get *almost* right: a missing transpose is caught by the
# shapes, but a missing derivative factor or a wrong constant is not, and the network may
# still train, only worse. So check every gradient against the definition of the
# derivative. The **central difference**
#
# $$
# \frac{\partial L}{\partial \theta_j} \approx
# \frac{L(\theta + \varepsilon e_j) - L(\theta - \varepsilon e_j)}{2\varepsilon}
# $$
#
# has error $O(\varepsilon^2)$ (the even terms of the Taylor series cancel), against
# $O(\varepsilon)$ for the one-sided difference. Computed in float64 with
# $\varepsilon = 10^{-6}$, the **relative error**
#
# $$
# \frac{\lVert g_\text{backprop} - g_\text{numeric} \rVert}
#      {\lVert g_\text{backprop} \rVert + \lVert g_\text{numeric} \rVert}
# $$
#
# is at most about $10^{-8}$ when backprop is right (the rounding of the two loss
# values, divided by $2\varepsilon$; the checks below assert it) and of order $1$ when
# it is wrong. First one
# entry by hand:

# %%
def numeric_gradient(f, Z, eps=1e-6):
    """Central differences of the scalar function f at every entry of Z."""
    G = np.zeros_like(Z)
    for idx in np.ndindex(Z.shape):
        Z_plus, Z_minus = Z.copy(), Z.copy()
        Z_plus[idx] += eps
        Z_minus[idx] -= eps
        G[idx] = (f(Z_plus) - f(Z_minus)) / (2 * eps)
    return G


def relative_error(a, b):
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


# %%
def loss_of_W1(W1):
    P, _ = forward(X_train, {**params0, "W1": W1})
    return cross_entropy(P, T_train)


dW1_numeric = numeric_gradient(loss_of_W1, params0["W1"])
i, j = 2, 5
print(f"dL/dW1[{i}, {j}]: backprop {grads['dW1'][i, j]:.10f}")
print(f"          central difference {dW1_numeric[i, j]:.10f}")
print(f"relative error over all of W1: {relative_error(grads['dW1'], dW1_numeric):.1e}")
assert relative_error(grads["dW1"], dW1_numeric) < 1e-8  # "at most about 1e-8 when right"


# %% [markdown]
# `chainrule.gradient_check(net, loss, X, y)` does this for **every** entry of every
# parameter and of the input $X$. It accepts any object that follows chainrule's layer
# contract, so our raw functions only need a thin wrapper, a subclass of `cr.Layer`:
#
# * `forward(X, training)` returns the output **and a `backward` closure**;
# * `backward(dY)` **adds** $\partial L/\partial\theta$ into `self.grads[name]` for every
#   `self.params[name]`, and **returns** $\partial L/\partial X$.
#
# This is also how you check a layer of your own (section 7 does it for an activation).

# %%
class RawNetwork(cr.Layer):
    """The raw-NumPy network of section 2 behind chainrule's layer contract.

    forward returns the logits Z2 (cr.CrossEntropy applies the softmax itself and
    hands back dZ2 = (P - T) / n); backward(dZ2) runs our backward function.
    """

    def __init__(self, params, backward_fn=backward):
        super().__init__()
        self.params = {name: value.copy() for name, value in params.items()}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.backward_fn = backward_fn

    def forward(self, X, training=False):
        _, cache = forward(X, self.params)

        def backward_closure(dZ2):
            grads = self.backward_fn(dZ2, cache, self.params)
            for name in self.params:
                self.grads[name] += grads["d" + name]  # add, as the contract says
            return grads["dX"]

        return cache["Z2"], backward_closure


X_small, y_small = X_train[:20], y_train[:20]  # a few samples keep the check fast
report = cr.gradient_check(RawNetwork(params0), cr.CrossEntropy(), X_small, y_small)
print(report)
assert report.ok and report.max_rel_error < 1e-8


# %% [markdown]
# Every array agrees to within $10^{-7}$ (the cell asserts it; the report prints each
# relative error). Now a classic bug: forget the
# sigmoid's derivative, $dZ_1 = dA_1$. The network would still train (a bit),
# but the check points straight at it: $W_2$ and $b_2$ are still right, while
# $W_1$, $b_1$ and $X$, everything below the sigmoid, are wrong.

# %%
def backward_without_sigmoid_derivative(dZ2, cache, params):
    grads = backward(dZ2, cache, params)
    dZ1 = grads["dA1"]  # BUG: should be dA1 * A1 * (1 - A1)
    grads["dW1"] = cache["X"].T @ dZ1
    grads["db1"] = dZ1.sum(axis=0)
    grads["dX"] = dZ1 @ params["W1"].T
    return grads


buggy = RawNetwork(params0, backward_fn=backward_without_sigmoid_derivative)
buggy_report = cr.gradient_check(buggy, cr.CrossEntropy(), X_small, y_small)
assert not buggy_report.ok
right, wrong = ["W2", "b2"], ["W1", "b1", "X"]  # as the text says
assert all(buggy_report[a].rel_error < 1e-7 for a in right)
assert all(buggy_report[a].rel_error > 0.1 for a in wrong)  # "about 1 when wrong"
buggy_report

# %% [markdown]
# ## 4. The same network in chainrule
#
# chainrule's building blocks are the steps above, one class each: `cr.Dense`
# computes $XW + b$ with `W` of shape $(n_\text{in}, n_\text{out})$, `cr.Sigmoid`
# is $\sigma$ with backward $dA \odot A \odot (1 - A)$, and `cr.CrossEntropy()`
# fuses the softmax into the loss and returns $dZ_2 = (P - T)/n$. Each layer's
# `forward` returns its output and its own backward closure; `Sequential` chains
# them, and its backward runs the closures in reverse: the chain rule as a loop.
#
# We copy the raw initial weights into the layers, then compare the forward
# values, the loss and every gradient.

# %%
rng = np.random.default_rng(SEED)
net = cr.Sequential(
    cr.Dense(n_features, n_hidden, rng=rng),
    cr.Sigmoid(),
    cr.Dense(n_hidden, n_classes, rng=rng),  # logits; the loss applies softmax
)
dense1, dense2 = net.layers[0], net.layers[2]
dense1.params["W"][...] = params0["W1"]  # in place: [...] keeps the same array
dense1.params["b"][...] = params0["b1"]
dense2.params["W"][...] = params0["W2"]
dense2.params["b"][...] = params0["b2"]
print(net.summary())

# %%
ce_loss = cr.CrossEntropy()
Z2_cr, backward_cr = net.forward(X_train, training=True)
loss_cr, dZ2_cr = ce_loss(Z2_cr, y_train)  # class indices work as targets too
net.zero_grad()  # gradients accumulate, so reset them first
dX_cr = backward_cr(dZ2_cr)

P0, cache0 = forward(X_train, params0)
grads0 = backward(output_gradient(P0, T_train), cache0, params0)

same = dict(rtol=1e-10, atol=1e-13)
np.testing.assert_allclose(Z2_cr, cache0["Z2"], **same)
np.testing.assert_allclose(loss_cr, cross_entropy(P0, T_train), **same)
np.testing.assert_allclose(dZ2_cr, grads0["dZ2"], **same)
np.testing.assert_allclose(dense2.grads["W"], grads0["dW2"], **same)
np.testing.assert_allclose(dense2.grads["b"], grads0["db2"], **same)
np.testing.assert_allclose(dense1.grads["W"], grads0["dW1"], **same)
np.testing.assert_allclose(dense1.grads["b"], grads0["db1"], **same)
np.testing.assert_allclose(dX_cr, grads0["dX"], **same)
print(f"loss {loss_cr:.10f}: logits, loss, dZ2, dW2, db2, dW1, db1 and dX all agree")

# %% [markdown]
# Training is the same four steps. chainrule's `fit` runs them (here with plain
# gradient descent, `cr.SGD(0.5)`, on the whole training set at once:
# `batch_size=None`), and it must land on the weights our raw loop found in
# section 2.7, up to rounding.
#
# Read the two loss tables with one difference in mind. Both record as an epoch's
# training loss the loss of its forward pass, *before* its update, so those columns
# agree row for row. But `fit` measures `val_loss` at the end of the epoch, *after*
# the update, while our raw loop measured the test loss at its start: `fit`'s
# `val_loss` of epoch $e$ is the raw loop's test loss of epoch $e + 1$ (the cell asserts
# it), and its last row is a step further on than anything our table shows.

# %%
fit_history = cr.fit(
    net,
    ce_loss,
    X_train,
    y_train,
    optimizer=cr.SGD(lr),
    epochs=epochs,
    batch_size=None,
    validation_data=(X_test, y_test),
    metrics=["accuracy"],
    rng=SEED,
)
np.testing.assert_allclose(dense1.params["W"], params["W1"], rtol=1e-8, atol=1e-10)
np.testing.assert_allclose(dense2.params["W"], params["W2"], rtol=1e-8, atol=1e-10)
np.testing.assert_allclose(fit_history["loss"], history["train_loss"], rtol=1e-8)
np.testing.assert_allclose(fit_history["val_loss"][:-1], history["test_loss"][1:], rtol=1e-8)
print(fit_history)
fit_frame = fit_history.to_frame()  # one row per epoch, one column per logged value
fit_frame[["loss", "val_loss", "accuracy", "val_accuracy"]].iloc[[0, 9, 99, -1]]

# %% [markdown]
# ### `MLPClassifier`: a drop-in for scikit-learn's
#
# `cr.MLPClassifier` takes scikit-learn's constructor parameters, trains the
# same way (initialisation, minibatch order, Adam, stopping rule), and exposes
# the same fitted attributes, plus the chainrule network inside (`network_`)
# and its `history_`. So with the same settings and seed the two libraries
# produce the same loss curve, epoch for epoch, and the same probabilities,
# even though every gradient in chainrule comes from the hand-written backward
# passes of this notebook. The settings are the network above: 16 logistic
# (sigmoid) hidden units and a softmax output, now trained by Adam on
# minibatches.

# %%
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

settings = dict(
    hidden_layer_sizes=(n_hidden,),
    activation="logistic",
    solver="adam",
    learning_rate_init=0.01,
    max_iter=500,
    random_state=SEED,
)
ours = cr.MLPClassifier(**settings).fit(X_train, y_train)
theirs = SklearnMLPClassifier(**settings).fit(X_train, y_train)

np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
P_ours, P_theirs = ours.predict_proba(X_test), theirs.predict_proba(X_test)
np.testing.assert_allclose(P_ours, P_theirs, atol=1e-9)
assert ours.coefs_[0] is ours.network_.layers[0].params["W"]  # the very same array
print("network_:", " -> ".join(type(layer).__name__ for layer in ours.network_.layers))
pd.DataFrame(
    {
        model: [est.n_iter_, est.loss_, est.score(X_test, y_test), est.out_activation_]
        for model, est in (("chainrule", ours), ("scikit-learn", theirs))
    },
    index=["epochs (n_iter_)", "loss_", "test accuracy", "out_activation_"],
)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(theirs.loss_curve_, linewidth=4, alpha=0.4, label="scikit-learn MLPClassifier")
ax.plot(ours.loss_curve_, "k--", linewidth=1.2, label="chainrule MLPClassifier")
ax.set(xlabel="epoch", ylabel="loss_curve_ (cross-entropy + L2)", yscale="log")
ax.set_title("The same training, two implementations")
ax.legend()
plt.show()

# %% [markdown]
# ## 5. Plots
#
# ### 5.1 Loss curves
#
# The training loss falls smoothly: full-batch gradient descent with a small
# enough step decreases it at every epoch. The test loss follows it closely: on
# this easy dataset the network does not over-fit within 300 epochs (a test
# loss that turned upwards would mean over-fitting; the regression lesson shows
# one). The accuracy is logged by `cr.fit` with `metrics=["accuracy"]`; the cell
# under the plot reads the numbers off both curves.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
epoch_axis = np.arange(1, epochs + 1)
axes[0].plot(epoch_axis, history["train_loss"], label="train")
axes[0].plot(epoch_axis, history["test_loss"], label="test")
axes[0].set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="Loss")
axes[0].legend()
frame = fit_history.to_frame()
axes[1].plot(frame.index, frame["accuracy"], label="train")
axes[1].plot(frame.index, frame["val_accuracy"], label="test")
axes[1].set(xlabel="epoch", ylabel="accuracy", title="Accuracy (from cr.fit)")
axes[1].legend()
fig.tight_layout()
plt.show()

# %%
train_loss, test_loss = np.array(history["train_loss"]), np.array(history["test_loss"])
best_test = int(np.argmin(test_loss))
first_perfect = int(np.argmax(frame["accuracy"].to_numpy() == 1.0))  # 0-based epoch
assert (np.diff(train_loss) < 0).all()  # falls at every epoch
assert frame["accuracy"].iloc[first_perfect] == 1.0
assert test_loss[-1] <= 1.1 * test_loss[best_test]  # no upturn worth the name
Markdown(
    f"The training loss falls at every one of the {epochs} epochs. The test loss is "
    f"lowest at epoch {best_test + 1} ({test_loss[best_test]:.4f}) and ends at "
    f"{test_loss[-1]:.4f}. The training accuracy first reaches 1 at epoch "
    f"{first_perfect + 1}; the test accuracy ends at {frame['val_accuracy'].iloc[-1]:.3f}."
)

# %% [markdown]
# ### 5.2 Confusion matrix
#
# Rows are the true cultivars, columns the predicted ones; off-diagonal entries
# are the mistakes on the test set.

# %%
y_pred = P_test.argmax(axis=1)
confusion = np.zeros((n_classes, n_classes), dtype=int)
np.add.at(confusion, (y_test, y_pred), 1)  # count each (true, predicted) pair

fig, ax = plt.subplots(figsize=(4.2, 3.8))
ax.imshow(confusion, cmap="Blues")
for (true_class, predicted), count in np.ndenumerate(confusion):
    color = "white" if count > confusion.max() / 2 else "black"
    ax.text(predicted, true_class, count, ha="center", va="center", color=color)
ticks = np.arange(n_classes)
ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true")
ax.set_xticklabels(wine.target_names)
ax.set_yticklabels(wine.target_names)
ax.set_title(f"Test set: accuracy {accuracy(P_test, y_test):.3f}")
plt.show()

# %% [markdown]
# ### 5.3 Decision regions in two dimensions
#
# The network lives in 13 dimensions, which we cannot draw. So project the
# standardised data onto its first two principal components (the directions of
# largest variance, from the SVD of the centred training matrix), train the
# same raw network, with the same functions, on those two coordinates, and
# colour the plane by the predicted class. The hidden sigmoid units let the
# boundaries bend.

# %%
_, _, Vt = np.linalg.svd(X_train, full_matrices=False)  # X_train is centred
components = Vt[:2].T  # (13, 2)
X2_train, X2_test = X_train @ components, X_test @ components

params2d = init_params(2, n_hidden, n_classes, np.random.default_rng(SEED))
params2d, _ = train(params2d, X2_train, T_train, lr=0.5, epochs=500)
acc2d = accuracy(forward(X2_test, params2d)[0], y_test)

grid_x, grid_y = np.meshgrid(np.linspace(-5, 5, 300), np.linspace(-4, 4, 240))
grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
regions = forward(grid, params2d)[0].argmax(axis=1).reshape(grid_x.shape)

colors = [plt.cm.Set1(k) for k in range(n_classes)]
fig, ax = plt.subplots(figsize=(6.5, 4.8))
levels = np.arange(n_classes + 1) - 0.5  # one band per class
ax.contourf(grid_x, grid_y, regions, levels=levels, colors=colors, alpha=0.25)
for k, name in enumerate(wine.target_names):
    marker = dict(color=colors[k], edgecolor="black", linewidth=0.5)
    ax.scatter(*X2_train[y_train == k].T, s=22, label=f"{name} (train)", **marker)
    ax.scatter(*X2_test[y_test == k].T, s=60, marker="*", **marker)
ax.set(xlabel="first principal component", ylabel="second principal component")
ax.set_title(f"Decision regions on two components (stars: test, accuracy {acc2d:.3f})")
ax.legend(loc="lower left", fontsize=8)
plt.show()


# %% [markdown]
# ### 5.4 Vanishing gradients: a deep sigmoid network vs a ReLU network
#
# In a deep network the backward signal is multiplied, layer after layer, by
# $W^\top$ and by the activation's derivative. The sigmoid's derivative
# $\sigma(z)(1 - \sigma(z))$ is **at most $1/4$**. That bounds one of the two
# factors, not the product: $W^\top$ can make the signal larger, so the bound alone
# does not say by how much a sigmoid layer shrinks the gradient. Measure it.
# ReLU's derivative is exactly 1 wherever the unit is active, and He initialisation
# is scaled to keep the signal's size from layer to layer.
#
# Below, two networks of 8 hidden layers of 32 units, at initialisation; for
# each `Dense` layer we read the gradient `layer.grads["W"]` after one backward
# pass over the training set and take its norm $\lVert dW \rVert$.

# %%
def deep_network(activation, init, depth=8, width=32):
    rng = np.random.default_rng(SEED)
    layers, n_in = [], n_features
    for _ in range(depth):
        layers += [cr.Dense(n_in, width, init=init, rng=rng), activation()]
        n_in = width
    layers.append(cr.Dense(n_in, n_classes, init="glorot", rng=rng))
    return cr.Sequential(*layers)


def weight_gradient_norms(deep_net, X, y):
    """||dL/dW|| of every Dense layer after one forward and backward pass."""
    Z, backward_fn = deep_net.forward(X, training=True)
    _, dZ = cr.CrossEntropy()(Z, y)
    deep_net.zero_grad()
    backward_fn(dZ)
    dense_layers = [layer for layer in deep_net.layers if "W" in layer.params]
    return np.array([np.linalg.norm(layer.grads["W"]) for layer in dense_layers])


sigmoid_net = deep_network(cr.Sigmoid, "glorot")
relu_net = deep_network(cr.ReLU, "he")
norms_sigmoid = weight_gradient_norms(sigmoid_net, X_train, y_train)
norms_relu = weight_gradient_norms(relu_net, X_train, y_train)
pd.DataFrame(
    {"sigmoid": norms_sigmoid, "ReLU": norms_relu},
    index=pd.RangeIndex(1, len(norms_relu) + 1, name="Dense layer"),
).T

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.8))
layer_axis = np.arange(1, len(norms_relu) + 1)
ax.semilogy(layer_axis, norms_sigmoid, "o-", label="sigmoid, Glorot init")
ax.semilogy(layer_axis, norms_relu, "s-", label="ReLU, He init")
ax.set(xlabel="Dense layer (1 = next to the input)", ylabel=r"$\|dW\|$ (log scale)")
ax.set_title("Gradient norm per layer at initialisation")
ax.legend()
plt.show()
ratio = norms_sigmoid[-1] / norms_sigmoid[0]
shrink_sigmoid = norms_sigmoid[1:] / norms_sigmoid[:-1]  # layer l+1 over layer l
shrink_relu = norms_relu[1:] / norms_relu[:-1]
relu_ratio = norms_relu[-1] / norms_relu[0]
below_4 = int(np.sum(shrink_sigmoid < 4))  # each ratio crosses one sigmoid layer
assert (shrink_sigmoid > 1).all() and 0 < below_4 < len(shrink_sigmoid)
assert np.isclose(np.prod(shrink_sigmoid), ratio)  # the factors compound to the ratio
assert 1 < relu_ratio < ratio / 100
pd.DataFrame(
    {"sigmoid": shrink_sigmoid, "ReLU": shrink_relu},
    index=[f"{l + 1} -> {l}" for l in range(1, len(norms_relu))],
).T.rename_axis(columns="norm ratio, Dense layer")

# %%
Markdown(
    f"Measured here: going one sigmoid layer back towards the input, the gradient "
    f"norm shrinks by a factor between {shrink_sigmoid.min():.1f} and "
    f"{shrink_sigmoid.max():.1f} ({below_4} of the {len(shrink_sigmoid)} factors in the "
    "table are below 4: a bound on the derivative is not a bound on the shrinkage), "
    f"and it compounds: the {len(shrink_sigmoid)} factors multiply to **{ratio:,.0f}**, "
    "the first layer's gradient is that many times smaller "
    f"than the last layer's. With ReLU and He initialisation it is {relu_ratio:.1f} times "
    f"smaller: not equal, but {ratio / relu_ratio:,.0f} times less shrinkage, so "
    "the first layers of the ReLU network still get a gradient they can learn from."
)

# %% [markdown]
# ## 6. Classification vs regression: one backward pass, two outputs
#
# Everything below the output layer is the same in both lessons: dense layers,
# a hidden activation, and the same three lines of backprop per layer. What
# changes is the output activation and the loss, and these are chosen **in
# pairs** so that the gradient at the output is simply *prediction minus
# target*:
#
# |  | classification | regression |
# | --- | --- | --- |
# | target $T$ | one class per sample: one-hot rows (or class indices) | real numbers, $n \times k$ |
# | output activation | softmax: $P = \operatorname{softmax}(Z_2)$ | identity: $\hat Y = Z_2$ |
# | loss | cross-entropy $L = -\frac{1}{n}\sum_{i,j} T_{ij}\log P_{ij}$ | MSE $L = \frac{1}{N}\sum_{i,j}(\hat Y_{ij} - T_{ij})^2$, $N = nk$ |
# | output gradient $\partial L/\partial Z_2$ | $(P - T)/n$ | $2(\hat Y - T)/N$ |
# | a prediction is | a probability per class; the label is the argmax | an estimate of the mean target given the inputs |
# | chainrule | `Dense(h, k)` + `CrossEntropy()` (softmax fused in) | `Dense(h, k)` + `MeanSquaredError()` |
# | scikit-learn | `MLPClassifier` (`out_activation_ == "softmax"`) | `MLPRegressor` (`out_activation_ == "identity"`) |
#
# The constants, precisely, in chainrule's conventions (which are PyTorch's):
# `CrossEntropy` averages over the $n$ samples, so $\partial L/\partial Z_2 =
# (P - T)/n$; `MeanSquaredError` is $\operatorname{mean}((\hat Y - T)^2)$ over
# all $N = nk$ entries, so $\partial L/\partial Z_2 = 2(\hat Y - T)/N$. With the
# "half MSE" convention $\frac{1}{2N}\sum(\hat Y - T)^2$ (scikit-learn reports
# its regression `loss_` this way) the 2 cancels and the gradient is
# $(\hat Y - T)/N$. Either way: prediction minus target, times a constant.
#
# It is not a coincidence. Cross-entropy is the negative log-likelihood of a
# categorical distribution whose parameters come from a softmax, and MSE is (up
# to constants) the negative log-likelihood of a Gaussian whose mean is the
# linear output. Each output activation is the *inverse* of its distribution's
# canonical link (it maps $Z_2$ to the mean; the canonical link maps the mean back
# to the natural parameter), and for those pairs the derivative of the negative
# log-likelihood with respect to $Z_2$ is always mean minus observation. Mix
# the pairs (softmax + MSE, or a sigmoid output + MSE) and an extra factor
# such as $\sigma'(Z_2)$ appears, which goes to zero whenever the output
# saturates, including when the network is confidently wrong, just when the
# gradient is needed most (computed at the end of the cell below).
#
# The same fact, checked numerically on random numbers:

# %%
rng_demo = np.random.default_rng(SEED)
n_demo, k_demo = 6, 3
Z_demo = rng_demo.normal(size=(n_demo, k_demo))  # raw outputs Z2 of some network
T_class = np.eye(k_demo)[rng_demo.integers(0, k_demo, size=n_demo)]  # one-hot
T_real = rng_demo.normal(size=(n_demo, k_demo))  # real-valued targets

ce_demo, mse_demo = cr.CrossEntropy(), cr.MeanSquaredError()  # new names: the
dZ_ce = numeric_gradient(lambda Z: ce_demo(Z, T_class)[0], Z_demo)  # lesson's
dZ_mse = numeric_gradient(lambda Z: mse_demo(Z, T_real)[0], Z_demo)  # stay

E = np.exp(Z_demo - Z_demo.max(axis=1, keepdims=True))
P_demo = E / E.sum(axis=1, keepdims=True)  # softmax
N_demo = Z_demo.size
print("classification, n * dL/dZ2 by central differences:")
print(n_demo * dZ_ce)
print("P - T:")
print(P_demo - T_class)
print("regression, N/2 * dL/dZ2 by central differences:")
print(N_demo / 2 * dZ_mse)
print("Y_hat - T:")
print(Z_demo - T_real)
np.testing.assert_allclose(dZ_ce, (P_demo - T_class) / n_demo, atol=1e-9)
np.testing.assert_allclose(dZ_mse, 2 * (Z_demo - T_real) / N_demo, atol=1e-9)

# Confidently wrong: target 1, output logit -8 (sigmoid output 0.0003).
z_wrong, t_wrong = np.array([[-8.0]]), np.array([[1.0]])
p_wrong = 1 / (1 + np.exp(-z_wrong))
grad_bce = cr.BinaryCrossEntropy()(z_wrong, t_wrong)[1]  # sigmoid fused: p - t
grad_sigmoid_mse = 2 * (p_wrong - t_wrong) * p_wrong * (1 - p_wrong)  # chain rule
print(f"sigmoid + BCE: dL/dz = {grad_bce.item():.4f}")
print(f"sigmoid + MSE: dL/dz = {grad_sigmoid_mse.item():.6f}")
assert abs(grad_sigmoid_mse.item()) < abs(grad_bce.item()) / 1000

# %% [markdown]
# ## 7. Exercises (with checked answers)
#
# Each exercise is a function to write. In this notebook each one holds a
# correct solution so that the notebook runs clean; **replace the line marked
# `# YOUR CODE`** with your own attempt (or with `raise NotImplementedError`
# first, to start from nothing), run the cell, then run the check below it. The
# checks compare your gradient with central differences, so they cannot be
# fooled by a formula that merely has the right shape.
#
# The functions take the names and arguments of the drills notebook
# (`backprop_drills.ipynb`) and of `cr.check_backward`: an activation's backward is
# `(X, dY) -> dX`, where `X` is the layer's input (the $Z$ of the text) and
# `dY = dL/dY` for its output `Y`; a loss's is `(Z or Y, T, n, ...) -> dY`; a dense
# layer's is `(X, W, dY) -> (dX, dW, db)`. So each answer here is also judged by
# `cr.check_backward`, which names the slip when there is one.

# %%
rng_ex = np.random.default_rng(SEED)
Z_ex = rng_ex.normal(size=(5, 4))  # pre-activations or logits: 5 samples, 4 units
G_ex = rng_ex.normal(size=(5, 4))  # a fixed upstream gradient
T_ex = np.eye(4)[rng_ex.integers(0, 4, size=5)]  # one-hot targets, 4 classes
X_ex, W_ex, b_ex = rng_ex.normal(size=(5, 3)), rng_ex.normal(size=(3, 4)), np.zeros(4)


def verdict(name, analytic, numeric, tol=1e-6):
    """Print and return whether an analytic gradient matches central differences."""
    error = relative_error(analytic, numeric)
    passed = bool(error < tol)
    print(f"{name}: relative error {error:.1e} -> {'correct' if passed else 'WRONG'}")
    return passed


def check_sigmoid_backward(fn):
    # L = sum(G * sigmoid(X)) has dL/dY = G, so dL/dX must be fn(X, dY=G)
    numeric = numeric_gradient(lambda X: np.sum(G_ex * sigmoid(X)), Z_ex)
    return verdict("sigmoid_backward", fn(X=Z_ex, dY=G_ex), numeric)


def check_softmax_cross_entropy_backward(fn):
    numeric = numeric_gradient(lambda Z: cross_entropy(softmax(Z), T_ex), Z_ex)
    return verdict("softmax_cross_entropy_backward", fn(Z=Z_ex, T=T_ex, n=len(Z_ex)), numeric)


def check_dense_backward(fn):
    # L = sum(G * (X @ W + b)) has dL/dY = G
    dX, dW, db = fn(X=X_ex, W=W_ex, dY=G_ex)
    dX_num = numeric_gradient(lambda X: np.sum(G_ex * (X @ W_ex + b_ex)), X_ex)
    dW_num = numeric_gradient(lambda W: np.sum(G_ex * (X_ex @ W + b_ex)), W_ex)
    db_num = numeric_gradient(lambda b: np.sum(G_ex * (X_ex @ W_ex + b)), b_ex)
    results = [
        verdict("dense_backward: dX", dX, dX_num),
        verdict("dense_backward: dW", dW, dW_num),
        verdict("dense_backward: db", db, db_num),
    ]
    return all(results)


# %% [markdown]
# ### Exercise 1: the sigmoid's backward step
#
# Given the layer's input $X$ (the pre-activation) and $dY = \partial L/\partial Y$
# for its output $Y = \sigma(X)$, return $dX = \partial L/\partial X$.

# %%
def sigmoid_backward(X, dY):
    Y = sigmoid(X)  # YOUR CODE: try replacing these two lines
    return dY * Y * (1 - Y)


passed_1 = check_sigmoid_backward(sigmoid_backward)


# %% [markdown]
# The same function inside a network: a custom activation layer whose backward
# calls your `sigmoid_backward`, checked by `cr.gradient_check` between two
# `Dense` layers. This is all it takes to check a layer of your own.

# %%
class StudentSigmoid(cr.Layer):
    def forward(self, X, training=False):
        return sigmoid(X), lambda dY: sigmoid_backward(X, dY)


def small_network(activation_layer):
    # Dense -> activation_layer -> Dense, with the same seeded weights every time
    rng = np.random.default_rng(SEED)
    first, last = cr.Dense(n_features, 8, rng=rng), cr.Dense(8, n_classes, rng=rng)
    return cr.Sequential(first, activation_layer, last)


student_net = small_network(StudentSigmoid())
print(cr.gradient_check(student_net, cr.CrossEntropy(), X_small, y_small))


# %% [markdown]
# ### Exercise 2: the fused softmax-cross-entropy gradient
#
# Given logits $Z$ ($n \times k$), one-hot targets $T$ and the batch size $n$, return
# $\partial L / \partial Z$ for
# $L = -\frac{1}{n}\sum_{i,k} T_{ik} \log \operatorname{softmax}(Z)_{ik}$.

# %%
def softmax_cross_entropy_backward(Z, T, n):
    return (softmax(Z) - T) / n  # YOUR CODE: try replacing this line


passed_2 = check_softmax_cross_entropy_backward(softmax_cross_entropy_backward)


# %% [markdown]
# ### Exercise 3: a dense layer's backward step
#
# Given the input $X$, the weights $W$ and $dY = \partial L/\partial Y$ for
# $Y = XW + b$, return $dX$, $dW$ and $db$.

# %%
def dense_backward(X, W, dY):
    dX = dY @ W.T  # YOUR CODE: try replacing these three lines
    dW = X.T @ dY
    db = dY.sum(axis=0)
    return dX, dW, db


passed_3 = check_dense_backward(dense_backward)
print("\nall three exercises correct:", passed_1 and passed_2 and passed_3)


# %% [markdown]
# The same three functions, unchanged, through `cr.check_backward` (as in the drills):

# %%
dense_ex = cr.Dense(3, 4, rng=0)
dense_ex.params["W"][...] = W_ex


def library_checks(sigmoid_fn, softmax_ce_fn, dense_fn):
    """cr.check_backward's reports on the three exercise functions."""
    return [
        cr.check_backward(sigmoid_fn, cr.Sigmoid(), Z_ex, dY=G_ex),
        cr.check_backward(softmax_ce_fn, cr.CrossEntropy(), Z_ex, T_ex.argmax(axis=1)),
        cr.check_backward(dense_fn, dense_ex, X_ex, dY=G_ex),
    ]


library_reports = library_checks(sigmoid_backward, softmax_cross_entropy_backward, dense_backward)
for library_report in library_reports:
    print(library_report.what, "->", "right" if library_report.ok else "WRONG")
assert all(library_report.ok for library_report in library_reports) == (
    passed_1 and passed_2 and passed_3
)


# %% [markdown]
# ### Do the checks catch mistakes?
#
# A check that never fails proves nothing. Here are typical wrong answers, fed
# to the same checks; every one of them is caught.

# %%
def sigmoid_backward_wrong(X, dY):
    Y = sigmoid(X)
    return dY * Y  # forgot the (1 - Y)


def softmax_cross_entropy_backward_wrong(Z, T, n):
    return softmax(Z) - T  # forgot the mean's 1/n


def dense_backward_wrong(X, W, dY):
    n = X.shape[0]
    return dY @ W.T, X.T @ dY / n, dY.sum(axis=0) / n  # divides by n a second time


caught = [
    not check_sigmoid_backward(sigmoid_backward_wrong),
    not check_softmax_cross_entropy_backward(softmax_cross_entropy_backward_wrong),
    not check_dense_backward(dense_backward_wrong),
]
assert all(caught), "a wrong gradient went unnoticed"
print(f"caught {sum(caught)} of {len(caught)} wrong answers")
wrong_reports = library_checks(
    sigmoid_backward_wrong, softmax_cross_entropy_backward_wrong, dense_backward_wrong
)
assert not any(wrong_report.ok for wrong_report in wrong_reports)  # cr.check_backward too
print(wrong_reports[1])


# %% [markdown]
# And inside a network, `cr.gradient_check` points at the layer below the
# wrong activation: the last `Dense` layer is still right, everything before
# the mistake is not.

# %%
class WrongSigmoid(cr.Layer):
    def forward(self, X, training=False):
        return sigmoid(X), lambda dY: sigmoid_backward_wrong(X, dY)


wrong_net = small_network(WrongSigmoid())
wrong_report = cr.gradient_check(wrong_net, cr.CrossEntropy(), X_small, y_small)
assert not wrong_report.ok
assert all(wrong_report[f"layers[2].{p}"].rel_error < 1e-7 for p in "Wb")  # still right
assert all(wrong_report[a].rel_error > 1e-3 for a in ("layers[0].W", "layers[0].b", "X"))
print(wrong_report)

# %% [markdown]
# ## Where next
#
# * `backpropagation_regression.ipynb`: the same lesson for regression, with a
#   linear output and mean squared error.
# * `training_dynamics.ipynb`: the experiments every course runs on these networks
#   (initialisation, learning rate, batch size, vanishing and exploding gradients,
#   dead ReLUs, regularisation), each measured and plotted.
# * `chainrule explain` prints one training step equation by equation, with the
#   numbers, from X and the initial W and b to the update (one entry of each dW
#   written out as its sum); `chainrule gradcheck` checks a network of your choice.
# * The docstrings carry each derivation next to its code:
#   `help(cr.Dense)`, `help(cr.CrossEntropy)`, `help(cr.Sigmoid)`.
