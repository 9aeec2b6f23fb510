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
# # Backpropagation, step by step: a regression network in raw NumPy
#
# This lesson trains a small neural network to predict a number: how far a
# patient's diabetes has progressed one year after 10 baseline measurements. It
# writes every piece by hand first: the forward pass, the loss, **backpropagation
# by the chain rule**, and gradient descent. Then it checks the gradients
# numerically, shows that [chainrule](../README.md) computes exactly the same
# numbers, and compares with scikit-learn.
#
# 1. The data: loading, a first look, standardisation, a train/test split; then a real,
#    messy table (Palmer penguins): missing values, one-hot encoding, leakage
# 2. The network in raw NumPy: initialisation, forward pass, loss,
#    backpropagation, update, training loop
# 3. A gradient check of the raw implementation
# 4. The same network in chainrule, and `MLPRegressor` vs scikit-learn
# 5. Plots: loss curves, predicted vs actual, residuals, vanishing gradients
# 6. Classification vs regression: why both output gradients are
#    *prediction - target*
# 7. Exercises with checked answers
#
# The companion lesson, `backpropagation_classification.ipynb`, does the same for
# classification (softmax output and cross-entropy).
#
# **Run it yourself.** From the repository root: `pip install -e ".[notebooks]"` (plus
# `pip install jupyterlab`, unless you use VS Code), open this file and run all cells; the
# whole notebook takes seconds.
#
# **Edit it (teachers).** This lesson is a pair of files:
# `backpropagation_regression.ipynb` and its readable source
# `backpropagation_regression.py` (jupytext percent format: `# %%` starts a code cell,
# `# %% [markdown]` a text cell). Edit either one, then run `jupytext --sync
# notebooks/backpropagation_regression.py` to carry the edit to the other, and `python
# notebooks/execute.py backpropagation_regression` to re-run it on a fresh kernel and
# save the outputs. Commit both files: `tests/test_notebooks.py` fails on a pair out of
# sync, a notebook saved without outputs, and (through the assertions in the cells) a
# claim in the text that stops being true.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import chainrule as cr

SEED = 0  # every random choice in this notebook derives from this seed
np.set_printoptions(precision=4, suppress=True)
pd.set_option("display.precision", 3)

# %% [markdown]
# ## 1. The data
#
# The diabetes dataset ships with scikit-learn (nothing is downloaded): 442
# patients, each with age, sex, body-mass index (`bmi`), mean blood pressure
# (`bp`) and six blood-serum measurements (`s1` to `s6`); the target is a
# measure of disease progression one year later. `scaled=False` gives the
# measurements in their original units, so that we do the scaling ourselves.

# %%
diabetes = load_diabetes(as_frame=True, scaled=False)
df = diabetes.frame  # 10 feature columns and the float column "target"
print(df.shape)
assert df.shape == (442, 11)  # 442 patients, 10 measurements and the target
df.head()

# %%
df.describe().T[["mean", "std", "min", "max"]]

# %% [markdown]
# The target: its distribution (from 25 to 346, skewed to the right), and how
# strongly each feature correlates with it. Body-mass index and `s5` (a log of
# serum triglycerides) carry the most linear signal; `sex` is coded 1 and 2.

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(df["target"], bins=30, color="tab:blue", edgecolor="white")
ax.set(xlabel="disease progression after one year", ylabel="patients")
ax.set_title(f"Target: mean {df['target'].mean():.0f}, std {df['target'].std():.0f}")
plt.show()
correlations = df.corr()["target"].drop("target")
assert (df["target"].min(), df["target"].max()) == (25, 346) and df["target"].skew() > 0
assert set(correlations.abs().nlargest(2).index) == {"bmi", "s5"}
assert set(df["sex"].unique()) == {1, 2}
correlations.sort_values().to_frame("correlation with target").T

# %% [markdown]
# ### Split, then standardise (the target too)
#
# The features live on different scales (`s1` in the hundreds, `s5` around 5).
# A weight update $\Delta W_1 = -\eta\, X^\top dZ_1$ is proportional to the
# inputs, so each column is standardised,
#
# $$x'_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j},$$
#
# with the mean and standard deviation of the **training set only**: the test set
# plays the role of future data. In regression the **target** is worth
# standardising as well: the MSE gradient is proportional to the error, and with
# errors in the hundreds the first updates are so large that they push the tanh
# units into saturation, where their derivative is near 0 and they stop learning
# (section 2.6 runs it and counts them). The network learns
# $t' = (t - \mu_t)/\sigma_t$, and a prediction is mapped back with
# $\hat y = \hat y' \sigma_t + \mu_t$.

# %%
feature_names = diabetes.feature_names
X_all = df[feature_names].to_numpy(dtype=np.float64)
y_all = df["target"].to_numpy(dtype=np.float64)
X_train_raw, X_test_raw, y_train, y_test = train_test_split(
    X_all, y_all, test_size=0.25, random_state=SEED
)

mu = X_train_raw.mean(axis=0)
sigma = X_train_raw.std(axis=0)
X_train = (X_train_raw - mu) / sigma
X_test = (X_test_raw - mu) / sigma  # the training mu and sigma, on purpose

t_mean, t_std = y_train.mean(), y_train.std()
T_train = ((y_train - t_mean) / t_std).reshape(-1, 1)  # (n, 1): one output column
T_test = ((y_test - t_mean) / t_std).reshape(-1, 1)


def to_original_units(Y_hat):
    return Y_hat.ravel() * t_std + t_mean


