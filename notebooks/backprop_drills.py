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
# # Backprop drills: write each gradient yourself, and be told exactly where it went wrong
#
# Twelve exercises, from a one-line derivative to batch normalisation's backward pass,
# and then the "backprop ninja": cross-entropy and batch norm taken apart into their
# atomic steps, every intermediate's gradient checked on its own.
# Each one is a function with an empty body. You write the body; the cell below it runs
# `check(...)`, which computes the same gradients with chainrule (whose own gradients
# are checked against central differences) and marks yours **array by array**: right,
# wrong shape (expected versus got), or wrong values (the relative error and the worst
# entry), and it names the slip when it recognises one: a missing $1/n$, a transpose, a
# sign, a derivative left out or taken at the wrong tensor, a path of batch norm
# forgotten.
#
# **How to work.** Read the exercise, write the body in place of
# `raise NotImplementedError("your code here")`, run the function's cell, then the
# check cell. Repeat until the report ends in *well done*. In this copy nothing is
# written yet, so every report below says *not written yet*: that is what you start from.
#
# **Stuck?** Each exercise has a hint. The derivations are in
# [`docs/derivations.md`](../docs/derivations.md); the solutions are in a separate file,
# [`notebooks/solutions/backprop_drills.py`](solutions/backprop_drills.py) (try first).
# After the drills, test yourself on the questions examiners ask in
# [`docs/viva.md`](../docs/viva.md), and compute one training step with pen and paper with
# `chainrule quiz`.
#
# **Edit it (teachers).** This notebook is a pair: `backprop_drills.ipynb` and its
# readable source `backprop_drills.py` (jupytext percent format). What each check runs
# (the model, the inputs, the seeds) lives in one place, `chainrule/exercises.py`,
# which the tests also use to run the solutions and a list of classic wrong answers.

# %%
import numpy as np

import chainrule as cr
from chainrule.exercises import batchnorm_steps, check, cross_entropy_steps, scoreboard

np.set_printoptions(precision=4, suppress=True)  # short numbers when you print an array

# %% [markdown]
# ## The conventions
#
# * Rows are samples: a batch `X` has shape `(n, d)`, `n` samples of `d` features.
#   A weight matrix `W` has shape `(n_in, n_out)` and a layer computes `Y = X @ W + b`.
# * `dW` means $\partial L / \partial W$, the gradient of the scalar loss $L$ with
#   respect to `W`. **A gradient always has the shape of the thing it is the gradient
#   of**: `dW` is shaped like `W`, `dX` like `X`. Checking shapes catches half of all
#   mistakes.
# * The loss is a **mean** over the batch, so the $1/n$ appears once, in the loss's
#   gradient. Layers never divide by `n`.
# * A layer's backward pass receives `dY`, the gradient of the loss with respect to
#   its output, and returns `dX`, the gradient with respect to its input (plus its
#   parameters' gradients). The chain rule, one layer at a time.
# * The names are the library's and the lessons': a layer (an activation too) maps its
#   input `X` to its output `Y`, and its backward pass takes `dY` and returns `dX`. A
#   loss takes the predictions `Y` and returns `dY`, or the logits `Z` and returns `dZ`.
#   The report names each array as your function does (`dX` when it takes `X`, `dZ`
#   when it takes `Z`). In a whole network, layer `l` is the `l`-th layer with
#   weights, $Z_l = A_{l-1} W_l + b_l$ and $A_l = f(Z_l)$.
#
# Your function receives the arrays that its parameters name (keep the names in the
# `def` line as they are) and returns the gradients in the order the docstring gives.

# %% [markdown]
# ## Reading a report
#
# Here is a wrong answer to a question that is not among the exercises: the backward
# pass of a ReLU layer, written as if the ReLU were not there (its derivative, 1 where
# the input is positive and 0 elsewhere, is forgotten). The check underneath the
# exercises is `cr.check_backward(your_function, layer_or_loss_or_network, X, y)`,
# which you can use on any backward pass of your own:

# %%
X_demo = np.random.default_rng(0).normal(size=(4, 3))


def relu_backward_wrong(X, dY):
    return dY  # the slip: dX = dY * (X > 0)


print(cr.check_backward(relu_backward_wrong, cr.ReLU(), X_demo))

# %% [markdown]
# The report names the array (`dX`), how far off it is (the relative error, and the
# entry that is worst), and the slip it recognises. A right answer ends in *well done*.

