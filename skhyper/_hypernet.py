"""Hypernets: modules that map hyperparameters to the weights of a net.

Each hypernet is built from the net's initial parameters and returns, for a
unit-coordinate vector ``t`` (one entry per hyperparameter, in ``[0, 1]``),
a dict ``{parameter name: tensor}`` to run the net with
``torch.func.functional_call``. So any ``nn.Module`` works unchanged.

``StructuredHypernet`` (default, Self-Tuning Networks / Delta-STN) and
``LinearHypernet`` are linear in ``t - center`` and can be re-centred
exactly at the current ``lambda_hat``; then ``weights(center)`` equals the
base weights, as in Delta-STN. ``MLPHypernet`` is a small nonlinear map for
small nets.

With vector hyperparameters (one decay per layer, unit or weight) the
structured hypernet reads them through a :class:`HypernetLayout`: the STN
per-unit response mixes a short *summary* of ``t`` (each scalar key, and the
mean of each block over each of its tensors), and each element of a tensor a
block covers gets a *diagonal* response to its own coordinate: it shrinks as
its own decay grows, at a learned rate. Its size is then at most about 3x the
net's, whatever the number of hyperparameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class HypernetLayout:
    """How the hypernet reads ``t``: the summary slices and the diagonal slots.

    Attributes
    ----------
    summary : list of (start, stop)
        Each summary coordinate is the mean of ``t[start:stop]``.
    diagonal : dict of str -> (Slot, int)
        For each parameter a block covers, its slot and the block's offset in ``t``.
    """

    summary: list
    diagonal: dict = field(default_factory=dict)

    @classmethod
    def of(cls, space):
        """The layout of a resolved search space."""
        summary, diagonal = [], {}
        for entry, part in zip(space.entries, space.slices()):
            slots = getattr(entry, "slots", None)
            if slots is None:
                summary.append((part.start, part.stop))
                continue
            for slot in slots:
                summary.append((part.start + slot.start, part.start + slot.stop))
                diagonal[slot.name] = (slot, part.start)
        return cls(summary, diagonal)

    @property
    def is_identity(self):
        """Whether the summary is ``t`` itself (scalar keys only)."""
        return all(stop - start == 1 and start == i
                   for i, (start, stop) in enumerate(self.summary))

    def summarize(self, shift):
        """The summary of ``shift`` (``(..., n_hyper)`` -> ``(..., n_summary)``)."""
        if self.is_identity:
            return shift
        return torch.stack([shift[..., a:b].mean(-1) for a, b in self.summary], dim=-1)


def _n_out(p):
    return p.shape[0] if p.dim() > 0 else 1


def _rows(scale, like):
    """Broadcast a per-output-unit vector against a parameter of shape ``like``."""
    return scale.reshape((-1,) + (1,) * (like.dim() - 1)) if like.dim() else scale[0]


class _CenteredHypernet(nn.Module):
    """Shared parts of the hypernets that are linear in ``t - center``."""

    def __init__(self, params, n_hyper, center):
        super().__init__()
        self.names = list(params)
        self.base = nn.ParameterList(
            nn.Parameter(p.detach().clone()) for p in params.values()
        )
        ref = next(iter(params.values()))
        self.register_buffer(
            "center", torch.as_tensor(center, dtype=ref.dtype, device=ref.device).clone()
        )
        self.n_hyper = n_hyper

    def _context(self, shift):
        """What every tensor's delta reads of the shift ``t - center``."""
        return shift

    def forward(self, t):
        context = self._context(t - self.center)
        return {
            name: base + self._delta(i, context)
            for i, (name, base) in enumerate(zip(self.names, self.base))
        }

    def stacked_forward(self, params, buffers, t):
        """The weights of several hypernets of this structure at once.

        ``params`` and ``buffers`` map this module's names to tensors stacked
        along a leading dimension (one entry per hypernet); returns the
        weights stacked the same way. Plain batched tensor operations: the
        fast path of :class:`skhyper._stack.FoldStack`.
        """
        context = self._context(t - buffers["center"])  # shift: (n_stacked, n_hyper)
        return {
            name: params[f"base.{i}"] + self._stacked_delta(i, params, context)
            for i, name in enumerate(self.names)
        }

    @torch.no_grad()
    def stacked_recenter(self, params, buffers, t):
        """:meth:`recenter` of several stacked hypernets at once (as in
        :meth:`stacked_forward`), in place."""
        weights = self.stacked_forward(params, buffers, t)
        for i, name in enumerate(self.names):
            params[f"base.{i}"].copy_(weights[name])
        buffers["center"].copy_(t.expand_as(buffers["center"]))

    @torch.no_grad()
    def recenter(self, t):
        """Move the centre to ``t`` without changing the function ``t -> weights``."""
        t = torch.as_tensor(t, dtype=self.center.dtype, device=self.center.device)
        context = self._context(t - self.center)
        deltas = [self._delta(i, context) for i in range(len(self.base))]
        for base, delta in zip(self.base, deltas):
            base.add_(delta)
        self.center.copy_(t)


