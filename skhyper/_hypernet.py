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
"""

from __future__ import annotations

import torch
from torch import nn


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

    def forward(self, t):
        shift = t - self.center
        return {
            name: base + self._delta(i, shift)
            for i, (name, base) in enumerate(zip(self.names, self.base))
        }

    def stacked_forward(self, params, buffers, t):
        """The weights of several hypernets of this structure at once.

        ``params`` and ``buffers`` map this module's names to tensors stacked
        along a leading dimension (one entry per hypernet); returns the
        weights stacked the same way. Plain batched tensor operations: the
        fast path of :class:`skhyper._stack.FoldStack`.
        """
        shift = t - buffers["center"]  # (n_stacked, n_hyper)
        return {
            name: params[f"base.{i}"] + self._stacked_delta(i, params, shift)
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
        shift = t - self.center
        for i, base in enumerate(self.base):
            base.add_(self._delta(i, shift))
        self.center.copy_(t)


class StructuredHypernet(_CenteredHypernet):
    """Structured best response: ``P(t) = P0 + (V @ (t - c))[:, None] * P_h``.

    One scale per output unit of each parameter tensor, mixing all
    hyperparameters. About twice the net's memory, for any number of
    hyperparameters. ``V`` starts at zero (``P(c) = P0``), ``P_h`` at ``P0``.

    Examples
    --------
    >>> net = torch.nn.Linear(3, 2)
    >>> hyper = StructuredHypernet(dict(net.named_parameters()), n_hyper=1, center=[0.5])
    >>> w = hyper(torch.tensor([0.9]))
    >>> torch.equal(w["weight"], net.weight)  # V starts at zero
    True
    """

    def __init__(self, params, n_hyper, center):
        super().__init__(params, n_hyper, center)
        self.response = nn.ParameterList(
            nn.Parameter(p.detach().clone()) for p in params.values()
        )
        self.mixing = nn.ParameterList(
            nn.Parameter(torch.zeros(_n_out(p), n_hyper, dtype=p.dtype, device=p.device))
            for p in params.values()
        )

    def response_parameters(self):
        """The parameters that make the weights depend on the hyperparameters."""
        return list(self.mixing)

    def _delta(self, i, shift):
        response = self.response[i]
        return _rows(self.mixing[i] @ shift, response) * response

    def _stacked_delta(self, i, params, shift):
        response = params[f"response.{i}"]
        scale = torch.einsum("koh,kh->ko", params[f"mixing.{i}"], shift)
        if response.dim() == 1:  # a scalar parameter, stacked
            return scale[:, 0] * response
        return scale.reshape(scale.shape + (1,) * (response.dim() - 2)) * response


class LinearHypernet(_CenteredHypernet):
    """Linear best response: ``P(t) = P0 + sum_j (t_j - c_j) * D_j``.

    ``n_hyper + 1`` copies of the net's parameters; exact for the ridge
    problem near the centre. ``D_j`` start at zero.
    """

    def __init__(self, params, n_hyper, center):
        super().__init__(params, n_hyper, center)
        self.directions = nn.ParameterList(
            nn.Parameter(torch.zeros((n_hyper,) + tuple(p.shape), dtype=p.dtype, device=p.device))
            for p in params.values()
        )

    def response_parameters(self):
        """The parameters that make the weights depend on the hyperparameters."""
        return list(self.directions)

    def _delta(self, i, shift):
        return torch.tensordot(shift, self.directions[i], dims=1)

    def _stacked_delta(self, i, params, shift):
        return torch.einsum("kh,kh...->k...", shift, params[f"directions.{i}"])


class MLPHypernet(nn.Module):
    """A small MLP from ``t`` to all weights, added to the initial weights.

    ``hidden * n_params`` extra parameters: meant for small nets. Not
    re-centred (:meth:`recenter` is a no-op).
    """

    def __init__(self, params, n_hyper, center, hidden=16):
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


def make_hypernet(kind, params, n_hyper, center):
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
    """
    return HYPERNETS[kind](params, n_hyper, center)
