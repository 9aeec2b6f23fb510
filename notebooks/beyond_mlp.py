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
# # Beyond the MLP: backprop through time, skip connections, forward mode
#
# Three questions every viva on backpropagation reaches once the MLP is done, each
# answered here with the chain rule written out by hand in NumPy and checked:
#
# 1. **Backpropagation through time**: a tiny recurrent network unrolled by hand, its
#    gradients checked by central differences, truncated BPTT, and gradients that
#    vanish or explode through time.
# 2. **Residual connections**: the backward pass of a skip connection (the gradients
#    add), and a deep sigmoid network that trains with skips and not without.
# 3. **Forward mode versus reverse mode**: a Jacobian-vector product computed by
#    carrying tangents forwards, and its cost counted against the vector-Jacobian
#    product that backpropagation computes.
#
# **A rule of this notebook**: every number the text states is computed by the cell
# that states it and asserted, so re-running the notebook catches a claim that stops
# being true. Every experiment uses explicit seeds and float64.
#
# Questions 1.7, 4.5 and 4.6 of the [viva guide](../docs/viva.md) point here.

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from sklearn.datasets import make_moons

import chainrule as cr
from chainrule.gradcheck import central_differences, rel_error


def say(text):
    """Show Markdown built from computed values."""
    display(Markdown(text))


# %% [markdown]
# ## 1. Backpropagation through time
#
# ### 1.1 A recurrent network, unrolled
#
# A recurrent network reads a sequence $x_1, \dots, x_T$ (each a batch of rows,
# $(n, d)$) with **the same weights at every step**, carrying a hidden state:
#
# $$h_t = \tanh(x_t W_x + h_{t-1} W_h + b), \qquad h_0 = 0, \qquad
# \hat y = h_T W_y, \qquad L = \tfrac{1}{n}\textstyle\sum (\hat y - y)^2 .$$
#
# Unrolled, this is an ordinary computational graph: $T$ copies of one layer, stacked,
# sharing $W_x, W_h, b$. Backpropagation through time (BPTT) is plain backpropagation
# on that graph. Going back from $t = T$ to $1$, with $dh_T = d\hat y\, W_y^\top$:
#
# $$dz_t = dh_t \odot (1 - h_t^2), \qquad dW_x \mathrel{+}= x_t^\top dz_t, \qquad
# dW_h \mathrel{+}= h_{t-1}^\top dz_t, \qquad db \mathrel{+}= \textstyle\sum_k dz_t,
# \qquad dh_{t-1} = dz_t W_h^\top .$$
#
# The gradients of the shared weights are **sums over the time steps** (the `+=`),
# for the same reason a bias gradient is a sum over the batch: one parameter, used
# many times, collects a contribution from every use.

# %%
T_steps, n, d, h = 6, 4, 3, 5
rng = np.random.default_rng(0)
X_seq = rng.normal(size=(T_steps, n, d))  # (time, batch, features)
y_seq = rng.normal(size=(n, 1))
rnn = {
    "Wx": rng.normal(scale=0.5, size=(d, h)),
    "Wh": rng.normal(scale=0.4, size=(h, h)),
    "b": np.zeros(h),
    "Wy": rng.normal(scale=0.5, size=(h, 1)),
}


def rnn_forward(P, X):
    """The hidden states h_0..h_T (a list) and the output h_T @ Wy."""
    H = [np.zeros((X.shape[1], P["Wh"].shape[0]))]
    for x_t in X:
        H.append(np.tanh(x_t @ P["Wx"] + H[-1] @ P["Wh"] + P["b"]))
    return H[-1] @ P["Wy"], H


def rnn_loss(P, X, y):
    return float(np.mean((rnn_forward(P, X)[0] - y) ** 2))