print("X_train", X_train.shape, "  T_train", T_train.shape)
print("X_test ", X_test.shape, "  T_test ", T_test.shape)
print("largest |column mean| after scaling:", np.abs(X_train.mean(axis=0)).max())
print(f"target: mean {t_mean:.1f}, std {t_std:.1f} (training set)")
assert 100 < df["s1"].mean() < 1000 and 3 < df["s5"].mean() < 7  # the scales quoted

# %% [markdown]
# scikit-learn's `StandardScaler` does exactly this (population standard
# deviation, fitted on the training data):

# %%
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler().fit(X_train_raw)
np.testing.assert_allclose(scaler.transform(X_test_raw), X_test)
print("StandardScaler agrees")


# %% [markdown]
# ### 1.1 A real table is messy: penguin body mass
#
# The diabetes table came clean (numbers only, nothing missing). The Palmer penguins
# table (the `palmerpenguins` package ships it as a CSV, CC0; nothing is downloaded)
# is what real data looks like: text columns and gaps. Here the target is a number,
# a penguin's **body mass in grams**, predicted from its bill and flipper measurements,
# species, island and sex. The classification lesson explains each step at length;
# here they are in order, each with its reason.
#
# **1. Look:** `info()` gives types and the count of present values per column.

# %%
from palmerpenguins import load_penguins

penguins = load_penguins()
assert len(penguins) == 344
penguins.info()

# %% [markdown]
# **2. Missing values:** the two rows without any measurement are dropped (no target,
# no features). The rows missing only `sex` keep their measurements; their sex stays
# unknown (0 in both one-hot columns) rather than invented. `year` (when the bird was
# measured) is dropped. **3. One-hot encoding** turns `species`, `island` and `sex`
# into 0/1 columns, since numbering them would invent an order.

# %%
numeric_inputs = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
table = penguins.dropna(subset=["body_mass_g"]).drop(columns="year")
assert table[numeric_inputs].notna().all().all() and len(table) == 342
encoded = pd.get_dummies(table, columns=["species", "island", "sex"], dtype=np.float64)
print(f"{len(penguins) - len(table)} rows dropped; {table['sex'].isna().sum()} with sex unknown")
encoded.head()

# %% [markdown]
# **4. Split before fitting any statistic** (the mean and standard deviation of
# step 5 come from the training rows only; fitted on all rows, they would leak the
# test set into training). **5. Standardise** the numeric inputs and, as for diabetes,
# the target: body masses are in the thousands of grams.

# %%
input_columns = [c for c in encoded.columns if c != "body_mass_g"]
Pg_train, Pg_test = train_test_split(encoded, test_size=0.25, random_state=SEED)
mu_in = Pg_train[numeric_inputs].mean()
sd_in = Pg_train[numeric_inputs].std(ddof=0)
mass_mean, mass_std = Pg_train["body_mass_g"].mean(), Pg_train["body_mass_g"].std(ddof=0)


def penguin_arrays(frame):
    scaled = frame.copy()
    scaled[numeric_inputs] = (frame[numeric_inputs] - mu_in) / sd_in
    X = scaled[input_columns].to_numpy(dtype=np.float64)
    t = ((frame["body_mass_g"] - mass_mean) / mass_std).to_numpy(dtype=np.float64)
    return X, t


Xg_train, tg_train = penguin_arrays(Pg_train)
Xg_test, tg_test = penguin_arrays(Pg_test)
print("inputs:", input_columns)
print("Xg_train", Xg_train.shape, f"  mass: mean {mass_mean:.0f} g, std {mass_std:.0f} g")

# %% [markdown]
# **6. Train** the network of this lesson (8 tanh units, linear output, MSE) through
# `cr.MLPRegressor`, against a linear regression on the same columns.

# %%
from sklearn.linear_model import LinearRegression

mass_model = cr.MLPRegressor(
    hidden_layer_sizes=(8,), activation="tanh", learning_rate_init=0.01, alpha=1.0,
    max_iter=500, random_state=SEED,
).fit(Xg_train, tg_train)  # fmt: skip
mass_pred = mass_model.predict(Xg_test) * mass_std + mass_mean  # back to grams
mass_true = tg_test * mass_std + mass_mean
mass_r2 = 1 - np.sum((mass_true - mass_pred) ** 2) / np.sum((mass_true - mass_true.mean()) ** 2)
mass_rmse = np.sqrt(np.mean((mass_true - mass_pred) ** 2))
linear_r2 = LinearRegression().fit(Xg_train, tg_train).score(Xg_test, tg_test)
assert mass_r2 > 0.8 and linear_r2 > 0.8 and abs(mass_r2 - linear_r2) < 0.05  # "close"
assert 1000 < mass_mean < 10_000  # "in the thousands of grams"
Markdown(
    f"On the {len(tg_test)} held-out penguins the network's test $R^2$ is "
    f"**{mass_r2:.3f}** (a typical error of {mass_rmse:.0f} g), the linear regression's "
    f"{linear_r2:.3f}: body mass is close to linear in these measurements. The rest of "
    "this lesson stays with the diabetes table, whose running example the later "
    "sections (the exact comparison with scikit-learn, over-fitting) are built on."
)


