"""The verify rows' real fits, every candidate x fold in one vectorized run.

A verify row is the net fitted from scratch at a fixed point on every CV fold.
Through skorch each of those fits is a run of its own: a Python loop over
batches built row by row, plus the net's per-epoch scoring of its own
validation split. For the plain nets people tune on a CPU that overhead is
most of a fit's time, and a vector search verifies three rows on three folds.
Here (``verify_fits="stacked"``) the fits train as the hyper-training's folds
do: every fit's module parameters stacked along a leading dimension, one
forward, one backward and one optimizer step for all of them
(:func:`torch.func.vmap`).

Each member is the fit skorch would run: the module fresh from its
initialization (one per fold, shared by the candidates as the skorch fits
share their seeds), the fold's training rows (after the net's
``train_split``), the net's optimizer and learning rate, batch size, epochs,
shuffling, ``drop_last``, gradient clipping and learning-rate policy, and the
candidate's weight decays as the penalty whose gradient torch's coupled
``weight_decay`` adds. The optimizers allowed act element by element, so one
optimizer over the stacked tensors steps each member as its own optimizer
would. The fitted weights are then scored through the fold's net, as the
hypernet rows are (``_scoring``).

Only a net whose training is exactly that stacks: :func:`why_not_stacked`
names what stands in the way (a custom training step, an optimizer that is not
element-wise, an early-stopping or unknown callback, buffers such as batch
norm's, inputs that are not one tensor), and the search then fits through
skorch. ``tests/test_stacked_fits.py`` holds the fits to skorch's: the same
weights from the same start on full batches, the same scores in distribution.
"""

from __future__ import annotations

import math
import time

import torch
from sklearn.base import clone
from skorch.callbacks import EarlyStopping, GradientNormClipping, LRScheduler
from skorch.dataset import Dataset
from torch.func import functional_call, vmap

from ._folds import batch_size_of, optimizer_factory
from ._skorch_settings import _OBSERVERS, _PERFORMANCE_ONLY, _user_callbacks
from ._stack import stack_rows
from ._train import LoopConfig, clip_grad_norms
from .exceptions import TrainingDivergedError

#: Optimizers whose step acts on each tensor element on its own, so one optimizer
#: over stacked parameters steps each fit as that fit's own optimizer would.
ELEMENTWISE_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.RMSprop,
                          torch.optim.Adagrad)
#: skorch's training loop: a net class that overrides one of these trains otherwise.
_PLAIN_NETS = ("NeuralNet", "NeuralNetClassifier", "NeuralNetRegressor",
               "NeuralNetBinaryClassifier")
_TRAINING_LOOP = ("fit", "partial_fit", "fit_loop", "run_single_epoch", "train_step",
                  "train_step_single", "infer", "get_iterator", "get_dataset")


def why_not_stacked(net, folds, n_processes=1, verify_rows="all"):
    """Why the verify fits of ``net`` cannot train stacked: a list of reasons
    (empty when they can)."""
    reasons = []
    if n_processes > 1:
        reasons.append("the search runs across processes")
    if verify_rows != "all":
        reasons.append(f"verify_rows={verify_rows!r} fits on other rows than the folds'")
    overridden = [name for name in _TRAINING_LOOP if not _skorch_own(getattr(type(net), name))]
    if overridden:
        reasons.append(f"{type(net).__name__} overrides skorch's {', '.join(overridden)}")
    optimizer = net.optimizer
    if not (isinstance(optimizer, type) and optimizer in ELEMENTWISE_OPTIMIZERS):
        name = getattr(optimizer, "__name__", repr(optimizer))
        reasons.append(f"the optimizer {name} is not one of "
                       f"{', '.join(o.__name__ for o in ELEMENTWISE_OPTIMIZERS)}")
    if net.iterator_train is not torch.utils.data.DataLoader or net.dataset is not Dataset:
        reasons.append("the net has its own iterator_train or dataset")
    if "param_groups" in net.get_params_for("optimizer"):
        reasons.append("the net sets optimizer__param_groups")
    honoured = {"batch_size", "shuffle", "drop_last", *_PERFORMANCE_ONLY}
    reasons += [f"the net sets iterator_train__{key}"
                for key in sorted(set(net.get_params_for("iterator_train")) - honoured)]
    reasons += [f"callback {name!r} ({type(cb).__name__})"
                for name, cb in _user_callbacks(net) if not _stackable_callback(cb)]
    local = [f for f in folds if f is not None]  # across processes, this rank's folds
    if any(True for f in local[:1] for _ in f.module.buffers()):
        reasons.append("the module has buffers (e.g. batch norm's running statistics)")
    if not all(isinstance(f.X_train, torch.Tensor) and not f.forward_kwargs for f in local):
        reasons.append("X reaches the module as more than one tensor, or with fit params")
    return reasons