def bptt(P, X, y, k=None):
    """Gradients of the loss by backpropagation through time, truncated to the last
    ``k`` steps when k is given; also ||dL/dh_t|| for t = T, T-1, ... (as far as it goes)."""
    y_hat, H = rnn_forward(P, X)
    dy = 2 * (y_hat - y) / y_hat.size
    G = {name: np.zeros_like(value) for name, value in P.items()}
    G["Wy"] = H[-1].T @ dy
    dH = dy @ P["Wy"].T  # dL/dh_T
    norms = [np.linalg.norm(dH)]
    T = len(X)
    for t in range(T, T - (T if k is None else min(k, T)), -1):
        dZ = dH * (1 - H[t] ** 2)  # through the tanh of step t
        G["Wx"] += X[t - 1].T @ dZ  # the shared weights: one term per step
        G["Wh"] += H[t - 1].T @ dZ
        G["b"] += dZ.sum(axis=0)
        dH = dZ @ P["Wh"].T  # dL/dh_{t-1}: the same W_h at every step
        norms.append(np.linalg.norm(dH))
    return G, norms


grads, _ = bptt(rnn, X_seq, y_seq)
errors = {
    name: rel_error(grads[name], central_differences(lambda: rnn_loss(rnn, X_seq, y_seq), p, 1e-6))
    for name, p in rnn.items()
}
for name, err in errors.items():
    print(f"d{name}: relative error against central differences {err:.1e}")
assert max(errors.values()) < 1e-8
say(
    f"Every gradient of the unrolled network agrees with central differences: the largest "
    f"relative error is {max(errors.values()):.1e}. BPTT is backpropagation, nothing more."
)

# %% [markdown]
# ### 1.2 Truncated BPTT
#
# A long sequence makes the backward pass as long as the sequence, and it must keep
# every $h_t$ in memory. **Truncated BPTT** stops the backward pass after the last $k$
# steps (in practice: cut the sequence into chunks of $k$, carry the hidden state
# forwards from chunk to chunk, but not its gradient). It costs $k$ steps instead of
# $T$, and it is an approximation: it drops every path from the loss to a weight that
# goes back further than $k$ steps.

# %%
truncation = {k: bptt(rnn, X_seq, y_seq, k=k)[0] for k in range(1, T_steps + 1)}
trunc_errors = [rel_error(truncation[k]["Wx"], grads["Wx"]) for k in range(1, T_steps + 1)]
for k, err in enumerate(trunc_errors, start=1):
    print(f"k = {k}: {k} of {T_steps} steps back, relative error of dWx {err:.3f}")
assert all(a >= b for a, b in itertools.pairwise(trunc_errors))
assert trunc_errors[-1] == 0.0 and trunc_errors[0] > 0.1
going_back = bptt(rnn, X_seq, y_seq)[1]  # ||dL/dh_t||, t = T, T-1, ..., 0
assert going_back[-2] < 0.5 * going_back[0]
say(
    f"Going back one step only, $dW_x$ is {trunc_errors[0]:.0%} off (relative error); the "
    f"error shrinks as $k$ grows ({trunc_errors[2]:.1%} at $k = 3$) and is exactly 0 at "
    f"$k = T = {T_steps}$. Here the early steps matter little because their gradient has "
    f"already shrunk by the time it reaches them ($\\lVert dL/dh_1 \\rVert$ is "
    f"{going_back[-2] / going_back[0]:.0%} of $\\lVert dL/dh_{{{T_steps}}} \\rVert$): the next "
    "section measures that over longer sequences."
)

# %% [markdown]
# ### 1.3 Vanishing and exploding through time
#
# Going back one step multiplies the gradient by $\operatorname{diag}(1 - h_t^2)\,W_h^\top$:
# going back $T$ steps multiplies it by $T$ such factors, **the same matrix $W_h$ each
# time**. Without the tanh (a linear recurrence) and with $W_h = s\,Q$ for an orthogonal
# $Q$, each factor scales every vector's norm by exactly $s$, so
# $\lVert dh_0 \rVert = s^T \lVert dh_T \rVert$: it vanishes for $s < 1$ and explodes for
# $s > 1$, geometrically. The tanh's derivative is at most 1 and only makes the
# vanishing worse; with $s > 1$ the states grow until the tanh saturates, which limits the
# explosion but does not stop it.