# %% [markdown]
# ## 2. The network in raw NumPy
#
# One hidden layer of 8 tanh units and a single **linear** output, for a batch of
# $n$ samples:
#
# $$
# X \xrightarrow{\;W_1,\, b_1\;} Z_1 \xrightarrow{\;\tanh\;} A_1
#   \xrightarrow{\;W_2,\, b_2\;} Z_2 = \hat Y \xrightarrow{\;T\;} L
# $$
#
# | array | shape | meaning |
# |---|---|---|
# | $X$ | $n \times 10$ | inputs, one sample per row |
# | $W_1$, $b_1$ | $10 \times 8$, $8$ | first layer's weights and biases |
# | $Z_1$, $A_1$ | $n \times 8$ | hidden pre-activations and activations |
# | $W_2$, $b_2$ | $8 \times 1$, $1$ | output layer's weights and bias |
# | $Z_2 = \hat Y$ | $n \times 1$ | the prediction (standardised units) |
# | $L$ | scalar | mean squared error |
#
# The output has no activation (the identity), because a regression target can
# be any real number; a sigmoid or tanh there would cap the predictions.
#
# ### 2.1 Parameter initialisation
#
# Glorot (Xavier) uniform: $W \sim \mathcal{U}(-a, a)$ with
# $a = \sqrt{6/(n_\text{in} + n_\text{out})}$, and $b = 0$. Random, so that the
# hidden units differ (equal weights would get equal gradients forever), and
# scaled, so that the signal keeps its variance from layer to layer.

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


n_features, n_hidden, n_outputs = X_train.shape[1], 8, 1
params0 = init_params(n_features, n_hidden, n_outputs, np.random.default_rng(SEED))
for name, value in params0.items():
    print(f"{name}: {value.shape}")


# %% [markdown]
# ### 2.2 Forward propagation
#
# $$
# Z_1 = X W_1 + b_1, \qquad A_1 = \tanh(Z_1), \qquad
# \hat Y = Z_2 = A_1 W_2 + b_2.
# $$
#
# The forward pass also returns a **cache**: the intermediate arrays that the
# backward pass will need.

# %%
def forward(X, params):
    """Return the predictions Y_hat and the cache backpropagation needs."""
    Z1 = X @ params["W1"] + params["b1"]  # (n, 8); b1 is added to every row
    A1 = np.tanh(Z1)  # (n, 8)
    Z2 = A1 @ params["W2"] + params["b2"]  # (n, 1)
    Y_hat = Z2  # identity output
    return Y_hat, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2}


Y_hat, cache = forward(X_train, params0)
for name, value in cache.items():
    print(f"{name:>2}: {value.shape}")
Y_hat[:3]


# %% [markdown]
# ### 2.3 The loss: mean squared error
#
# $$L = \frac{1}{N} \sum_{i=1}^{n} \sum_{j=1}^{k} (\hat Y_{ij} - T_{ij})^2,
#   \qquad N = nk$$
#
# the mean over all $N$ entries, as chainrule's `MeanSquaredError` and PyTorch's
# `MSELoss` define it (here $k = 1$ output, so $N = n$). A sanity check: the
# targets are standardised, so always predicting their mean, 0, gives $L = 1$,
# and $1 - L$ is then the $R^2$ score on the training set. An untrained network
# should land within a small factor of 1 (the cell checks it); a loss of 100 would
# point to a bug or to an unscaled target.

# %%
def mse(Y_hat, T):
    return np.mean((Y_hat - T) ** 2)


print(f"initial loss {mse(Y_hat, T_train):.4f}")
print(f"always predicting 0 (the mean): {mse(np.zeros_like(T_train), T_train):.4f}")
assert 0.25 < mse(Y_hat, T_train) < 4


# %% [markdown]
# ### 2.4 Backpropagation by the chain rule
#
# Write $dA$ for $\partial L / \partial A$: an array of **the same shape as
# $A$**. Backprop walks the forward pass in reverse, and each step multiplies
# by the local derivative of one forward operation.
# (The classification lesson first does this on a graph of four numbers, with the
# add, multiply and max gates, and compares the rows-as-samples convention used here
# with the columns-as-samples one of many courses.)
#
# **Output: identity and MSE together.** Each entry of $\hat Y$ appears in one
# term of the sum, so
#
# $$\frac{\partial L}{\partial \hat Y_{ij}} = \frac{2}{N}(\hat Y_{ij} - T_{ij}),$$
#
# and the identity output passes it through unchanged:
#
# $$dZ_2 = d\hat Y = \frac{2}{N}(\hat Y - T).$$
#
# This is the **linear-MSE gradient**: the error itself, scaled. It is the
# regression twin of the classifier's $(P - T)/n$ (section 6). With the "half
# MSE" $\frac{1}{2N}\sum(\hat Y - T)^2$ the 2 cancels and it is $(\hat Y -
# T)/N$; the factor only rescales the learning rate.
#
# **Second dense layer**, $Z_2 = A_1 W_2 + b_2$:
#
# $$dW_2 = A_1^\top dZ_2, \qquad db_2 = \textstyle\sum_i dZ_{2,i\cdot}, \qquad
#   dA_1 = dZ_2 W_2^\top.$$
#
# Entry by entry, $\partial L/\partial W_{2,j1} = \sum_i A_{1,ij}\, dZ_{2,i1}$: a
# weight's gradient sums, over the samples, its input times the error it fed.
# $b_2$ was added to every row, so its gradient sums over the rows. The
# transposes are forced by the shapes: $dW_2$ must be $8 \times 1$, and
# $A_1^\top dZ_2$ is the product of the available arrays with that shape.
#
# **Tanh**, $A_1 = \tanh(Z_1)$ element-wise, with $\tanh'(z) = 1 - \tanh^2(z)$
# read off the cached output:
#
# $$dZ_1 = dA_1 \odot (1 - A_1^2).$$
#
# **First dense layer**, $Z_1 = X W_1 + b_1$, the same three rules:
#
# $$dW_1 = X^\top dZ_1, \qquad db_1 = \textstyle\sum_i dZ_{1,i\cdot}, \qquad
#   dX = dZ_1 W_1^\top.$$
#
# $dX$ is not needed for training, but it is what a layer hands back to the
# layer before it, and the gradient check below checks it too.

