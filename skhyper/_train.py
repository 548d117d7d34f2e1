"""The hyper-training loop: one hypernet per CV fold, one shared ``lambda_hat``.

Pure torch; knows nothing of scikit-learn. Each epoch passes once over every
fold's training part. Training steps sample hyperparameters (spread over the
box during a *global* warm-up, then around ``lambda_hat``), put them in place
through the fold's targets, and step the hypernets on the training loss: all
folds at once when they stack (``_stack``), else one after the other. After
the warm-up, a few times per epoch, ``lambda_hat`` takes one step on the mean
of the folds' validation losses, computed in eval mode at ``lambda_hat``
through the hypernets (a true k-fold objective).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.func import functional_call

from ._blocks import Block
from ._distributed import SingleProcess, fold_seed
from ._stack import FoldStack
from .exceptions import TrainingDivergedError


@dataclass
class Fold:
    """Everything the loop needs of one CV fold.

    Attributes
    ----------
    hypernet : nn.Module
        Maps unit coordinates to the module's weights.
    module : nn.Module
        The net's module, run with the hypernet's weights.
    loss : callable
        ``loss(y_pred, y_true, X, training) -> scalar tensor`` (the net's
        ``get_loss``).
    set_train, set_eval : callable
        ``set_train(values)`` puts a dict of hyperparameter values in place
        for a training forward; ``set_eval()`` makes them inert.
    penalty : callable
        ``penalty(values, weights) -> tensor or 0``, added to the training loss.
    X_train, y_train, X_val, y_val : tensors (or dicts of tensors for X)
    forward_kwargs : dict
        Extra keyword arguments of every forward (skorch passes fit params so).
    """

    hypernet: torch.nn.Module
    module: torch.nn.Module
    loss: Callable
    set_train: Callable
    set_eval: Callable
    penalty: Callable
    X_train: Any
    y_train: Any
    X_val: Any
    y_val: Any
    forward_kwargs: dict = field(default_factory=dict)

    @property
    def n_train(self):
        return len(self.y_train)

    @property
    def n_val(self):
        return len(self.y_val)


@dataclass
class LoopConfig:
    """Knobs of the loop (see HypernetSearchCV's parameters for their meaning)."""

    n_epochs: int
    warmup_epochs: int
    warmup_sampling: str
    batch_size: int
    hyper_lr: float
    hyper_steps_per_epoch: int
    perturb_scale: float
    make_optimizer: Callable
    response_lr_factor: float = 10.0
    unit_margin: float = 0.01
    max_eval_rows: int = 2048
    early_stopping: bool = False
    settle_tol: float = 0.01
    global_share: float = 0.0
    shrinkage: float = 0.0
    # the net's own settings (``_skorch_settings``); the defaults change nothing
    schedulers: list = field(default_factory=list)  # optimizer -> HyperScheduler
    clip_norms: list = field(default_factory=list)  # (max_norm, norm_type), per fold
    shuffle: bool = True  # False: each fold's rows in order every epoch
    drop_last: bool = False  # skip a fold's last, partial batch
    # the loop's generators (t's, Sobol seed, each fold's rows); None: drawn from torch's RNG
    seed: int | None = None


@dataclass
class LoopResult:
    """What the loop returns: the final point, snapshots and the full trajectory."""

    t_hat: np.ndarray
    epoch_points: list = field(default_factory=list)  # (epoch, t) after warm-up
    trajectory: dict = field(default_factory=dict)
    warmup_scan: dict | None = None
    batched_folds: bool = False  # whether the folds trained in one vectorized step
    n_epochs: int = 0  # epochs trained (fewer than asked when the search stopped early)


def take(X, idx):
    """Rows ``idx`` of a tensor or of each tensor in a dict."""
    if isinstance(X, dict):
        return {k: v[idx] for k, v in X.items()}
    return X[idx]


def run_module(module, weights, X, kwargs=None):
    """Forward ``X`` through ``module`` with the parameters ``weights``.

    As in skorch's ``infer``, a dict ``X`` is passed as keyword arguments and
    ``kwargs`` (the fit params) are added to every call.
    """
    kwargs = kwargs or {}
    if isinstance(X, dict):
        return functional_call(module, weights, (), {**X, **kwargs})
    return functional_call(module, weights, (X,), kwargs)


def validation_loss(fold, t, max_rows=None, generator=None, chunk=4096):
    """The fold's validation loss at unit coordinates ``t`` (eval mode).

    Differentiable in ``t`` when ``t`` requires grad. With ``max_rows``, a
    random subset of that many validation rows is used.
    """
    n = fold.n_val
    idx = torch.arange(n, device=fold.y_val.device)
    if max_rows is not None and n > max_rows:
        idx = torch.randperm(n, device=fold.y_val.device, generator=generator)[:max_rows]
    fold.set_eval()
    fold.module.eval()
    weights = fold.hypernet(t)
    total = 0.0
    for start in range(0, len(idx), chunk):
        rows = idx[start : start + chunk]
        X = take(fold.X_val, rows)
        out = run_module(fold.module, weights, X, fold.forward_kwargs)
        total = total + fold.loss(out, fold.y_val[rows], X, False) * len(rows)
    fold.module.train()
    return total / len(idx)


def hypergradient(folds, u, max_rows=None, stack=None, generators=None, comm=None,
                  stacked=None):
    """Mean validation loss of the folds at search coordinates ``u``, and its gradient.

    The hyperparameters reach the loss only through the hypernets' weights
    (validation runs in eval mode, with every target made inert). With a
    :class:`FoldStack` whose folds all have ``max_rows`` validation rows, the
    folds are evaluated in one vectorized call (``stacked`` forces the choice).
    ``generators`` (one per fold) draw each fold's validation rows. With
    ``comm`` (``_distributed``), ``folds`` are this rank's share: the sum of
    their losses and gradients is all-reduced (one vector of the size of ``u``,
    plus the loss) and divided by the number of folds of the whole search.

    Returns
    -------
    loss : float
    grad : Tensor, shaped like ``u``
    """
    u = u.detach().requires_grad_(True)
    t = torch.sigmoid(u)
    generators = generators or [None] * len(folds)
    if stacked is None:
        stacked = stack is not None and max_rows is not None and stack.can_sample_validation(
            max_rows)
    if comm is None:
        comm = SingleProcess(len(folds))
    if not comm.validates:  # another process of this fold computes its validation loss
        total = (u * 0).sum()
    elif stacked:
        total = stack.validation_losses(t, max_rows, generators).sum()
    else:
        total = sum(validation_loss(fold, t, max_rows=max_rows, generator=g)
                    for fold, g in zip(folds, generators))
    (grad,) = torch.autograd.grad(total, [u])
    summed = comm.all_reduce_sum(torch.cat([grad, total.detach().reshape(1).to(grad.dtype)]))
    return summed[-1].item() / comm.n_folds, summed[:-1] / comm.n_folds


class HyperTrainer:
    """Run the alternating hyper-training of all folds.

    Parameters
    ----------
    folds : list of Fold
    space : SearchSpace
    config : LoopConfig
    on_epoch_end : callable, optional
        Called as ``on_epoch_end(epoch, t_hat, train_loss, val_loss, fold_losses)``
        (``fold_losses``: each fold's mean training loss over the epoch).
    """

    def __init__(self, folds, space, config, on_epoch_end=None, comm=None):
        self.folds = folds
        # this process's share of the folds (``_distributed``); one process: all of them
        self.comm = comm if comm is not None else SingleProcess(len(folds))
        self.space = space
        self.config = config
        self.on_epoch_end = on_epoch_end
        self.trajectory = {"epoch": [], "step": [], "phase": [], "t": [], "val_loss": []}
        self.train_losses = []
        self.fold_train_losses = []
        self.global_step = 0
        self.stack = None  # a FoldStack when the folds train in one vectorized step
        self.epoch_val_losses = []  # after the warm-up: mean loss of each epoch's hyper steps
        self._sobol = None
        self._mask = None
        # the loop's own draws (t's, the Sobol seed, the global-share coin): the same
        # on every rank; with no seed, one draw from torch's RNG
        self._seed = config.seed if config.seed is not None else int(torch.randint(2**31 - 1, ()))
        self._rng = torch.Generator().manual_seed(self._seed)
        self.schedulers = []  # the net's LRScheduler policies, on the hypernets' optimizer

    # -- sampling ---------------------------------------------------------
    def _u_limit(self):
        m = self.config.unit_margin
        return math.log((1 - m) / m)

    def _sample_t(self, u_hat, global_phase):
        """Unit coordinates for one training step: around ``lambda_hat`` (each
        coordinate perturbed on its own), or in the global phase a point of the
        box over one coordinate per key, a block's coordinates perturbed around
        its shared value (so the hypernets also learn each one's own response)."""
        d = u_hat.shape[0]
        if global_phase:
            shared = self._box_sampler(len(self.space.entries)).numpy()
            center = torch.as_tensor(self.space.expand_shared(shared),
                                     dtype=u_hat.dtype, device=u_hat.device)
            if self.space.blocks:
                noise = self._noise(d, u_hat)
                center = center + self.config.perturb_scale * noise * self._block_mask(u_hat)
            return _reflect(center).clamp(self.config.unit_margin, 1 - self.config.unit_margin)
        noise = self._noise(d, u_hat)
        t = torch.sigmoid(u_hat.detach()) + self.config.perturb_scale * noise
        return _reflect(t).clamp(self.config.unit_margin, 1 - self.config.unit_margin)

    def _noise(self, d, like):
        """``d`` standard normal draws from the loop's own generator (the same on
        every rank, whatever else draws from torch's RNG)."""
        noise = torch.randn(d, dtype=like.dtype, generator=self._rng)
        return noise.to(like.device)

    def _block_mask(self, like):
        """1 on the coordinates of vector keys, 0 on scalar keys."""
        if self._mask is None:
            mask = torch.zeros_like(like)
            for _, part in self._block_slices():
                mask[part] = 1.0
            self._mask = mask
        return self._mask

    def _block_slices(self):
        return [(e, part) for e, part in zip(self.space.entries, self.space.slices())
                if isinstance(e, Block)]

    def _box_sampler(self, d):
        """The next point of a scrambled Sobol sequence over the unit box: covers
        the box more evenly than independent uniform draws, so the hypernets'
        model of the whole box (used by the scan) is less noisy."""
        if self._sobol is None:
            seed = int(torch.randint(2**31 - 1, (), generator=self._rng))
            self._sobol = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed)
        return self._sobol.draw(1)[0]

    def _step_is_global(self, global_phase):
        """Whether this training step samples over the whole box: in the global
        warm-up, and after it with probability ``global_share`` (so the hypernets
        keep a model of the whole box for the landscape, not only of the path)."""
        share = self.config.global_share
        return global_phase or (share > 0 and float(torch.rand((), generator=self._rng)) < share)

    # -- steps ------------------------------------------------------------
    def _train_step(self, step, perms, u_hat, global_phase, optimizer, epoch):
        bs = self.config.batch_size
        total = 0.0
        global_phase = self._step_is_global(global_phase)
        local = {j: k for k, j in enumerate(self.comm.fold_ids)}
        for j, n_train in enumerate(self._n_train):  # every fold: each rank draws the same t's
            n_rows = min(bs, n_train - step * bs)
            if n_rows <= 0 or (self.config.drop_last and n_rows < bs):
                continue
            t = self._sample_t(u_hat, global_phase)
            if j not in local:
                continue
            k = local[j]
            fold = self.folds[k]
            rows, scale = self._share(perms[k][step * bs : (step + 1) * bs])
            values = self.space.train_values(t)
            fold.set_train(values)
            weights = fold.hypernet(t)
            X = take(fold.X_train, rows)
            out = run_module(fold.module, weights, X, fold.forward_kwargs)
            loss = fold.loss(out, fold.y_train[rows], X, True) * scale
            # stays on the device: no sync per step
            self._fold_loss_sums[k] += loss.detach() / self.comm.replicas
            total = total + loss + fold.penalty(values, weights)
        if not torch.is_tensor(total):  # none of this rank's folds has a batch left
            return 0.0
        return self._step_on(total / self.comm.replicas, optimizer, epoch, t)

    def _share(self, rows):
        """This process's part of a fold's batch ``rows`` and the factor on its mean
        loss: in one process (or one process per fold) all rows and 1. With ``m``
        processes per fold each takes every m-th row, and its loss weighs by its share
        of the batch times ``m`` (the step divides by ``m``, the fold's gradients are
        summed over its processes): the batch's mean loss, split."""
        m = self.comm.replicas
        if m == 1:
            return rows, 1.0
        mine = self.comm.share(rows)
        if mine.shape[-1] == 0:  # a last batch smaller than m: a weightless row
            return rows[..., :1], 0.0
        return mine, mine.shape[-1] * m / rows.shape[-1]

    def _train_step_stacked(self, rows, u_hat, global_phase, optimizer, epoch):
        """One step of every fold at once (one ``t`` for all folds; see ``_stack``)."""
        t = self._sample_t(u_hat, self._step_is_global(global_phase))
        values = self.space.train_values(t)
        for fold in self.folds:
            fold.set_train(values)
        rows, scale = self._share(rows)
        fold_losses, penalty = self.stack.losses(rows, t, values)
        fold_losses = fold_losses * scale
        total = fold_losses.sum() + penalty
        m = self.comm.replicas
        self._fold_loss_sums = self._fold_loss_sums + fold_losses.detach() / m  # one tensor
        return self._step_on(total / m, optimizer, epoch, t)

    def _step_on(self, total, optimizer, epoch, t):
        """Step the hypernets on the summed training loss of the folds; return that
        sum, or raise if it is not finite."""
        if not torch.isfinite(total):
            raise TrainingDivergedError(
                f"Hyper-training diverged: the training loss became {total.item()} "
                f"at epoch {epoch + 1} with hyperparameters {self.space.describe(t.tolist())}. "
                "Lower the net's "
                "learning rate (lr), narrow the bounds (e.g. a smaller upper weight "
                "decay), or lower hyper_lr."
            )
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        # data-parallel within a fold: the fold's gradient is the sum over its processes
        self.comm.sum_fold_gradients([p for g in optimizer.param_groups for p in g["params"]])
        self._clip_gradients()
        optimizer.step()
        return total.item()

    def _clip_gradients(self):
        """The net's GradientNormClipping, on each fold's hypernet on its own."""
        for max_norm, norm_type in self.config.clip_norms:
            if self.stack is not None:
                clip_grad_norms(list(self.stack.params.values()), max_norm, norm_type,
                                n_folds=len(self.folds))
            else:
                for fold in self.folds:
                    clip_grad_norms(list(fold.hypernet.parameters()), max_norm, norm_type)

    def _hyper_step(self, u_hat, hyper_optimizer):
        rows = max(4 * self.config.batch_size, 256)
        loss, u_hat.grad = hypergradient(self.folds, u_hat, max_rows=rows, stack=self.stack,
                                         generators=self._val_rngs, comm=self.comm,
                                         stacked=self._stacked_validation(rows))
        if self.config.shrinkage and self.space.blocks:
            u_hat.grad = u_hat.grad + self._shrinkage_grad(u_hat)
        if not math.isfinite(loss):
            values = self.space.describe(torch.sigmoid(u_hat).tolist())
            raise TrainingDivergedError(
                f"Hyper-training diverged: the validation loss became {loss} at "
                f"hyperparameters {values}. Lower hyper_lr or the net's lr."
            )
        hyper_optimizer.step()
        with torch.no_grad():
            limit = self._u_limit()
            u_hat.clamp_(-limit, limit)
        self._recenter(u_hat)
        return loss

    def _stacked_validation(self, rows):
        """Whether the hyper step evaluates the stack in one call: when every fold
        of the search (on every rank) has ``rows`` validation rows."""
        return self.stack is not None and min(self._n_val) >= rows

    def _shrinkage_grad(self, u_hat):
        """Gradient of the hyperprior ``shrinkage / 2 * mean_i (t_i - mean(t))^2``
        of each block (unit coordinates): it pulls a block's values toward their
        shared value, so that thousands of them cannot fit the validation rows
        one by one. The mean keeps one strength meaningful for any block size."""
        u = u_hat.detach().requires_grad_(True)
        t = torch.sigmoid(u)
        prior = sum(
            (t[part] - t[part].mean()).pow(2).mean() for _, part in self._block_slices()
        )
        (grad,) = torch.autograd.grad(0.5 * self.config.shrinkage * prior, [u])
        return grad

    def _make_optimizer(self):
        """The net's optimizer over all hypernets, the response parameters (how
        the weights move with the hyperparameters) at ``response_lr_factor`` x lr.

        The response starts at zero and must grow to order one; at the net's
        learning rate it barely moves (see docs/design.md).
        """
        if self.stack is not None:
            stacked = self.stack.params
            response = [p for n, p in stacked.items() if n in self.stack.response_names]
            rest = [p for n, p in stacked.items() if n not in self.stack.response_names]
        else:
            response = [p for f in self.folds for p in f.hypernet.response_parameters()]
            ids = {id(p) for p in response}
            rest = [p for f in self.folds for p in f.hypernet.parameters() if id(p) not in ids]
        optimizer = self.config.make_optimizer(rest)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.add_param_group({"params": response, "lr": lr * self.config.response_lr_factor})
        return optimizer

    def _check_finite_weights(self, epoch, u_hat):
        finite = all(
            bool(torch.isfinite(p).all()) for f in self.folds for p in f.hypernet.parameters()
        )
        if not finite:
            values = self.space.describe(torch.sigmoid(u_hat.detach()).tolist())
            raise TrainingDivergedError(
                f"Hyper-training diverged: the hypernet's weights became NaN or infinite "
                f"in epoch {epoch + 1} (hyperparameters near {values}). Lower the net's "
                "learning rate (lr), narrow the bounds, or lower hyper_lr."
            )

    def _recenter(self, u_hat):
        t_hat = torch.sigmoid(u_hat.detach())
        if self.stack is not None:
            self.stack.recenter(t_hat)
            return
        for fold in self.folds:
            fold.hypernet.recenter(t_hat)

    def _scan_box(self, u_hat):
        """Move ``u_hat`` to the start of the local phase: the argmin of the
        predicted CV loss over a coarse cover of the box and the current point."""
        cover = self.space.grid_unit(max_points=64, random_state=0)
        current = torch.sigmoid(u_hat.detach()).cpu().numpy()[None, :]
        points = np.concatenate([current, cover])
        gens = self._fold_generators("scan")
        sums = []
        with torch.no_grad():
            for p in points:
                t = torch.as_tensor(p, dtype=u_hat.dtype, device=u_hat.device)
                sums.append(sum(validation_loss(f, t, self.config.max_eval_rows, g)
                                for f, g in zip(self.folds, gens)) if self.comm.validates
                            else torch.zeros((), device=u_hat.device))
            summed = self.comm.all_reduce_sum(torch.stack(sums).to(torch.float64))
            losses = (summed / self.comm.n_folds).cpu().numpy()
            best = points[int(np.nanargmin(losses))]
            u_hat.copy_(torch.logit(torch.as_tensor(best, dtype=u_hat.dtype)))
        return {"t": points, "val_loss": np.array(losses)}

    def _record(self, epoch, step, phase, u_hat, val_loss):
        self.trajectory["epoch"].append(epoch)
        self.trajectory["step"].append(step)
        self.trajectory["phase"].append(phase)
        self.trajectory["t"].append(torch.sigmoid(u_hat.detach()).cpu().numpy().copy())
        self.trajectory["val_loss"].append(val_loss)

    # -- the loop ---------------------------------------------------------
    def _fold_generators(self, purpose):
        """One generator per fold of this rank, seeded from the loop's seed and
        the fold's index in the search (so independent of which rank holds it)."""
        return [
            torch.Generator(device=f.y_train.device).manual_seed(fold_seed(self._seed, j, purpose))
            for j, f in zip(self.comm.fold_ids, self.folds)
        ]

    def _gather_sizes(self):
        """Every fold's training and validation sizes, on every rank."""
        mine = {j: (f.n_train, f.n_val) for j, f in zip(self.comm.fold_ids, self.folds)}
        sizes = {}
        for part in self.comm.gather_objects(mine):
            sizes.update(part)
        self._n_train = [sizes[j][0] for j in range(self.comm.n_folds)]
        self._n_val = [sizes[j][1] for j in range(self.comm.n_folds)]

    def _seed_generators(self, ref):
        self._row_rngs = self._fold_generators("rows")
        self._val_rngs = self._fold_generators("val")
        self._device = ref.device

    def run(self, t_start):
        """Hyper-train from unit coordinates ``t_start``; return a LoopResult."""
        cfg = self.config
        ref = next(self.folds[0].hypernet.parameters())
        self._seed_generators(ref)
        self._gather_sizes()
        u_hat = torch.logit(torch.as_tensor(t_start, dtype=ref.dtype, device=ref.device))
        u_hat = u_hat.clone().requires_grad_(True)
        self.stack = self._try_stack(u_hat)
        optimizer = self._make_optimizer()
        self.schedulers = [make(optimizer) for make in cfg.schedulers]
        hyper_optimizer = torch.optim.Adam([u_hat], lr=cfg.hyper_lr)
        global_warmup = cfg.warmup_epochs > 0 and cfg.warmup_sampling == "global"
        if global_warmup:  # a model of the whole box is centred in the box
            for fold in self.folds:
                fold.hypernet.recenter(torch.full_like(u_hat, 0.5))
        else:
            self._recenter(u_hat)
        self._record(0, 0, "start", u_hat, float("nan"))
        result = LoopResult(t_hat=None)
        for epoch in range(cfg.n_epochs):
            warm = epoch < cfg.warmup_epochs
            if global_warmup and epoch == cfg.warmup_epochs:
                result.warmup_scan = self._scan_box(u_hat)
                hyper_optimizer = torch.optim.Adam([u_hat], lr=cfg.hyper_lr)  # fresh moments
                self._recenter(u_hat)
                scanned = float(np.min(result.warmup_scan["val_loss"]))
                self._record(epoch, self.global_step, "scan", u_hat, scanned)
            val_losses = self._run_epoch(
                epoch, u_hat, optimizer, hyper_optimizer,
                sample_globally=warm and global_warmup, hyper_steps=not warm,
            )
            for scheduler in self.schedulers:
                scheduler.epoch_end(self.train_losses[-1])
            t_hat = torch.sigmoid(u_hat.detach()).cpu().numpy().copy()
            if not warm:
                result.epoch_points.append((epoch, t_hat))
            result.n_epochs = epoch + 1
            if self.on_epoch_end is not None:
                val_loss = float(np.mean(val_losses)) if val_losses else float("nan")
                self.on_epoch_end(epoch, t_hat, self.train_losses[-1], val_loss,
                                  self.fold_train_losses[-1])
            if not warm:
                self.epoch_val_losses.append(float(np.mean(val_losses)))
            if cfg.early_stopping and self._settled(result.epoch_points, epoch):
                break
        if self.stack is not None:
            self.stack.unstack()
            result.batched_folds = True
        result.t_hat = torch.sigmoid(u_hat.detach()).cpu().numpy()
        result.trajectory = self.trajectory
        return result

    def _settled(self, epoch_points, epoch):
        """Whether the search has settled: past half of the epochs, over the last
        tenth of them (at least 2), ``lambda_hat`` moved less than ``settle_tol``
        (in unit coordinates) and the validation loss at it stopped improving
        (no epoch beat the earlier best by 0.1%), as skorch's EarlyStopping."""
        cfg = self.config
        patience = max(2, round(0.1 * cfg.n_epochs))
        if epoch + 1 < math.ceil(0.5 * cfg.n_epochs) or len(epoch_points) <= patience:
            return False
        recent = np.array([t for _, t in epoch_points[-(patience + 1):]])
        if np.any(recent.max(axis=0) - recent.min(axis=0) >= cfg.settle_tol):
            return False
        losses = self.epoch_val_losses
        return min(losses[-patience:]) >= min(losses[:-patience]) * (1 - 1e-3)

    def _try_stack(self, u_hat):
        """A FoldStack of the folds if they allow one and the module runs under
        ``vmap`` (tried on two rows); else ``None``: the folds train one by one.
        Across ranks, the folds stack only where they stack on every rank (one
        ``t`` per step for all folds, or one per fold: the same draws everywhere)."""
        min_folds = 1 if self.comm.n_folds > 1 else 2
        stack = FoldStack(self.folds) if FoldStack.supports(self.folds, min_folds) else None
        if stack is not None:
            t = torch.sigmoid(u_hat.detach())
            values = self.space.train_values(t)
            try:
                for fold in self.folds:
                    fold.set_train(values)
                with torch.no_grad():
                    stack.losses(stack.epoch_rows(shuffle=False)[:, :2], t, values)
            except Exception:  # any module vmap cannot run: train the folds one by one
                stack.unstack()
                stack = None
        if not self.comm.all_min(stack is not None):
            if stack is not None:
                stack.unstack()
            return None
        return stack

    def _run_epoch(self, epoch, u_hat, optimizer, hyper_optimizer, sample_globally, hyper_steps):
        """One pass over every fold's training part; returns the hyper steps' losses."""
        bs = self.config.batch_size
        n_batches = (lambda n: n // bs) if self.config.drop_last else (lambda n: math.ceil(n / bs))
        if self.stack is not None:
            rows = self.stack.epoch_rows(self._row_rngs, shuffle=self.config.shuffle,
                                         longest=max(self._n_train))
            n_steps = n_batches(rows.shape[1])
        else:
            perms = [self._epoch_order(f, g) for f, g in zip(self.folds, self._row_rngs)]
            n_steps = max(n_batches(n) for n in self._n_train)
        hyper_at = _spread(n_steps, self.config.hyper_steps_per_epoch) if hyper_steps else set()
        for fold in self.folds:
            fold.module.train()
        self._fold_loss_sums = 0.0 if self.stack is not None else [0.0] * len(self.folds)
        losses, val_losses = [], []
        for step in range(n_steps):
            self.global_step += 1
            if self.stack is not None:
                losses.append(self._train_step_stacked(
                    rows[:, step * bs : (step + 1) * bs], u_hat, sample_globally, optimizer, epoch))
            else:
                losses.append(
                    self._train_step(step, perms, u_hat, sample_globally, optimizer, epoch))
            if self.schedulers:
                step_loss = self._mean_over_folds(torch.tensor([losses[-1]], dtype=torch.float64))
                for scheduler in self.schedulers:
                    scheduler.batch_end(float(step_loss[0]))
            if step in hyper_at:
                val_losses.append(self._hyper_step(u_hat, hyper_optimizer))
                self._record(epoch, self.global_step, "local", u_hat, val_losses[-1])
        self._check_finite_weights(epoch, u_hat)
        sums = torch.zeros(self.comm.n_folds + 1, dtype=torch.float64)
        for j, s in zip(self.comm.fold_ids, self._fold_loss_sums):
            sums[j] = float(s)
        sums[-1] = float(np.sum(losses))
        sums = self.comm.all_reduce_sum(sums.to(self._device)).cpu()  # every fold's, every rank
        self.train_losses.append(float(sums[-1]) / self.comm.n_folds / n_steps)
        self.fold_train_losses.append([float(s) / n_steps for s in sums[:-1]])
        return val_losses

    def _epoch_order(self, fold, generator):
        """One epoch's order of a fold's training rows (shuffled by its generator)."""
        if self.config.shuffle:
            return torch.randperm(fold.n_train, device=fold.y_train.device, generator=generator)
        return torch.arange(fold.n_train, device=fold.y_train.device)

    def _mean_over_folds(self, local_sum):
        """The mean over every fold of the search of a per-rank sum (all-reduced)."""
        return self.comm.all_reduce_sum(local_sum.to(self._device)).cpu() / self.comm.n_folds


def _reflect(t):
    """Fold coordinates back into ``[0, 1]`` by reflection at the walls.

    Near a wall, perturbations then still spread over a real range of values
    (perturbing in logit coordinates would shrink them to nothing there).
    """
    t = torch.remainder(t, 2.0)
    return torch.where(t > 1.0, 2.0 - t, t)


def _spread(n_steps, k):
    """``k`` step indices spread evenly over an epoch of ``n_steps`` (the last included)."""
    k = max(1, min(k, n_steps))
    return {int(round((i + 1) * n_steps / k)) - 1 for i in range(k)}


def clip_grad_norms(params, max_norm, norm_type, n_folds=None):
    """Clip gradients as torch's ``clip_grad_norm_``, the norm of each fold its own.

    With ``n_folds``, ``params`` are stacked tensors holding every fold along
    dim 0 (``_stack``): each fold's gradients are scaled by its own norm. Without
    it, ``params`` are one fold's parameters.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    if n_folds is None:
        torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        return
    norm_type = float(norm_type)
    per_tensor = torch.stack([
        torch.linalg.vector_norm(g.reshape(n_folds, -1), norm_type, dim=1) for g in grads
    ])  # (n_tensors, n_folds)
    total = torch.linalg.vector_norm(per_tensor, norm_type, dim=0)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale.reshape((n_folds,) + (1,) * (g.dim() - 1)))