# %%
T_long = 50
X_long = rng.normal(scale=0.01, size=(T_long, n, d))  # small inputs: the dynamics are W_h's
Q, _ = np.linalg.qr(rng.normal(size=(h, h)))


def linear_bptt_norms(Wh, dH, T):
    """||dL/dh_t|| going back T steps through h_t = h_{t-1} @ Wh (no activation)."""
    norms = [np.linalg.norm(dH)]
    for _ in range(T):
        dH = dH @ Wh.T
        norms.append(np.linalg.norm(dH))
    return np.array(norms)


dH_T = rng.normal(size=(n, h))
through_time = {}
fig, ax = plt.subplots(figsize=(7, 3.5))
for s in (0.5, 1.0, 1.5):
    linear = linear_bptt_norms(s * Q, dH_T, T_long)
    assert np.isclose(linear[-1] / linear[0], s**T_long, rtol=1e-6)  # exactly s^T
    tanh_norms = np.array(bptt(dict(rnn, Wh=s * Q), X_long, y_seq)[1])
    through_time[s] = (linear[-1] / linear[0], tanh_norms[-1] / tanh_norms[0])
    ax.semilogy(tanh_norms, label=f"tanh RNN, $W_h = {s}\\,Q$")
    print(
        f"s = {s}: ||dh_0|| / ||dh_T|| = {through_time[s][0]:.2e} (linear, = s^T), "
        f"{through_time[s][1]:.2e} (tanh)"
    )
ax.set_xlabel("steps back in time")
ax.set_ylabel(r"$\|dL/dh_t\|$")
ax.legend()
plt.show()
assert through_time[0.5][1] < through_time[0.5][0] < 1e-15  # the tanh: even smaller
assert through_time[1.5][1] > 100
assert through_time[1.5][1] < through_time[1.5][0]  # saturation tempers the explosion
say(
    f"Over {T_long} steps, $s = 0.5$ shrinks the gradient by a factor "
    f"{through_time[0.5][0]:.1e} in the linear recurrence ($0.5^{{{T_long}}}$) and "
    f"{through_time[0.5][1]:.1e} with the tanh; $s = 1.5$ multiplies it by "
    f"{through_time[1.5][0]:.1e} in the linear recurrence and still by "
    f"{through_time[1.5][1]:.0f} with the tanh. This is why plain RNNs cannot learn long "
    "dependencies, why gradient clipping was invented for them, and why LSTMs and GRUs "
    "add a cell state whose update is additive, like the skip connection below."
)

# %% [markdown]
# ## 2. Residual connections
#
# ### 2.1 The backward pass of a skip connection: gradients add
#
# A residual block computes $Y = X + F(X)$, its input plus a learned correction. By the
# chain rule, with $X$ used twice,
#
# $$dX = dY + J_F(X)^\top dY ,$$
#
# the gradient of the identity path ($dY$ unchanged) **plus** the gradient through
# the block. Whenever a value is used in two places, its gradients add.

# %%
block = cr.Sequential(cr.Dense(4, 4, rng=0), cr.Sigmoid())
X_block, dY_block = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))


def residual(X):
    F, back = block.forward(X, training=True)
    return X + F, lambda dY: dY + back(dY)  # the identity's gradient plus the block's


Y_block, residual_backward = residual(X_block)
dX_block = residual_backward(dY_block)
numeric = central_differences(lambda: float(np.sum(residual(X_block)[0] * dY_block)), X_block, 1e-6)
skip_error = rel_error(dX_block, numeric)
print(f"dX of the residual block against central differences: relative error {skip_error:.1e}")
assert skip_error < 1e-8

