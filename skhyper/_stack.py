"""All folds' hypernets as one stacked model, trained in one vectorized step.

With ``cv=k`` the loop trains ``k`` hypernets on ``k`` batches per step. Run
one after the other, each costs a full round of Python and dispatch overhead,
which dominates for the small nets people tune on a CPU. Here the folds'
parameters are stacked along a leading fold dimension and one step runs all
folds at once through :func:`torch.func.vmap`: one forward, one backward, one
optimizer update, whatever ``k`` (measured in ``benchmarks/NOTES.md``).

Each fold's hypernet module stays usable on its own: its parameters and
buffers are views of the stacked tensors (so re-centring, scoring and the
hypergradient see the weights being trained), until :meth:`FoldStack.unstack`
gives each fold its own copy again.

The stack is used when the folds allow it: array inputs (not dicts), no extra
forward keyword arguments, and a module that runs under ``vmap``. Otherwise
the loop trains the folds one by one, with the same results in distribution.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, vmap


class FoldStack:
    """The stacked parameters of ``folds``' hypernets and their data.

    Parameters
    ----------
    folds : list of Fold
        Folds with hypernets of one structure and tensor ``X_train``.

    Attributes
    ----------
    params : dict of str -> Tensor
        Leaf tensors of shape ``(n_folds, *parameter shape)``: what the
        optimizer steps.
    response_names : set of str
        Names (in ``params``) of the hypernets' response parameters.
    """

    def __init__(self, folds):
        self.folds = folds
        self._hypernet = folds[0].hypernet
        names = [name for name, _ in self._hypernet.named_parameters()]
        per_fold = [dict(f.hypernet.named_parameters()) for f in folds]
        self.params = {
            n: torch.stack([p[n].detach() for p in per_fold]).requires_grad_(True) for n in names
        }
        response = {id(p) for p in self._hypernet.response_parameters()}
        self.response_names = {n for n, p in per_fold[0].items() if id(p) in response}
        buffer_names = [name for name, _ in self._hypernet.named_buffers()]
        per_fold_buffers = [dict(f.hypernet.named_buffers()) for f in folds]
        self.buffers = {n: torch.stack([b[n] for b in per_fold_buffers]) for n in buffer_names}
        for k in range(len(folds)):
            for n in names:
                per_fold[k][n].data = self.params[n].data[k]
            for n in buffer_names:
                per_fold_buffers[k][n].data = self.buffers[n][k]
        self._data = stack_rows([f.X_train for f in folds], [f.y_train for f in folds])
        self._val = stack_rows([f.X_val for f in folds], [f.y_val for f in folds])
        self._vmapped_hypernet = vmap(self._hypernet_forward, in_dims=(0, 0, None))
        self._step = vmap(self._fold_outputs, in_dims=(0, 0, None), randomness="different")
        self._eval = vmap(self._fold_val_output, in_dims=(0, 0))

    @staticmethod
    def supports(folds, min_folds=2):
        """Whether ``folds`` can be stacked (the loop falls back to one by one if not).

        ``min_folds=1`` lets a rank stack its single fold when the folds of a
        distributed search stack on the other ranks.
        """
        first = folds[0]
        return (
            len(folds) >= min_folds
            and all(isinstance(f.X_train, torch.Tensor) for f in folds)
            and all(not f.forward_kwargs for f in folds)
            and len({tuple(f.X_train.shape[1:]) for f in folds}) == 1
            and len({type(f.hypernet) for f in folds}) == 1
            and all(f.X_train.device == first.X_train.device for f in folds)
        )

    def epoch_rows(self, generator=None, shuffle=True, longest=None):
        """Row indices of one epoch, shape ``(n_folds, n_rows)``: a shuffle of each
        fold's training rows, or with ``shuffle=False`` the rows in order (a fold
        shorter than the longest repeats a few rows). ``generator``: one, or a
        list of one per fold; ``longest``: the epoch's length (default: the
        longest fold here; a distributed search passes the longest of all)."""
        return self._data.epoch_rows(generator, shuffle, longest)

    def losses(self, rows, t, values):
        """Each fold's data loss on ``rows`` at ``t``, and the folds' summed penalty.

        ``values`` are the hyperparameter values of ``t``, already put in place
        with each fold's ``set_train``. Returns a tensor of shape ``(n_folds,)``
        and a scalar.
        """
        X, y = self._data.X[rows], self._data.y[rows]
        outputs, penalties = self._step(self._weights(t), X, values)
        # the criterion runs per fold outside vmap: under vmap, losses such as
        # nll_loss run as slow Python decompositions
        return self._per_fold_losses(outputs, X, y, True), penalties.sum()

    def _per_fold_losses(self, outputs, X, y, training):
        """Each fold's criterion on its slice of the stacked outputs."""
        return torch.stack([
            fold.loss(_fold_part(outputs, k), y[k], X[k], training)
            for k, fold in enumerate(self.folds)
        ])

    def _weights(self, t):
        """Every fold's weights at ``t``, stacked: batched tensor operations when
        the hypernet has them (cheaper than the same operations under vmap)."""
        if hasattr(self._hypernet, "stacked_forward"):
            return self._hypernet.stacked_forward(self.params, self.buffers, t)
        return self._vmapped_hypernet(self.params, self.buffers, t)

    def recenter(self, t):
        """Re-centre every fold's hypernet at ``t`` (see the hypernets' ``recenter``)."""
        if hasattr(self._hypernet, "stacked_recenter"):  # (the MLP hypernet has none)
            self._hypernet.stacked_recenter(self.params, self.buffers, t)
        else:
            for fold in self.folds:
                fold.hypernet.recenter(t)

    def _hypernet_forward(self, params, buffers, t):
        return functional_call(self._hypernet, {**params, **buffers}, (t,))

    def _fold_outputs(self, weights, X, values):
        fold = self.folds[0]  # all folds share the module's code and settings
        out = functional_call(fold.module, weights, (X,))
        penalty = fold.penalty(values, weights)
        if not torch.is_tensor(penalty):  # no target adds one
            penalty = torch.zeros((), dtype=X.dtype, device=X.device)
        return out, penalty

    def validation_losses(self, t, n_rows, generator=None):
        """Each fold's validation loss at ``t`` (eval mode) on ``n_rows`` random rows.

        Differentiable in ``t``. ``n_rows`` must not exceed the smallest fold's
        validation part (see :meth:`can_sample_validation`).
        """
        rows = self._val.sample_rows(n_rows, generator)
        X, y = self._val.X[rows], self._val.y[rows]
        for fold in self.folds:
            fold.set_eval()
            fold.module.eval()
        try:
            return self._per_fold_losses(self._eval(self._weights(t), X), X, y, False)
        finally:
            for fold in self.folds:
                fold.module.train()

    def can_sample_validation(self, n_rows):
        """Whether every fold has at least ``n_rows`` validation rows."""
        return min(self._val.sizes) >= n_rows

    def _fold_val_output(self, weights, X):
        return functional_call(self.folds[0].module, weights, (X,))

    def unstack(self):
        """Give each fold's hypernet its own copy of its parameters and buffers."""
        for fold in self.folds:
            with torch.no_grad():
                for tensor in (*fold.hypernet.parameters(), *fold.hypernet.buffers()):
                    tensor.data = tensor.data.clone()


