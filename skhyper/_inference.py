"""Fast prediction for scoring many points with the same fold net.

Scoring a search's rows calls the fold net's ``predict``/``predict_proba``
once per row and fold. skorch's default iterator builds every batch row by
row (``Dataset.__getitem__`` and ``default_collate``), which for a few
thousand validation rows costs more than the forward passes themselves
(measured in ``benchmarks/NOTES.md``). For plain arrays, :func:`fast_inference`
lets the net read its batches as slices instead: the same rows, in the same
order, through the same ``infer``, so the predictions are the same.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from skorch.dataset import Dataset


class SlicingLoader:
    """Yield ``(X[i:i + batch_size], y[i:i + batch_size])`` of a skorch Dataset.

    A stand-in for ``torch.utils.data.DataLoader`` in evaluation (no shuffle),
    for datasets holding one numpy array or tensor ``X``; anything else goes
    to a real DataLoader.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, **kwargs):
        self.dataset = dataset
        self.batch_size = batch_size
        self._sliceable = (
            type(dataset) is Dataset and not shuffle
            and isinstance(dataset.X, np.ndarray | torch.Tensor)
            and (dataset.y is None or isinstance(dataset.y, np.ndarray | torch.Tensor))
        )
        if not self._sliceable:
            self._loader = torch.utils.data.DataLoader(
                dataset, batch_size=batch_size, shuffle=shuffle, **kwargs)

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        if not self._sliceable:
            yield from self._loader
            return
        X, y = self.dataset.X, self.dataset.y
        for start in range(0, len(self.dataset), self.batch_size):
            rows = slice(start, start + self.batch_size)
            yield self.dataset.transform(X[rows], None if y is None else y[rows])


@contextlib.contextmanager
def fast_inference(net):
    """Let ``net`` predict through a :class:`SlicingLoader` inside the block.

    Only when the net uses skorch's default dataset and loader for
    prediction; a net with its own keeps them.
    """
    default = (net.iterator_valid is torch.utils.data.DataLoader and net.dataset is Dataset
               and not net.get_params_for("dataset"))
    if not default:
        yield net
        return
    net.iterator_valid = SlicingLoader
    try:
        yield net
    finally:
        net.iterator_valid = torch.utils.data.DataLoader