# %%
def output_gradient(Y_hat, T):
    """dL/dY_hat for L = mean((Y_hat - T)**2) over all N entries: 2 (Y_hat - T) / N."""
    return 2 * (Y_hat - T) / Y_hat.size


def backward(dZ2, cache, params):
    """Backpropagate dZ2 = dL/dZ2 through the network: every gradient, by name."""
    X, A1 = cache["X"], cache["A1"]
    dW2 = A1.T @ dZ2  # (8, 1)
    db2 = dZ2.sum(axis=0)  # (1,)
    dA1 = dZ2 @ params["W2"].T  # (n, 8)
    dZ1 = dA1 * (1 - A1**2)  # (n, 8): tanh'(Z1) = 1 - A1^2
    dW1 = X.T @ dZ1  # (10, 8)
    db1 = dZ1.sum(axis=0)  # (8,)
    dX = dZ1 @ params["W1"].T  # (n, 10)
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


dZ2 = output_gradient(Y_hat, T_train)  # the identity output: dZ2 = dY_hat
grads = backward(dZ2, cache, params0)
arrays = {**cache, **params0}
for name, g in grads.items():
    assert g.shape == arrays[name[1:]].shape  # a gradient has its variable's shape
    print(f"{name:>3}: {g.shape!s:9}  like {name[1:]}")


# %% [markdown]
# ### 2.5 The gradient-descent update
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


lr = 0.05
params1 = gradient_descent_step(params0, grads, lr)
loss0 = mse(forward(X_train, params0)[0], T_train)
loss1 = mse(forward(X_train, params1)[0], T_train)
first_order = lr * sum(np.sum(grads["d" + name] ** 2) for name in params0)
print(f"one step: loss {loss0:.5f} -> {loss1:.5f}, down by {loss0 - loss1:.5f}")
print(f"first-order prediction lr * ||g||^2 = {first_order:.5f}")
assert loss1 < loss0 and abs((loss0 - loss1) / first_order - 1) < 0.25


# %% [markdown]
# ### 2.6 The training loop
#
# One **epoch** here is one pass over the training set in a single batch
# (full-batch gradient descent): forward, loss, backward, update. The test loss
# is only watched, never used for a gradient.

# %%
def r2_score(y_true, y_pred):
    return 1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2)


def train(params, X, T, lr, epochs, X_test=None, T_test=None):
    """Full-batch gradient descent; return the trained parameters and the losses, both
    measured at the start of each epoch, at the weights *before* its update."""
    history = {"train_loss": [], "test_loss": []}
    for _ in range(epochs):
        if X_test is not None:
            history["test_loss"].append(mse(forward(X_test, params)[0], T_test))
        Y_hat, cache = forward(X, params)  # 1. forward
        history["train_loss"].append(mse(Y_hat, T))  # 2. loss
        dZ2 = output_gradient(Y_hat, T)  # 3. backward
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
y_pred_test = to_original_units(forward(X_test, params)[0])
rmse = np.sqrt(np.mean((y_pred_test - y_test) ** 2))
print(f"test set: R^2 {r2_score(y_test, y_pred_test):.3f}, RMSE {rmse:.1f}")

# %% [markdown]
# ### Why the target was standardised: the same training on the raw target
#
# The same network, initialisation, learning rate and epochs, but trained on the
# target in its own units (25 to 346). The cell measures the share of hidden
# activations that end up **saturated**, $|A_1| > 0.99$, where
# $\tanh' = 1 - A_1^2 < 0.02$ and the gradient through the unit all but vanishes. It
# also tries the remedy "a much smaller learning rate" on the raw target.

# %%
def saturated_share(params, X):
    """The share of hidden activations in the flat tails of tanh, |A1| > 0.99."""
    return float(np.mean(np.abs(forward(X, params)[1]["A1"]) > 0.99))


T_train_raw = y_train.reshape(-1, 1)  # the target in its own units
runs = {
    "standardised target, lr 0.05": (params, to_original_units),
    "raw target, lr 0.05": (train(params0, X_train, T_train_raw, lr, epochs)[0], np.ravel),
    "raw target, lr 0.00005": (
        train(params0, X_train, T_train_raw, lr / 1000, epochs)[0],
        np.ravel,
    ),
}
target_runs = pd.DataFrame(
    {
        run: {
            "saturated share of A1": saturated_share(run_params, X_train),
            "test R^2": r2_score(y_test, back(forward(X_test, run_params)[0])),
        }
        for run, (run_params, back) in runs.items()
    }
).T
target_runs

# %%
sat = target_runs["saturated share of A1"].to_numpy()
r2_runs = target_runs["test R^2"].to_numpy()
assert sat[1] > 0.5 > 0.1 > sat[0]
assert r2_runs[1] < r2_runs[0] - 0.05 and r2_runs[2] < 0 < r2_runs[0]
Markdown(
    f"On the raw target, **{sat[1]:.0%} of the hidden activations are saturated** "
    f"(against {sat[0]:.0%} with the standardised target) and the test $R^2$ is "
    f"{r2_runs[1]:.3f} instead of {r2_runs[0]:.3f}: the first steps, proportional to "
    "errors in the hundreds, throw the hidden units into the flat tails of tanh, and "
    "the output layer alone does what it can. A learning rate 1000 times smaller keeps "
    f"them unsaturated ({sat[2]:.0%}) but barely moves in {epochs} epochs: test "
    f"$R^2$ {r2_runs[2]:.3f}, worse than always predicting the mean. Standardising "
    "the target fixes both at once."
)

