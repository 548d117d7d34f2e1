"""Folds across processes with ``torch.distributed`` (a script under ``torchrun``).

``fit`` runs inside :class:`Ranks`. In one process (no
process group, no torchrun environment, or a world of one) it yields a
:class:`SingleProcess`, whose collectives return their input: today's code
path. Under ``torchrun`` (or in an initialized process group) it yields a
:class:`FoldGroup`: rank ``r`` of ``N`` holds folds ``r, r + N, ...``, the
loop all-reduces one vector the size of the hyperparameters per hyper step,
and every collective first all-reduces a failure flag, so a rank that raises
makes every rank raise the same :class:`~skhyper.exceptions.DistributedFitError`
naming it instead of leaving the others waiting.
"""

from __future__ import annotations

import datetime
import os
import traceback

import numpy as np
import torch

from .exceptions import DistributedFitError

#: Seconds a collective waits for the other ranks (``SKHYPER_DISTRIBUTED_TIMEOUT``).
DEFAULT_TIMEOUT = 1800.0


def fold_seed(seed, fold, purpose):
    """A seed for one fold's generator, the same whichever rank builds the fold."""
    tags = {"init": 0, "rows": 1, "val": 2, "scan": 3, "held-out": 4}
    return int(np.random.SeedSequence([int(seed), int(fold), tags[purpose]]).generate_state(1)[0])


def timeout_seconds():
    """The collectives' timeout: ``SKHYPER_DISTRIBUTED_TIMEOUT`` seconds, else 1800."""
    raw = os.environ.get("SKHYPER_DISTRIBUTED_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(
            f"SKHYPER_DISTRIBUTED_TIMEOUT={raw!r} is not a positive number of seconds; "
            f"set it to e.g. {DEFAULT_TIMEOUT:g} or unset it."
        )
    return value


class SingleProcess:
    """Every fold in this process: the collectives return their input."""

    world_size = 1
    rank = 0
    replicas = 1  # processes per fold
    validates = True  # whether this process's folds enter the validation losses

    def __init__(self, n_folds):
        self.n_folds = n_folds
        self.fold_ids = list(range(n_folds))

    def share(self, rows):
        return rows

    def sum_fold_gradients(self, params):
        pass

    def all_reduce_sum(self, tensor):
        return tensor

    def all_min(self, flag):
        return bool(flag)

    def gather_objects(self, obj):
        return [obj]

    def broadcast_object(self, obj):
        return obj

    def on_root(self, compute):
        return compute()


class FoldGroup:
    """This rank's share of the folds, and the collectives between ranks.

    Parameters
    ----------
    n_folds : int
        The number of CV folds ``k``.
    group : ProcessGroup or None
        The process group (``None``: the default one).
    device : torch.device
        Where the collectives' tensors live (the net's device on this rank).
    timeout : float
        Seconds each collective waits for the other ranks.
    """

    def __init__(self, n_folds, group=None, device="cpu", timeout=DEFAULT_TIMEOUT):
        import torch.distributed as dist

        self._dist = dist
        self.group = group
        self.world_size = dist.get_world_size(group)
        self.rank = dist.get_rank(group)
        self.n_folds = n_folds
        self.device = torch.device(device)
        self.timeout = datetime.timedelta(seconds=timeout)
        check_world_size(self.world_size, n_folds)
        # N <= k: rank r holds folds r, r + N, ...; N = m k: fold r mod k, with m ranks
        # (r mod k, r mod k + k, ...) splitting its batches (``share``)
        self.replicas = max(1, self.world_size // n_folds)
        self.replica = self.rank // n_folds if self.replicas > 1 else 0
        self.validates = self.replica == 0  # one replica per fold computes its validation
        self.fold_ids = list(range(self.rank % n_folds if self.replicas > 1 else self.rank,
                                   n_folds, self.world_size))
        self._fold_group = None
        if self.replicas > 1:  # every rank makes every fold's group, in the same order
            for j in range(n_folds):
                ranks = [j + i * n_folds for i in range(self.replicas)]
                made = dist.new_group(ranks, timeout=self.timeout)
                if self.rank in ranks:
                    self._fold_group = made
        self._failing = False

    def share(self, rows):
        """This replica's part of a fold's batch ``rows`` (along the last dim)."""
        return rows[..., self.replica :: self.replicas]

    def sum_fold_gradients(self, params):
        """Sum the gradients of ``params`` over the replicas of this rank's fold (one
        flat all-reduce in the fold's group, after the failure flag over every rank)."""
        if self.replicas == 1:
            return
        self._check()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        work = self._dist.all_reduce(flat, group=self._fold_group, async_op=True)
        if not work.wait(timeout=self.timeout):
            raise DistributedFitError(self._timeout_message())
        offset = 0
        for p in params:
            p.grad = flat[offset : offset + p.numel()].view_as(p).clone()
            offset += p.numel()

    # -- the failure flag ---------------------------------------------------
    def _flags(self, failed):
        """All-reduce (max) one flag per rank; return the ranks that failed."""
        flags = torch.zeros(self.world_size, device=self.device)
        flags[self.rank] = float(failed)
        self._reduce(flags, self._dist.ReduceOp.MAX)
        return [r for r in range(self.world_size) if flags[r] > 0]

    def _reduce(self, tensor, op):
        work = self._dist.all_reduce(tensor, op=op, group=self.group, async_op=True)
        if not work.wait(timeout=self.timeout):
            raise DistributedFitError(self._timeout_message())

    def _timeout_message(self):
        return (f"rank {self.rank} of {self.world_size} waited more than "
                f"{self.timeout.total_seconds():g} s for the other ranks in a collective of "
                "HypernetSearchCV.fit; a rank stopped without reporting an error (killed, "
                "or stuck). Raise SKHYPER_DISTRIBUTED_TIMEOUT if a rank is only slow.")

    def _check(self):
        """Raise on every rank if any rank has failed (the first phase of each collective)."""
        failed = self._flags(False)
        if failed:
            messages = self._messages(None)
            raise DistributedFitError(_failure_text(failed, messages, self.world_size))

    def _messages(self, mine):
        out = [None] * self.world_size
        self._dist.all_gather_object(out, mine, group=self.group)
        return out

    def fail(self, exc):
        """Report ``exc`` to the other ranks (which are waiting in their next
        collective) and return the error every rank raises."""
        if self._failing or isinstance(exc, DistributedFitError):
            return exc
        self._failing = True
        failed = self._flags(True)
        mine = f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_tb(exc.__traceback__))}"
        messages = self._messages(mine)
        return DistributedFitError(_failure_text(failed, messages, self.world_size))

    # -- collectives ----------------------------------------------------------
    def all_reduce_sum(self, tensor):
        self._check()
        tensor = tensor.detach().clone()
        self._reduce(tensor, self._dist.ReduceOp.SUM)
        return tensor

    def all_min(self, flag):
        self._check()
        value = torch.tensor([float(bool(flag))], device=self.device)
        self._reduce(value, self._dist.ReduceOp.MIN)
        return bool(value.item() > 0)

    def gather_objects(self, obj):
        """Every rank's ``obj``, in rank order."""
        self._check()
        out = [None] * self.world_size
        self._dist.all_gather_object(out, obj, group=self.group)
        return out

    def broadcast_object(self, obj):
        """Rank 0's ``obj`` on every rank."""
        self._check()
        box = [obj if self.rank == 0 else None]
        self._dist.broadcast_object_list(box, src=0, group=self.group)
        return box[0]

    def on_root(self, compute):
        """``compute()`` on rank 0 only, its result on every rank."""
        result = compute() if self.rank == 0 else None
        return self.broadcast_object(result)


