"""A trained model with its preprocessing: what ``chainrule train`` saves and
``chainrule predict`` loads.

A :class:`ModelBundle` holds the fitted :class:`~chainrule.datasets.Preprocessor`
(feature columns to numbers), the fitted estimator (``MLPClassifier`` or
``MLPRegressor``), and for regression the :class:`~chainrule.datasets.TargetScaler`
that standardised the targets. It saves through :func:`chainrule.save` into one ``.npz``
with the same safety rules as a network: JSON plus arrays, no pickle, every part
validated on load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..datasets.preprocess import Preprocessor, TargetScaler
from .npz import register_kind

_PARTS = ("pre.", "model.", "target.")


def _estimator_classes() -> dict[str, type]:
    from ..estimators.mlp import MLPClassifier, MLPRegressor

    return {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


@dataclass
class ModelBundle:
    """Preprocessing, estimator and target scaling, fitted together.

    Parameters
    ----------
    preprocessor : Preprocessor
        Fitted on the training features.
    estimator : MLPClassifier or MLPRegressor
        Fitted on the preprocessed training features.
    task : {"classification", "regression"}
    target : list of str
        The target column name(s) in the training data.
    target_scaler : TargetScaler, optional
        Regression only: the estimator was trained on standardised targets.
    info : dict
        JSON-able facts about the run (dataset, seed, metrics), saved with the model.
    """

    preprocessor: Preprocessor
    estimator: object
    task: str
    target: list[str]
    target_scaler: TargetScaler | None = None
    info: dict = field(default_factory=dict)

    @property
    def classes_(self) -> np.ndarray | None:
        return getattr(self.estimator, "classes_", None) if self.task == "classification" else None

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Feature columns of ``frame`` (extra columns, the target included, are ignored)
        as the estimator's input matrix (n_samples, n_features_out)."""
        return self.preprocessor.transform(frame)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Labels (classification) or values in the target's own units (regression):
        shape (n_samples,) or (n_samples, n_targets)."""
        Y = self.estimator.predict(self.transform(frame))
        if self.target_scaler is not None:
            Y = self.target_scaler.inverse_transform(np.asarray(Y, dtype=np.float64))
        return Y

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), classification only."""
        if self.task != "classification":
            raise TypeError("predict_proba: this is a regression model; use predict.")
        return self.estimator.predict_proba(self.transform(frame))

    def predictions_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A table of predictions, one row per row of ``frame`` (same index): the
        predicted target(s) and, for classifiers, one ``proba_<class>`` column per class."""
        Y = self.predict(frame)
        columns = {}  # built at once: thousands of classes, one column each
        if Y.ndim == 1:
            columns[f"predicted_{self.target[0]}"] = Y
        else:
            for j, name in enumerate(self.target):
                columns[f"predicted_{name}"] = Y[:, j]
        if self.task == "classification":
            P = self.predict_proba(frame)
            for j, c in enumerate(self.classes_):
                columns[f"proba_{c}"] = P[:, j]
        return pd.DataFrame(columns, index=frame.index)

    # -- persistence protocol (see chainrule.persistence)

    def _to_chainrule_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        est_kind = type(self.estimator).__name__
        if est_kind not in _estimator_classes():
            raise TypeError(f"ModelBundle cannot save an estimator of type {est_kind}.")
        pre_spec, pre_arrays = self.preprocessor.to_state()
        est_spec, est_arrays = self.estimator._to_chainrule_state()
        spec = {
            "task": self.task,
            "target": list(self.target),
            "preprocessor": pre_spec,
            "estimator_kind": est_kind,
            "estimator": est_spec,
            "info": self.info,
            "target_scaler": None,
        }
        arrays = {f"pre.{k}": v for k, v in pre_arrays.items()}
        arrays.update({f"model.{k}": v for k, v in est_arrays.items()})
        if self.target_scaler is not None:
            spec["target_scaler"], ts_arrays = self.target_scaler.to_state()
            arrays.update({f"target.{k}": v for k, v in ts_arrays.items()})
        return spec, arrays

    @classmethod
    def _from_chainrule_state(cls, spec: dict, arrays: dict[str, np.ndarray]) -> ModelBundle:
        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        if not isinstance(spec, dict):
            raise ValueError(f"ModelBundle: the spec must be a JSON object, got {spec!r:.40}.")
        unknown = [k for k in arrays if not k.startswith(_PARTS)]
        if unknown:
            raise ValueError(f"ModelBundle: unexpected arrays {unknown}.")
        task = spec.get("task")
        if task not in ("classification", "regression"):
            raise ValueError(
                f"ModelBundle: task must be classification or regression, got {task!r}."
            )
        target = spec.get("target")
        if not (isinstance(target, list) and target and all(isinstance(t, str) for t in target)):
            raise ValueError("ModelBundle: 'target' must be a non-empty list of column names.")
        est_cls = _estimator_classes().get(spec.get("estimator_kind"))
        if est_cls is None:
            raise ValueError(f"ModelBundle: unknown estimator kind {spec.get('estimator_kind')!r}.")
        if (est_cls.__name__ == "MLPClassifier") != (task == "classification"):
            raise ValueError("ModelBundle: the estimator does not match the task.")
        pre = Preprocessor.from_state(spec.get("preprocessor"), part("pre."))
        est = est_cls._from_chainrule_state(spec.get("estimator"), part("model."))
        scaler = None
        if spec.get("target_scaler") is not None:
            scaler = TargetScaler.from_state(spec["target_scaler"], part("target."))
        _check_parts_agree(task, target, pre, est, scaler)
        info = spec.get("info") if isinstance(spec.get("info"), dict) else {}
        return cls(pre, est, task, target, scaler, info)


def _check_parts_agree(task: str, target: list, pre, est, scaler) -> None:
    """At load time, not at the first predict: the parts of a bundle fit together."""
    if pre.n_features_out_ != est.n_features_in_:
        raise ValueError(
            f"ModelBundle: the preprocessing gives {pre.n_features_out_} features but the "
            f"network takes {est.n_features_in_}: the parts do not belong together."
        )
    if task == "classification":
        if scaler is not None or len(target) != 1:
            raise ValueError(
                "ModelBundle: a classifier has one target column and no target scaler, got "
                f"{len(target)} columns and {'a' if scaler is not None else 'no'} scaler."
            )
        return
    width = est.n_outputs_
    if scaler is None or scaler.mean_.shape[0] != width or len(target) != width:
        have = "no scaler" if scaler is None else f"a scaler of width {scaler.mean_.shape[0]}"
        raise ValueError(
            f"ModelBundle: a regressor with {width} outputs needs a target scaler and "
            f"{width} target columns, got {have} and {len(target)} columns."
        )


register_kind("ModelBundle", ModelBundle)