# %% [markdown]
# How good is that? A baseline first: ordinary linear regression on the same
# split. On this small, noisy dataset the relation is close to linear, and a
# network does not beat a linear model by much, if at all. The network is not
# magic; the point of this lesson is how it learns.

# %%
from sklearn.linear_model import LinearRegression

linear = LinearRegression().fit(X_train, y_train)
print(f"linear regression: test R^2 {linear.score(X_test, y_test):.3f}")
assert r2_score(y_test, y_pred_test) < linear.score(X_test, y_test) + 0.05  # "not by much"


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
    Y_hat, _ = forward(X_train, {**params0, "W1": W1})
    return mse(Y_hat, T_train)


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

    forward returns the prediction Z2 (cr.MeanSquaredError hands back
    dZ2 = 2 (Z2 - T) / N); backward(dZ2) runs our backward function.
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


X_small, T_small = X_train[:20], T_train[:20]  # a few samples keep the check fast
report = cr.gradient_check(RawNetwork(params0), cr.MeanSquaredError(), X_small, T_small)
print(report)
assert report.ok and report.max_rel_error < 1e-8


# %% [markdown]
# Every array agrees to within $10^{-7}$ (the cell asserts it; the report prints each
# relative error). Now a classic bug: use
# $1 - A_1$ for the derivative of tanh instead of $1 - A_1^2$. The check points
# straight at it: $W_2$ and $b_2$ are still right, while $W_1$, $b_1$ and $X$,
# everything below the tanh, are wrong.

# %%
def backward_with_wrong_tanh_derivative(dZ2, cache, params):
    grads = backward(dZ2, cache, params)
    dZ1 = grads["dA1"] * (1 - cache["A1"])  # BUG: should be 1 - A1**2
    grads["dW1"] = cache["X"].T @ dZ1
    grads["db1"] = dZ1.sum(axis=0)
    grads["dX"] = dZ1 @ params["W1"].T
    return grads


buggy = RawNetwork(params0, backward_fn=backward_with_wrong_tanh_derivative)
buggy_report = cr.gradient_check(buggy, cr.MeanSquaredError(), X_small, T_small)
assert not buggy_report.ok
right, wrong = ["W2", "b2"], ["W1", "b1", "X"]  # as the text says
assert all(buggy_report[a].rel_error < 1e-7 for a in right)
assert all(buggy_report[a].rel_error > 0.1 for a in wrong)  # "about 1 when wrong"
buggy_report

# %% [markdown]
# ## 4. The same network in chainrule
#
# chainrule's building blocks are the steps above, one class each: `cr.Dense`
# computes $XW + b$ with `W` of shape $(n_\text{in}, n_\text{out})$, `cr.Tanh` is
# $\tanh$ with backward $dA \odot (1 - A^2)$, and `cr.MeanSquaredError()`
# returns the mean over all entries and $dZ_2 = 2(\hat Y - T)/N$. A linear
# output needs no layer at all (`cr.Identity()` exists, and changes nothing).
# Each layer's `forward` returns its output and its own backward closure;
# `Sequential` chains them, and its backward runs the closures in reverse: the
# chain rule as a loop.
#
# We copy the raw initial weights into the layers, then compare the forward
# values, the loss and every gradient.

# %%
rng = np.random.default_rng(SEED)
net = cr.Sequential(
    cr.Dense(n_features, n_hidden, rng=rng),
    cr.Tanh(),
    cr.Dense(n_hidden, n_outputs, rng=rng),  # linear output
)
dense1, dense2 = net.layers[0], net.layers[2]
dense1.params["W"][...] = params0["W1"]  # in place: [...] keeps the same array
dense1.params["b"][...] = params0["b1"]
dense2.params["W"][...] = params0["W2"]
dense2.params["b"][...] = params0["b2"]
print(net.summary())

# %%
mse_loss = cr.MeanSquaredError()
Z2_cr, backward_cr = net.forward(X_train, training=True)
loss_cr, dZ2_cr = mse_loss(Z2_cr, T_train)
net.zero_grad()  # gradients accumulate, so reset them first
dX_cr = backward_cr(dZ2_cr)

Y_hat0, cache0 = forward(X_train, params0)
grads0 = backward(output_gradient(Y_hat0, T_train), cache0, params0)

same = dict(rtol=1e-10, atol=1e-13)
np.testing.assert_allclose(Z2_cr, Y_hat0, **same)
np.testing.assert_allclose(loss_cr, mse(Y_hat0, T_train), **same)
np.testing.assert_allclose(dZ2_cr, grads0["dZ2"], **same)
np.testing.assert_allclose(dense2.grads["W"], grads0["dW2"], **same)
np.testing.assert_allclose(dense2.grads["b"], grads0["db2"], **same)
np.testing.assert_allclose(dense1.grads["W"], grads0["dW1"], **same)
np.testing.assert_allclose(dense1.grads["b"], grads0["db1"], **same)
np.testing.assert_allclose(dX_cr, grads0["dX"], **same)
print(f"loss {loss_cr:.10f}: outputs, loss, dZ2, dW2, db2, dW1, db1 and dX all agree")