def _failure_text(failed, messages, world_size):
    parts = []
    for r in failed:
        text = (messages[r] or "").strip()
        summary = text.splitlines()[0] if text else "(no message)"
        parts.append(f"rank {r} of {world_size} failed: {summary}")
    detail = "\n".join(m.strip() for m in (messages[r] for r in failed) if m)
    return ("HypernetSearchCV.fit stopped on every rank because " + "; ".join(parts)
            + ".\nThe failing rank's traceback:\n" + detail)


def check_world_size(world_size, n_folds):
    """Raise unless ``world_size`` ranks can share ``n_folds`` folds: at most one
    per fold, or a multiple of the number of folds (data-parallel within folds)."""
    if world_size <= n_folds or world_size % n_folds == 0:
        return
    valid = f"1 to {n_folds}, or a multiple of {n_folds} ({2 * n_folds}, {3 * n_folds}, ...)"
    raise ValueError(
        f"HypernetSearchCV under torch.distributed cannot share cv={n_folds} folds among "
        f"{world_size} processes (world size): launch {valid} processes "
        "(--nproc_per_node x --nnodes), or change cv."
    )


def _torchrun_env():
    keys = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR")
    return all(k in os.environ for k in keys)


class Ranks:
    """The processes of one ``fit``, as a context manager around it.

    :meth:`start` (once the number of folds is known) returns the folds'
    collectives: an initialized process group as it is; without one,
    torchrun's environment (``WORLD_SIZE`` > 1, ``RANK``, ``LOCAL_RANK``,
    ``MASTER_ADDR``) makes one (gloo on the CPU, NCCL when the net's device is
    CUDA, then on ``cuda:LOCAL_RANK``); otherwise (one process) a
    :class:`SingleProcess`. On leaving, an exception on this rank becomes the
    same :class:`~skhyper.exceptions.DistributedFitError` on every rank, and a
    process group made here is destroyed (also on error).
    """

    def __enter__(self):
        self.comm = None
        self._created = False
        return self

    def start(self, n_folds, net_device):
        """The collectives for ``n_folds`` folds; raises (on every rank, before any
        training) if the world size cannot share them."""
        import torch.distributed as dist

        device = torch.device(net_device)
        initialized = dist.is_available() and dist.is_initialized()
        world = dist.get_world_size() if initialized else int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1 or not (initialized or (dist.is_available() and _torchrun_env())):
            self.comm = SingleProcess(n_folds)
            return self.comm
        timeout = timeout_seconds()
        check_world_size(world, n_folds)  # before any process group exists
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not initialized:
            backend = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
            self._created = True
        self.comm = FoldGroup(n_folds, device=device, timeout=timeout)
        return self.comm

    def __exit__(self, exc_type, exc, tb):
        try:
            if isinstance(exc, Exception) and isinstance(self.comm, FoldGroup):
                error = self.comm.fail(exc)
                if error is not exc:
                    raise error from exc
        finally:
            if self._created:
                import torch.distributed as dist

                if exc is None:
                    # every rank past its last collective before any tears the group
                    # down: a rank that destroyed it while another still received the
                    # refit's broadcast aborted at exit ("terminate called without an
                    # active exception"), 1 launch in 15 on a loaded 2-core machine
                    dist.barrier()
                dist.destroy_process_group()
        return False