# %% [markdown]
# ## 1. The sigmoid and its derivative
#
# The sigmoid squashes any number into $(0, 1)$:
#
# $$\sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,\bigl(1 - \sigma(z)\bigr).$$
#
# As in the lessons, the layer maps its input `X` to its output `Y = sigmoid(X)`, and
# `dY` is the gradient arriving from above. Element by element, the chain rule gives
# $dX = dY \odot Y \odot (1 - Y)$, where $\odot$ is the element-wise product (`*` in
# NumPy). The signature is the lessons' own, `sigmoid_backward(X, dY)`.
#
# *Hint.* The derivative $\sigma'(x) = Y(1 - Y)$ is read off the **output**
# `Y = sigmoid(X)`: compute `Y` first. Using `X * (1 - X)`, or applying the sigmoid to
# `Y` again, are the classic slips.


# %%
def sigmoid_backward(X, dY):
    """Gradient through a sigmoid layer, Y = sigmoid(X).

    X  : (n, k) the layer's input
    dY : (n, k) dL/dY, the gradient arriving from the layer above
    returns dX : (n, k), dL/dX
    """
    raise NotImplementedError("your code here")


# %%
print(check("sigmoid_backward", sigmoid_backward))

# %% [markdown]
# ## 2. Softmax + cross-entropy
#
# For `k` classes the network's last layer gives logits `Z` of shape `(n, k)`. Softmax
# turns each **row** into probabilities, and cross-entropy with one-hot targets `T`
# (`(n, k)`, a single 1 per row) is averaged over the `n` samples:
#
# $$P_{ij} = \frac{e^{Z_{ij}}}{\sum_{c=1}^{k} e^{Z_{ic}}}, \qquad
# L = -\frac{1}{n}\sum_{i=1}^{n}\sum_{j=1}^{k} T_{ij}\log P_{ij}.$$
#
# The softmax's Jacobian and the logarithm's derivative cancel to the best-known
# result in backpropagation:
#
# $$\frac{\partial L}{\partial Z} = \frac{P - T}{n}.$$
#
# *Hint.* Subtract each row's maximum before `np.exp` (the probabilities do not change,
# and nothing overflows); normalise along `axis=1` with `keepdims=True`.


# %%
def softmax_cross_entropy_backward(Z, T, n):
    """dL/dZ of the mean cross-entropy of softmax(Z) against one-hot targets T.

    Z : (n, k) logits
    T : (n, k) one-hot targets
    n : int, the number of samples
    returns dZ : (n, k)
    """
    raise NotImplementedError("your code here")


# %%
print(check("softmax_cross_entropy_backward", softmax_cross_entropy_backward))

# %% [markdown]
# ## 3. Mean squared error
#
# A regression network predicts `Y` of shape `(n, k)` for targets `T` of the same shape.
# The mean squared error averages over **all** $nk$ entries (as PyTorch's `mse_loss`
# and chainrule's `MeanSquaredError` do):
#
# $$L = \frac{1}{nk}\sum_{i=1}^{n}\sum_{j=1}^{k}\left(Y_{ij} - T_{ij}\right)^2, \qquad
# \frac{\partial L}{\partial Y} = \frac{2\,(Y - T)}{nk}.$$
#
# *Hint.* Two slips to avoid: the 2 that the square brings down, and dividing by `n`
# alone when the mean is over `n * k` entries.


# %%
def mse_backward(Y, T, n, k):
    """dL/dY of the mean squared error over all entries.

    Y : (n, k) predictions
    T : (n, k) targets
    n, k : int, the shape of Y
    returns dY : (n, k)
    """
    raise NotImplementedError("your code here")


# %%
print(check("mse_backward", mse_backward))

# %% [markdown]
# ## 4. Sigmoid + binary cross-entropy
#
# Here each sample has `k = 3` independent yes/no labels (multi-label classification):
# `Z` are logits, $P = \sigma(Z)$, `T` holds 0s and 1s, and the loss is the mean over
# all $nk$ entries:
#
# $$L = -\frac{1}{nk}\sum_{i,j}\Bigl(T_{ij}\log P_{ij} + (1 - T_{ij})\log(1 - P_{ij})\Bigr),
# \qquad \frac{\partial L}{\partial Z} = \frac{P - T}{nk}.$$
#
# The same *prediction minus target* as softmax with cross-entropy: the sigmoid's
# derivative $P(1 - P)$ cancels the denominators of the log's derivative.
#
# *Hint.* Compute `P` from `Z` first; the logits themselves are not probabilities.


