"""The training loop of Algorithms 11-13 (and classification) as a generator of step results.

``Trainer(model, data, config).steps(control)`` yields a ``StepResult`` every
``log_every`` steps (and at validation and the last step). AdamW with gradient clipping,
linear warmup then cosine decay to ``min_lr_ratio · lr``, a fixed seed for the batches
and the masks. Between steps ``control`` can pause or resume the run; ``control.stop()``
ends it at once, abandoning a running step (the weights stay at the last completed
step, so however long a step is, the caller can save right away). All state
lives on the Trainer, so a run stopped by an error (out of memory) continues with a new
``steps()`` after ``trainer.batch_size`` or ``trainer.to(device)`` changed.

Divergence: a step whose loss or gradient norm is not a finite number is never applied,
and ``TrainingDiverged`` names that step, whether it was logged or not; without a host sync
per step on CUDA (``explorer.train.divergence``).

Under torchrun, ``trainer.distribute(ctx)`` (``explorer.train.distributed``) makes it one
rank of several: each step draws the global batch with the shared seeded generator and
trains on this rank's slots of it through DistributedDataParallel (``no_sync`` on the
accumulation micro-steps before the last); the reported loss and the validation loss
are means over all ranks, and a stop takes effect on every rank at the same step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from explorer.train.accuracy import split_accuracies
from explorer.train.control import StopRequested, TrainControl
from explorer.train.datasets import TrainingData
from explorer.train.devices import (
    configure_device,
    describe_device,
    free_memory,
    fused_attention_pays,
    is_out_of_memory,
    precision_autocast,
    resolve_device,
    resolve_precision,
)
from explorer.train.distributed import SINGLE, DistContext, shard_slots
from explorer.train.divergence import (
    DeviceCheck,
    checks_lazily,
    diverged,
    finite_step,
)
from explorer.train.objectives import TASKS, batch_loss


class OutOfMemory(RuntimeError):
    """The device ran out of memory; the trainer is intact and can continue."""


@dataclass
class TrainConfig:
    """How to train: the optimiser, the schedule, the batches, the device."""

    task: str = "next-token"
    steps: int = 1000
    batch_size: int = 32  # per rank and micro-step (global: × ranks × grad_accum)
    grad_accum: int = 1  # micro-steps whose gradients add up to one step
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int | None = None  # None: min(100, steps // 10)
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    p_mask: float = 0.15
    val_every: int = 100
    val_examples: int = 256
    log_every: int = 1
    seed: int = 0
    device: str = "auto"
    bf16: bool = True  # False: fp32 whatever ``precision`` says (the older switch)
    tf32: bool = True  # CUDA only
    precision: str = "auto"  # auto, fp32 or bf16 (devices.resolve_precision)
    snapshot_every: int = 0  # >0: weights into DIR/snapshots every N steps (snapshots.py)

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}: use one of {', '.join(TASKS)}")
        for name in ("steps", "batch_size", "grad_accum", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if int(self.snapshot_every) < 0:
            raise ValueError(f"snapshot_every must be 0 (none) or more, not {self.snapshot_every}")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise ValueError(f"the learning rate must be a positive number, not {self.lr}")

    @property
    def warmup(self) -> int:
        if self.warmup_steps is not None:
            return max(0, self.warmup_steps)
        return min(100, self.steps // 10)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warmup over ``warmup`` steps, then cosine decay to min_lr_ratio · lr."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    span = max(1, cfg.steps - cfg.warmup)
    progress = min(1.0, (step - cfg.warmup) / span)
    low = cfg.lr * cfg.min_lr_ratio
    return low + 0.5 * (cfg.lr - low) * (1.0 + math.cos(math.pi * progress))


@dataclass
class StepResult:
    """What the loop reports after a step (``val_loss`` only when it was measured)."""

    step: int
    loss: float
    lr: float
    grad_norm: float
    tokens_per_s: float
    elapsed_s: float
    eta_s: float
    tokens: int
    val_loss: float | None = None
    precision: str | None = None  # fp32 or bf16, as the step ran
    batch_per_rank: int | None = None  # the global batch = batch_per_rank × ranks × grad_accum
    ranks: int | None = None
    grad_accum: int | None = None
    global_batch: int | None = None
    train_accuracy: float | None = None  # last-token runs, at validation (accuracy.py)
    val_accuracy: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in out.items()}


@dataclass
class History:
    """The loss curves so far (kept in checkpoints, so a resumed curve continues)."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    acc_step: list[int] = field(default_factory=list)  # (not in checkpoints)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    def add(self, r: StepResult) -> None:
        self.step.append(r.step)
        self.loss.append(r.loss)
        self.lr.append(r.lr)
        self.grad_norm.append(r.grad_norm)
        if r.val_loss is not None:
            self.val_step.append(r.step)
            self.val_loss.append(r.val_loss)
        if r.train_accuracy is not None and r.val_accuracy is not None:
            self.acc_step.append(r.step)
            self.train_accuracy.append(r.train_accuracy)
            self.val_accuracy.append(r.val_accuracy)


