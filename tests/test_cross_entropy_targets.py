"""CrossEntropy refuses target rows that are not distributions.

(P - T) / n is the gradient of -(1/n) sum T log P only when every row of T sums to 1;
for any other row the loss would report one function and return the gradient of another.
"""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_distributions_are_accepted_and_the_gradient_is_p_minus_t(dtype):
    Z = np.random.default_rng(0).normal(size=(3, 3)).astype(dtype)
    T = np.array([[1, 0, 0], [0.8, 0.1, 0.1], [1 / 3, 1 / 3, 1 / 3]], dtype=dtype)
    value, dZ = cr.CrossEntropy()(Z, T)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    assert dZ.dtype == dtype
    np.testing.assert_allclose(dZ, (P - T) / 3, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value, -np.mean(np.sum(T * np.log(P), axis=1)), rtol=1e-5)


@pytest.mark.parametrize("from_logits", [True, False])
def test_rows_that_are_not_distributions_are_named(from_logits):
    Y = np.full((4, 2), 0.5)
    T = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.5, -0.5]])  # rows 0, 2, 3 bad
    with pytest.raises(ValueError) as info:
        cr.CrossEntropy(from_logits=from_logits)(Y, T)
    message = str(info.value)
    assert "3 of 4 rows are not distributions, first row 0: [1.0, 1.0] (sum 2)" in message
    assert "bad rows [0, 2, 3]" in message
    assert "T / T.sum(axis=1, keepdims=True)" in message and "BinaryCrossEntropy" in message


def test_estimator_with_class_labels_is_unaffected():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), np.repeat([0, 1, 2], 10)
    model = cr.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with pytest.warns(Warning):  # ConvergenceWarning after 5 epochs
        model.fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1)