# %%
def sigmoid_bce_backward(Z, T, n, k):
    """dL/dZ of the mean binary cross-entropy of sigmoid(Z) against 0/1 targets T.

    Z : (n, k) logits
    T : (n, k) targets, 0 or 1
    n, k : int, the shape of Z
    returns dZ : (n, k)
    """
    raise NotImplementedError("your code here")


# %%
print(check("sigmoid_bce_backward", sigmoid_bce_backward))

# %% [markdown]
# ## 5. A Dense layer: dX, dW, db
#
# The layer computes `Y = X @ W + b` with `X` `(n, n_in)`, `W` `(n_in, n_out)`, `b`
# `(n_out,)`. Given `dY` `(n, n_out)`:
#
# $$dX = dY\,W^\top, \qquad dW = X^\top dY, \qquad db = \sum_{i=1}^{n} dY_{i,:}.$$
#
# *Hint.* Let the shapes decide. `dW` must be `(n_in, n_out)`: the only product of `X`
# and `dY` with that shape is `X.T @ dY`. The bias is added to every row, so its
# gradient sums the rows. No division by `n`: that already happened in the loss.


# %%
def dense_backward(X, W, dY):
    """Backward pass of Y = X @ W + b (the lessons' signature).

    X  : (n, n_in) the layer's input
    W  : (n_in, n_out) its weights
    dY : (n, n_out) dL/dY
    returns dX : (n, n_in), dW : (n_in, n_out), db : (n_out,)
    """
    raise NotImplementedError("your code here")


# %%
print(check("dense_backward", dense_backward))

# %% [markdown]
# ## 6. A whole 2-layer network
#
# Now the full chain: `X` `(n, d)`, a tanh hidden layer of `h` units, and `k` softmax
# outputs with cross-entropy (one-hot targets `T`):
#
# $$Z_1 = X W_1 + b_1,\quad A_1 = \tanh(Z_1),\quad Z_2 = A_1 W_2 + b_2,\quad
# P = \mathrm{softmax}(Z_2).$$
#
# Backwards, from the loss to the input:
#
# $$dZ_2 = \frac{P - T}{n},\quad dW_2 = A_1^\top dZ_2,\quad
# dA_1 = dZ_2 W_2^\top,\quad dZ_1 = dA_1 \odot \left(1 - A_1^2\right),\quad
# dW_1 = X^\top dZ_1,$$
#
# and the biases' gradients sum the rows of $dZ_2$ and $dZ_1$.
#
# *Hint.* Write the forward pass first, keeping `A1` (the backward pass needs it).
# $\tanh'(z) = 1 - \tanh^2(z)$ is a function of the **output** `A1`.


# %%
def two_layer_backward(X, T, W1, b1, W2, b2, n):
    """Gradients of the mean cross-entropy of X -> Dense -> tanh -> Dense -> softmax.

    X : (n, d)   T : (n, k) one-hot   n : int
    W1 : (d, h)  b1 : (h,)   W2 : (h, k)  b2 : (k,)
    returns dW1 : (d, h), db1 : (h,), dW2 : (h, k), db2 : (k,)
    """
    raise NotImplementedError("your code here")


# %%
print(check("two_layer_backward", two_layer_backward))

# %% [markdown]
# ## 7. L layers in a loop
#
# A network of any depth is the same two steps repeated. Here: `L = 3` Dense layers,
# ReLU after each hidden one, a linear output, and the mean squared error of exercise 3
# (a regression: `T` is `(n, k)` of real numbers). The parameters come as a dict,
# `params["W1"], params["b1"], ..., params["WL"], params["bL"]`.
#
# Forward, keep each layer's input $A_{l-1}$ and pre-activation $Z_l$ (with $A_0 = X$):
# $Z_l = A_{l-1} W_l + b_l$, $A_l = \mathrm{ReLU}(Z_l)$ for $l < L$, $A_L = Z_L$.
# Backward, starting from $dZ_L = 2(A_L - T)/(nk)$, for $l = L, \dots, 1$:
#
# $$dW_l = A_{l-1}^\top dZ_l,\qquad db_l = \sum_i (dZ_l)_{i,:},\qquad
# dZ_{l-1} = \left(dZ_l W_l^\top\right) \odot \mathbf{1}[Z_{l-1} > 0].$$
#
# *Hint.* `L = len(params) // 2`. Return a dict `{"dW1": ..., "db1": ..., ...}`.
# $\mathrm{ReLU}'(z)$ is 1 where $z > 0$ and 0 elsewhere (0 at $z = 0$, as in PyTorch).


