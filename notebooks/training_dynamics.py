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
# # Training dynamics: the experiments every deep-learning course runs
#
# The two backpropagation lessons show *how* a gradient is computed. This one shows
# what happens when you *use* it: why a network refuses to learn, learns slowly,
# explodes, or learns the training set and nothing else. Each section is one
# experiment on real data, with a plot, the lesson in words, and an `assert` that
# checks the lesson on the numbers just computed.
#
# 1. Initialisation: all zeros, too large, Glorot versus He
# 2. The learning rate, from too small to divergence
# 3. Full-batch, mini-batch and stochastic gradient descent, written by hand
# 4. Sigmoid with squared error versus cross-entropy: the gradient that vanishes
# 5. Dead ReLUs, and the leaky ReLU
# 6. Exploding gradients in a deep tanh network, and gradient clipping
# 7. Reading `grad_norm_*` and `update_ratio_*` from a training history
# 8. L2 and dropout against overfitting
#
# **A rule of this notebook**: every number or comparison in the text is computed
# by the cell that states it (the sentences that quote numbers are printed from
# the computed values), and asserted, so re-running the notebook catches a claim
# that stops being true. Every experiment uses explicit seeds and float64.

# %%
import functools
import itertools
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import chainrule as cr

# The matrices here are small: one BLAS thread is enough, and it keeps the timings of
# section 3 steady when other programs share the machine.
threadpool_limits(1)


def say(text):
    """Show Markdown built from computed values."""
    display(Markdown(text))


