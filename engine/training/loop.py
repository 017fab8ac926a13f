"""The training loop, run in its own process by :mod:`engine.training.worker`.

Every random choice of a step (which track, which crop, noise, timestep, condition dropout) comes
from a generator seeded by (seed, step, micro-batch), so a run resumed from a checkpoint replays
exactly the steps an uninterrupted run would have taken: on a CPU the losses match bit for bit.

Several processes (``lofi train --processes N``: torchrun starts N copies of the worker, one per GPU,
or gloo workers on a CPU; accelerate's ``Accelerator`` joins them) split each step's micro-batches:
micro-batch j of a step goes to rank ``j % N`` and is drawn exactly as a single process draws it, so an
N-process run follows the same sequence as one process with the same batch size x grad accum. Gradients
are averaged by DDP; only rank 0 writes metrics, checkpoints, samples and tracks.json, and every rank
waits at checkpoints, samples and the stop decision.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

import torch

from engine.atomic import atomic_write_json
from engine.errors import LofiError
from engine.model.check import check_base_model, check_precision
from engine.model.internals import reset_accelerate_state
from engine.model.load import load_pipeline, model_identity
from engine.training import checkpoints as ckpt
from engine.training.cache import CachedItem, load_cached, prepare, silence_context
from engine.training.config import TrainConfig
from engine.training.data import folder_items, workspace_items
from engine.training.events import MetricsWriter, NoMetrics
from engine.training.objective import draw_timestep, flow_matching_loss
from engine.training.runs import STOP_FILE
from engine.training.samples import write_samples
from engine.workspace import Workspace

OFFLOADED = ("text_encoder", "vae", "condition_encoder")  # needed for caching and samples, not for steps


class TrainingError(LofiError):
    """Training stopped for a reason the user must act on (out of memory, divergence)."""


class Diverged(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _oom_message(config: TrainConfig) -> str:
    remedies = [
        ("gradient checkpointing (--gradient-checkpointing)", config.gradient_checkpointing),
        (f"a lower --rank (now {config.rank})", False),
        (f"shorter crops (--crop-sec, now {config.crop_sec:g})", False),
        ("bf16 (--precision bf16)", config.precision == "bf16"),
    ]
    todo = [r for r, on in remedies if not on]
    done = [r for r, on in remedies if on]
    return ("out of memory during training; try " + ", ".join(todo)
            + (f" (already on: {', '.join(done)})" if done else ""))


def _caching_oom_message(config: TrainConfig) -> str:
    return ("out of memory while encoding the tracks into the latent cache (VAE tiling is on: 30 s tiles); free "
            "the GPU of other processes" + ("" if config.precision == "bf16" else
                                            ", or use --precision bf16 (frozen weights load in bf16 on a GPU)")
            + ", or build the cache once on a larger GPU: it is reused by every later run on this base model")


class StepHooks:
    """Where a caller may look into or alter each optimizer step; the trainer's own behaviour uses none of it.

    Tests subclass it to make a loss NaN, to slow steps down so a run can be stopped mid-way, or to record
    what each process drew (tests/engine/training/hooked_worker.py runs the worker with such hooks).
    """

    def loss(self, step: int, loss: torch.Tensor) -> torch.Tensor:
        """The loss of one micro-batch of ``step``, before the backward pass."""
        return loss

    def after_step(self, trainer: Trainer, step: int, tracks: list[str]) -> None:
        """Called once ``step``'s update is applied, with the tracks this process trained on."""