# %%
def l_layer_backward(X, T, params):
    """Gradients of the MSE of an L-layer ReLU network with a linear output.

    X : (n, d)   T : (n, k)
    params : {"W1": (d, h1), "b1": (h1,), ..., "WL": (h_{L-1}, k), "bL": (k,)}
    returns {"dW1": ..., "db1": ..., ..., "dWL": ..., "dbL": ...}, each shaped like its
    parameter
    """
    raise NotImplementedError("your code here")


# %%
print(check("l_layer_backward", l_layer_backward))

# %% [markdown]
# ## 8. One step of SGD with momentum
#
# From here on you write an **update**, in the form of Stanford's CS231n assignments:
# `step(w, dw, config)` returns `(next_w, config)`. `config` holds the hyper-parameters
# (`config["learning_rate"]`, `config["momentum"]`) and whatever state your update
# keeps between calls: store the velocity in `config["velocity"]` (it is not there on
# the first call: start from zeros). The check calls your function three times in a row.
#
# The rule PyTorch and chainrule use (momentum $\mu$, learning rate $\eta$):
#
# $$v \leftarrow \mu v + dw, \qquad w \leftarrow w - \eta v.$$
#
# *Hint.* Not $v \leftarrow \mu v + (1 - \mu)\,dw$: that exponential average is a
# different (dampened) method. CS231n's own form, $v \leftarrow \mu v - \eta\,dw$ and
# $w \leftarrow w + v$, takes the same steps while the learning rate is constant.


# %%
def sgd_momentum(w, dw, config):
    """One step of SGD with momentum.

    w, dw : arrays of the same shape (the weights and their gradient)
    config : dict with "learning_rate", "momentum"; your "velocity" after a first call
    returns next_w (shaped like w), config
    """
    raise NotImplementedError("your code here")


# %%
print(check("sgd_momentum", sgd_momentum))

# %% [markdown]
# ## 9. One step of Adam
#
# Adam keeps two running averages, of the gradient and of its square, and corrects
# their bias towards zero in the first steps. With step counter $t$ starting at 1:
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1)\,dw,\qquad
# v \leftarrow \beta_2 v + (1 - \beta_2)\,dw^2,$$
#
# $$\hat m = \frac{m}{1 - \beta_1^t},\qquad \hat v = \frac{v}{1 - \beta_2^t},\qquad
# w \leftarrow w - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$
#
# `config` holds `"learning_rate"`, `"beta1"`, `"beta2"`, `"epsilon"`; keep `"m"`, `"v"`
# and `"t"` in it yourself.
#
# *Hint.* Increase `t` **before** using it (so the first step has $t = 1$, and
# $1 - \beta_1^t$ is not zero). Without the bias correction, at $t = 1$ the average
# $m$ is ten times too small and $v$ a thousand times, so the first step is
# $(1 - \beta_1)/\sqrt{1 - \beta_2} \approx 3.16$ times too large.


# %%
def adam(w, dw, config):
    """One step of Adam.

    w, dw : arrays of the same shape
    config : dict with "learning_rate", "beta1", "beta2", "epsilon"; your "m", "v", "t"
    returns next_w (shaped like w), config
    """
    raise NotImplementedError("your code here")


# %%
print(check("adam", adam))