def tex_number(x, digits=2):
    """x in TeX, e.g. 4.5 \\times 10^{-5} (for numbers inside $...$)."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def standardise(X_train, X_test):
    """Scale with the *training* mean and std only; constant columns are left at 0."""
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_test - mean) / std


def accuracy(net, X, y):
    """Share of rows whose largest output is the true class."""
    return float(np.mean(net.forward(X)[0].argmax(axis=1) == y))


# %% [markdown]
# ## 0. The data
#
# Most experiments use scikit-learn's **digits**: 8×8 grey images of handwritten
# digits, 64 pixel features, 10 classes: real images, and small enough to run every
# experiment quickly. We split once (stratified, seeded) and standardise with the
# training statistics only, so that nothing about the validation images leaks into
# training.

# %%
digits = load_digits()
X_train, X_val, y_train, y_val = train_test_split(
    digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target
)
X_train, X_val = standardise(X_train, X_val)
n_train, n_features = X_train.shape
n_classes = len(np.unique(y_train))
print(f"training: {X_train.shape}, validation: {X_val.shape}, classes: {n_classes}")
assert X_train.dtype == np.float64 and (n_features, n_classes) == (64, 10)

# %% [markdown]
# ## 1. Initialisation
#
# ### 1.1 All zeros: the symmetry never breaks
#
# Start a 64 → 16 → 10 tanh network with every weight at zero. Then the hidden
# activations are $A_1 = \tanh(X W_1 + b_1) = \tanh(0) = 0$, and backpropagation gives
#
# $$dW_2 = A_1^\top dZ_2 = 0, \qquad dA_1 = dZ_2 W_2^\top = 0 \;\Rightarrow\; dW_1 = 0.$$
#
# Only the output bias $b_2$ ever receives a gradient, so the network can learn the
# class frequencies and nothing else.
#
# A constant that is *not* zero does better than zeros, but does not cure the
# problem. Every hidden unit then computes the same function of the input, so every
# hidden unit receives the same gradient, takes the same step, and stays an exact copy
# of the others: sixteen units do the work of one. One hidden feature is better than
# none, and far worse than sixteen. Random initialisation is there to **break the
# symmetry**.

# %%
def constant_init(value):
    """An initializer (rng, shape, dtype) -> array that fills every weight with value."""

    def init(rng, shape, dtype):
        return np.full(shape, value, dtype=dtype)

    return init


symmetry = {}
for name, init in [
    ("zeros", "zeros"),
    ("constant 0.05", constant_init(0.05)),
    ("glorot", "glorot"),
]:
    net = cr.Sequential(
        cr.Dense(n_features, 16, init=init, rng=1),
        cr.Tanh(),
        cr.Dense(16, n_classes, init=init, rng=2),
    )
    cr.fit(net, cr.CrossEntropy(), X_train, y_train, optimizer=cr.SGD(0.1), epochs=30, rng=0)
    W1 = net.layers[0].params["W"]
    A1 = net.layers[1].forward(net.layers[0].forward(X_train)[0])[0]
    symmetry[name] = {
        "net": net,
        "loss": cr.CrossEntropy()(net.forward(X_train)[0], y_train)[0],
        "W1": W1.copy(),
        "rank": int(np.linalg.matrix_rank(A1)),
        "spread": float(np.ptp(W1, axis=1).max()),  # largest difference between two units
        "val_acc": accuracy(net, X_val, y_val),
    }
    print(
        f"{name:>14}: max |W1| = {np.abs(W1).max():.3f}, rank of A1 = {symmetry[name]['rank']:2d}, "
        f"validation accuracy = {symmetry[name]['val_acc']:.3f}"
    )

zeros, const, glorot = symmetry["zeros"], symmetry["constant 0.05"], symmetry["glorot"]
zero_net = zeros["net"]
assert not zeros["W1"].any() and not zero_net.layers[2].params["W"].any()
assert not zero_net.layers[0].params["b"].any() and zero_net.layers[2].params["b"].any()  # only b2
assert zeros["val_acc"] < 0.2  # chance level for 10 classes is 0.1
assert abs(zeros["loss"] - np.log(n_classes)) < 0.01  # uniform guessing costs ln C
assert const["spread"] < 1e-12 and const["rank"] == 1  # sixteen identical units
assert glorot["rank"] == 16 and glorot["val_acc"] > 0.9
assert zeros["val_acc"] + 0.1 < const["val_acc"] < glorot["val_acc"] - 0.3  # between the two
say(
    f"After 30 epochs the all-zero network's weights are still exactly zero and it "
    f"scores {zeros['val_acc']:.1%} on the validation images, chance level; its training "
    f"loss, {zeros['loss']:.4f}, is that of a uniform guess, $\\ln 10 = {np.log(10):.4f}$. The "
    f"constant start trained, yet its 16 hidden units are still identical (the largest "
    f"difference between two units' weights is {const['spread']:g}; the hidden activations "
    f"have rank {const['rank']}), and it scores "
    f"{const['val_acc']:.1%}: better than zeros, since its one repeated unit still "
    f"carries a feature of the input, and far below the random (Glorot) start, which "
    f"gives 16 different units (rank {glorot['rank']}) and {glorot['val_acc']:.1%}."
)

# %% [markdown]
# Each hidden unit's 64 incoming weights form an 8×8 picture of what it looks for.
# With the constant start all sixteen pictures are the same; with a random start
# each unit has learned its own feature.

# %%
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for row, name in enumerate(["constant 0.05", "glorot"]):
    W1 = symmetry[name]["W1"]
    for j, ax in enumerate(axes[row]):
        ax.imshow(W1[:, j].reshape(8, 8), cmap="RdBu")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(name, fontsize=9)
fig.suptitle("incoming weights of the first 8 hidden units, after training")
plt.show()

# %% [markdown]
# ### 1.2 Too large, and Glorot versus He
#
# Now a deep network: 8 hidden layers of 64 units, one forward and one backward pass
# on 500 training images, and two questions per layer: how large are the
# activations (their root mean square), and how large is the gradient $dW$?
#
# Why the scale of $W$ matters: a unit sums $n_{\text{in}}$ products, so with
# independent inputs
#
# $$\operatorname{Var}(z) = n_{\text{in}} \operatorname{Var}(W)\, \mathbb{E}[a^2].$$
#
# * **tanh** is close to the identity near 0, so $\mathbb{E}[a^2] \approx
#   \operatorname{Var}(z)$, and the next layer's $\operatorname{Var}(z)$ equals this
#   one's when $\operatorname{Var}(W) = 1/n_{\text{in}}$. Glorot's
#   $\operatorname{Var}(W) = 2/(n_{\text{in}} + n_{\text{out}})$ is exactly that here
#   (all layers are 64 wide), and it balances the backward pass as well.
# * **ReLU** zeroes the negative half, so $\mathbb{E}[a^2] = \operatorname{Var}(z)/2$:
#   it takes $\operatorname{Var}(W) = 2/n_{\text{in}}$ (He) to keep the size. With
#   Glorot the mean square halves at every layer: the activations shrink by
#   $1/\sqrt{2} \approx 0.71$ per layer.
# * **Too large** weights, here a standard deviation of 1 (8 times Glorot's 0.125):
#   tanh units are pushed into their flat tails (saturation), and ReLU activations
#   grow by about $\sqrt{64/2} \approx 5.7$ per layer (explosion).

# %%
def deep_net(activation, init, *, depth=8, width=64, seed=0):
    """depth hidden layers of `width` units with the same init, then a Glorot output layer."""
    rng = np.random.default_rng(seed)
    layers, n_in = [], n_features
    for _ in range(depth):
        layers += [cr.Dense(n_in, width, init=init, rng=rng), activation()]
        n_in = width
    layers.append(cr.Dense(n_in, n_classes, init="glorot", rng=rng))
    return cr.Sequential(*layers)


def layer_statistics(net, X, y):
    """One forward and backward pass; per hidden layer: RMS of the activation, share of
    saturated tanh units (|a| > 0.99); per Dense layer: the norm of dW."""
    A, backwards, rms, saturated = X, [], [], []
    for layer in net.layers:
        A, backward = layer.forward(A, training=True)
        backwards.append(backward)
        if not isinstance(layer, cr.Dense):
            rms.append(float(np.sqrt(np.mean(A**2))))
            saturated.append(float(np.mean(np.abs(A) > 0.99)))
    _, dY = cr.CrossEntropy()(A, y)
    net.zero_grad()
    for backward in reversed(backwards):
        dY = backward(dY)
    grad_norms = [
        float(np.linalg.norm(l.grads["W"])) for l in net.layers if isinstance(l, cr.Dense)
    ]
    return np.array(rms), np.array(saturated), np.array(grad_norms)


too_large = functools.partial(cr.initializers.normal, std=1.0)
init_stats = {}
for act_name, activation in [("tanh", cr.Tanh), ("relu", cr.ReLU)]:
    for init_name, init in [("glorot", "glorot_normal"), ("he", "he_normal"), ("std 1", too_large)]:
        net = deep_net(activation, init)
        init_stats[act_name, init_name] = layer_statistics(net, X_train[:500], y_train[:500])

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
styles = {"glorot": "o-", "he": "s--", "std 1": "^:"}
for (act_name, init_name), (rms, _, grad_norms) in init_stats.items():
    color = "tab:blue" if act_name == "tanh" else "tab:red"
    label = f"{act_name}, {init_name}"
    axes[0].plot(range(1, 9), rms, styles[init_name], color=color, label=label)
    axes[1].plot(range(1, 10), grad_norms, styles[init_name], color=color, label=label)
axes[0].set(yscale="log", xlabel="hidden layer", ylabel="RMS of activations", title="forward")
axes[1].set(yscale="log", xlabel="Dense layer", ylabel="norm of dW", title="backward")
axes[1].legend(fontsize=8, ncol=2)
plt.tight_layout()
plt.show()

# %%
def per_layer_factor(values):
    """Geometric mean of values[l + 1] / values[l]: the growth per layer."""
    return float((values[-1] / values[0]) ** (1 / (len(values) - 1)))


relu_glorot = per_layer_factor(init_stats["relu", "glorot"][0])
relu_he = per_layer_factor(init_stats["relu", "he"][0])
relu_big = per_layer_factor(init_stats["relu", "std 1"][0])
tanh_big_saturated = init_stats["tanh", "std 1"][1].min()
tanh_glorot_saturated = init_stats["tanh", "glorot"][1].max()
tanh_big_grads = init_stats["tanh", "std 1"][2][:-1]  # the hidden layers' dW
tanh_glorot_grads = init_stats["tanh", "glorot"][2][:-1]
tanh_big_blowup = tanh_big_grads[0] / tanh_big_grads[-1]
tanh_glorot_spread = tanh_glorot_grads.max() / tanh_glorot_grads.min()
tanh_he_saturated = init_stats["tanh", "he"][1].max()
tanh_he_grads = init_stats["tanh", "he"][2][:-1]
tanh_he_spread = tanh_he_grads.max() / tanh_he_grads.min()

assert 0.6 < relu_glorot < 0.8  # theory: 1/sqrt(2) = 0.707 per layer
assert 0.9 < relu_he < 1.1  # theory: 1
assert 4 < relu_big < 8  # theory: sqrt(64 / 2) = 5.66
assert tanh_big_saturated > 0.5 and tanh_glorot_saturated < 0.05
assert tanh_big_blowup > 10 and tanh_glorot_spread < 1.5
assert tanh_glorot_saturated < tanh_he_saturated < 0.1 and tanh_he_spread < 1.5
say(
    f"**What you should see.** ReLU with Glorot: the activations shrink by a factor "
    f"{relu_glorot:.2f} per layer (theory $1/\\sqrt{{2}} \\approx 0.71$); with He they "
    f"keep their size ({relu_he:.2f} per layer); with standard deviation 1 they grow "
    f"{relu_big:.1f}-fold per layer (theory 5.7). tanh with Glorot: at most "
    f"{tanh_glorot_saturated:.1%} of units saturated in any layer, and the hidden layers' "
    f"gradient norms within a factor {tanh_glorot_spread:.2f} of each other. tanh with "
    f"standard deviation 1: at least {tanh_big_saturated:.0%} of the units of every "
    f"layer saturated, and the first layer's gradient {tanh_big_blowup:.0f} times the "
    f"last hidden layer's: large weights make the gradient grow on its way back "
    f"(section 6 trains such a network). tanh with He: up to {tanh_he_saturated:.1%} "
    f"saturated, more than Glorot but few, and gradient norms within a factor "
    f"{tanh_he_spread:.2f}: at this depth He's doubled variance also works for tanh."
)

# %% [markdown]
# **Why it matters.** A signal that shrinks by $1/\sqrt{2}$ per layer is
# $\sqrt{2}^{\,8} = 16$ times smaller after eight layers, and one that grows by
# $\sqrt{32}$ per layer is $\sqrt{32}^{\,8} = 32^4 \approx 10^6$ times larger. The
# rule: **Glorot for tanh, He for ReLU**, both derived so that
# $\operatorname{Var}(z)$ stays the same from layer to layer.
#
# **And the sigmoid?** Glorot is the usual choice for it too, but the derivation does
# not carry over: near 0 the sigmoid is $\frac12 + \frac{z}{4}$, not $z$, so its
# outputs have a mean near $\frac12$ and $\mathbb{E}[a^2] \approx \frac14$ whatever
# $\operatorname{Var}(z)$. With Glorot's $n_{\text{in}} \operatorname{Var}(W) = 1$ the
# next layer's $\operatorname{Var}(z)$ is then about $\frac14$, not the 1 the first
# layer received. The same eight layers, with sigmoids:

# %%
sigmoid_net = deep_net(cr.Sigmoid, "glorot_normal")
A, var_z, mean_a2 = X_train[:500], [], []
for layer in sigmoid_net.layers[:-1]:
    A = layer.forward(A)[0]
    if isinstance(layer, cr.Dense):
        var_z.append(float(A.var()))
    else:
        mean_a2.append(float(np.mean(A**2)))
var_z, mean_a2 = np.array(var_z), np.array(mean_a2)
assert 0.8 < var_z[0] < 1.2 and np.all((var_z[1:] > 0.15) & (var_z[1:] < 0.4))
assert np.all((mean_a2 > 0.24) & (mean_a2 < 0.32))
say(
    f"Sigmoid with Glorot: $\\mathbb{{E}}[a^2]$ per layer is "
    f"{', '.join(f'{m:.2f}' for m in mean_a2)}; $\\operatorname{{Var}}(z)$ is "
    f"{var_z[0]:.2f} in the first layer (standardised inputs) and between "
    f"{var_z[1:].min():.2f} and {var_z[1:].max():.2f} in the seven after it. The forward "
    f"pass is stable, but not variance-preserving: the variance drops about fourfold "
    f"once and then stays, and what varies from image to image is a small ripple on a "
    f"mean of $\\frac12$."
)

# %% [markdown]
# ## 2. The learning rate, from too small to divergence
#
# Gradient descent steps $W \leftarrow W - \eta\, \nabla L$. Near a minimum the loss
# is roughly a quadratic bowl, and along a direction of curvature $\lambda$ one step
# multiplies the distance to the minimum by $(1 - \eta\lambda)$. So:
#
# * $\eta\lambda \ll 1$: every step removes a tiny fraction: **too slow**;
# * $\eta\lambda$ near 1: fast;
# * $1 < \eta\lambda < 2$: the step overshoots and **oscillates**, but shrinks;
# * $\eta\lambda > 2$: every overshoot is larger than the last: **divergence**.
#
# The edge is sharp, and the fastest rate sits just below it. We sweep the rate for
# a small regression network on the **diabetes** data (442 patients, 10 measurements,
# standardised target), with full-batch gradient descent for 100 epochs.

# %%
X_dia, y_dia = load_diabetes(return_X_y=True)
assert X_dia.shape == (442, 10)
X_dia = (X_dia - X_dia.mean(axis=0)) / X_dia.std(axis=0)
y_dia = (y_dia - y_dia.mean()) / y_dia.std()


def diabetes_net():
    return cr.Sequential(cr.Dense(10, 32, rng=0), cr.Tanh(), cr.Dense(32, 1, rng=1))


def fit_diabetes(lr, epochs=100):
    """Loss per epoch, and the TrainingDivergedError if the loss became inf or NaN."""
    try:
        history = cr.fit(
            diabetes_net(),
            cr.MeanSquaredError(),
            X_dia,
            y_dia,
            optimizer=cr.SGD(lr),
            epochs=epochs,
            batch_size=None,
        )
        return np.array(history.loss), None
    except cr.TrainingDivergedError as error:
        return np.array(error.history.loss), error


initial_mse = cr.MeanSquaredError()(diabetes_net().forward(X_dia)[0], y_dia)[0]
rates = [0.001, 0.01, 0.1, 0.25, 0.3, 2.0]
sweep = {lr: fit_diabetes(lr) for lr in rates}

fig, ax = plt.subplots(figsize=(7, 4))
for lr, (losses, error) in sweep.items():
    label = f"lr = {lr:g}" + (f" (diverged in epoch {error.epoch})" if error else "")
    # values past 1e15 (up to 1e300) are drawn at the top edge, to keep the axis readable
    ax.plot(range(1, len(losses) + 1), np.minimum(losses, 1e15), label=label)
ax.axhline(initial_mse, color="grey", lw=0.8, ls="--", label="initial loss")
ax.set_ylim(0.3, 1e15)
ax.set(yscale="log", xlabel="epoch", ylabel="training MSE")
ax.legend(fontsize=8)
plt.show()

# %%
finals = {lr: losses[-1] for lr, (losses, error) in sweep.items() if error is None}
stable = [lr for lr in rates if lr in finals and finals[lr] < initial_mse]
assert stable == [0.001, 0.01, 0.1, 0.25]
assert all(finals[a] > finals[b] for a, b in itertools.pairwise(stable))  # faster, up to the edge
assert finals[0.3] > 1e6 * initial_mse  # blew up, still finite after 100 epochs
_, diverged = sweep[2.0]
assert isinstance(diverged, cr.TrainingDivergedError)
print(diverged)
say(
    f"Up to lr = 0.25 a larger rate means a lower loss after 100 epochs "
    f"({finals[0.001]:.3f} at 0.001, {finals[0.25]:.3f} at 0.25). At lr = 0.3 the loss "
    f"ends at ${tex_number(finals[0.3])}$ (it started at {initial_mse:.2f}). "
    f"At lr = 2 it overflows in epoch {diverged.epoch}, and `cr.fit` raises "
    f"`TrainingDivergedError` and rolls the weights back to the last finite epoch."
)

# %% [markdown]
# How sharp is the edge? Bisect between the last rate that converged and the first
# that blew up.

# %%
good, bad = 0.25, 0.3
for _ in range(6):
    middle = (good + bad) / 2
    losses, error = fit_diabetes(middle)
    if error is None and losses[-1] < initial_mse:
        good = middle
    else:
        bad = middle
edge_loss = fit_diabetes(good)[0][-1]
best_swept = min(finals[lr] for lr in stable)
assert good < bad < 1.01 * good
assert edge_loss < 1.05 * best_swept
say(
    f"Converges at lr = {good:.4f}, blows up at lr = {bad:.4f}: a difference of "
    f"{100 * (bad - good) / good:.1f}%. Right at the edge the final loss is "
    f"{edge_loss:.3f}, within {100 * abs(edge_loss / best_swept - 1):.0f}% of the best in "
    f"the sweep ({best_swept:.3f}). **Lesson**: the fastest learning rates live next to "
    f"a cliff; in practice sweep the rate on a log scale (0.001, 0.01, 0.1, ...) and "
    f"back off from the first one that diverges."
)

# %% [markdown]
# ### The learning-rate finder
#
# The sweep above cost a hundred epochs per rate. Leslie Smith's *range test* asks
# for one short run instead: start with a tiny rate, multiply it by a constant after
# every step, record the loss, and stop when it explodes. `cr.lr_find` does this on
# copies of the network and optimizer (the network passed in is not touched) and
# suggests the rate where the smoothed loss falls fastest. Here with the sweep's own
# setting, full-batch SGD, 100 steps from $10^{-4}$ to 10:

# %%
probe = diabetes_net()
weights_before = [param.copy() for _, _, param, _ in probe.parameters()]
found = cr.lr_find(probe, cr.MeanSquaredError(), X_dia, y_dia, optimizer=cr.SGD(0.1),
                   batch_size=len(X_dia), start=1e-4, end=10.0, steps=100, rng=0)  # fmt: skip
assert all(
    np.array_equal(before, param)
    for before, (_, _, param, _) in zip(weights_before, probe.parameters(), strict=True)
)
fig = found.plot()
plt.show()

best_rate = min(stable, key=lambda lr: finals[lr])
at_suggestion = fit_diabetes(found.suggestion)[0][-1]
lowest_rate = float(found.rates[np.argmin(found.smoothed)])
finder_steps, sweep_steps = len(found.rates), 100 * len(rates)
assert best_rate == 0.25 and found.suggestion < best_rate < bad < lowest_rate
assert finals[0.001] > at_suggestion > finals[best_rate]
assert finder_steps < sweep_steps / 5
say(
    f"`lr_find` suggests lr = {found.suggestion:.4f} after {finder_steps} full-batch "
    f"steps (the sweep took {sweep_steps}, before the bisection). The sweep's best rate "
    f"is {best_rate:g}, {best_rate / found.suggestion:.0f} times larger: 100 epochs at the "
    f"suggestion end at a loss of {at_suggestion:.3f}, against {finals[best_rate]:.3f} at "
    f"{best_rate:g}. The suggestion is safe but slow here; the curve's lowest point, at "
    f"lr = {lowest_rate:.2f}, lies beyond the edge the bisection found "
    f"({bad:.3f}): a rate that lowers the loss for a few steps of a rising schedule can "
    f"still diverge over a hundred. Read the finder as an order of magnitude to start "
    f"from, then sweep around it."
)

# %% [markdown]
# ## 3. Full-batch, mini-batch and stochastic gradient descent, by hand
#
# The loss is a mean over the $n$ training samples, so its gradient is a mean of
# per-sample gradients $g_i$. A batch $B$ of $|B|$ samples estimates it:
#
# $$g_B = \frac{1}{|B|} \sum_{i \in B} g_i, \qquad
# \mathbb{E}\,\lVert g_B - g \rVert^2 = \frac{n - |B|}{|B|\,(n - 1)}\, \sigma^2,
# \qquad \sigma^2 = \frac{1}{n} \sum_{i=1}^{n} \lVert g_i - g \rVert^2 .$$
#
# (The formula is for batches drawn without replacement.) A smaller batch is a
# noisier estimate, but a much cheaper one, so one epoch (one pass over the data)
# makes many more steps. The loop below is the whole algorithm, the same for the three
# runs: the batch size is $n$ (full batch), 32 (mini-batch) or 1 (stochastic gradient
# descent). Two other settings change with it, so the runs are not a controlled
# comparison of the batch size alone: the learning rate (0.5, 0.1, 0.01), because a
# noisier gradient needs a smaller step (one sample's gradient at full batch's 0.5
# would throw the weights about), and the number of epochs (20, 5, 2), to keep the
# slow runs short. The comparison that is fair is per epoch: the same data seen once.

# %%
loss_ce = cr.CrossEntropy()


def small_net():
    return cr.Sequential(cr.Dense(n_features, 32, rng=1), cr.Tanh(), cr.Dense(32, n_classes, rng=2))


def train_by_hand(batch_size, lr, epochs, seed=0):
    """Gradient descent in batches; returns the full training loss after each epoch,
    the loss of every batch, and the (training-only) seconds each epoch took."""
    net, rng = small_net(), np.random.default_rng(seed)
    epoch_losses = [loss_ce(net.forward(X_train)[0], y_train)[0]]
    batch_losses, seconds = [], []
    for _ in range(epochs):
        order = rng.permutation(n_train)  # a new order every epoch
        start_time = time.perf_counter()
        for start in range(0, n_train, batch_size):
            batch = order[start : start + batch_size]
            Y, backward = net.forward(X_train[batch], training=True)
            value, dY = loss_ce(Y, y_train[batch])
            net.zero_grad()
            backward(dY)
            for _, _, param, grad in net.parameters():
                param -= lr * grad
            batch_losses.append(value)
        seconds.append(time.perf_counter() - start_time)
        epoch_losses.append(loss_ce(net.forward(X_train)[0], y_train)[0])
    return np.array(epoch_losses), np.array(batch_losses), np.array(seconds)


runs = {
    "full batch": train_by_hand(n_train, lr=0.5, epochs=20),
    "mini-batch (32)": train_by_hand(32, lr=0.1, epochs=5),
    "stochastic (1)": train_by_hand(1, lr=0.01, epochs=2),
}

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
colors = {"full batch": "tab:blue", "mini-batch (32)": "tab:orange", "stochastic (1)": "tab:green"}
for name, (epoch_losses, _, seconds) in runs.items():
    axes[0].plot(range(len(epoch_losses)), epoch_losses, "o-", ms=3, color=colors[name], label=name)
    axes[1].plot(np.cumsum(seconds), epoch_losses[1:], "o-", ms=3, color=colors[name], label=name)
for name, batch_size, width in [("stochastic (1)", 1, 0.4), ("mini-batch (32)", 32, 1.2)]:
    batch_losses, steps = runs[name][1], -(-n_train // batch_size)  # steps in one epoch
    axes[2].plot(
        np.arange(1, steps + 1) / steps,
        batch_losses[:steps],
        lw=width,
        color=colors[name],
        label=name,
    )
axes[0].set(xlabel="epoch", ylabel="training loss (all samples)", yscale="log")
axes[1].set(
    xlabel="seconds of training (log scale)",
    xscale="log",
    yscale="log",
    title="the same, against time",
)
axes[2].set(xlabel="fraction of the first epoch", ylabel="loss of each batch", yscale="log")
axes[0].legend(fontsize=8)
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %%
epoch_time = {name: seconds.min() for name, (_, _, seconds) in runs.items()}  # min: least disturbed
after_one = {name: epoch_losses[1] for name, (epoch_losses, _, _) in runs.items()}
full_curve = runs["full batch"][0]
names = list(runs)
assert epoch_time[names[0]] < epoch_time[names[1]] < epoch_time[names[2]]
assert after_one[names[2]] < after_one[names[1]] < after_one[names[0]]
assert np.all(np.diff(full_curve) < 0)  # full batch, small enough rate: every step goes down
mini_batch_ups = np.mean(np.diff(runs[names[1]][1]) > 0)
step_full, step_one = epoch_time[names[0]], epoch_time[names[2]] / n_train  # seconds per step
assert step_full < 100 * step_one  # n_train = 1347 times the samples, far less than that the time
say(
    f"One epoch takes {1e3 * epoch_time[names[0]]:.1f} ms in one full batch, "
    f"{1e3 * epoch_time[names[1]]:.0f} ms in batches of 32 and "
    f"{1e3 * epoch_time[names[2]]:.0f} ms one sample at a time: a step on one sample costs "
    f"{1e3 * step_one:.2f} ms, a step on all {n_train} only {step_full / step_one:.0f} times "
    f"that, because the fixed cost of a step (Python, the calls, the loop) dominates small "
    f"batches. After one epoch the training loss is "
    f"{after_one[names[0]]:.2f}, {after_one[names[1]]:.2f} and {after_one[names[2]]:.2f}: "
    f"more steps per epoch, more progress per epoch. The full-batch loss falls at every "
    f"step; the loss of consecutive mini-batches goes *up* in {mini_batch_ups:.0%} of the "
    f"steps, because each batch is a different sample of the data."
)

# %% [markdown]
# The noise itself can be measured. Since the loss is a mean, the gradient of a batch
# is the mean of the per-sample gradients, so we compute all $n$ per-sample gradients
# once, at the initial weights, and then draw batches of each size.

# %%
def flat_gradient(net):
    return np.concatenate([grad.ravel() for _, _, _, grad in net.parameters()])


noise_net = small_net()
per_sample = np.empty((n_train, sum(p.size for _, _, p, _ in noise_net.parameters())))
for i in range(n_train):
    Y, backward = noise_net.forward(X_train[i : i + 1], training=True)
    noise_net.zero_grad()
    backward(loss_ce(Y, y_train[i : i + 1])[1])
    per_sample[i] = flat_gradient(noise_net)
g_full = per_sample.mean(axis=0)
sigma2 = np.mean(np.sum((per_sample - g_full) ** 2, axis=1))

noise_rng = np.random.default_rng(0)
batch_sizes = [1, 4, 16, 64, 256]
measured, predicted = [], []
for size in batch_sizes:
    draws = [noise_rng.choice(n_train, size, replace=False) for _ in range(200)]
    errors = [np.sum((per_sample[b].mean(axis=0) - g_full) ** 2) for b in draws]
    measured.append(np.sqrt(np.mean(errors)) / np.linalg.norm(g_full))
    predicted.append(
        np.sqrt((n_train - size) / (size * (n_train - 1)) * sigma2) / np.linalg.norm(g_full)
    )
measured, predicted = np.array(measured), np.array(predicted)

fig, ax = plt.subplots(figsize=(6, 3.6))
ax.loglog(batch_sizes, measured, "o", label="measured (200 batches each)")
ax.loglog(batch_sizes, predicted, "-", label="formula")
ax.set(xlabel="batch size", ylabel="RMS of (g_B - g) / |g|")
ax.legend()
plt.show()

assert np.all(np.abs(measured / predicted - 1) < 0.15)
assert np.all(np.diff(measured) < 0)
say(
    f"A single sample's gradient is off by {measured[0]:.1f} times the length of the true "
    f"gradient (RMS); a batch of 32 lies between {measured[2]:.2f} (16) and "
    f"{measured[3]:.2f} (64); the measured noise matches the formula within "
    f"{100 * np.max(np.abs(measured / predicted - 1)):.0f}% for every size (and the full "
    f"batch, $|B| = n$, has no noise at all). "
    f"The noise falls like $1/\\sqrt{{|B|}}$, the cost rises like $|B|$: that trade is "
    f"why mini-batches of tens to hundreds are the default."
)

# %% [markdown]
# ## 4. Sigmoid with squared error versus cross-entropy
#
# For one sample with logit $z$, prediction $p = \sigma(z)$ and target $t \in \{0, 1\}$:
#
# $$L_{\text{MSE}} = (p - t)^2 \;\Rightarrow\; \frac{\partial L}{\partial z}
# = 2 (p - t)\, \sigma'(z) = 2 (p - t)\, p (1 - p),$$
#
# $$L_{\text{CE}} = -\left[t \ln p + (1 - t) \ln (1 - p)\right] \;\Rightarrow\;
# \frac{\partial L}{\partial z} = p - t.$$
#
# The factor $\sigma'(z) = p(1-p)$ goes to zero whenever the sigmoid saturates, and
# that includes the case where the prediction is **confidently wrong** ($t = 1$,
# $z \ll 0$): squared error then gives almost no gradient at the moment the model most
# needs one. Cross-entropy's $\ln$ cancels the $\sigma'$ exactly, leaving $p - t$.
# Below, chainrule's own backward passes compute both, for $t = 1$.

# %%
z = np.linspace(-10, 10, 201).reshape(-1, 1)
t_one = np.ones_like(z)
n_z = len(z)
sigmoid = cr.Sigmoid()
P, sigmoid_backward = sigmoid.forward(z, training=True)
_, dP = cr.MeanSquaredError()(P, t_one)
dz_mse = sigmoid_backward(dP) * n_z  # losses return the gradient of the mean: undo 1/n
_, dz_ce = cr.BinaryCrossEntropy()(z, t_one)
dz_ce = dz_ce * n_z

assert np.allclose(dz_mse, 2 * (P - 1) * P * (1 - P)) and np.allclose(dz_ce, P - 1)
fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.semilogy(z, np.abs(dz_mse), label="sigmoid + squared error")
ax.semilogy(z, np.abs(dz_ce), label="cross-entropy (from logits)")
ax.set(xlabel="logit z (target t = 1: left is confidently wrong)", ylabel="|dL/dz|")
ax.legend()
plt.show()

at_minus_10 = (abs(dz_mse[0, 0]), abs(dz_ce[0, 0]))
assert at_minus_10[1] / at_minus_10[0] > 1e3
say(
    f"At $z = -10$ (the model says $p = {tex_number(P[0, 0])}$ for a true 1) squared "
    f"error's gradient is ${tex_number(at_minus_10[0])}$, cross-entropy's "
    f"{at_minus_10[1]:.3f}: {at_minus_10[1] / at_minus_10[0]:,.0f} times larger."
)

# %% [markdown]
# Does it matter in training? On the **breast cancer** data (569 tumours, 30
# measurements, benign or malignant) we first fit a logistic regression, then start
# two models from its weights *negated*, so that they are confidently wrong about
# almost every training sample. One keeps the sigmoid and learns with squared error,
# the other learns with cross-entropy; same learning rate, same steps.

# %%
X_bc, y_bc = load_breast_cancer(return_X_y=True)
assert X_bc.shape == (569, 30)
X_bc_train, X_bc_test, y_bc_train, y_bc_test = train_test_split(
    X_bc, y_bc, test_size=0.25, random_state=0, stratify=y_bc
)
X_bc_train, X_bc_test = standardise(X_bc_train, X_bc_test)
logistic = cr.Sequential(cr.Dense(30, 1, rng=0))
cr.fit(
    logistic,
    cr.BinaryCrossEntropy(),
    X_bc_train,
    y_bc_train,
    optimizer=cr.SGD(0.5),
    epochs=200,
    batch_size=None,
)


def confidently_wrong():
    dense = cr.Dense(30, 1, rng=0)
    dense.params["W"][...] = -logistic.layers[0].params["W"]
    dense.params["b"][...] = -logistic.layers[0].params["b"]
    return dense


def train_binary(net, loss, threshold, steps=200, lr=0.5):
    """Full-batch gradient descent; per step: the norm of dW, the training accuracy after."""
    grad_norms, accuracies = [], []
    for _ in range(steps):
        Y, backward = net.forward(X_bc_train, training=True)
        net.zero_grad()
        backward(loss(Y, y_bc_train)[1])
        grad_norms.append(np.linalg.norm(net.layers[0].grads["W"]))
        for _, _, param, grad in net.parameters():
            param -= lr * grad
        accuracies.append(np.mean((net.forward(X_bc_train)[0][:, 0] > threshold) == y_bc_train))
    return np.array(grad_norms), np.array(accuracies)


mse_net = cr.Sequential(confidently_wrong(), cr.Sigmoid())
ce_net = cr.Sequential(confidently_wrong())  # logits; the loss applies the sigmoid
start_z = ce_net.forward(X_bc_train)[0][:, 0]
start_accuracy = np.mean((start_z > 0) == y_bc_train)
grad_mse, acc_mse = train_binary(mse_net, cr.MeanSquaredError(), threshold=0.5)
grad_ce, acc_ce = train_binary(ce_net, cr.BinaryCrossEntropy(), threshold=0.0)

fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.plot(range(1, len(acc_mse) + 1), acc_mse, label="sigmoid + squared error")
ax.plot(range(1, len(acc_ce) + 1), acc_ce, label="cross-entropy")
ax.set(xlabel="gradient step", ylabel="training accuracy")
ax.legend()
plt.show()

steps_to_90 = {
    name: int(np.argmax(acc >= 0.9)) + 1 for name, acc in [("mse", acc_mse), ("ce", acc_ce)]
}
assert start_accuracy < 0.05 and np.median(np.abs(start_z)) > 3
assert acc_ce.max() >= 0.9 and acc_mse.max() >= 0.9  # both get there eventually...
assert steps_to_90["mse"] > 5 * steps_to_90["ce"]  # ...but at very different speeds
mse_growth = grad_mse.max() / grad_mse[0]
assert grad_ce[0] > 10 * grad_mse[0] and mse_growth > 5 and grad_mse.argmax() > steps_to_90["ce"]
say(
    f"At the start {start_accuracy:.1%} of the training tumours are classified right, "
    f"with a median $|z|$ of {np.median(np.abs(start_z)):.1f}. Cross-entropy reaches 90% "
    f"training accuracy after {steps_to_90['ce']} steps, squared error after "
    f"{steps_to_90['mse']}. At the first step squared error's gradient $dW$ has norm "
    f"{grad_mse[0]:.3f} against cross-entropy's {grad_ce[0]:.3f}; it crawls until the least "
    f"confident samples cross over, and only then does its gradient grow (to "
    f"{mse_growth:.0f} times its first value, at step {grad_mse.argmax() + 1})."
)

# %% [markdown]
# chainrule's `fit` warns about this pairing before it trains, with the reason:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    cr.sanity.check_pairing(mse_net, cr.MeanSquaredError())
assert len(caught) == 1 and caught[0].category.__name__ == "PairingWarning"
print(caught[0].message)

# %% [markdown]
# ## 5. Dead ReLUs, and the leaky ReLU
#
# A ReLU unit whose pre-activation $z = x^\top w + b$ is negative for **every**
# training sample outputs 0 for every sample, and since $\operatorname{ReLU}'(z) = 0$
# for $z < 0$ its incoming weights receive exactly zero gradient. Gradient descent
# cannot bring it back: the unit is *dead*. A too-large step, one that moves $w$ and
# $b$ to where no training input lifts $z$ above zero, is a usual culprit. The leaky
# ReLU, $\max(\alpha z, z)$ with a small $\alpha$ (0.01 here), has slope $\alpha$
# instead of 0 on the left, so a silent unit still receives a gradient and can
# recover.
#
# The experiment: three hidden layers of 64 ReLU units, He initialisation, Adam for
# 10 epochs at a sensible rate (0.001) and at a too-large one (0.05). Then the
# networks trained too fast get a "rescue": 10 more epochs of plain SGD at a safe
# rate. The same again with leaky ReLUs.

# %%
def relu_net(activation, seed=3):
    rng = np.random.default_rng(seed)
    return cr.Sequential(
        cr.Dense(64, 64, init="he", rng=rng),
        activation(),
        cr.Dense(64, 64, init="he", rng=rng),
        activation(),
        cr.Dense(64, 64, init="he", rng=rng),
        activation(),
        cr.Dense(64, n_classes, rng=rng),
    )


def silent_units(net, X):
    """Per hidden layer: how many units have z <= 0 for every row of X."""
    counts, A = [], X
    for layer in net.layers[:-1]:
        A = layer.forward(A)[0]
        if isinstance(layer, cr.Dense):
            counts.append(int(np.sum(A.max(axis=0) <= 0)))
    return counts


def incoming_gradient_of_silent_units(net, X, y):
    """Largest |dW| entry feeding a silent unit, from a full-batch backward pass."""
    silent = []
    A = X
    for layer in net.layers[:-1]:
        A = layer.forward(A)[0]
        if isinstance(layer, cr.Dense):
            silent.append((layer, A.max(axis=0) <= 0))
    Y, backward = net.forward(X, training=True)
    net.zero_grad()
    backward(loss_ce(Y, y)[1])
    return max(float(np.abs(layer.grads["W"][:, mask]).max(initial=0)) for layer, mask in silent)


dead = {}
for act_name, activation in [("relu", cr.ReLU), ("leaky", lambda: cr.LeakyReLU(0.01))]:
    for lr in (0.001, 0.05):
        net = relu_net(activation)
        cr.fit(net, loss_ce, X_train, y_train, optimizer=cr.Adam(lr), epochs=10, rng=0)
        entry = {"silent": silent_units(net, X_train), "acc": accuracy(net, X_val, y_val)}
        if lr == 0.05:
            entry["grad"] = incoming_gradient_of_silent_units(net, X_train, y_train)
            cr.fit(net, loss_ce, X_train, y_train, optimizer=cr.SGD(0.05), epochs=10, rng=1)
            entry["silent_after"] = silent_units(net, X_train)
            entry["acc_after"] = accuracy(net, X_val, y_val)
        dead[act_name, lr] = entry
        print(act_name, lr, entry)

# %%
fig, ax = plt.subplots(figsize=(7, 3.6))
labels = [
    "ReLU, lr 0.001",
    "ReLU, lr 0.05",
    "ReLU, after rescue",
    "leaky, lr 0.05",
    "leaky, after rescue",
]
bars = [
    dead["relu", 0.001]["silent"],
    dead["relu", 0.05]["silent"],
    dead["relu", 0.05]["silent_after"],
    dead["leaky", 0.05]["silent"],
    dead["leaky", 0.05]["silent_after"],
]
for layer in range(3):
    ax.bar(
        np.arange(5) + 0.25 * (layer - 1),
        [b[layer] for b in bars],
        width=0.25,
        label=f"hidden layer {layer + 1}",
    )
ax.set_xticks(range(5), labels, fontsize=8)
ax.set(ylabel="units silent on all training images (of 64)")
ax.legend(fontsize=8)
plt.show()

relu_bad, leaky_bad = dead["relu", 0.05], dead["leaky", 0.05]
assert sum(dead["relu", 0.001]["silent"]) <= 0.05 * 3 * 64  # a sensible rate: (almost) none
assert sum(relu_bad["silent"]) >= 0.25 * 3 * 64  # too large: a quarter or more die
assert relu_bad["grad"] == 0.0 and leaky_bad["grad"] > 0.0
assert sum(relu_bad["silent_after"]) >= 0.95 * sum(relu_bad["silent"])  # they stay dead
assert leaky_bad["acc_after"] > relu_bad["acc_after"] + 0.05
say(
    f"Silent hidden ReLUs (of 192): {sum(dead['relu', 0.001]['silent'])} after training "
    f"at lr = 0.001, {sum(relu_bad['silent'])} at lr = 0.05 (per layer: "
    f"{relu_bad['silent']}). Their incoming gradient is exactly "
    f"{relu_bad['grad']:g}, and after the rescue {sum(relu_bad['silent_after'])} are "
    f"dead; the network ends at {relu_bad['acc_after']:.1%} validation accuracy. "
    f"The leaky network also has silent units ({sum(leaky_bad['silent'])}), but they "
    f"still receive gradient (up to {leaky_bad['grad']:.1e}), and after the same rescue "
    f"it reaches {leaky_bad['acc_after']:.1%}."
)

# %% [markdown]
# **Lesson.** Dead ReLUs are a symptom of too-large steps (or of a bad initialisation
# of the biases); count them by looking for units that never fire on the training
# set. Lower the learning rate, or use a leaky ReLU (or ELU), whose left side keeps a
# small slope so that a silent unit still receives a gradient.

# %% [markdown]
# ## 6. Exploding gradients in a deep tanh network, and gradient clipping
#
# Backpropagation through one tanh layer computes
# $dA_{l-1} = \left(dA_l \odot \tanh'(Z_l)\right) W_l^\top$. The factor $\tanh' \le 1$
# can only shrink the signal, but $W_l^\top$ can grow it. With weights a bit too large
# (here a standard deviation of $3/\sqrt{64}$, 3 times Glorot's) the growth wins,
# and the gradient is larger at every layer on its way back to the input.

# %%
exploding_init = functools.partial(cr.initializers.normal, std=3 / np.sqrt(64))
_, _, explode_norms = layer_statistics(
    deep_net(cr.Tanh, exploding_init), X_train[:500], y_train[:500]
)
growth = per_layer_factor(explode_norms[:-1][::-1])  # from the last hidden layer back to the first
assert np.all(np.diff(explode_norms[:-1]) < 0)  # larger at every layer toward the input
assert growth > 1.15 and explode_norms[0] > 3 * explode_norms[-2]
say(
    f"The norm of $dW$ from the last hidden layer back to the first: "
    f"{', '.join(f'{g:.2f}' for g in explode_norms[:-1][::-1])}, a factor {growth:.2f} "
    f"per layer: the first layer's gradient is {explode_norms[0] / explode_norms[-2]:.0f} "
    f"times the last hidden layer's."
)

# %% [markdown]
# Gradients that large make a step with a reasonable learning rate a leap: one bad
# batch can throw the weights into saturation, from which the network does not come
# back. **Gradient clipping** bounds the step: if the norm of all gradients together
# exceeds a threshold $c$, scale them all down to norm $c$,
#
# $$g \leftarrow g \cdot \min\left(1, \frac{c}{\lVert g \rVert + 10^{-6}}\right),
# \qquad \lVert g \rVert = \sqrt{\textstyle\sum_{\text{all arrays}} \lVert dW \rVert^2},$$
#
# which is what PyTorch's `torch.nn.utils.clip_grad_norm_` does. The direction is kept;
# only the length is capped. Below, the same network, data order and learning rate
# (SGD, lr = 1, batches of 32, 3 epochs), without and with clipping at $c = 1$.

# %%
def train_clipped(max_norm, lr=1.0, epochs=3, seed=0, init=exploding_init, X=X_train):
    """Mini-batch SGD with optional global-norm clipping; per step: loss and gradient norm."""
    net, rng = deep_net(cr.Tanh, init), np.random.default_rng(seed)
    losses, norms = [], []
    for _ in range(epochs):
        order = rng.permutation(n_train)
        for start in range(0, n_train, 32):
            batch = order[start : start + 32]
            Y, backward = net.forward(X[batch], training=True)
            value, dY = loss_ce(Y, y_train[batch])
            net.zero_grad()
            backward(dY)
            grads = [grad for _, _, _, grad in net.parameters()]
            total = np.sqrt(sum(np.sum(grad**2) for grad in grads))
            if max_norm is not None and total > max_norm:
                for grad in grads:
                    grad *= max_norm / (total + 1e-6)
            for _, _, param, grad in net.parameters():
                param -= lr * grad
            losses.append(value)
            norms.append(total)
    return net, np.array(losses), np.array(norms)


clip_runs = {"no clipping": train_clipped(None), "clipped at 1": train_clipped(1.0)}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
for name, (_, losses, norms) in clip_runs.items():
    axes[0].plot(losses, lw=0.7, label=name)
    axes[1].semilogy(norms, lw=0.7, label=name)
axes[1].axhline(1.0, color="k", lw=0.8, ls="--", label="threshold c = 1")
axes[0].set(xlabel="step", ylabel="batch loss")
axes[1].set(xlabel="step", ylabel="gradient norm before clipping")
axes[0].legend(fontsize=8)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %%
def saturated_share(net, X):
    """Share of tanh outputs with |a| > 0.99, over all hidden layers and rows of X."""
    A, shares = X, []
    for layer in net.layers[:-1]:
        A = layer.forward(A)[0]
        if isinstance(layer, cr.Tanh):
            shares.append(np.mean(np.abs(A) > 0.99))
    return float(np.mean(shares))


clip_summary = {
    name: {
        "saturated": saturated_share(net, X_train),
        "last_epoch_loss": float(losses[-(n_train // 32) :].mean()),
        "val_acc": accuracy(net, X_val, y_val),
        "max_norm": float(norms.max()),
        "median_norm": float(np.median(norms)),
        "share_above_1": float(np.mean(norms > 1.0)),
    }
    for name, (net, losses, norms) in clip_runs.items()
}
plain, clipped = clip_summary["no clipping"], clip_summary["clipped at 1"]
assert plain["max_norm"] > 2 * plain["median_norm"]  # rare, much larger gradients
assert clipped["last_epoch_loss"] < plain["last_epoch_loss"] / 2
assert clipped["val_acc"] > plain["val_acc"] + 0.2
assert plain["saturated"] > clipped["saturated"] + 0.15
assert clipped["median_norm"] > 1.0 and clipped["share_above_1"] > 0.9  # c = 1 acts on most steps
say(
    f"Without clipping the gradient norm has a median of {plain['median_norm']:.1f} and "
    f"reaches {plain['max_norm']:.1f}; the run ends with a loss of "
    f"{plain['last_epoch_loss']:.2f} over its last epoch and {plain['val_acc']:.1%} "
    f"validation accuracy, with {plain['saturated']:.0%} of its tanh outputs saturated. "
    f"With clipping: {clipped['last_epoch_loss']:.2f}, {clipped['val_acc']:.1%}, and "
    f"{clipped['saturated']:.0%} saturated. (The clipped run's gradient norm exceeded "
    f"$c = 1$ in {clipped['share_above_1']:.0%} of its steps, and each of those steps was "
    f"shortened to length $\\eta c = 1$.)"
)

# %% [markdown]
# Look again at that last figure: $c = 1$ is below the gradient norm of almost every
# step, so every step is scaled to the same length. That is not "cutting the rare
# spikes", it is *normalised* gradient descent, $W \leftarrow W - \eta c\, g/\lVert g
# \rVert$, and a plain smaller learning rate may do as well. Two more runs make the
# distinction: the same network without clipping at lr = 0.3 (steps of about
# $0.3 \times$ the median norm), and a run where large gradients are **rare and real**:
# the well-initialised (Glorot) network, lr = 0.3, on training images of which 5 are
# corrupted (their pixels multiplied by 10, as a faulty sensor or a unit mix-up
# would), with the threshold set near the typical norm, at 3 times the unclipped run's
# median, so that it only cuts outliers.

# %%
baseline_net, _, baseline_norms = train_clipped(None, lr=0.3)
baseline_acc = accuracy(baseline_net, X_val, y_val)

X_corrupt = X_train.copy()
corrupt_rows = np.random.default_rng(0).choice(n_train, 5, replace=False)
X_corrupt[corrupt_rows] *= 10
spiky = {"clean, no clipping": train_clipped(None, lr=0.3, init="glorot")}
spiky["corrupted, no clipping"] = train_clipped(None, lr=0.3, init="glorot", X=X_corrupt)
c_rare = 3 * np.median(spiky["corrupted, no clipping"][2])
spiky["corrupted, clipped"] = train_clipped(c_rare, lr=0.3, init="glorot", X=X_corrupt)
spiky_acc = {name: accuracy(net, X_val, y_val) for name, (net, _, _) in spiky.items()}
rare_norms = spiky["corrupted, clipped"][2]
rare_share = float(np.mean(rare_norms > c_rare))
rare_max = float(spiky["corrupted, no clipping"][2].max() / np.median(rare_norms))

assert abs(baseline_acc - clipped["val_acc"]) < 0.03  # a smaller rate does as well
assert 0 < rare_share < 0.05  # clipping fires on a few steps only
assert spiky_acc["corrupted, clipped"] > spiky_acc["corrupted, no clipping"] + 0.05
assert spiky_acc["clean, no clipping"] > spiky_acc["corrupted, no clipping"] + 0.05
say(
    f"Without clipping at lr = 0.3 the exploding network reaches {baseline_acc:.1%} "
    f"validation accuracy, against {clipped['val_acc']:.1%} clipped at lr = 1: here "
    f"clipping did the work of a smaller learning rate. With rare real spikes it does "
    f"what a smaller rate cannot: the 5 corrupted images make some steps' gradient up to "
    f"{rare_max:.1f} times the median; unclipped, the network ends at "
    f"{spiky_acc['corrupted, no clipping']:.1%} (the same network on clean images: "
    f"{spiky_acc['clean, no clipping']:.1%}); clipped at $c = {c_rare:.2f}$ it reaches "
    f"{spiky_acc['corrupted, clipped']:.1%}, and the clipping fired on only "
    f"{rare_share:.1%} of its steps."
)

# %% [markdown]
# Clipping treats the symptom; the cause in the first run was the initialisation
# (section 1), and in the second the data. It is standard in recurrent networks and
# transformers, where rare huge gradients are part of the landscape. The threshold is a
# hyper-parameter: set below the typical norm it caps the length of every step at
# $\eta c$ (normalised gradient descent); set a few times above the typical norm it
# only cuts the outliers.

# %% [markdown]
# `fit` does the same with one argument, `clip_norm=` (and `clip_value=` for clipping
# each entry), and logs in `history["clipped"]` the fraction of each epoch's steps it
# clipped. One step on one batch first, by hand and by `fit`, then the three epochs:

# %%
first_batch = np.random.default_rng(0).permutation(n_train)[:32]
by_hand = deep_net(cr.Tanh, exploding_init)
Y_hand, backward_hand = by_hand.forward(X_train[first_batch], training=True)
by_hand.zero_grad()
backward_hand(loss_ce(Y_hand, y_train[first_batch])[1])
hand_grads = [grad for _, _, _, grad in by_hand.parameters()]
hand_norm = np.sqrt(sum(np.sum(grad**2) for grad in hand_grads))
for _, _, param, grad in by_hand.parameters():
    param -= 1.0 * grad / (hand_norm + 1e-6)  # clipped to norm 1, then lr = 1
by_fit = deep_net(cr.Tanh, exploding_init)
cr.fit(by_fit, loss_ce, X_train[first_batch], y_train[first_batch],
       optimizer=cr.SGD(lr=1.0), epochs=1, batch_size=None, clip_norm=1.0)  # fmt: skip
pairs = zip(by_hand.parameters(), by_fit.parameters(), strict=True)
one_step_gap = max(np.abs(p_hand - p_fit).max() for (_, _, p_hand, _), (_, _, p_fit, _) in pairs)
assert hand_norm > 1 and one_step_gap < 1e-12

fit_clipped = deep_net(cr.Tanh, exploding_init)
history_clip = cr.fit(fit_clipped, loss_ce, X_train, y_train, optimizer=cr.SGD(lr=1.0),
                      epochs=3, batch_size=32, rng=0, clip_norm=1.0,
                      validation_data=(X_val, y_val), metrics=["accuracy"])  # fmt: skip
assert min(history_clip["clipped"]) > 0.9
assert history_clip["val_accuracy"][-1] > plain["val_acc"] + 0.2
drift = max(
    np.abs(p_fit - p_loop).max()
    for (_, _, p_fit, _), (_, _, p_loop, _) in zip(
        fit_clipped.parameters(), clip_runs["clipped at 1"][0].parameters(), strict=True
    )
)
assert drift > 0
say(
    f"On one batch (gradient norm {hand_norm:.1f}), `cr.fit(..., clip_norm=1.0)` and the "
    f"hand-written step give weights that differ by at most {one_step_gap:.0e}. Over "
    f"three epochs `fit` "
    f"clipped {history_clip['clipped'][0]:.0%}, {history_clip['clipped'][1]:.0%} and "
    f"{history_clip['clipped'][2]:.0%} of the steps and ends at "
    f"{history_clip['val_accuracy'][-1]:.1%} validation accuracy, against "
    f"{plain['val_acc']:.1%} without clipping. (Its weights differ from the loop's by up "
    f"to {drift:.2f}: `fit` sums the squared norm in another order, and this deliberately "
    f"unstable network magnifies that difference in the last digit over many steps.)"
)

# %% [markdown]
# ## 7. Reading `grad_norm_*` and `update_ratio_*`
#
# `cr.fit` logs two diagnostics per weight matrix (the `i` is the layer's index in
# `net.layers`): `grad_norm_i`, the norm of $dW$ averaged over the epoch's batches,
# and `update_ratio_i` $= \lVert W_{\text{end}} - W_{\text{start}} \rVert / \lVert
# W_{\text{start}} \rVert$ over the epoch. A widely quoted rule of thumb (from
# Stanford's CS231n) says that one update should change the weights by about
# $10^{-3}$ of their size: far below, the rate is too small; near 1, each step
# rewrites the weights. With `batch_size=None` one epoch is one step, so the logged
# ratio is exactly the per-step ratio the rule talks about. Three rates, full-batch
# SGD, a 64 → 64 → 10 ReLU network:

# %%
def fit_and_log(lr):
    net = cr.Sequential(
        cr.Dense(64, 64, init="he", rng=1), cr.ReLU(), cr.Dense(64, n_classes, rng=2)
    )
    history = cr.fit(
        net,
        loss_ce,
        X_train,
        y_train,
        optimizer=cr.SGD(lr),
        epochs=30,
        batch_size=None,
        validation_data=(X_val, y_val),
        metrics=["accuracy"],
    )
    return history.to_frame()


logs = {lr: fit_and_log(lr) for lr in (0.001, 1.0, 5.0)}
print(
    logs[1.0][
        ["loss", "val_accuracy", "grad_norm_0", "grad_norm_2", "update_ratio_0", "update_ratio_2"]
    ].iloc[[0, 1, 2, -1]]
)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for (lr, frame), color in zip(logs.items(), ["tab:blue", "tab:green", "tab:red"], strict=True):
    for i, style in [(0, "-"), (2, "--")]:
        label = f"lr {lr:g}, layer {i}"
        axes[0].semilogy(frame.index, frame[f"update_ratio_{i}"], style, color=color, label=label)
        axes[1].semilogy(frame.index, frame[f"grad_norm_{i}"], style, color=color, label=label)
    axes[2].semilogy(frame.index, frame["loss"], color=color, label=f"lr {lr:g}")
axes[0].axhline(1e-3, color="k", lw=0.8, ls=":")
axes[0].set(xlabel="epoch (= step)", ylabel="update_ratio (dotted: 1e-3)")
axes[1].set(xlabel="epoch (= step)", ylabel="grad_norm")
axes[2].set(xlabel="epoch (= step)", ylabel="training loss")
axes[0].legend(fontsize=7)
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %%
median_ratio = {
    lr: float(np.median(frame[["update_ratio_0", "update_ratio_2"]].to_numpy()))
    for lr, frame in logs.items()
}
final = {lr: (frame["loss"].iloc[-1], frame["val_accuracy"].iloc[-1]) for lr, frame in logs.items()}
start_loss = logs[1.0]["loss"].iloc[0]
assert median_ratio[0.001] < 1e-3 < median_ratio[1.0] < 30 * 1e-3 and median_ratio[5.0] > 1
first_ratio = float(logs[1.0][["update_ratio_0", "update_ratio_2"]].iloc[0].max())
assert first_ratio > 0.1 > 30 * 1e-3 > median_ratio[1.0]
grad_change = {
    lr: frame["grad_norm_0"].iloc[-1] / frame["grad_norm_0"].iloc[0] for lr, frame in logs.items()
}
assert grad_change[1.0] < 0.1 and grad_change[5.0] > 10
assert final[1.0][1] > 0.9 > 0.5 > final[0.001][1] and final[5.0][1] < 0.5
assert final[0.001][0] > 0.9 * start_loss and final[5.0][0] > 1e6
ratios_5 = logs[5.0][["update_ratio_0", "update_ratio_2"]].to_numpy()
above_one = float(np.mean(ratios_5.min(axis=1) > 1))
assert 0.5 < above_one < 1  # most steps, not every one
say(
    f"Median update ratio: {median_ratio[0.001]:.1e} at lr 0.001, "
    f"{median_ratio[1.0]:.1e} at lr 1 and {median_ratio[5.0]:.1f} at lr 5. "
    f"Too small: after 30 steps the loss is {final[0.001][0]:.2f} (it started at "
    f"{start_loss:.2f}) and validation accuracy {final[0.001][1]:.1%}. Good: the ratio "
    f"is above $10^{{-3}}$ but within a factor 30 of it, the loss falls to "
    f"{final[1.0][0]:.3f}, accuracy reaches {final[1.0][1]:.1%}, and `grad_norm_0` "
    f"shrinks to {grad_change[1.0]:.2f} times its first value as the network approaches "
    f"a minimum (its very first step is larger, a ratio of {first_ratio:.2f}: the first "
    f"steps from a random start are big, and that is normal). Too large: "
    f"{above_one:.0%} of the steps change the weights by more than their own size "
    f"(a ratio above 1 in both layers), "
    f"`grad_norm_0` grows ${tex_number(grad_change[5.0])}$-fold instead of shrinking, and the "
    f"loss explodes to ${tex_number(final[5.0][0])}$."
)

# %% [markdown]
# Read the rule as an order of magnitude, not a target, and look at the trend rather
# than the first steps. With mini-batches the logged ratio measures a whole epoch of
# steps, not one, so the per-step rule does not apply to it directly. The gradient
# norms per layer are the first thing to check for vanishing (tiny values in the
# first layers) or exploding (huge values) gradients, as in sections 1 and 6.

# %% [markdown]
# ## 8. L2 and dropout against overfitting
#
# A network with far more parameters than training samples can memorise them. We give
# a 64 → 256 → 256 → 10 ReLU network only **200** training images and watch the loss
# on the validation images. Two remedies:
#
# * **L2 regularisation** adds $\frac{\lambda}{2} \sum \lVert W \rVert^2$ to the
#   loss, so $dW \mathrel{+}= \lambda W$: every step also pulls the weights toward
#   zero, which favours smooth functions of the input (`fit(..., l2=λ)`). With plain
#   SGD this is the same as *weight decay*, $W \leftarrow (1 - \eta\lambda) W - \eta
#   \nabla L$. With Adam, used below, it is not: Adam divides the $\lambda W$ term by
#   $\sqrt{\hat v}$ like the rest of the gradient, so weights with large gradients are
#   pulled in less. What runs here is L2 through Adam; decoupled weight decay is
#   `cr.AdamW` (viva question 5.5, `docs/derivations.md` section 13).
# * **Dropout** zeroes each unit with probability $p$ during training (and scales the
#   survivors by $1/(1-p)$), so no unit can rely on another being present; at
#   inference nothing is dropped (`cr.Dropout(p)`). Here 0.2 on the inputs and 0.5
#   after each hidden layer.
#
# Same initial weights, full-batch Adam (lr 0.01) for 100 epochs. We record the plain
# cross-entropy (without the L2 term, so the three are comparable) on both sets after
# every epoch, with a callback.

# %%
X_small, y_small = X_train[:200], y_train[:200]


def overfit_run(l2=0.0, dropout=False):
    rng = np.random.default_rng(0)
    layers = [cr.Dropout(0.2, rng=2)] if dropout else []
    n_in = n_features
    for i in range(2):
        layers += [cr.Dense(n_in, 256, init="he", rng=rng), cr.ReLU()]
        layers += [cr.Dropout(0.5, rng=10 + i)] if dropout else []
        n_in = 256
    net = cr.Sequential(*layers, cr.Dense(256, n_classes, rng=rng))
    record = {"train": [], "val": [], "val_acc": []}

    def measure(epoch, logs):
        record["train"].append(loss_ce(net.forward(X_small)[0], y_small)[0])
        record["val"].append(loss_ce(net.forward(X_val)[0], y_val)[0])
        record["val_acc"].append(accuracy(net, X_val, y_val))

    cr.fit(
        net,
        loss_ce,
        X_small,
        y_small,
        optimizer=cr.Adam(0.01),
        epochs=100,
        batch_size=None,
        l2=l2,
        callbacks=[measure],
        rng=0,
    )
    n_weights = sum(l.params["W"].size for l in net.layers if isinstance(l, cr.Dense))
    weight_norm = np.sqrt(
        sum(np.sum(l.params["W"] ** 2) for l in net.layers if isinstance(l, cr.Dense))
    )
    return {key: np.array(values) for key, values in record.items()} | {
        "weight_norm": weight_norm,
        "n_weights": n_weights,
    }


reg = {
    "none": overfit_run(),
    "L2 (0.003)": overfit_run(l2=0.003),
    "dropout": overfit_run(dropout=True),
}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
epochs_axis = np.arange(1, 101)
for (name, r), color in zip(reg.items(), ["tab:red", "tab:blue", "tab:green"], strict=True):
    axes[0].semilogy(epochs_axis, r["train"], "--", color=color, label=f"{name}: training")
    axes[0].semilogy(epochs_axis, r["val"], "-", color=color, label=f"{name}: validation")
    axes[1].plot(epochs_axis, r["val_acc"], color=color, label=name)
axes[0].set(xlabel="epoch", ylabel="cross-entropy (no L2 term)")
axes[1].set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.8, 1))
axes[0].legend(fontsize=7, ncol=3, loc="lower left")
axes[1].legend(fontsize=8, loc="lower right")
plt.tight_layout()
plt.show()

# %%
none, l2_run, drop = reg["none"], reg["L2 (0.003)"], reg["dropout"]
assert none["n_weights"] > 100 * len(X_small)
best_epoch = int(none["val"].argmin()) + 1
assert none["train"][-1] < 1e-3 and best_epoch < 20 and none["val"][-1] > 1.1 * none["val"].min()
for r in (l2_run, drop):
    assert r["val"][-1] < 0.8 * none["val"][-1]
    assert r["val_acc"][-1] > none["val_acc"][-1]
    assert r["val"][-1] - r["train"][-1] < none["val"][-1] - none["train"][-1]
assert l2_run["weight_norm"] < 0.5 * none["weight_norm"]
say(
    f"The network has {none['n_weights']:,} weights for {len(X_small)} training images. "
    f"**Without regularisation** the training loss falls to {none['train'][-1]:.1e} while "
    f"the validation loss is lowest at epoch {best_epoch} ({none['val'].min():.2f}) and "
    f"then climbs to {none['val'][-1]:.2f} on the {len(X_val)} validation images: the "
    f"network memorises its training images. "
    f"**L2** ends at a validation loss of {l2_run['val'][-1]:.2f} and accuracy "
    f"{l2_run['val_acc'][-1]:.1%} (against {none['val_acc'][-1]:.1%}), with weights "
    f"{none['weight_norm'] / l2_run['weight_norm']:.1f} times smaller in norm. "
    f"**Dropout** ends at {drop['val'][-1]:.2f} and {drop['val_acc'][-1]:.1%}. Both "
    f"narrow the gap between training and validation loss, the signature of overfitting."
)

# %% [markdown]
# Why "L2 through Adam" and not "weight decay": one step of each rule from the same
# weights $W = (1, 1)$, a gradient $(1, 10^{-3})$, $\lambda = 0.1$, $\eta = 0.01$.

# %%
def one_step(optimizer, g, l2=0.0):
    """W after one step of optimizer from W = 1, with gradient g + l2 * W."""
    layer = cr.Dense(2, 1, rng=0)
    layer.params["W"][...] = 1.0
    layer.grads["W"][...] = g + l2 * layer.params["W"]
    layer.grads["b"][...] = 0.0
    optimizer.step(layer)
    return layer.params["W"].ravel().copy()


g_demo, lam = np.array([[1.0], [1e-3]]), 0.1
steps = {
    "SGD": one_step(cr.SGD(0.01), g_demo),
    "SGD + L2": one_step(cr.SGD(0.01), g_demo, lam),
    "Adam": one_step(cr.Adam(0.01), g_demo),
    "Adam + L2": one_step(cr.Adam(0.01), g_demo, lam),
    "AdamW": one_step(cr.AdamW(0.01, weight_decay=lam), g_demo),
}
for name, W_after in steps.items():
    print(f"{name:>9}: W = {W_after}")
sgd_pull = steps["SGD"] - steps["SGD + L2"]
adam_pull = steps["Adam"] - steps["Adam + L2"]
adamw_pull = steps["Adam"] - steps["AdamW"]
assert np.allclose(sgd_pull, 0.01 * lam) and np.allclose(adamw_pull, 0.01 * lam)
assert np.abs(adam_pull).max() < 1e-6  # Adam's normalisation swallows the L2 term
say(
    f"With SGD the L2 term pulls both weights in by $\\eta\\lambda = {0.01 * lam:g}$, "
    f"and so does AdamW's decoupled decay. Through Adam the same term moves them by at "
    f"most {np.abs(adam_pull).max():.0e}: Adam divides $g + \\lambda W$ by its own "
    f"size, so on this first step the pull toward zero vanishes. Over many steps L2 "
    f"through Adam still shrinks the weights (above), but unevenly, and it is not the "
    f"weight decay of SGD or AdamW."
)

# %% [markdown]
# The validation curve also shows a third remedy: **early stopping**, keeping the
# weights of the epoch where validation loss was lowest (`cr.EarlyStopping(patience=...,
# restore_best=True)` in `fit`). In practice the three are combined.
#
# ## 9. Batch normalisation: a deep sigmoid network that trains
#
# Section 1 showed a deep network's gradient shrinking layer by layer. Sigmoid units
# are the worst case: $\sigma'(z) \le 1/4$, and when the inputs of a layer drift away
# from 0 the units saturate and the factor falls far below that. **Batch
# normalisation** re-centres and re-scales each unit's input over the batch before the
# activation, $\hat{x} = (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}$, then
# $y = \gamma \hat{x} + \beta$ with learned $\gamma, \beta$: every sigmoid sees
# inputs of a workable scale, whatever the layers below did. (The backward pass, with
# its three paths through $\mu_B$ and $\sigma_B^2$, is derived in
# `docs/derivations.md`, section 11, and is an exercise in the drills notebook.)
#
# Eight sigmoid layers of 32 units on the digits, plain SGD (learning rate 0.1, batches
# of 128, 30 epochs), the same seed, with and without a `cr.BatchNorm` before each
# sigmoid:

# %%
def deep_sigmoid(batch_norm: bool, depth=8, width=32, seed=0):
    rng = np.random.default_rng(seed)
    layers, n_in = [], n_features
    for _ in range(depth):
        layers.append(cr.Dense(n_in, width, init="glorot", rng=rng))
        if batch_norm:
            layers.append(cr.BatchNorm(width))
        layers.append(cr.Sigmoid())
        n_in = width
    return cr.Sequential(*layers, cr.Dense(n_in, n_classes, init="glorot", rng=rng))


bn_runs = {}
for bn_name, use_bn in (("plain", False), ("batch norm", True)):
    bn_net = deep_sigmoid(use_bn)
    bn_runs[bn_name] = cr.fit(bn_net, loss_ce, X_train, y_train, optimizer=cr.SGD(lr=0.1),
                              epochs=30, batch_size=128, validation_data=(X_val, y_val),
                              metrics=["accuracy"], rng=0)  # fmt: skip
first_grad = next(key for key in bn_runs["plain"].keys() if key.startswith("grad_norm_"))

fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
for bn_name, bn_history in bn_runs.items():
    axes[0].plot(bn_history.epochs, bn_history["loss"], label=bn_name)
    axes[1].plot(bn_history.epochs, bn_history[first_grad], label=bn_name)
axes[0].set(xlabel="epoch", ylabel="training loss", title="eight sigmoid layers")
axes[1].set(xlabel="epoch", ylabel="first layer's gradient norm", yscale="log")
for ax in axes:
    ax.legend()
plt.show()

# %%
bn_plain, bn_normed = bn_runs["plain"], bn_runs["batch norm"]
chance = np.log(n_classes)
assert abs(bn_plain["loss"][-1] - chance) < 0.05 * chance  # stalls near ln 10
assert bn_normed["loss"][-1] < 0.25 * chance
assert bn_normed["val_accuracy"][-1] > 0.9 > 0.3 > bn_plain["val_accuracy"][-1]
bn_ratio = np.median(bn_normed[first_grad]) / np.median(bn_plain[first_grad])
assert bn_ratio > 100
say(
    f"Without batch norm the loss after 30 epochs is {bn_plain['loss'][-1]:.3f}, next to "
    f"$\\ln 10 = {chance:.3f}$ (guessing), and the validation accuracy "
    f"{bn_plain['val_accuracy'][-1]:.1%}. With a `BatchNorm` before each sigmoid the loss "
    f"falls to {bn_normed['loss'][-1]:.3f} and the accuracy reaches "
    f"{bn_normed['val_accuracy'][-1]:.1%}; the first layer's gradient is {bn_ratio:,.0f} times "
    f"larger (median over the epochs): the signal now reaches it."
)

# %% [markdown]
# ## Summary: what to look at, and what to do
#
# | symptom | diagnose with | usual fix |
# |---|---|---|
# | loss stuck at $\ln C$, identical units | the init | random: Glorot (tanh), He (ReLU) |
# | activations shrink or grow with depth | RMS per layer | the init that suits the activation |
# | loss barely moves | `update_ratio` far below $10^{-3}$ | larger learning rate |
# | loss oscillates or explodes | loss curve, `update_ratio` near 1 | smaller learning rate |
# | slow progress per epoch | steps per epoch | mini-batches |
# | confident mistakes learned slowly | $dL/dz$ at the output | cross-entropy on logits |
# | units that never fire | count silent ReLUs | smaller rate, leaky ReLU |
# | rare huge gradients, loss spikes | `grad_norm`, norm per step | gradient clipping, better init |
# | training loss falls, validation rises | both curves | L2, dropout, early stopping |
# | a deep network stalls at chance | `grad_norm` of the first layers | batch norm, ReLU, better init |
