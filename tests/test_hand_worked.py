"""A 2-2-1 network worked by hand: one forward pass, one backward pass, one update.

Every number below was computed with pencil and paper; the arithmetic is in the
comments. Network: Dense(2, 2) -> ReLU -> Dense(2, 1), loss MSE, one sample.
"""

import numpy as np
import pytest

import chainrule as cr


def build():
    net = cr.Sequential(cr.Dense(2, 2, rng=0), cr.ReLU(), cr.Dense(2, 1, rng=0))
    net.layers[0].params["W"][:] = [[0.5, -1.0], [0.25, 1.0]]
    net.layers[0].params["b"][:] = [0.0, 0.5]
    net.layers[2].params["W"][:] = [[2.0], [-1.0]]
    net.layers[2].params["b"][:] = [0.5]
    return net


X = np.array([[1.0, 2.0]])
T = np.array([[3.0]])


def test_forward_backward_and_update_by_hand():
    net = build()
    dense1, _, dense2 = net.layers

    # Forward.
    Z1, back1 = dense1.forward(X, training=True)
    # Z1 = X @ W1 + b1 = [1*0.5 + 2*0.25 + 0,  1*(-1) + 2*1 + 0.5] = [1.0, 1.5]
    np.testing.assert_allclose(Z1, [[1.0, 1.5]])
    A1, back_relu = net.layers[1].forward(Z1, training=True)
    # A1 = ReLU(Z1) = [1.0, 1.5] (both positive)
    np.testing.assert_allclose(A1, [[1.0, 1.5]])
    Z2, back2 = dense2.forward(A1, training=True)
    # Z2 = 1.0*2 + 1.5*(-1) + 0.5 = 1.0
    np.testing.assert_allclose(Z2, [[1.0]])

    # Loss: MSE = (1.0 - 3.0)^2 / 1 = 4.0; dL/dZ2 = 2 * (1.0 - 3.0) / 1 = -4.0
    value, dZ2 = cr.MeanSquaredError()(Z2, T)
    assert value == 4.0
    np.testing.assert_allclose(dZ2, [[-4.0]])

    # Backward, layer 2: dW2 = A1.T @ dZ2 = [[1*-4], [1.5*-4]] = [[-4], [-6]], db2 = [-4]
    net.zero_grad()
    dA1 = back2(dZ2)
    np.testing.assert_allclose(dense2.grads["W"], [[-4.0], [-6.0]])
    np.testing.assert_allclose(dense2.grads["b"], [-4.0])
    # dA1 = dZ2 @ W2.T = [-4*2, -4*(-1)] = [-8, 4]
    np.testing.assert_allclose(dA1, [[-8.0, 4.0]])
    # ReLU: dZ1 = dA1 * (Z1 > 0) = [-8, 4]
    dZ1 = back_relu(dA1)
    np.testing.assert_allclose(dZ1, [[-8.0, 4.0]])
    # Layer 1: dW1 = X.T @ dZ1 = [[1*-8, 1*4], [2*-8, 2*4]] = [[-8, 4], [-16, 8]]
    dX = back1(dZ1)
    np.testing.assert_allclose(dense1.grads["W"], [[-8.0, 4.0], [-16.0, 8.0]])
    np.testing.assert_allclose(dense1.grads["b"], [-8.0, 4.0])
    # dX = dZ1 @ W1.T = [-8*0.5 + 4*(-1), -8*0.25 + 4*1] = [-8, 2]
    np.testing.assert_allclose(dX, [[-8.0, 2.0]])

    # Gradient descent, lr = 0.01: theta <- theta - 0.01 * dtheta
    for _, _, param, grad in net.parameters():
        param -= 0.01 * grad
    # W1 = [[0.5 + 0.08, -1 - 0.04], [0.25 + 0.16, 1 - 0.08]] = [[0.58, -1.04], [0.41, 0.92]]
    np.testing.assert_allclose(dense1.params["W"], [[0.58, -1.04], [0.41, 0.92]])
    np.testing.assert_allclose(dense1.params["b"], [0.08, 0.46])
    np.testing.assert_allclose(dense2.params["W"], [[2.04], [-0.94]])
    np.testing.assert_allclose(dense2.params["b"], [0.54])

    # The new forward pass: Z1 = [0.58 + 0.82 + 0.08, -1.04 + 1.84 + 0.46] = [1.48, 1.26]
    # Z2 = 1.48*2.04 + 1.26*(-0.94) + 0.54 = 3.0192 - 1.1844 + 0.54 = 2.3748
    # loss = (2.3748 - 3)^2 = 0.39087504: one step took it from 4.0 to 0.39.
    Z2_new = net.predict(X)
    np.testing.assert_allclose(Z2_new, [[2.3748]], rtol=1e-12)
    assert cr.MeanSquaredError()(Z2_new, T)[0] == pytest.approx(0.39087504, rel=1e-12)


def test_sequential_backward_equals_the_layer_by_layer_chain():
    net = build()
    net.zero_grad()
    Y, backward = net.forward(X, training=True)
    _, dY = cr.MeanSquaredError()(Y, T)
    dX = backward(dY)
    np.testing.assert_allclose(dX, [[-8.0, 2.0]])
    np.testing.assert_allclose(net.layers[0].grads["W"], [[-8.0, 4.0], [-16.0, 8.0]])


def test_sigmoid_and_binary_cross_entropy_by_hand():
    # One sigmoid unit: z = x*w + b = 2*0.5 + (-1) = 0, p = sigmoid(0) = 0.5, target 1.
    # BCE = -log(0.5) = ln 2; dL/dz = p - t = -0.5; dL/dw = x * dz = -1; dL/db = -0.5.
    layer = cr.Dense(1, 1, rng=0)
    layer.params["W"][:] = 0.5
    layer.params["b"][:] = -1.0
    Z, backward = layer.forward(np.array([[2.0]]), training=True)
    value, dZ = cr.BinaryCrossEntropy()(Z, np.array([1.0]))
    assert value == pytest.approx(np.log(2), rel=1e-15)
    layer.zero_grad()
    backward(dZ)
    assert layer.grads["W"][0, 0] == pytest.approx(-1.0)
    assert layer.grads["b"][0] == pytest.approx(-0.5)
