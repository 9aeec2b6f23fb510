"""The options of ``chainrule train`` (kept apart so that ``_resume`` can read them
without importing the command)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainOptions:
    data: str = "iris"
    target: str | None = None
    task: str = "auto"
    hidden: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    solver: str = "adam"
    epochs: int = 200
    batch_size: int | None = 32
    lr: float | str = 1e-3  # "auto": lr_find's suggestion (see train._auto_lr)
    alpha: float | None = None  # None: "auto", see _loop.fit_auto_alpha
    seed: int = 0
    test_size: float = 0.2
    early_stopping: bool = True
    validation_fraction: float = 0.2
    sep: str | None = None  # None: detected
    decimal: str = "."
    drop: tuple[str, ...] = ()
    id_column: str | None = None
    keep: tuple[str, ...] = ()  # identifier-like columns kept as features
    out: str = "chainrule-run"
    progress: bool = True
    plots: bool = True
