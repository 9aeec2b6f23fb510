"""Continue training a chainrule model in PyTorch, data-parallel on several processes.

chainrule trains the model on one machine; `cr.to_torch` hands its weights to PyTorch,
where DistributedDataParallel (DDP) continues training on N processes, each on its own
shard of the data, averaging gradients after every backward pass. Here the processes
are on this machine (the gloo backend on 127.0.0.1); on a cluster only the address
and the world size change. At the end, `cr.from_torch` brings the weights back, and
chainrule's predictions equal PyTorch's.

    python examples/continue_in_pytorch.py [--processes 2] [--epochs 5]

Needs PyTorch (`pip install -e ".[torch]"`).
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import warnings

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import chainrule as cr


def data():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16 -> 0..1
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def accuracy(module: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        return float((module(torch.from_numpy(X)).argmax(1).numpy() == y).mean())


def worker(rank: int, world: int, port: int, epochs: int, state_path: str, out_dir: str):
    """One process of the data-parallel run: its shard, its DDP replica."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)  # fmt: skip
    torch.manual_seed(0)
    X_train, _, y_train, _ = data()
    module = torch.nn.Sequential(*torch.load(state_path, weights_only=False))  # same start
    model = torch.nn.parallel.DistributedDataParallel(module)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    shard = np.arange(rank, len(X_train), world)  # every world-th sample: disjoint shards
    X, y = torch.from_numpy(X_train[shard]), torch.from_numpy(y_train[shard])
    for _ in range(epochs):
        for batch in torch.randperm(len(X), generator=torch.Generator().manual_seed(rank)).split(
            32
        ):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[batch]), y[batch])
            loss.backward()  # DDP averages the gradients of all processes here
            optimizer.step()
    torch.save(module.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = data()

    # 1. chainrule trains a first model (a short run: PyTorch continues it)
    clf = cr.MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    module = cr.to_torch(clf.network_)  # logits: PyTorch's cross-entropy fuses the softmax
    before = accuracy(module, X_test, y_test)
    print(f"chainrule, after {clf.n_iter_} epochs: test accuracy {before:.3f}")

    # 2. PyTorch continues, data-parallel on N processes
    with tempfile.TemporaryDirectory() as tmp:
        start = os.path.join(tmp, "start.pt")
        torch.save(list(module), start)
        mp.spawn(worker, args=(args.processes, free_port(), args.epochs, start, tmp),
                 nprocs=args.processes, join=True)  # fmt: skip
        states = [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(args.processes)]
    agree = all(torch.equal(states[0][k], s[k]) for s in states[1:] for k in states[0])
    print(f"the {args.processes} processes end with identical weights: {agree}")
    module.load_state_dict(states[0])
    print(f"PyTorch DDP, after {args.epochs} more epochs: test accuracy "
          f"{accuracy(module, X_test, y_test):.3f}")  # fmt: skip

    # 3. back in chainrule: the same predictions, and explain() works on it
    net = cr.from_torch(module)
    with torch.no_grad():
        logits = module(torch.from_numpy(X_test)).numpy()
    gap = np.abs(net.predict(X_test) - logits).max()
    print(f"chainrule and PyTorch outputs differ by at most {gap:.1e}")


if __name__ == "__main__":
    main()