class _StackedRows:
    """Every fold's training rows in one tensor, and each fold's offset in it."""

    def __init__(self, X, y, offsets, sizes):
        self.X, self.y = X, y
        self.offsets, self.sizes = offsets, sizes

    def epoch_rows(self, generator=None, shuffle=True, longest=None):
        longest = max(self.sizes) if longest is None else longest
        rows = []
        for offset, size, gen in zip(self.offsets, self.sizes, _per_fold(generator, self.sizes)):
            if shuffle:
                perm = torch.randperm(size, device=self.X.device, generator=gen)
            else:
                perm = torch.arange(size, device=self.X.device)
            repeats = -(-longest // size)
            rows.append(perm.repeat(repeats)[:longest] + offset)
        return torch.stack(rows)

    def sample_rows(self, n_rows, generator=None):
        """``n_rows`` random rows of each fold, shape ``(n_folds, n_rows)``."""
        return torch.stack([
            torch.randperm(size, device=self.X.device, generator=gen)[:n_rows] + offset
            for offset, size, gen in zip(self.offsets, self.sizes,
                                         _per_fold(generator, self.sizes))
        ])


def _per_fold(generator, sizes):
    """``generator`` as one per fold: a list as it is, one (or ``None``) repeated."""
    if isinstance(generator, (list, tuple)):
        return list(generator)
    return [generator] * len(sizes)


def _fold_part(outputs, k):
    """Fold ``k``'s part of stacked module outputs (a tensor, or a tuple, list or
    dict of them, as a module may return)."""
    if isinstance(outputs, tuple | list):
        return type(outputs)(_fold_part(o, k) for o in outputs)
    if isinstance(outputs, dict):
        return {key: _fold_part(o, k) for key, o in outputs.items()}
    return outputs[k]


def stack_rows(Xs, ys):
    sizes = [len(y) for y in ys]
    offsets = [sum(sizes[:k]) for k in range(len(sizes))]
    return _StackedRows(torch.cat(Xs), torch.cat(ys), offsets, sizes)