# %% [markdown]
# ### 2.2 A deep network that trains with skip connections and not without
#
# Thirty sigmoid layers of width 16, on the two moons. Without skips, the gradient
# reaching the first layer is the product of thirty Jacobians, each with a factor
# $\sigma' \le 1/4$: it vanishes, and the network stays at chance. With
# $A_{l+1} = A_l + \sigma(A_l W_l + b_l)$, every Jacobian is $I + (\dots)$: the identity
# carries the gradient to the first layer whatever the blocks do. Same weights at the
# start, same optimizer, same 300 full-batch Adam steps.

# %%
X_moons, y_moons = make_moons(200, noise=0.1, random_state=0)
X_moons = (X_moons - X_moons.mean(axis=0)) / X_moons.std(axis=0)
depth, width = 30, 16


def deep_sigmoid(seed=0):
    """The layers: an input Dense, ``depth`` (Dense, Sigmoid) blocks, an output Dense."""
    layer_rng = np.random.default_rng(seed)
    blocks = [
        cr.Sequential(cr.Dense(width, width, rng=layer_rng), cr.Sigmoid()) for _ in range(depth)
    ]
    return cr.Dense(2, width, rng=layer_rng), blocks, cr.Dense(width, 2, rng=layer_rng)


def deep_forward(model, X, skip):
    """Forward through the blocks, with or without the skip; returns Y and backward."""
    first, blocks, last = model
    A, back_first = first.forward(X, training=True)
    backs = []
    for blk in blocks:
        F, back = blk.forward(A, training=True)
        backs.append(back)
        A = A + F if skip else F

    Y, back_last = last.forward(A, training=True)

    def backward(dY):
        dA = back_last(dY)
        for back in reversed(backs):
            dA = dA + back(dA) if skip else back(dA)  # the skip: the gradients add
        back_first(dA)

    return Y, backward


def train_deep(skip, steps=300):
    model = deep_sigmoid()
    everything = cr.Sequential(model[0], *model[1], model[2])  # for zero_grad and the step
    optimizer, loss = cr.Adam(1e-2), cr.CrossEntropy()
    first_grad = None
    for _ in range(steps):
        Y, backward = deep_forward(model, X_moons, skip)
        value, dY = loss(Y, y_moons)
        everything.zero_grad()
        backward(dY)
        if first_grad is None:  # at the initial weights
            first_grad = np.linalg.norm(model[0].grads["W"])
        optimizer.step(everything)
    accuracy = float(np.mean(deep_forward(model, X_moons, skip)[0].argmax(axis=1) == y_moons))
    return value, accuracy, first_grad


deep = {skip: train_deep(skip) for skip in (False, True)}
for skip, (value, accuracy, first_grad) in deep.items():
    print(
        f"skip={skip!s:5}: loss {value:.4f}, training accuracy {accuracy:.1%}, "
        f"||dW|| of the first layer at the start {first_grad:.1e}"
    )
assert abs(deep[False][0] - np.log(2)) < 1e-3 and deep[False][1] <= 0.55  # stuck at chance
assert deep[True][0] < 0.01 and deep[True][1] == 1.0
assert deep[True][2] > 1e6 * deep[False][2]
say(
    f"Without skips the loss stays at {deep[False][0]:.4f} ($\\ln 2 = {np.log(2):.4f}$: "
    f"guessing) and the accuracy at {deep[False][1]:.0%}; the first layer's gradient at the "
    f"start is {deep[False][2]:.1e}. With skips the same thirty layers reach a loss of "
    f"{deep[True][0]:.4f} and {deep[True][1]:.0%} training accuracy; the first layer's "
    f"gradient is {deep[True][2] / deep[False][2]:.1e} times larger."
)