# %% [markdown]
# Training is the same four steps. chainrule's `fit` runs them (here with plain
# gradient descent, `cr.SGD(0.05)`, on the whole training set at once:
# `batch_size=None`), and it must land on the weights our raw loop found in
# section 2.6, up to rounding.
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
    mse_loss,
    X_train,
    T_train,
    optimizer=cr.SGD(lr),
    epochs=epochs,
    batch_size=None,
    validation_data=(X_test, T_test),
    metrics=["r2"],
    rng=SEED,
)
np.testing.assert_allclose(dense1.params["W"], params["W1"], rtol=1e-8, atol=1e-10)
np.testing.assert_allclose(dense2.params["W"], params["W2"], rtol=1e-8, atol=1e-10)
np.testing.assert_allclose(fit_history["loss"], history["train_loss"], rtol=1e-8)
np.testing.assert_allclose(fit_history["val_loss"][:-1], history["test_loss"][1:], rtol=1e-8)
print(fit_history)
fit_frame = fit_history.to_frame()  # one row per epoch, one column per logged value
fit_frame[["loss", "val_loss", "r2", "val_r2"]].iloc[[0, 9, 99, -1]]

# %% [markdown]
# ### `MLPRegressor`: a drop-in for scikit-learn's
#
# `cr.MLPRegressor` takes scikit-learn's constructor parameters, trains the
# same way (initialisation, minibatch order, Adam, stopping rule), and exposes
# the same fitted attributes, plus the chainrule network inside (`network_`)
# and its `history_`. So with the same settings and seed the two libraries
# produce the same loss curve, epoch for epoch, and the same predictions, even
# though every gradient in chainrule comes from the hand-written backward
# passes of this notebook. The settings are the network above (8 tanh units, a
# linear output), trained by Adam on minibatches, with `alpha=3.0`: a strong L2
# penalty on the weights against the over-fitting that section 5.1 shows.
#
# One difference of convention to keep in mind: the estimators report
# `loss_` and `loss_curve_` as scikit-learn defines them, **half** the mean
# squared error (plus the L2 penalty): with one output, as here,
# $\frac{1}{2n}\sum_i (\hat y_i - t_i)^2$, whose gradient is $(\hat Y - T)/n$ without
# the 2 (with $k$ outputs, half the mean over all $n k$ entries).

# %%
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

settings = dict(
    hidden_layer_sizes=(n_hidden,),
    activation="tanh",
    solver="adam",
    alpha=3.0,
    learning_rate_init=0.01,
    max_iter=1000,
    random_state=SEED,
)
t_train = T_train.ravel()  # the standardised target as a 1-D array
ours = cr.MLPRegressor(**settings).fit(X_train, t_train)
theirs = SklearnMLPRegressor(**settings).fit(X_train, t_train)

np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
np.testing.assert_allclose(ours.predict(X_test), theirs.predict(X_test), atol=1e-9)
assert ours.coefs_[0] is ours.network_.layers[0].params["W"]  # the very same array
print("network_:", " -> ".join(type(layer).__name__ for layer in ours.network_.layers))
pd.DataFrame(
    {
        model: [
            est.n_iter_,
            est.loss_,
            r2_score(y_test, to_original_units(est.predict(X_test))),
            est.out_activation_,
        ]
        for model, est in (("chainrule", ours), ("scikit-learn", theirs))
    },
    index=["epochs (n_iter_)", "loss_", "test R^2", "out_activation_"],
)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(theirs.loss_curve_, linewidth=4, alpha=0.4, label="scikit-learn MLPRegressor")
ax.plot(ours.loss_curve_, "k--", linewidth=1.2, label="chainrule MLPRegressor")
ax.set(xlabel="epoch", ylabel="loss_curve_ (half MSE + L2)", yscale="log")
ax.set_title("The same training, two implementations")
ax.legend()
plt.show()

# %% [markdown]
# ## 5. Plots
#
# ### 5.1 Loss curves
#
# The training loss keeps falling; the test loss reaches its minimum early and
# then creeps up: the network starts fitting the noise of its 331 training
# patients (**over-fitting**). Stopping at the test minimum would be cheating,
# since the test set would then have chosen the model; the honest way is a
# validation split taken from the training data, e.g.
# `cr.fit(..., validation_split=0.2, early_stopping=True)`.

# %%
best_epoch = int(np.argmin(history["test_loss"])) + 1
assert (np.diff(history["train_loss"]) < 0).all() and len(X_train) == 331
assert best_epoch < epochs / 2 and history["test_loss"][-1] > min(history["test_loss"])
fig, ax = plt.subplots(figsize=(7, 3.8))
epoch_axis = np.arange(1, epochs + 1)
ax.plot(epoch_axis, history["train_loss"], label="train")
ax.plot(epoch_axis, history["test_loss"], label="test")
best_label = f"lowest test loss (epoch {best_epoch})"
ax.axvline(best_epoch, color="gray", linestyle=":", label=best_label)
ax.set(xlabel="epoch", ylabel="MSE (standardised target)", title="Loss")
ax.legend()
plt.show()

# %% [markdown]
# The honest version: `cr.fit` holds out a random 20% of the *training* set for
# validation (`validation_split=0.2`), trains on the rest with Adam on
# minibatches of 32 (`cr.Adam`, `batch_size=32`), and stops once the validation
# loss has not improved for 20 epochs, restoring the weights of the best epoch
# (`cr.EarlyStopping`). The test set is used once, at the end. Its `History`
# holds one row per epoch.

# %%
rng = np.random.default_rng(SEED)
net_es = cr.Sequential(
    cr.Dense(n_features, n_hidden, rng=rng),
    cr.Tanh(),
    cr.Dense(n_hidden, n_outputs, rng=rng),
)
stopper = cr.EarlyStopping(monitor="val_loss", patience=20, restore_best=True)
es_history = cr.fit(
    net_es,
    cr.MeanSquaredError(),
    X_train,
    T_train,
    optimizer=cr.Adam(lr=0.001),
    epochs=500,
    batch_size=32,
    validation_split=0.2,
    early_stopping=stopper,
    rng=SEED,
)
es_frame = es_history.to_frame()

fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(es_frame.index, es_frame["loss"], label="training batches")
ax.plot(es_frame.index, es_frame["val_loss"], label="validation (20% of training set)")
best_label = f"best validation loss (epoch {stopper.best_epoch}), restored"
ax.axvline(stopper.best_epoch, color="gray", linestyle=":", label=best_label)
ax.set(xlabel="epoch", ylabel="MSE (standardised target)", title="Adam, early stopping")
ax.legend()
plt.show()
y_pred_es = to_original_units(net_es.predict(X_test))
print(f"ran {len(es_history)} epochs; kept the weights of epoch {stopper.best_epoch}")
print(f"test R^2 {r2_score(y_test, y_pred_es):.3f}")

# %% [markdown]
# ### 5.2 Predicted vs actual, and the residuals
#
# Back in the original units. A perfect model puts every test patient on the
# diagonal. With about a third of the variance explained, the predictions are
# pulled towards the mean: the highest progressions are under-predicted and the
# lowest over-predicted. The residuals (actual minus predicted) against the
# prediction should look like structureless noise around 0; a curve or a funnel
# shape there would mean the model misses something systematic.

# %%
residuals = y_test - y_pred_test
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
axes[0].scatter(y_test, y_pred_test, s=18, alpha=0.7)
limits = [min(y_test.min(), y_pred_test.min()), max(y_test.max(), y_pred_test.max())]
axes[0].plot(limits, limits, "k--", linewidth=1, label="perfect prediction")
axes[0].set(xlabel="actual", ylabel="predicted", title="Test set: predicted vs actual")
axes[0].legend()
axes[1].scatter(y_pred_test, residuals, s=18, alpha=0.7)
axes[1].axhline(0, color="k", linestyle="--", linewidth=1)
axes[1].set(xlabel="predicted", ylabel="actual - predicted", title="Residuals")
axes[2].hist(residuals, bins=20, color="tab:blue", edgecolor="white")
axes[2].set(xlabel="actual - predicted", ylabel="patients", title="Their distribution")
fig.tight_layout()
plt.show()
print(f"R^2 {r2_score(y_test, y_pred_test):.3f}; mean residual {residuals.mean():.1f}")
# "about a third of the variance explained", "pulled towards the mean":
assert 0.25 < r2_score(y_test, y_pred_test) < 0.42 and y_pred_test.std() < y_test.std()
top, bottom = y_test >= np.quantile(y_test, 0.9), y_test <= np.quantile(y_test, 0.1)
assert residuals[top].mean() > 0 > residuals[bottom].mean()  # under / over-predicted


# %% [markdown]
# ### 5.3 Vanishing gradients: a deep sigmoid network vs a ReLU network
#
# In a deep network the backward signal is multiplied, layer after layer, by
# $W^\top$ and by the activation's derivative. The sigmoid's derivative
# $\sigma(z)(1 - \sigma(z))$ is **at most $1/4$**. That bounds one of the two
# factors, not the product: $W^\top$ can make the signal larger, so the bound alone
# does not say by how much a sigmoid layer shrinks the gradient. Measure it.
# (Tanh, used above, has derivative up to 1 and is centred at 0.)
# ReLU's derivative is exactly 1 wherever the unit is active, and He initialisation
# is scaled to keep the signal's size from layer to layer.
#
# Below, two networks of 8 hidden layers of 32 units, at initialisation; for
# each `Dense` layer we read the gradient `layer.grads["W"]` after one backward
# pass of the MSE over the training set and take its norm $\lVert dW \rVert$.

# %%
def deep_network(activation, init, depth=8, width=32):
    rng = np.random.default_rng(SEED)
    layers, n_in = [], n_features
    for _ in range(depth):
        layers += [cr.Dense(n_in, width, init=init, rng=rng), activation()]
        n_in = width
    layers.append(cr.Dense(n_in, n_outputs, init="glorot", rng=rng))
    return cr.Sequential(*layers)


def weight_gradient_norms(deep_net, X, T):
    """||dL/dW|| of every Dense layer after one forward and backward pass."""
    Y_hat, backward_fn = deep_net.forward(X, training=True)
    _, dY_hat = cr.MeanSquaredError()(Y_hat, T)
    deep_net.zero_grad()
    backward_fn(dY_hat)
    dense_layers = [layer for layer in deep_net.layers if "W" in layer.params]
    return np.array([np.linalg.norm(layer.grads["W"]) for layer in dense_layers])


sigmoid_net = deep_network(cr.Sigmoid, "glorot")
relu_net = deep_network(cr.ReLU, "he")
norms_sigmoid = weight_gradient_norms(sigmoid_net, X_train, T_train)
norms_relu = weight_gradient_norms(relu_net, X_train, T_train)

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
Z_ex = rng_ex.normal(size=(5, 4))  # pre-activations or outputs: 5 samples, 4 units
G_ex = rng_ex.normal(size=(5, 4))  # a fixed upstream gradient
T_ex = rng_ex.normal(size=(5, 4))  # real-valued targets for 4 outputs
X_ex, W_ex, b_ex = rng_ex.normal(size=(5, 3)), rng_ex.normal(size=(3, 4)), np.zeros(4)


def verdict(name, analytic, numeric, tol=1e-6):
    """Print and return whether an analytic gradient matches central differences."""
    error = relative_error(analytic, numeric)
    passed = bool(error < tol)
    print(f"{name}: relative error {error:.1e} -> {'correct' if passed else 'WRONG'}")
    return passed


