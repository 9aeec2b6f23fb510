"""Mistakes get a message that names the problem and the fix."""

import numpy as np
import pytest

import chainrule as cr


def test_dense_with_wrong_number_of_features_names_both_shapes():
    layer = cr.Dense(4, 3, rng=0)
    with pytest.raises(ValueError, match=r"Dense\(4, 3\) expects X with 4 features.*\(2, 5\)"):
        layer.forward(np.zeros((2, 5)))


@pytest.mark.parametrize("shape", [(4,), (2, 2, 4)])
def test_dense_refuses_non_2d_input_and_says_how_to_reshape(shape):
    with pytest.raises(ValueError, match=r"2-D array.*reshape"):
        cr.Dense(4, 3, rng=0).forward(np.zeros(shape))


def test_dense_refuses_strings():
    with pytest.raises(TypeError, match="strings or objects"):
        cr.Dense(2, 1, rng=0).forward(np.array([["a", "b"]]))


@pytest.mark.parametrize("layer", [cr.Dense(3, 2, rng=0), cr.ReLU(), cr.Sigmoid(), cr.Softmax()])
def test_backward_with_wrong_dY_shape(layer):
    _, backward = layer.forward(np.ones((4, 3)), training=True)
    with pytest.raises(ValueError, match=r"dY has shape \(4, 5\) but the forward output Y had"):
        backward(np.ones((4, 5)))


def test_sequential_checks_that_sizes_chain():
    with pytest.raises(ValueError, match=r"follows a layer with 8 outputs.*Dense\(8, 2\)"):
        cr.Sequential(cr.Dense(4, 8, rng=0), cr.ReLU(), cr.Dense(6, 2, rng=0))
    with pytest.raises(TypeError, match="argument 1 is a int"):
        cr.Sequential(cr.Dense(4, 8, rng=0), 3)


def test_cross_entropy_index_out_of_range_says_which():
    with pytest.raises(ValueError, match=r"class index 3 \(sample 1\) is out of range for 3"):
        cr.CrossEntropy()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="whole numbers"):
        cr.CrossEntropy()(np.zeros((2, 3)), np.array([0.5, 1.0]))


def test_loss_target_shape_mismatch():
    with pytest.raises(ValueError, match=r"Y has 3 samples but T has 2"):
        cr.MeanSquaredError()(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"target shape \(3, 2\) does not match output shape"):
        cr.MeanSquaredError()(np.zeros((3, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"single-output network"):
        cr.MeanSquaredError()(np.zeros((3, 2)), np.zeros(3))


def test_bce_targets_outside_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\].*Map your labels"):
        cr.BinaryCrossEntropy()(np.zeros((2, 1)), np.array([0, 2]))


def test_nan_targets_and_bad_weights():
    with pytest.raises(ValueError, match="NaN or inf"):
        cr.MeanSquaredError()(np.zeros((2, 1)), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(2,\)"):
        cr.MeanSquaredError()(np.zeros((2, 1)), np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        cr.MeanSquaredError()(np.zeros((2, 1)), np.zeros(2), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="sums to zero"):
        cr.MeanSquaredError()(np.zeros((2, 1)), np.zeros(2), np.zeros(2))


def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match="n_out must be a positive integer, got 0"):
        cr.Dense(3, 0)
    with pytest.raises(ValueError, match=r"unknown init 'uniformish'.*glorot"):
        cr.Dense(3, 2, init="uniformish")
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        cr.Dense(3, 2, rng="seed")
    with pytest.raises(ValueError, match="delta must be a positive number"):
        cr.Huber(delta=0)


def test_custom_initializer_with_wrong_shape():
    with pytest.raises(ValueError, match=r"init returned an array of shape \(2,\)"):
        cr.Dense(3, 2, init=lambda rng, shape, dtype: np.zeros(2, dtype))