class StructuredHypernet(_CenteredHypernet):
    """Structured best response: ``P(t) = P0 * exp(-s * e) + (V @ z)[:, None] * P_h``.

    ``z`` summarizes the shift ``t - c`` (with scalar keys only, ``z = t - c``):
    one scale per output unit of each parameter tensor mixes all summary
    coordinates (STN). An element of a tensor that a vector decay covers also
    shrinks with its own decay's shift ``e``, at a learned rate
    ``s = softplus(D) >= 0`` per element (``s = 0`` and ``e = 0`` on the other
    tensors; see :class:`HypernetLayout`). The shape is that of an L2 decay's
    best response, which only shrinks a weight: a free per-element offset
    instead let thousands of decays fit the validation rows (measured in
    docs/design.md). About 2x the net's memory for scalar keys, at most about
    3x with vector keys, for any number of hyperparameters. ``V`` starts at
    zero and ``e = 0`` at the centre (``P(c) = P0``), ``P_h`` at ``P0``.
    Re-centring is exact for scalar keys and exact to first order in the
    step with vector keys (the shrinkage and the mixing term do not commute).

    Examples
    --------
    >>> net = torch.nn.Linear(3, 2)
    >>> hyper = StructuredHypernet(dict(net.named_parameters()), n_hyper=1, center=[0.5])
    >>> w = hyper(torch.tensor([0.9]))
    >>> torch.equal(w["weight"], net.weight)  # V starts at zero
    True
    """

    def __init__(self, params, n_hyper, center, layout=None):
        super().__init__(params, n_hyper, center)
        self.layout = layout or HypernetLayout([(i, i + 1) for i in range(n_hyper)])
        n_summary = len(self.layout.summary)
        self.response = nn.ParameterList(
            nn.Parameter(p.detach().clone()) for p in params.values()
        )
        self.mixing = nn.ParameterList(
            nn.Parameter(torch.zeros(_n_out(p), n_summary, dtype=p.dtype, device=p.device))
            for p in params.values()
        )
        self.diagonal_names = [n for n in self.names if n in self.layout.diagonal]
        self.diagonal = nn.ParameterList(  # rates softplus(-2) = 0.13 to start
            nn.Parameter(torch.full_like(params[n].detach(), -2.0)) for n in self.diagonal_names
        )

    @staticmethod
    def parameter_count(params, n_hyper, layout=None):
        """How many parameters the hypernet would hold (before building it)."""
        n_summary = n_hyper if layout is None else len(layout.summary)
        covered = set() if layout is None else set(layout.diagonal)
        return sum(
            2 * p.numel() + _n_out(p) * n_summary + (p.numel() if n in covered else 0)
            for n, p in params.items()
        )

    def response_parameters(self):
        """The parameters that make the weights depend on the hyperparameters."""
        return [*self.mixing, *self.diagonal]

    def _context(self, shift):
        return shift, self.layout.summarize(shift)

    def _diagonal_delta(self, name, diagonal, shift, weight):
        """``weight * (exp(-softplus(diagonal) * e) - 1)``: each element shrinks as
        its own decay grows (and grows back as it falls), at a learned rate."""
        slot, base = self.layout.diagonal[name]
        e = slot.take(shift, base)
        return weight * torch.expm1(-torch.nn.functional.softplus(diagonal) * e)

    def _delta(self, i, context):
        shift, summary = context
        response = self.response[i]
        delta = _rows(self.mixing[i] @ summary, response) * response
        name = self.names[i]
        if name in self.layout.diagonal:
            j = self.diagonal_names.index(name)
            delta = delta + self._diagonal_delta(name, self.diagonal[j], shift, self.base[i])
        return delta

    def _stacked_delta(self, i, params, context):
        shift, summary = context
        response = params[f"response.{i}"]
        scale = torch.einsum("koh,kh->ko", params[f"mixing.{i}"], summary)
        if response.dim() == 1:  # a scalar parameter, stacked
            delta = scale[:, 0] * response
        else:
            delta = scale.reshape(scale.shape + (1,) * (response.dim() - 2)) * response
        name = self.names[i]
        if name in self.layout.diagonal:
            j = self.diagonal_names.index(name)
            delta = delta + self._diagonal_delta(name, params[f"diagonal.{j}"], shift,
                                                 params[f"base.{i}"])
        return delta


