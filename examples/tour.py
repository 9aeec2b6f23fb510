"""A 30-second tour of chainrule's core: forward, loss, backward, check, update.

Run: python examples/tour.py
"""

import numpy as np

import chainrule as cr

rng = np.random.default_rng(0)

# XOR: the classic problem a single linear layer cannot solve.
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y = np.array([0, 1, 1, 0])

net = cr.Sequential(
    cr.Dense(2, 4, init="glorot", rng=rng),
    cr.Tanh(),
    cr.Dense(4, 2, init="glorot", rng=rng),  # logits for 2 classes
)
loss = cr.CrossEntropy()  # softmax fused in: dL/dZ = (P - T) / n
print(net.summary())

# Is backprop right? Compare with central differences before training.
print()
print(cr.gradient_check(net, loss, X, y))

# Full-batch gradient descent, written out: forward, loss, backward, update.
lr = 0.5
for epoch in range(1, 501):
    Y, backward = net.forward(X, training=True)
    value, dY = loss(Y, y)
    net.zero_grad()
    backward(dY)
    for _layer, _name, param, grad in net.parameters():
        param -= lr * grad
    if epoch in (1, 10, 100, 500):
        accuracy = (Y.argmax(axis=1) == y).mean()
        print(f"epoch {epoch:3d}  loss {value:.4f}  accuracy {accuracy:.2f}")

print("\npredicted classes:", net.predict(X).argmax(axis=1), " targets:", y)