# %% [markdown]
# ## 10. Batch normalisation's backward pass
#
# The classic hard one. In training, batch norm normalises each feature (column) with
# the batch's own mean and variance, then scales and shifts it:
#
# $$\mu = \frac{1}{n}\sum_{i} x_i,\quad \sigma^2 = \frac{1}{n}\sum_{i} (x_i - \mu)^2,\quad
# \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}},\quad y_i = \gamma \hat x_i + \beta.$$
#
# Every $x_i$ reaches the loss three ways: directly through $\hat x_i$, through $\mu$
# and through $\sigma^2$ (each of which every sample shares). Adding the three paths,
# with $d\hat x = dy\,\gamma$:
#
# $$dx_i = \frac{1}{\sqrt{\sigma^2 + \epsilon}}\left(d\hat x_i - \frac{1}{n}\sum_{j} d\hat x_j
# - \hat x_i\,\frac{1}{n}\sum_{j} d\hat x_j\,\hat x_j\right),\qquad
# d\gamma = \sum_i dy_i\,\hat x_i,\qquad d\beta = \sum_i dy_i.$$
#
# The check compares with `cr.BatchNorm` in training mode. Its variance divides by
# `n` (`X.var(axis=0)`), not `n - 1`.
#
# *Hint.* Derive it on paper first, as a small graph: $x \to \mu$, $x \to \sigma^2$,
# $(x, \mu, \sigma^2) \to \hat x \to y$. Then each line of code is one edge. The
# derivation is section 11 of [`docs/derivations.md`](../docs/derivations.md).


# %%
def batchnorm_backward(X, dY, gamma, eps):
    """Backward pass of batch normalisation in training mode.

    X  : (n, d) the layer's input     dY : (n, d) dL/dY
    gamma : (d,) the scale            eps : float, added to the variance
    returns dX : (n, d), dgamma : (d,), dbeta : (d,)
    """
    raise NotImplementedError("your code here")


# %%
print(check("batchnorm_backward", batchnorm_backward))

# %% [markdown]
# ## 11. Cross-entropy, one atomic step at a time (backprop ninja)
#
# Exercise 2 used the fused result $dZ = (P - T)/n$. Here you earn it. The forward pass,
# one elementary operation per line, is `cross_entropy_steps(Z, T)`; it returns every
# intermediate by name (`cross_entropy_steps(Z, T)["s"]` is the row sums):
#
# ```python
# Zmax   = Z.max(axis=1, keepdims=True)           # (n, 1) each row's maximum
# S      = Z - Zmax                               # (n, k) shifted logits: nothing overflows
# E      = np.exp(S)                              # (n, k)
# s      = E.sum(axis=1, keepdims=True)           # (n, 1)
# logs   = np.log(s)                              # (n, 1)
# logP   = S - logs                               # (n, k) log-probabilities
# picked = (logP * T).sum(axis=1, keepdims=True)  # (n, 1) the target's entry of each row
# L      = -picked.mean()
# ```
#
# Go backwards, one line at a time, and return a dict of **every** intermediate's
# gradient: `dpicked, dlogP, dlogs, ds, dE, dS, dZmax, dZ`. Each is checked on its own
# by `check_backward` (as the gradient of everything after it), so the report says at
# which step you went wrong; `dZ` is checked against the fused $(P - T)/n$ of
# `cr.CrossEntropy`.
#
# *Hint.* Each gradient has the shape of its intermediate. A sum hands its gradient back
# to every term (`s` sums a row, so every `E` of the row receives `ds`); a broadcast sums
# it (`logs` was subtracted from every entry of its row). `S` is used twice (by `E` and
# by `logP`), and `Z` twice (by `S` and by `Zmax`): the gradients of the uses **add**.
#
# **The collapse.** `dZmax` comes out 0 (up to rounding): shifting a row changes no
# probability. Adding the two uses of `S`, with $P = E/s$:
# $dS = dlogP + E \odot ds = -T/n + P \sum_j T_j / n = (P - T)/n$, since each row of
# `T` sums to 1. That is exercise 2's formula, one line at a time.

# %%
Z_demo, T_demo = np.array([[2.0, 1.0, 0.1]]), np.array([[1.0, 0.0, 0.0]])
for name, value in cross_entropy_steps(Z_demo, T_demo).items():  # one row, every step
    print(f"{name:>6} = {np.round(value, 4).tolist()}")


# %%
def cross_entropy_steps_backward(Z, T, n):
    """Every intermediate's gradient of the mean cross-entropy, step by step.

    Z : (n, k) logits   T : (n, k) one-hot targets   n : int
    Start from v = cross_entropy_steps(Z, T) (v["Zmax"], v["S"], v["E"], ...).
    returns {"dpicked": (n, 1), "dlogP": (n, k), "dlogs": (n, 1), "ds": (n, 1),
    "dE": (n, k), "dS": (n, k), "dZmax": (n, 1), "dZ": (n, k)}
    """
    raise NotImplementedError("your code here")