class LinearHypernet(_CenteredHypernet):
    """Linear best response: ``P(t) = P0 + sum_j (t_j - c_j) * D_j``.

    ``n_hyper + 1`` copies of the net's parameters; exact for the ridge
    problem near the centre. ``D_j`` start at zero.
    """

    def __init__(self, params, n_hyper, center, layout=None):
        super().__init__(params, n_hyper, center)
        self.directions = nn.ParameterList(
            nn.Parameter(torch.zeros((n_hyper,) + tuple(p.shape), dtype=p.dtype, device=p.device))
            for p in params.values()
        )

    def response_parameters(self):
        """The parameters that make the weights depend on the hyperparameters."""
        return list(self.directions)

    @staticmethod
    def parameter_count(params, n_hyper, layout=None):
        """How many parameters the hypernet would hold (before building it)."""
        return (n_hyper + 1) * sum(p.numel() for p in params.values())

    def _delta(self, i, shift):
        return torch.tensordot(shift, self.directions[i], dims=1)

    def _stacked_delta(self, i, params, shift):
        return torch.einsum("kh,kh...->k...", shift, params[f"directions.{i}"])


class MLPHypernet(nn.Module):
    """A small MLP from ``t`` to all weights, added to the initial weights.

    ``hidden * n_params`` extra parameters: meant for small nets. Not
    re-centred (:meth:`recenter` is a no-op).
    """

    def __init__(self, params, n_hyper, center, layout=None, hidden=16):
        super().__init__()
        self.names = list(params)
        self.shapes = [p.shape for p in params.values()]
        flat = torch.cat([p.detach().reshape(-1) for p in params.values()])
        self.base = nn.Parameter(flat.clone())
        self.hidden = nn.Linear(n_hyper, hidden, dtype=flat.dtype, device=flat.device)
        self.out = nn.Linear(hidden, flat.numel(), dtype=flat.dtype, device=flat.device)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, t):
        flat = self.base + self.out(torch.tanh(self.hidden(2 * t - 1)))
        chunks = torch.split(flat, [s.numel() for s in self.shapes])
        return {n: c.reshape(s) for n, c, s in zip(self.names, chunks, self.shapes)}

    def response_parameters(self):
        """The parameters that make the weights depend on the hyperparameters."""
        return [*self.hidden.parameters(), *self.out.parameters()]

    @staticmethod
    def parameter_count(params, n_hyper, layout=None, hidden=16):
        """How many parameters the hypernet would hold (before building it)."""
        n = sum(p.numel() for p in params.values())
        return n * (hidden + 2) + hidden * (n_hyper + 1)

    def stacked_forward(self, params, buffers, t):
        """The weights of several stacked MLP hypernets at once (see
        :meth:`StructuredHypernet.stacked_forward`)."""
        hidden = torch.tanh(torch.einsum("khd,d->kh", params["hidden.weight"], 2 * t - 1)
                            + params["hidden.bias"])
        flat = params["base"] + torch.einsum("kph,kh->kp", params["out.weight"], hidden)
        flat = flat + params["out.bias"]
        chunks = torch.split(flat, [s.numel() for s in self.shapes], dim=1)
        return {n: c.reshape((-1, *s)) for n, c, s in zip(self.names, chunks, self.shapes)}

    def recenter(self, t):
        """No-op: the MLP reads absolute coordinates."""


HYPERNETS = {
    "structured": StructuredHypernet,
    "linear": LinearHypernet,
    "mlp": MLPHypernet,
}


#: A hypernet larger than this many times the net is refused (see make_hypernet).
MAX_SIZE_RATIO = 64


def make_hypernet(kind, params, n_hyper, center, layout=None):
    """Build the hypernet named ``kind`` around the parameters ``params``.

    Parameters
    ----------
    kind : {"structured", "linear", "mlp"}
    params : dict of str -> Tensor
        The net's initial learnable parameters.
    n_hyper : int
        Number of hyperparameters.
    center : sequence of float
        Unit coordinates where ``weights(center)`` equals ``params`` initially.
    layout : HypernetLayout, optional
        How vector hyperparameters are read (the structured hypernet only;
        the others read every coordinate of ``t`` and grow with them).
    """
    cls = HYPERNETS[kind]
    n_net = sum(p.numel() for p in params.values())
    size = cls.parameter_count(params, n_hyper, layout)
    if size > MAX_SIZE_RATIO * n_net:
        raise ValueError(
            f"hypernet={kind!r} would hold {size:,} parameters ({size / n_net:.0f}x the "
            f"net's {n_net:,}) for {n_hyper:,} hyperparameters. Use "
            "hypernet='structured', whose size does not grow with the number of "
            "hyperparameters."
        )
    return cls(params, n_hyper, center, layout)