def _decay_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices (dim >= 2), none on biases and norm gains."""
    params = {id(p): p for p in model.parameters() if p.requires_grad}.values()
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]


class _TaskEntry(torch.nn.Module):
    """The model with ``classify`` reachable through ``forward``, so that DDP sees
    (and synchronises) every pass the task makes."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args: Any, classify: bool = False) -> torch.Tensor:
        return self.model.classify(*args) if classify else self.model(*args)


class _Replicated:
    """What ``batch_loss`` calls during a distributed step: the DDP-wrapped model."""

    def __init__(self, ddp: torch.nn.Module) -> None:
        self.ddp = ddp

    def __call__(self, *args: Any) -> torch.Tensor:
        return self.ddp(*args)

    def classify(self, *args: Any) -> torch.Tensor:
        return self.ddp(*args, classify=True)


class Trainer:
    """A model, its data, its optimiser and its progress: one run."""

    def __init__(
        self,
        model: torch.nn.Module,
        data: TrainingData,
        config: TrainConfig,
        tokenizer: Any = None,
    ) -> None:
        if data.task != config.task:
            raise ValueError(f"the data is for task {data.task!r}, the config {config.task!r}")
        self.config, self.data = config, data
        self.tokenizer = tokenizer if tokenizer is not None else data.tokenizer
        self.device = resolve_device(config.device)
        configure_device(self.device, config.tf32)
        self.model = model.to(self.device)
        self.set_precision(model=model)
        self.params = list({id(p): p for p in model.parameters()}.values())
        # True: a non-finite step is skipped on the device, found at the next logged step
        self.lazy_checks = checks_lazily(self.device)
        self.optimizer = torch.optim.AdamW(
            _decay_groups(model, config.weight_decay), lr=config.lr, betas=config.betas,
            fused=True if self.lazy_checks else None,
        )
        self.batch_gen = torch.Generator().manual_seed(config.seed)
        self.mask_gen = torch.Generator().manual_seed(config.seed + 1)
        self.step = 0
        self.tokens = 0
        self.elapsed_s = 0.0
        self.history = History()
        self.info: dict[str, Any] = {}  # what the run was built from (for checkpoints)
        self.saved: tuple[int, Any] | None = None  # (step, folder) of the newest checkpoint
        self.snapshot_dir: Any = None  # the run folder snapshots go to (config.snapshot_every)
        self.snapshot_note = ""  # why the last snapshot could not be written ("" if it was)
        self._armed = False  # a stop request abandons the work now running (see steps)
        self._val: list | None = None
        self.dist: DistContext = SINGLE  # which rank of how many (see distribute)
        self._replicated: _Replicated | None = None

    def distribute(self, ctx: DistContext) -> Trainer:
        """Train as rank ``ctx.rank`` of ``ctx.world_size`` (the process group started):
        the model is wrapped in DistributedDataParallel for the training steps, while
        ``self.model`` stays the plain module (validation, samples, checkpoints)."""
        self.dist = ctx
        if ctx.active:
            from torch.nn.parallel import DistributedDataParallel

            cuda = self.device.type == "cuda"
            ddp = DistributedDataParallel(
                _TaskEntry(self.model), device_ids=[self.device.index] if cuda else None,
                find_unused_parameters=self.config.task == "classify",
            )
            self._replicated = _Replicated(ddp)
        return self

    @property
    def global_batch(self) -> int:
        """Examples per optimisation step: per-rank batch × ranks × accumulation steps."""
        return self.config.batch_size * self.dist.world_size * self.config.grad_accum

    @property
    def device_label(self) -> str:
        return describe_device(self.device)

    def set_precision(self, precision: str | None = None,
                      model: torch.nn.Module | None = None) -> str:
        """Ask for ``precision`` (auto, fp32, bf16; None: keep the config's) and resolve
        it on this device: ``self.precision`` is fp32 or bf16, ``precision_note`` why.
        Takes effect from the next step."""
        if precision is not None:
            resolve_precision(precision, self.device)  # a clear error for a bad name
            self.config.precision = precision
        asked = self.config.precision if self.config.bf16 else "fp32"
        model = model if model is not None else self.model
        d_e = getattr(getattr(model, "cfg", None), "d_e", None)
        self.precision, self.precision_note = resolve_precision(asked, self.device, d_e)
        if hasattr(model, "set_fused_attention"):
            model.set_fused_attention(fused_attention_pays(self.device, self.precision))
        return self.precision

    @property
    def done(self) -> bool:
        return self.step >= self.config.steps

    def to(self, device: str | torch.device) -> Trainer:
        """Move the model and the optimiser state (e.g. to the CPU after running out of memory)."""
        self.device = resolve_device(device)
        self.config.device = str(self.device)
        configure_device(self.device, self.config.tf32)
        self.set_precision()
        self.model.to(self.device)
        for state in self.optimizer.state.values():
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and key != "step":
                    state[key] = value.to(self.device)
        self._val = None
        return self

    # -- evaluation ------------------------------------------------------------------
    def evaluate(self, control: TrainControl | None = None) -> float:
        """Mean loss over the fixed validation examples (batch means weighted by their
        examples; masks drawn with a fixed seed).

        With several ranks each evaluates every world_size-th batch and the sums are
        added up over the ranks: the same mean as one process's, in a share of the time."""
        if self._val is None:
            batches = self.data.val_batches(self.config.batch_size, self.config.val_examples)
            self._val = [b.to(self.device) for b in batches]
        gen = torch.Generator().manual_seed(self.config.seed + 2)
        was_training = self.model.training
        self.model.eval()
        total = torch.zeros(2, device=self.device)  # Σ loss × examples, examples
        ctx = self.dist
        try:
            with torch.no_grad(), precision_autocast(self.device, self.precision):
                for i, batch in enumerate(self._val):
                    if control is not None and control.stopped and not ctx.active:
                        break
                    if i % ctx.world_size != ctx.rank:  # another rank's batch
                        if self.config.task == "masked":  # its masks, drawn all the same
                            torch.rand(batch.x.shape, generator=gen)
                        continue
                    loss = batch_loss(
                        self.model, batch, self.config.task, self.data.mask_id,
                        self.config.p_mask, gen,
                    )
                    total[0] += loss.float() * batch.x.shape[0]
                    total[1] += batch.x.shape[0]
        finally:
            self.model.train(was_training)
        loss_sum, count = ctx.sum(total).tolist()
        return loss_sum / max(1.0, count)

    # -- training --------------------------------------------------------------------
    def _train_step(self, lr: float) -> tuple[torch.Tensor, torch.Tensor, int]:
        """One optimisation step's gradients: this rank's micro-batches of the global
        batch (``distributed.shard_slots``); with DDP the gradients are averaged over the
        ranks on the last micro-step only (``no_sync`` on the others)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        cfg, ctx = self.config, self.dist
        indices = self.data.draw_indices(self.global_batch, self.batch_gen)
        slots = shard_slots(indices, ctx.rank, ctx.world_size, cfg.grad_accum)
        model = self._replicated if self._replicated is not None else self.model
        total = torch.zeros((), device=self.device)
        n_tokens = 0
        for a, ids in enumerate(slots):
            batch = self.data.batch_at(ids).to(self.device)
            self._skip_masks(ctx.rank, batch)  # the masks of the slots before this rank's
            last = a == len(slots) - 1
            sync = (self._replicated.ddp.no_sync() if self._replicated is not None and not last
                    else contextlib.nullcontext())
            with sync:
                with precision_autocast(self.device, self.precision):
                    loss = batch_loss(
                        model, batch, cfg.task, self.data.mask_id, cfg.p_mask, self.mask_gen,
                    )
                (loss / len(slots) if len(slots) > 1 else loss).backward()
            self._skip_masks(ctx.world_size - 1 - ctx.rank, batch)  # and after it
            total += loss.detach()
            n_tokens += batch.n_tokens
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip)
        loss = total / len(slots) if len(slots) > 1 else total
        return loss, grad_norm.detach(), n_tokens * ctx.world_size

    def _skip_masks(self, slots: int, batch: Any) -> None:
        """Draw (and drop) the masks of ``slots`` other ranks' micro-batches, so that every
        slot of the global batch gets the masks it would get in one process."""
        if self.config.task == "masked":
            for _ in range(slots):
                torch.rand(batch.x.shape, generator=self.mask_gen)

    def weights_finite(self) -> bool:
        """True when every weight and optimiser moment is a finite number (worth saving)."""
        tensors = list(self.params)
        for state in self.optimizer.state.values():
            tensors += [v for k, v in state.items() if isinstance(v, torch.Tensor) and k != "step"]
        with torch.no_grad():
            return all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())

    @contextlib.contextmanager
    def _interruptible(self, control: TrainControl | None) -> Iterator[None]:
        """Let ``control.stop()`` abandon a running step: checked before every module's
        forward pass and as each parameter's gradient arrives, while ``_armed`` (during a
        step or a validation, not while the caller uses the model between steps)."""
        if control is None or self.dist.active:  # ranks stop together, between steps
            yield
            return

        own = {id(m) for m in self.model.modules()}  # not a copy (a snapshot) of them
        thread = threading.get_ident()

        def check_forward(module: torch.nn.Module, args: object) -> None:
            if self._armed and id(module) in own and threading.get_ident() == thread:
                control.check()

        def check_backward(grad: torch.Tensor) -> None:  # (on CUDA: autograd's own thread)
            if self._armed:
                control.check()

        handles = [m.register_forward_pre_hook(check_forward) for m in self.model.modules()]
        handles += [p.register_hook(check_backward) for p in self.params if p.requires_grad]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _snapshot_due(self) -> bool:
        every = self.config.snapshot_every
        return (bool(every) and self.snapshot_dir is not None and self.step % every == 0
                and self.dist.is_writer)  # rank 0 alone writes, as for checkpoints

    def write_snapshot(self) -> None:
        """Weights only into ``snapshot_dir/snapshots`` (the one place the loop writes them).
        A snapshot that cannot be written never stops the run: ``snapshot_note`` says why."""
        from explorer.train.snapshots import write_snapshot

        try:
            write_snapshot(self.model, self.tokenizer, self.step, self.snapshot_dir,
                           self.config.task)
            self.snapshot_note = ""
        except (OSError, RuntimeError, ValueError) as exc:
            self.snapshot_note = f"snapshot at step {self.step} not written: {exc}"

    def _out_of_memory(self) -> OutOfMemory:
        self.optimizer.zero_grad(set_to_none=True)
        free_memory(self.device)
        smaller = max(1, self.config.batch_size // 2)
        return OutOfMemory(
            f"{self.device_label} ran out of memory at batch size {self.config.batch_size}. "
            f"Nothing is lost: continue from step {self.step} with batch size {smaller} "
            "or on the CPU."
        )

    @contextlib.contextmanager
    def _oom_guard(self) -> Iterator[None]:
        """Turn the device's out-of-memory error into OutOfMemory, freeing what it can.

        The new error is raised outside the ``except`` block so that the original one
        (whose traceback holds the step's activations) is released first."""
        out_of_memory = False
        try:
            yield
        except torch.cuda.OutOfMemoryError:
            out_of_memory = True
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            out_of_memory = True
        if out_of_memory:
            raise self._out_of_memory()

    def steps(
        self, control: TrainControl | None = None, save_every: int = 0
    ) -> Iterator[StepResult]:
        """Train until ``config.steps`` (or a stop), yielding progress as it goes.

        A result is yielded every ``log_every`` steps, at validation steps, at the last
        step and, with ``save_every``, at every multiple of it (where the caller saves).
        A stop during a step abandons that step: the weights, the optimiser and the
        random generators stay as they were after the last completed step."""
        with self._interruptible(control):
            yield from self._steps(control, save_every)

    def _steps(self, control: TrainControl | None, save_every: int) -> Iterator[StepResult]:
        cfg = self.config
        self.model.train()
        acc_loss = torch.zeros((), device=self.device)
        acc_norm = torch.zeros((), device=self.device)
        n_acc = 0
        paused_at_start = last_paused = control.paused_s if control else 0.0
        start = time.perf_counter()
        elapsed_before = self.elapsed_s
        window: deque[tuple[float, int, int]] = deque([(start, self.tokens, self.step)])
        ctx = self.dist
        lazy = DeviceCheck(self.device) if self.lazy_checks else None
        if self.step == 0 and self._snapshot_due():
            self.write_snapshot()  # the untrained weights: the time-lapse's first frame
        while self.step < cfg.steps:
            if control is not None and ctx.any(control.between_steps(), self.device):
                break
            lr = learning_rate(self.step, cfg)
            log_now = (
                (self.step + 1) % cfg.log_every == 0
                or self.step + 1 == cfg.steps
                or (cfg.val_every > 0 and (self.step + 1) % cfg.val_every == 0)
                or (save_every > 0 and (self.step + 1) % save_every == 0)
                or (cfg.snapshot_every > 0 and (self.step + 1) % cfg.snapshot_every == 0)
            )
            rng = (self.batch_gen.get_state(), self.mask_gen.get_state())
            with self._oom_guard():
                try:
                    self._armed = True
                    loss, grad_norm, n_tokens = self._train_step(lr)
                except StopRequested:  # abandon the step: as if it never began
                    self.optimizer.zero_grad(set_to_none=True)
                    self.batch_gen.set_state(rng[0])
                    self.mask_gen.set_state(rng[1])
                    break
                finally:
                    self._armed = False
                acc_loss += loss
                acc_norm += grad_norm
                n_acc += 1
                finite = finite_step(loss, grad_norm, ctx.active)
                if lazy is not None:  # on the device, read at the next logged step
                    lazy.record(self.step, finite, loss, grad_norm, lr, rng, n_tokens)
                elif not bool(finite):  # on the host, before the update (free on the CPU)
                    self.optimizer.zero_grad(set_to_none=True)
                    self.batch_gen.set_state(rng[0])  # as if the step never began
                    self.mask_gen.set_state(rng[1])
                    loss_v, norm_v = torch.stack([loss.float(), grad_norm.float()]).tolist()
                    raise diverged(loss_v, norm_v, lr, self.step + 1)
                if log_now:  # (the mean over the ranks: the same on every rank)
                    both = ctx.sum(torch.stack([acc_loss, acc_norm]))
                    loss_v, norm_v = (both / (n_acc * ctx.world_size)).tolist()
                    failure = lazy.failure(self) if lazy is not None else None
                    if failure is None and not (math.isfinite(loss_v)
                                                and math.isfinite(norm_v)):
                        failure = diverged(loss_v, norm_v, lr, self.step + 1)
                    if failure is not None:
                        self.optimizer.zero_grad(set_to_none=True)
                        raise failure
                if lazy is not None:  # skipped on the device after a bad step
                    lazy.step(self.optimizer)
                else:
                    self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            self.tokens += n_tokens
            if self._snapshot_due():
                self.write_snapshot()
            if not log_now:
                continue
            acc_loss.zero_()
            acc_norm.zero_()
            n_acc = 0
            val = None
            if cfg.val_every > 0 and (self.step % cfg.val_every == 0 or self.done):
                with self._oom_guard():
                    try:
                        self._armed = True
                        val = self.evaluate(None if ctx.active else control)
                    except StopRequested:
                        val = None
                    finally:
                        self._armed = False
            accuracy = split_accuracies(self) if val is not None else {}
            now = time.perf_counter()
            paused_now = control.paused_s if control else 0.0
            self.elapsed_s = elapsed_before + now - start - (paused_now - paused_at_start)
            if paused_now != last_paused:
                window.clear()  # a pause breaks the rate measurement
                last_paused = paused_now
            window.append((now, self.tokens, self.step))
            while len(window) > 2 and now - window[0][0] > 3.0:
                window.popleft()
            t0, tok0, step0 = window[0]
            dt = max(now - t0, 1e-9)
            tps = (self.tokens - tok0) / dt if len(window) > 1 else 0.0
            per_step = dt / max(1, self.step - step0) if len(window) > 1 else 0.0
            result = StepResult(
                step=self.step, loss=loss_v, lr=lr, grad_norm=norm_v, tokens_per_s=tps,
                elapsed_s=self.elapsed_s, eta_s=per_step * (cfg.steps - self.step),
                tokens=self.tokens, val_loss=val, precision=self.precision,
                batch_per_rank=cfg.batch_size, ranks=ctx.world_size, grad_accum=cfg.grad_accum,
                global_batch=self.global_batch, **accuracy,
            )
            self.history.add(result)
            yield result