# %% [markdown]
# ## 3. Forward mode versus reverse mode
#
# For $f: \mathbb{R}^p \to \mathbb{R}^m$ with Jacobian $J$ ($m \times p$):
#
# * **forward mode** carries a tangent $\dot x$ forwards beside each value and computes a
#   **Jacobian-vector product** $J\dot x$ (one column's worth: how every output moves
#   when the inputs move along $\dot x$) in one pass;
# * **reverse mode** (backpropagation) carries a cotangent $\bar y$ backwards and
#   computes a **vector-Jacobian product** $\bar y^\top J$ (one row's worth: how one
#   output combination depends on every input) in one pass.
#
# A loss has $m = 1$ output and $p$ = all the parameters: one reverse pass gives the whole
# gradient; forward mode gives one directional derivative per pass and needs $p$ passes.
# Below, the forward-mode rules of a Dense layer and a tanh, written by hand:
#
# $$Z = AW + b \;\Rightarrow\; \dot Z = \dot A W + A \dot W + \dot b, \qquad
# A' = \tanh Z \;\Rightarrow\; \dot A' = (1 - A'^2) \odot \dot Z .$$
#
# Every matrix product goes through `matmul`, which counts its multiply-adds.

# %%
mac_count = [0]


def matmul(A, B):
    """A @ B, counting its multiply-adds."""
    mac_count[0] += A.shape[0] * A.shape[1] * B.shape[1]
    return A @ B


mlp = cr.Sequential(cr.Dense(8, 16, rng=0), cr.Tanh(), cr.Dense(16, 3, rng=1))
dense_layers = [mlp.layers[0], mlp.layers[2]]
X_mlp, T_mlp = rng.normal(size=(32, 8)), rng.normal(size=(32, 3))


def jvp(tangents):
    """The loss and its directional derivative along ``tangents`` (one array like each
    parameter), in one forward pass carrying (value, tangent) pairs."""
    A, dA = X_mlp, np.zeros_like(X_mlp)  # the data does not move
    for i, layer in enumerate(dense_layers):
        W, b = layer.params["W"], layer.params["b"]
        dW, db = tangents[i]
        Z = matmul(A, W) + b
        dZ = (matmul(dA, W) if i > 0 else 0.0) + matmul(A, dW) + db  # dA = 0 at the input
        if i < len(dense_layers) - 1:
            A = np.tanh(Z)
            dA = (1 - A**2) * dZ
        else:
            A, dA = Z, dZ
    residual_mlp = A - T_mlp
    return float(np.mean(residual_mlp**2)), float(np.mean(2 * residual_mlp * dA))


def vjp():
    """The loss and its gradient (every parameter) in one forward and one backward pass."""
    A, cache = X_mlp, []
    for i, layer in enumerate(dense_layers):
        cache.append(A)
        Z = matmul(A, layer.params["W"]) + layer.params["b"]
        A = np.tanh(Z) if i < len(dense_layers) - 1 else Z
    dZ = 2 * (A - T_mlp) / A.size
    grads_mlp = [None] * len(dense_layers)
    for i in reversed(range(len(dense_layers))):
        grads_mlp[i] = (matmul(cache[i].T, dZ), dZ.sum(axis=0))
        if i > 0:  # no dX for the data
            dZ = matmul(dZ, dense_layers[i].params["W"].T) * (1 - cache[i] ** 2)
    return float(np.mean((A - T_mlp) ** 2)), grads_mlp


mac_count[0] = 0
mlp_loss, gradient = vjp()
vjp_cost = mac_count[0]
direction = [(rng.normal(size=lay.params["W"].shape), rng.normal(size=lay.params["b"].shape))
             for lay in dense_layers]  # fmt: skip
mac_count[0] = 0
jvp_loss, directional = jvp(direction)
jvp_cost = mac_count[0]
forward_cost = sum(X_mlp.shape[0] * lay.params["W"].size for lay in dense_layers)
# the same number three ways: forward mode, reverse mode dotted with the direction, and
# central differences along the direction
from_gradient = sum(np.vdot(g, v) for gv, vv in zip(gradient, direction, strict=True)
                    for g, v in zip(gv, vv, strict=True))  # fmt: skip