def _skorch_own(method):
    """Whether ``method`` is skorch's own, of its plain nets (not a subclass's)."""
    owner = method.__qualname__.split(".")[0]
    return method.__module__.startswith("skorch.") and owner in _PLAIN_NETS


def _stackable_callback(callback):
    """Observers, gradient clipping and learning-rate policies that do not read a
    monitored value (the same schedule for every fit) train stacked."""
    if isinstance(callback, LRScheduler):
        policy = callback.policy
        return not (policy == "ReduceLROnPlateau" or (
            isinstance(policy, type)
            and issubclass(policy, torch.optim.lr_scheduler.ReduceLROnPlateau)))
    if isinstance(callback, EarlyStopping):
        return False
    from ._refit import DecayCallback  # the search's own decays: in the penalty here
    return isinstance(callback, (GradientNormClipping, DecayCallback, *_OBSERVERS))


class StackedFits:
    """Fits of ``members`` (fold index, training values) trained at once.

    Parameters
    ----------
    folds : list of Fold
        The hyper-training's folds: their modules, losses, penalties and rows.
    members : list of (int, dict)
        Each fit's fold and its hyperparameter values (``space.train_values``);
        the values of scalar keys that are not penalties must be equal across
        members (they are put in place once, on every fold's module).
    inits : list of dict
        Each fold's initial module parameters.
    config : LoopConfig
        Epochs (``n_epochs``), batch size (:meth:`batch_size_for`), optimizer,
        schedulers, clip norms, shuffle and ``drop_last``, as the hyper-training
        reads them from the net.
    generators : list of torch.Generator or None
        Each member's generator of its epochs' row order (None: torch's RNG).
    """

    def __init__(self, folds, members, inits, config, generators=None):
        self.folds = folds
        self.members = members
        self.config = config
        self.generators = generators or [None] * len(members)
        names = list(inits[0])
        self.params = {n: torch.stack([inits[k][n] for k, _ in members]).detach()
                       .clone().requires_grad_(True) for n in names}
        self.values = {key: torch.stack([torch.as_tensor(v[key], dtype=_dtype(self.params))
                                         for _, v in members]).to(_device(self.params))
                       for key in members[0][1]}
        self._data = stack_rows([f.X_train for f in folds], [f.y_train for f in folds])
        self._forward = vmap(self._member_forward, in_dims=(0, 0, 0), randomness="different")

    def _member_forward(self, weights, X, values):
        fold = self.folds[0]  # every fold runs the same module code
        out = functional_call(fold.module, weights, (X,))
        penalty = fold.penalty(values, weights)
        if not torch.is_tensor(penalty):
            penalty = torch.zeros((), dtype=X.dtype, device=X.device)
        return out, penalty

    @staticmethod
    def batch_size_for(net, folds, members):
        """The batch size of a group of :func:`stack_groups`: the net's, or the
        longest fold where every member takes its whole fold in one batch (as
        skorch's ``batch_size=-1``, or one larger than the fold, does)."""
        sizes = {batch_size_of(net, folds[k].n_train) for k, _ in members}
        if len(sizes) == 1:
            return sizes.pop()
        return max(folds[k].n_train for k, _ in members)

    def n_batches(self, k):
        """Batches per epoch of a fit on fold ``k``'s training rows."""
        n, bs = self.folds[k].n_train, min(self.config.batch_size, self.folds[k].n_train)
        return n // bs if self.config.drop_last else math.ceil(n / bs)

    def run(self):
        """Train every member; returns each one's fitted parameters and the time
        the training took."""
        begin = time.perf_counter()
        for fold in self.folds:
            fold.set_train(self.members[0][1])
            fold.module.train()
        optimizer = self.config.make_optimizer(list(self.params.values()))
        schedulers = [make(optimizer) for make in self.config.schedulers]
        n_steps = {self.n_batches(k) for k, _ in self.members}
        if len(n_steps) != 1:
            raise ValueError("stacked fits need the same number of batches per epoch")
        n_steps = n_steps.pop()
        for epoch in range(self.config.n_epochs):
            rows, lengths = self._epoch_rows()
            for step in range(n_steps):
                loss = self._step(rows, lengths, step, optimizer, epoch)
                for scheduler in schedulers:
                    scheduler.batch_end(loss)
            for scheduler in schedulers:
                scheduler.epoch_end(loss)
        fitted = [{n: p[i].detach().clone() for n, p in self.params.items()}
                  for i in range(len(self.members))]
        return fitted, time.perf_counter() - begin

    def _epoch_rows(self):
        """Each member's order of its fold's training rows (as rows of the stacked
        data), padded to the longest (padding rows are never in a member's loss);
        and each member's row count."""
        longest = max(self.folds[k].n_train for k, _ in self.members)
        rows, lengths = [], []
        for (k, _), generator in zip(self.members, self.generators):
            n = self.folds[k].n_train
            device = self.folds[k].y_train.device
            if self.config.shuffle:
                order = torch.randperm(n, device=device, generator=generator)
            else:
                order = torch.arange(n, device=device)
            order = order + self._data.offsets[k]
            rows.append(order.repeat(-(-longest // n))[:longest])  # pad by cycling the order
            lengths.append(n)
        return torch.stack(rows), lengths

    def _step(self, rows, lengths, step, optimizer, epoch):
        bs = self.config.batch_size
        batch = rows[:, step * bs : (step + 1) * bs]
        X, y = self._data.X[batch], self._data.y[batch]
        outputs, penalties = self._forward(self.params, X, self.values)
        total = penalties.sum()
        for i, (k, _) in enumerate(self.members):
            used = max(0, min(bs, lengths[i] - step * bs))  # a shorter fold's last batch
            total = total + self.folds[k].loss(_part(outputs, i, used), y[i, :used],
                                               X[i, :used], True)
        if not torch.isfinite(total):
            raise TrainingDivergedError(
                f"A verify fit diverged: the training loss became {total.item()} in epoch "
                f"{epoch + 1}. Lower the net's learning rate (lr) or narrow the bounds "
                "(e.g. a smaller upper weight decay)."
            )
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        for max_norm, norm_type in self.config.clip_norms:
            clip_grad_norms(list(self.params.values()), max_norm, norm_type,
                            n_folds=len(self.members))
        optimizer.step()
        return total.item() / len(self.members)


def stack_groups(members, folds, net):
    """Indices of ``members`` (fold, values) in groups that train stacked: equal
    scalar values (floats, as ``space.train_values`` gives them: a module
    attribute such as dropout holds one value for every stacked fit) and the
    same batches per epoch (a fit whose fold has one batch less must not step)."""
    groups = {}
    for i, (k, values) in enumerate(members):
        n, size = folds[k].n_train, batch_size_of(net, folds[k].n_train)
        key = (tuple((key, v) for key, v in values.items() if not torch.is_tensor(v)),
               size if size < n else "all", math.ceil(n / size), n // size)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _part(outputs, i, used):
    """Member ``i``'s first ``used`` rows of stacked module outputs."""
    if isinstance(outputs, tuple | list):
        return type(outputs)(_part(o, i, used) for o in outputs)
    if isinstance(outputs, dict):
        return {key: _part(o, i, used) for key, o in outputs.items()}
    return outputs[i, :used]


def _dtype(params):
    return next(iter(params.values())).dtype


def _device(params):
    return next(iter(params.values())).device


def initial_weights(net, device):
    """The parameters of a freshly initialized module of ``net``, on ``device``
    (drawn from torch's RNG, as skorch's ``initialize`` draws them)."""
    module = clone(net).initialize().module_
    return {name: p.detach().to(device) for name, p in module.named_parameters()}


def train_candidates(points, space, folds, net, settings, inits, seed=None):
    """Fit every candidate ``points`` (unit coordinates) on every fold, stacked.

    Parameters
    ----------
    points : list of ndarray
    space : SearchSpace
    folds : list of Fold
        The hyper-training's folds.
    net : skorch NeuralNet
        The net whose epochs, batch size and optimizer the fits take.
    settings : TrainingSettings
        The net's shuffling, ``drop_last``, clipping and learning-rate policies.
    inits : list of dict
        Each fold's initial parameters (:func:`initial_weights`).
    seed : int or None
        Fold ``k``'s fits draw their rows' order from a generator seeded with
        ``seed + k`` (None: from torch's RNG).

    Returns
    -------
    list of (int, int, dict, float)
        ``(candidate, fold, fitted parameters, seconds per fit)``, group by group
        (:func:`stack_groups`).
    """
    device = folds[0].y_train.device
    members, order = [], []
    for i, t in enumerate(points):
        values = space.train_values(torch.as_tensor(t, dtype=torch.float32, device=device))
        for k in range(len(folds)):
            members.append((k, values))
            order.append((i, k))
    fits = []
    for group in stack_groups(members, folds, net):
        chosen = [members[m] for m in group]
        generators = None if seed is None else [
            torch.Generator(device=device).manual_seed(seed + k) for k, _ in chosen]
        config = LoopConfig(
            n_epochs=int(net.max_epochs), warmup_epochs=0, warmup_sampling="global",
            batch_size=StackedFits.batch_size_for(net, folds, chosen), hyper_lr=0.0,
            hyper_steps_per_epoch=0, perturb_scale=0.0, make_optimizer=optimizer_factory(net),
            schedulers=settings.schedulers, clip_norms=settings.clip_norms,
            shuffle=settings.shuffle, drop_last=settings.drop_last)
        weights, seconds = StackedFits(folds, chosen, inits, config, generators).run()
        fits += [(*order[m], w, seconds / len(group)) for m, w in zip(group, weights)]
    return fits