# %%
print(check("cross_entropy_steps_backward", cross_entropy_steps_backward))

# %% [markdown]
# ## 12. Batch norm, one atomic step at a time
#
# Exercise 10's formula, earned the same way. `batchnorm_steps(X, gamma, beta, eps)`
# is the forward pass in training mode, one step a line:
#
# ```python
# mu      = X.mean(axis=0, keepdims=True)    # (1, d)
# Xc      = X - mu                           # (n, d)
# sq      = Xc**2                            # (n, d)
# var     = sq.mean(axis=0, keepdims=True)   # (1, d) divided by n
# inv_std = 1 / np.sqrt(var + eps)           # (1, d)
# Xhat    = Xc * inv_std                     # (n, d)
# Y       = gamma * Xhat + beta              # (n, d)
# ```
#
# Given `dY`, return every gradient: `dXhat, dinv_std, dvar, dsq, dXc, dmu`, then
# `dX, dgamma, dbeta`. Each intermediate is checked on its own; `dX`, `dgamma`,
# `dbeta` against `cr.BatchNorm`'s backward, the three-path formula of exercise 10.
#
# *Hint.* $d\mathrm{inv\_std} = \sum_i d\hat x_i \, Xc_i$ (a broadcast sums);
# $d\mathrm{var} = d\mathrm{inv\_std} \cdot (-\tfrac12)(\mathrm{var} + \epsilon)^{-3/2}$;
# a mean over the batch hands each row $1/n$ of the gradient. `Xc` feeds both `Xhat`
# and `sq`, and `X` feeds both `Xc` and `mu`: each pair of gradients adds.
#
# **The collapse.** Since $\sum_i Xc_i = 0$, the path through `sq` adds nothing to
# `dmu`, so $dmu = -\sum_i d\hat x_i \cdot \mathrm{inv\_std}$, and
# $dX = dXc + dmu/n$ is exercise 10's
# $\frac{1}{\sigma}\bigl(d\hat x - \mathrm{mean}(d\hat x) - \hat x\,\mathrm{mean}(d\hat x\,\hat x)\bigr)$:
# the direct path, the path through $\mu$ and the path through $\sigma^2$.

# %%
X_bn = np.array([[1.0, 2.0], [3.0, 0.0], [5.0, 1.0]])
steps = batchnorm_steps(X_bn, gamma=np.ones(2), beta=np.zeros(2), eps=1e-5)
print("var =", steps["var"], " Xhat's column means =", steps["Xhat"].mean(axis=0).round(12))


# %%
def batchnorm_steps_backward(X, dY, gamma, beta, eps):
    """Every intermediate's gradient of batch norm (training mode), step by step.

    X, dY : (n, d)   gamma, beta : (d,)   eps : float
    Start from v = batchnorm_steps(X, gamma, beta, eps) (v["mu"], v["Xc"], ...).
    returns {"dXhat": (n, d), "dinv_std": (1, d), "dvar": (1, d), "dsq": (n, d),
    "dXc": (n, d), "dmu": (1, d), "dX": (n, d), "dgamma": (d,), "dbeta": (d,)}
    """
    raise NotImplementedError("your code here")


# %%
print(check("batchnorm_steps_backward", batchnorm_steps_backward))

# %% [markdown]
# ## Your score
#
# One line per exercise: run this after a session to see what is left.

# %%
print(scoreboard(globals()))

# %% [markdown]
# ## And by hand
#
# Exams ask for numbers, not code. `chainrule quiz` in a terminal asks for one
# quantity of a training step at a time and marks it; here is one drill from Python. Do
# it on paper, put your number in `my_answer`, run the cell again: a wrong answer gets
# the worked solution and the slip it recognises.

# %%
drill = cr.quiz.Drill(seed=3, topic="backward", count=1)
question = drill.questions[0]
print(drill.statement())
print()
print(question.prompt)
my_answer = None  # your number here
if my_answer is None:
    print("(set my_answer and run this cell again)")
else:
    print(question.grade(my_answer))

# %% [markdown]
# Next: the questions examiners and interviewers ask, with short exact answers, in
# [`docs/viva.md`](../docs/viva.md). For a stable sigmoid, or if a check surprises you,
# compare with chainrule's own code: `help(cr.Sigmoid)`, `help(cr.Dense)`,
# `help(cr.BatchNorm)` carry each derivation.