Y_ref, backward_ref = mlp.forward(X_mlp, training=True)
mlp.zero_grad()
backward_ref(cr.MeanSquaredError()(Y_ref, T_mlp)[1])
assert np.allclose(gradient[0][0], mlp.layers[0].grads["W"])  # chainrule's backprop agrees
assert np.isclose(directional, from_gradient, rtol=1e-12) and np.isclose(jvp_loss, mlp_loss)
n_params = sum(lay.params["W"].size + lay.params["b"].size for lay in dense_layers)
print(f"forward pass: {forward_cost} multiply-adds; one JVP: {jvp_cost}; one VJP: {vjp_cost}")
print(f"parameters: {n_params}; the whole gradient by forward mode: {n_params} JVPs")
assert jvp_cost == 3 * forward_cost - X_mlp.shape[0] * dense_layers[0].params["W"].size
assert vjp_cost == 3 * forward_cost - X_mlp.shape[0] * dense_layers[0].params["W"].size
say(
    f"One JVP costs {jvp_cost:,} multiply-adds and gives **one** number, the directional "
    f"derivative {directional:.6f}; one VJP (forward plus backward) costs {vjp_cost:,} "
    f"and gives **all {n_params}** partial derivatives, whose dot product with the "
    f"direction is the same number. The whole gradient by forward mode takes "
    f"{n_params} JVPs, {n_params * jvp_cost:,} multiply-adds, {n_params} times the cost "
    "of backpropagation."
)

# %% [markdown]
# ### 3.1 When forward mode wins
#
# The other way round: a function with **one** input and many outputs, e.g. a network's
# 3 outputs for each of 32 samples as one weight $w = W_{00}$ of the first layer moves
# ($m = 96$ outputs, $p = 1$ input). One JVP gives the whole $96 \times 1$ Jacobian;
# reverse mode needs one VJP per output, 96 of them.


# %%
def outputs_tangent(dW00):
    """d(every output)/dW[0, 0] in one forward-mode pass (the tangent of the outputs)."""
    tangents = [(np.zeros_like(lay.params["W"]), np.zeros_like(lay.params["b"]))
                for lay in dense_layers]  # fmt: skip
    tangents[0][0][0, 0] = dW00
    A, dA = X_mlp, np.zeros_like(X_mlp)
    for i, layer in enumerate(dense_layers):
        dW, db = tangents[i]
        Z = matmul(A, layer.params["W"]) + layer.params["b"]
        dZ = (matmul(dA, layer.params["W"]) if i > 0 else 0.0) + matmul(A, dW) + db
        A, dA = (np.tanh(Z), (1 - np.tanh(Z) ** 2) * dZ) if i == 0 else (Z, dZ)
    return dA


mac_count[0] = 0
column = outputs_tangent(1.0)
one_jvp = mac_count[0]
W00 = mlp.layers[0].params["W"]
numeric_column = np.zeros_like(column)
for k in np.ndindex(column.shape):  # central differences of each output, for the check
    old = W00[0, 0]
    W00[0, 0] = old + 1e-6
    plus = mlp.forward(X_mlp)[0][k]
    W00[0, 0] = old - 1e-6
    minus = mlp.forward(X_mlp)[0][k]
    W00[0, 0] = old
    numeric_column[k] = (plus - minus) / 2e-6
assert rel_error(column, numeric_column) < 1e-8
reverse_total = column.size * vjp_cost  # one backward pass per output
say(
    f"One JVP ({one_jvp:,} multiply-adds) gives all {column.size} derivatives of the "
    f"outputs with respect to $W_{{00}}$ (checked by central differences); reverse mode "
    f"would need {column.size} VJPs, about {reverse_total:,} multiply-adds. **Rule:** "
    "reverse mode when there are fewer outputs than inputs (training: one loss, many "
    "parameters), forward mode when there are fewer inputs than outputs."
)