class Trainer:
    def __init__(self, run_dir: Path, log: Callable[[str], None] = print, hooks: StepHooks | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.config = TrainConfig.load(self.run_dir)
        self.config.validate()
        self.log = log
        self.stop_requested = False
        self.is_main = int(os.environ.get("RANK", "0")) == 0  # set by torchrun, read by accelerate too
        self.metrics = MetricsWriter(self.run_dir / "metrics.jsonl") if self.is_main else NoMetrics()
        self.lr_factor = 1.0
        self.rollbacks = 0
        self.hooks = hooks or StepHooks()
        self._recent: deque[float] = deque(maxlen=50)

    # -- set-up ---------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg = self.config
        summary = check_base_model(cfg.base_model)
        self.variant = summary.variant
        self.timesteps = self.variant.timesteps if cfg.timesteps == "auto" else cfg.timesteps
        self.cfg_dropout = self.variant.cfg_dropout if cfg.cfg_dropout is None else cfg.cfg_dropout
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        check_precision(cfg.precision, self.device)
        from accelerate import Accelerator
        from diffusers.training_utils import cast_training_params
        from peft import LoraConfig

        reset_accelerate_state()  # the precision setting is process-wide in accelerate; a trainer owns it
        # cpu=True on a machine without CUDA: only then does accelerate join torchrun's workers over gloo
        # (MULTI_CPU); without it each worker would train alone.
        self.accelerator = Accelerator(mixed_precision="bf16" if cfg.precision == "bf16" else "no",
                                       cpu=not torch.cuda.is_available())
        self.device = str(self.accelerator.device)
        self.world, self.rank = self.accelerator.num_processes, self.accelerator.process_index
        per_step = cfg.batch_size * cfg.grad_accum
        if per_step % self.world:
            raise TrainingError(f"{self.world} processes cannot share a step of {per_step} micro-batches (batch size "
                                "x grad accum); make it a multiple of the process count")
        # Frozen weights in bf16 on a GPU when the run is bf16 (XL does not fit 24 GB in fp32); fp32 on a CPU,
        # where bf16 matmuls are slow. The LoRA weights themselves stay fp32 (cast below).
        self.on_gpu = self.device.startswith("cuda")
        self.frozen_dtype = "bf16" if cfg.precision == "bf16" and self.on_gpu else "fp32"
        self.pipe = load_pipeline(cfg.base_model, self.frozen_dtype, self.device)
        if cfg.dataset:
            items = folder_items(Path(cfg.dataset), self.log)
        else:
            items = workspace_items(Workspace.open(cfg.workspace, create=False), cfg.require_license, self.log)
        if self.is_main:
            atomic_write_json(self.run_dir / "tracks.json", [{"id": i.id, "sha256": i.sha256, "audio": i.audio}
                                                             for i in items])
        cache_root = (Path(cfg.workspace) / "cache" / "latents") if cfg.workspace else self.run_dir / "cache"
        try:
            with self.accelerator.main_process_first():  # rank 0 encodes; the others then read its cache
                self.items: list[CachedItem] = prepare(self.pipe, items, cache_root, model_identity(cfg.base_model),
                                                       cfg.crop_sec)
        except torch.OutOfMemoryError as exc:
            raise TrainingError(_caching_oom_message(cfg)) from exc
        self.tensors = [load_cached(c) for c in self.items]
        self.null = self.pipe.condition_encoder.null_condition_emb.detach().float().cpu()
        self._encoders_to("cpu")

        transformer = self.pipe.transformer
        transformer.requires_grad_(False)
        self.lora_config = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, use_rslora=cfg.rslora,
                                      target_modules=list(cfg.target_modules), init_lora_weights=True)
        torch.manual_seed(cfg.seed)  # LoRA A matrices are drawn from the global generator
        transformer.add_adapter(self.lora_config)
        cast_training_params(transformer, dtype=torch.float32)  # bf16 frozen weights, fp32 LoRA + Adam state
        if cfg.gradient_checkpointing:
            transformer.enable_gradient_checkpointing()
        self.params = [p for p in transformer.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg.learning_rate, weight_decay=1e-2)
        # The LR scheduler is not handed to accelerate: its wrapper steps once per process.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_lambda)
        self.transformer, self.optimizer = self.accelerator.prepare(transformer, self.optimizer)
        self.crop = max(2, round(cfg.crop_sec * self.pipe.latents_per_second))

    def _encoders_to(self, device: str) -> None:
        """Move the text encoder, VAE and condition encoder (only caching and samples use them) on or off the GPU."""
        if not self.on_gpu:
            return
        for name in OFFLOADED:
            getattr(self.pipe, name).to(device)
        if device == "cpu":
            torch.cuda.empty_cache()

    def _lr_lambda(self, step: int) -> float:
        cfg = self.config
        warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
        if cfg.schedule == "constant":
            return self.lr_factor * warm
        progress = min(1.0, step / max(1, cfg.max_steps))
        return self.lr_factor * warm * 0.5 * (1 + math.cos(math.pi * progress))

    # -- one step -------------------------------------------------------------------------

    def _micro_batch(self, step: int, micro: int, per_step: int) -> tuple[str, tuple[torch.Tensor, ...]]:
        """Micro-batch ``micro`` of ``step``: the same draw whichever process makes it."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 1009 + micro)
        k = (step - 1) * per_step + micro
        n = len(self.tensors)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 7919 + k // n))
        index = int(order[k % n])
        data, entry = self.tensors[index], self.items[index]
        latents = data["latents"]
        frames = latents.shape[0] if entry.whole else min(self.crop, latents.shape[0])
        start = int(torch.randint(0, latents.shape[0] - frames + 1, (1,), generator=gen))
        x0 = latents[start : start + frames].unsqueeze(0)
        plain = float(torch.rand(1, generator=gen)) < cfg.metadata_dropout
        hidden = data["encoder_hidden_states_no_metadata" if plain else "encoder_hidden_states"].unsqueeze(0)
        if float(torch.rand(1, generator=gen)) < self.cfg_dropout:
            hidden = self.null.expand(1, hidden.shape[1], -1)
        t = draw_timestep(self.variant, self.timesteps, cfg.timestep_shift, gen)
        noise = torch.randn(x0.shape, generator=gen)
        context = silence_context(self.pipe, frames, torch.float32).cpu()
        return entry.item.id, tuple(x.to(self.device) for x in (x0, hidden, context, t, noise))

    def _mean_over_ranks(self, value: float) -> float:
        if self.world == 1:
            return value
        return float(self.accelerator.reduce(torch.tensor(value, device=self.device), reduction="mean"))

    def _train_step(self, step: int) -> dict[str, Any]:
        cfg = self.config
        per_step = cfg.batch_size * cfg.grad_accum
        mine = list(range(self.rank, per_step, self.world))  # this process's share of the step
        started = time.perf_counter()
        total, tracks = 0.0, []
        for n, micro in enumerate(mine):
            track, (x0, hidden, context, t, noise) = self._micro_batch(step, micro, per_step)
            tracks.append(track)
            last = n == len(mine) - 1  # gradients are averaged over the processes once, after the last one
            with contextlib.nullcontext() if last else self.accelerator.no_sync(self.transformer):
                with self.accelerator.autocast():
                    loss = flow_matching_loss(self.transformer, x0, hidden, context, t, noise) / len(mine)
                loss = self.hooks.loss(step, loss)
                self.accelerator.backward(loss)
            total += float(loss.detach())
        total = self._mean_over_ranks(total)
        grad_norm = float(self.accelerator.clip_grad_norm_(self.params, cfg.grad_clip))
        if not math.isfinite(total):
            raise Diverged(f"loss is {total} at step {step}")
        if not math.isfinite(grad_norm):
            raise Diverged(f"gradient norm is {grad_norm} at step {step}")
        if len(self._recent) >= cfg.spike_warmup and total > cfg.spike_factor * (sum(self._recent) / len(self._recent)):
            raise Diverged(f"loss {total:.4g} at step {step} is over {cfg.spike_factor:g}x its running average")
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._recent.append(total)
        self.hooks.after_step(self, step, tracks)
        elapsed = time.perf_counter() - started
        return {"step": step, "loss": total, "lr": lr, "grad_norm": grad_norm, "step_time": elapsed,
                "samples_per_sec": per_step / elapsed, "memory_mb": self._memory_mb()}

    def _memory_mb(self) -> float:
        if self.device.startswith("cuda"):
            return round(torch.cuda.max_memory_allocated() / 2**20, 1)
        import psutil

        return round(psutil.Process().memory_info().rss / 2**20, 1)

    # -- checkpoints ----------------------------------------------------------------------

    def _state(self, step: int) -> dict[str, Any]:
        return {"step": step, "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "lr_factor": self.lr_factor, "rollbacks": self.rollbacks, "config": asdict(self.config)}

    def _save(self, step: int) -> None:
        """Rank 0 writes the checkpoint; every rank waits until it is whole (a rollback may read it next)."""
        if self.is_main:
            model = self.accelerator.unwrap_model(self.transformer)
            path = ckpt.save_checkpoint(self.run_dir, step, model, self.lora_config, self._state(step))
            deleted = ckpt.apply_retention(self.run_dir, max(1, self.config.keep_last))
            self.metrics.event("checkpoint_saved", step, path=str(path.relative_to(self.run_dir)), deleted=deleted)
        self.accelerator.wait_for_everyone()

    def _restore(self, step: int) -> None:
        path = ckpt.checkpoint_dir(self.run_dir, step)
        ckpt.load_lora_into(self.accelerator.unwrap_model(self.transformer), path)
        state = ckpt.load_state(path)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.lr_factor = float(state.get("lr_factor", 1.0))
        self.rollbacks = int(state.get("rollbacks", 0))
        self._recent.clear()

    def _rollback(self, step: int, reason: str) -> int:
        self.metrics.event("divergence", step, reason=reason)
        good = [s for s in ckpt.list_checkpoints(self.run_dir, self.log) if s < step]
        if self.rollbacks >= self.config.max_rollbacks or not good:
            self.metrics.event("stopped", step, reason="diverged")
            raise TrainingError(f"training diverged ({reason}) and {self.rollbacks} rollbacks did not help; "
                                "lower --lr, raise --warmup-steps, or check the data")
        target = good[-1]
        rollbacks = self.rollbacks + 1
        self._restore(target)
        self.rollbacks = rollbacks
        self.lr_factor *= self.config.rollback_lr_factor
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * self._lr_lambda(target)
        self.metrics.event("rollback", step, to_step=target, lr_factor=self.lr_factor, attempt=rollbacks)
        self.log(f"diverged at step {step} ({reason}); rolled back to step {target}, learning rate x{self.lr_factor:g}")
        return target

    # -- the run --------------------------------------------------------------------------

    def _should_stop(self) -> bool:
        """A stop asked of any process (signal or STOP file) stops them all at the same step."""
        asked = self.stop_requested or (self.run_dir / STOP_FILE).exists()
        return self._mean_over_ranks(float(asked)) > 0

    def run(self, from_checkpoint: int | None = None) -> str:
        """Train to ``max_steps`` (or until stopped); returns the final status."""
        try:
            self._setup()
        except Exception:
            self.metrics.close()
            raise
        cfg = self.config
        existing = ckpt.list_checkpoints(self.run_dir, self.log)
        if from_checkpoint is not None and from_checkpoint not in existing:
            raise TrainingError(f"no valid checkpoint at step {from_checkpoint}; valid: {existing or 'none'}")
        start = from_checkpoint if from_checkpoint is not None else (existing[-1] if existing else None)
        if start is not None:
            self._restore(start)
            self.metrics.event("resumed", start, from_step=start)
        else:
            start = 0
            self.metrics.event("started", 0, tracks=len(self.items), device=self.device, processes=self.world,
                               variant=self.variant.name, timesteps=self.timesteps, cfg_dropout=self.cfg_dropout,
                               frozen_weights=self.frozen_dtype)
            self._save(0)
        if self.is_main:
            (self.run_dir / STOP_FILE).unlink(missing_ok=True)
        self.accelerator.wait_for_everyone()
        try:
            return self._loop(start)
        except torch.OutOfMemoryError as exc:
            self.metrics.event("failed", start, reason="out_of_memory")
            raise TrainingError(_oom_message(cfg)) from exc
        finally:
            self.metrics.close()

    def _loop(self, step: int) -> str:
        cfg = self.config
        while step < cfg.max_steps:
            step += 1
            try:
                record = self._train_step(step)
            except Diverged as exc:
                self.optimizer.zero_grad(set_to_none=True)
                step = self._rollback(step, exc.reason)
                continue
            self.metrics.step(**record)
            at_end = step == cfg.max_steps
            stop = self._should_stop()
            if step % cfg.checkpoint_every == 0 or at_end or stop:
                self._save(step)
            if cfg.sample_every and (step % cfg.sample_every == 0 or at_end):
                self._samples(step)
            if stop and not at_end:
                self.metrics.event("stopped", step, reason="requested")
                return "stopped"
        self.metrics.event("finished", step)
        return "finished"

    def _samples(self, step: int) -> None:
        if self.is_main:
            self.transformer.eval()
            self._encoders_to(self.device)
            try:
                folder = write_samples(self.pipe, self.run_dir / "samples" / f"step-{step}", self.config, self.variant)
            finally:
                self._encoders_to("cpu")
                self.transformer.train()
            self.metrics.event("sample_generated", step, path=str(folder.relative_to(self.run_dir)))
        self.accelerator.wait_for_everyone()

    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM finish the current step, save a checkpoint and exit."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.stop_requested = True

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
