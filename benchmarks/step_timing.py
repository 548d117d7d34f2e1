"""Time one stacked training step of the digits folds, and its parts, A/B interleaved.

The micro-benchmarks behind benchmarks/NOTES.md: the three digits folds (the
suite's net and box) stacked as HypernetSearchCV stacks them, one training step
(forward, backward, optimizer) timed in milliseconds, each variant in turn in the
same process (medians of ``--repeats`` blocks of ``--steps`` steps):

* ``step``: the step as the search runs it;
* ``vmapped-hypernet``: the hypernets' weights computed under ``vmap`` instead of
  by their batched ``stacked_forward``;
* ``optimizer fused`` / ``optimizer foreach``: the optimizer step alone.

Usage::

    python benchmarks/step_timing.py          # --save: also benchmarks/results/step_timing.*
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import torch
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
from provenance import metadata, save  # noqa: E402
from workloads import DIGITS  # noqa: E402

from skhyper._folds import FoldBuilder  # noqa: E402
from skhyper._space import parse_bounds  # noqa: E402
from skhyper._stack import FoldStack  # noqa: E402


def stacked_digits_folds():
    X, _, y, _ = DIGITS.data(0)
    space = parse_bounds(DIGITS.bounds)
    builder = FoldBuilder(DIGITS.make_net(), space, "structured")
    splits = StratifiedKFold(3, shuffle=True, random_state=0).split(X, y)
    folds = [builder.build(X, y, train, test, [0.5, 0.5])[0] for train, test in splits]
    return space, folds, FoldStack(folds)


def make_step(stack, optimizer, t, values, batch_size):
    rows = stack.epoch_rows()
    n_batches = rows.shape[1] // batch_size

    def step(i):
        batch = rows[:, (i % n_batches) * batch_size : (i % n_batches + 1) * batch_size]
        losses, penalty = stack.losses(batch, t, values)
        optimizer.zero_grad()
        (losses.sum() + penalty).backward()
        optimizer.step()

    return step


def time_ms(fn, steps):
    begin = time.perf_counter()
    for i in range(steps):
        fn(i)
    return (time.perf_counter() - begin) / steps * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    meta = metadata("step_timing.py", argv)  # before the run: the code it imported
    torch.manual_seed(0)
    space, folds, stack = stacked_digits_folds()
    t = torch.tensor([0.3, 0.4])
    values = space.values_from_unit(t.tolist())
    for fold in folds:
        fold.set_train(values)
    params = list(stack.params.values())
    fused = torch.optim.Adam(params, lr=1e-3, fused=True)
    foreach = torch.optim.Adam(params, lr=1e-3, foreach=True)
    step = make_step(stack, fused, t, values, DIGITS.make_net().batch_size)

    def vmapped_hypernet(i):
        with mock.patch.object(stack, "_weights", lambda t: stack._vmapped_hypernet(
                stack.params, stack.buffers, t)):
            step(i)

    variants = {
        "step": step,
        "vmapped-hypernet": vmapped_hypernet,
        "optimizer fused": lambda i: fused.step(),
        "optimizer foreach": lambda i: foreach.step(),
    }
    for fn in variants.values():  # warm up every path
        time_ms(fn, 20)
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            times[name].append(time_ms(fn, args.steps))
    medians = {name: statistics.median(values_ms) for name, values_ms in times.items()}
    text = "\n".join([f"# torch {torch.__version__}, 1 thread; ms per step, median of "
                      f"{args.repeats} blocks of {args.steps}",
                      *(f"{name:>18}: {ms:.3f} ms" for name, ms in medians.items())])
    print(text)
    if args.save:
        save("step_timing", meta, text, {"median_ms": medians, "ms": times})


if __name__ == "__main__":
    main()
