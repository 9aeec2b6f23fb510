"""`chainrule train --lr auto`: lr_find's suggestion printed, plotted and trained with."""

import json
import os
import re
import subprocess
import sys

import chainrule as cr

PNG = b"\x89PNG\r\n\x1a\n"


def run(*args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_lr_auto_prints_plots_and_trains_with_the_suggestion(tmp_path):
    out = tmp_path / "iris"
    r = run("train", "--data", "iris", "--lr", "auto", "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    line = re.search(
        r"^lr auto: lr_find suggests --lr (\S+) \(the training loss fell fastest there, over "
        r"(\d+) batches at rates 1e-07 to (\S+); (the loss exploded|end reached)\); curve in "
        r"lr_find.png$",
        r.stdout,
        re.M,
    )
    assert line, r.stdout
    lr = float(line.group(1))
    assert 1e-4 < lr < 1.0
    assert f"solver='adam', lr={lr:g}, alpha=" in r.stdout  # the fit that follows uses it
    assert (out / "lr_find.png").read_bytes()[:8] == PNG
    assert "lr_find.png" in r.stdout.splitlines()[-2]  # among the files written
    report = json.loads((out / "metrics.json").read_text())
    assert report["options"]["lr"] == lr
    assert report["lr_find"]["suggestion"] == lr
    assert report["lr_find"]["batches"] == int(line.group(2))
    model = cr.load(out / "model.npz")
    assert model.estimator.learning_rate_init == lr


def test_lr_auto_with_lbfgs_is_refused_in_one_line(tmp_path):
    r = run("train", "--lr", "auto", "--solver", "lbfgs", "--out", tmp_path / "x")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "chainrule train: error: --lr auto finds a rate for --solver adam or sgd; lbfgs has "
        "no learning rate (drop --lr, or choose --solver adam)"
    )
    assert not (tmp_path / "x").exists()


def test_a_later_run_without_lr_auto_removes_the_stale_plot(tmp_path):
    out = tmp_path / "o"
    assert (
        run("train", "--lr", "auto", "--epochs", "3", "--out", out, "--no-progress").returncode == 0
    )
    assert (out / "lr_find.png").exists()
    r = run("train", "--epochs", "3", "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert not (out / "lr_find.png").exists()  # a stale curve would describe another run