def check_tanh_backward(fn):
    # L = sum(G * tanh(X)) has dL/dY = G, so dL/dX must be fn(X, dY=G)
    numeric = numeric_gradient(lambda X: np.sum(G_ex * np.tanh(X)), Z_ex)
    return verdict("tanh_backward", fn(X=Z_ex, dY=G_ex), numeric)


def check_mse_backward(fn):
    # 4 output columns, so that dividing by n instead of N = n * k shows
    numeric = numeric_gradient(lambda Y: np.mean((Y - T_ex) ** 2), Z_ex)
    n, k = Z_ex.shape
    return verdict("mse_backward", fn(Y=Z_ex, T=T_ex, n=n, k=k), numeric)


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
# ### Exercise 1: the tanh's backward step
#
# Given the layer's input $X$ (the pre-activation) and $dY = \partial L/\partial Y$
# for its output $Y = \tanh(X)$, return $dX = \partial L/\partial X$.

# %%
def tanh_backward(X, dY):
    Y = np.tanh(X)  # YOUR CODE: try replacing these two lines
    return dY * (1 - Y**2)


passed_1 = check_tanh_backward(tanh_backward)


# %% [markdown]
# The same function inside a network: a custom activation layer whose backward
# calls your `tanh_backward`, checked by `cr.gradient_check` between two `Dense`
# layers. This is all it takes to check a layer of your own.

# %%
class StudentTanh(cr.Layer):
    def forward(self, X, training=False):
        return np.tanh(X), lambda dY: tanh_backward(X, dY)


def small_network(activation_layer):
    # Dense -> activation_layer -> Dense, with the same seeded weights every time
    rng = np.random.default_rng(SEED)
    first, last = cr.Dense(n_features, 8, rng=rng), cr.Dense(8, n_outputs, rng=rng)
    return cr.Sequential(first, activation_layer, last)


student_net = small_network(StudentTanh())
print(cr.gradient_check(student_net, cr.MeanSquaredError(), X_small, T_small))


# %% [markdown]
# ### Exercise 2: the MSE gradient
#
# Given predictions $Y = \hat Y$ ($n \times k$), targets $T$, $n$ and $k$, return
# $\partial L / \partial Y$ for $L = \frac{1}{N}\sum_{i,j}(Y_{ij} - T_{ij})^2$ with
# $N = nk$ (chainrule's `MeanSquaredError`).

# %%
def mse_backward(Y, T, n, k):
    return 2 * (Y - T) / (n * k)  # YOUR CODE: try replacing this line


passed_2 = check_mse_backward(mse_backward)


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


def library_checks(tanh_fn, mse_fn, dense_fn):
    """cr.check_backward's reports on the three exercise functions."""
    return [
        cr.check_backward(tanh_fn, cr.Tanh(), Z_ex, dY=G_ex),
        cr.check_backward(mse_fn, cr.MeanSquaredError(), Z_ex, T_ex),
        cr.check_backward(dense_fn, dense_ex, X_ex, dY=G_ex),
    ]


library_reports = library_checks(tanh_backward, mse_backward, dense_backward)
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
def tanh_backward_wrong(X, dY):
    Y = np.tanh(X)
    return dY * (1 - Y)  # 1 - Y instead of 1 - Y**2


def mse_backward_wrong(Y, T, n, k):
    return 2 * (Y - T) / n  # divides by n, not by N = n * k


def dense_backward_wrong(X, W, dY):
    return dY @ W.T, X.T @ dY, dY.mean(axis=0)  # db averages instead of summing


caught = [
    not check_tanh_backward(tanh_backward_wrong),
    not check_mse_backward(mse_backward_wrong),
    not check_dense_backward(dense_backward_wrong),
]
assert all(caught), "a wrong gradient went unnoticed"
print(f"caught {sum(caught)} of {len(caught)} wrong answers")
wrong_reports = library_checks(tanh_backward_wrong, mse_backward_wrong, dense_backward_wrong)
assert not any(wrong_report.ok for wrong_report in wrong_reports)  # cr.check_backward too
print(wrong_reports[1])


# %% [markdown]
# And inside a network, `cr.gradient_check` points at the layer below the
# wrong activation: the last `Dense` layer is still right, everything before
# the mistake is not.

# %%
class WrongTanh(cr.Layer):
    def forward(self, X, training=False):
        return np.tanh(X), lambda dY: tanh_backward_wrong(X, dY)


wrong_net = small_network(WrongTanh())
wrong_report = cr.gradient_check(wrong_net, cr.MeanSquaredError(), X_small, T_small)
assert not wrong_report.ok
assert all(wrong_report[f"layers[2].{p}"].rel_error < 1e-7 for p in "Wb")  # still right
assert all(wrong_report[a].rel_error > 1e-3 for a in ("layers[0].W", "layers[0].b", "X"))
print(wrong_report)

# %% [markdown]
# ## Where next
#
# * `backpropagation_classification.ipynb`: the same lesson for classification,
#   with a softmax output and cross-entropy.
# * `training_dynamics.ipynb`: the experiments every course runs on these networks
#   (initialisation, learning rate, batch size, vanishing and exploding gradients,
#   dead ReLUs, regularisation), each measured and plotted.
# * `chainrule explain --task regression` prints one training step equation by
#   equation, with the numbers, starting from X and the initial W and b; `chainrule gradcheck` checks a network of your
#   choice.
# * The docstrings carry each derivation next to its code:
#   `help(cr.Dense)`, `help(cr.MeanSquaredError)`, `help(cr.Tanh)`.
