"""Training speed and memory of the release-size ACE-Step 1.5 DiTs, and VAE caching memory, on a GPU.

Random weights (nothing is downloaded), the trainer's own objective and LoRA set-up: frozen weights in bf16, LoRA
weights in fp32 under bf16 autocast, gradient checkpointing, one 30 s crop per step. Prints, for the 2B DiT at LoRA
rank 64 and 256 and the XL DiT at rank 64: steps/s and peak GPU memory; then the peak GPU memory of caching a 240 s
track through the release-size Oobleck VAE (tiled, as the trainer caches).

    python benchmarks/gpu_figures.py            # on a CUDA machine, under 10 minutes
    python benchmarks/gpu_figures.py --profile --batch-scaling  # where the step time goes; what batching gains
    python benchmarks/gpu_figures.py --cpu-smoke  # the same code at toy sizes on a CPU, to check the script runs
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from engine.training.config import DEFAULT_TARGETS
from engine.training.objective import flow_matching_loss

# transformer/config.json of the releases (random weights here); the XL's condition encoder is 2048 wide.
DIT_2B = dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=24, num_attention_heads=16,
              num_key_value_heads=8, head_dim=128)
DIT_XL = dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=32, num_attention_heads=32,
              num_key_value_heads=8, head_dim=128, encoder_hidden_size=2048)
VAE = dict(encoder_hidden_size=128, downsampling_ratios=[2, 4, 4, 6, 10], channel_multiples=[1, 2, 4, 8, 16],
           decoder_channels=128, decoder_input_channels=64, audio_channels=2, sampling_rate=48_000)
# --cpu-smoke: the same code at toy sizes (same ratios between the 2B and XL shapes)
SMOKE_2B = dict(hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16)
SMOKE_XL = dict(hidden_size=80, intermediate_size=304, num_hidden_layers=3, num_attention_heads=8,
                num_key_value_heads=2, head_dim=16, encoder_hidden_size=64)
SMOKE_VAE = dict(encoder_hidden_size=8, downsampling_ratios=[2, 4, 8, 30], channel_multiples=[1, 2, 2, 2],
                 decoder_channels=8, decoder_input_channels=4, audio_channels=2, sampling_rate=48_000)


def _peak_gb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _reset(device: str) -> None:
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def train_case(name: str, shape: dict, rank: int, device: str, steps: int, frames: int, cond_tokens: int,
               profile: bool = False, batch: int = 1) -> None:
    """LoRA steps as the trainer takes them: frozen bf16 weights, fp32 LoRA (cast_training_params), bf16
    autocast on CUDA, gradient checkpointing, AdamW, grad clipping, one crop of ``frames`` latent frames."""
    from diffusers import AceStepTransformer1DModel
    from diffusers.training_utils import cast_training_params
    from peft import LoraConfig

    _reset(device)
    with torch.device(device):
        model = AceStepTransformer1DModel(**shape)
    if device == "cuda":
        model.to(torch.bfloat16)
    model.requires_grad_(False)
    model.add_adapter(LoraConfig(r=rank, lora_alpha=32, use_rslora=True, target_modules=list(DEFAULT_TARGETS)))
    cast_training_params(model, dtype=torch.float32)
    model.enable_gradient_checkpointing()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    _reset(device)  # the peak of training, not of building random fp32 weights (the trainer loads bf16 directly)
    dim = model.config.audio_acoustic_hidden_dim
    width = model.config.encoder_hidden_size or model.config.hidden_size
    x0 = torch.randn(batch, frames, dim, device=device)
    hidden = torch.randn(batch, cond_tokens, width, device=device)
    context = torch.randn(batch, frames, model.config.in_channels - dim, device=device)

    def step() -> None:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = flow_matching_loss(model, x0, hidden, context, torch.rand(batch, device=device), torch.randn_like(x0))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()

    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    lora = sum(p.numel() for p in params)
    crops = "" if batch == 1 else f", {batch} crops per forward ({batch / statistics.median(times[1:]):.2f} crops/s)"
    print(f"  {name} DiT, LoRA rank {rank} ({lora / 1e6:.1f} M params): {1 / statistics.median(times[1:]):.2f} steps/s, "
          f"peak {_peak_gb(device):.2f} GB{crops}", flush=True)
    if profile:
        _profile(step, device)


def _profile(step, device: str) -> None:
    """Where a step's time goes: the operators with the most device (or CPU) time over three steps, and how much of
    the wall time the device was busy (a low share means the step waits on Python and kernel launches)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        for _ in range(3):
            step()
    wall = time.perf_counter() - start
    events = prof.key_averages()
    key = "self_device_time_total" if device == "cuda" else "self_cpu_time_total"
    kernels = [e for e in events if e.device_type == DeviceType.CUDA] if device == "cuda" else events
    busy = sum(getattr(e, key) for e in kernels) / 1e6
    print(f"    profile of 3 steps: wall {wall:.2f} s, {'device' if device == 'cuda' else 'CPU'} busy {busy:.2f} s", flush=True)
    print(events.table(sort_by=key, row_limit=12, max_name_column_width=48), flush=True)


def vae_case(config: dict, seconds: float, device: str) -> None:
    """Caching one track through the VAE as the trainer does: tiled encode, weights bf16 on CUDA."""
    from diffusers import AutoencoderOobleck

    from engine.training.cache import encode_latents

    _reset(device)
    with torch.device(device):
        vae = AutoencoderOobleck(**config).eval()
    if device == "cuda":
        vae.to(torch.bfloat16)
    _reset(device)
    audio = (0.1 * torch.randn(int(seconds * config["sampling_rate"]), 2)).numpy()
    start = time.perf_counter()
    latents = encode_latents(vae, audio, device)
    print(f"  VAE caching, {seconds:g} s track, tiled: {latents.shape[0]} frames in {time.perf_counter() - start:.1f} s, "
          f"peak {_peak_gb(device):.2f} GB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="toy sizes on the CPU: checks the script runs")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--profile", action="store_true", help="also profile three steps of the 2B DiT at rank 64")
    parser.add_argument("--batch-scaling", action="store_true",
                        help="also time the 2B DiT at rank 64 with 2 and 4 crops in one forward (what batching would gain)")
    args = parser.parse_args()
    if args.cpu_smoke:
        device, shapes, vae, seconds, frames, steps = "cpu", (SMOKE_2B, SMOKE_XL), SMOKE_VAE, 4.0, 50, 3
        print("CPU smoke run at toy sizes (figures mean nothing; peaks are the process's RSS):")
    elif torch.cuda.is_available():
        device, shapes, vae, seconds, frames, steps = "cuda", (DIT_2B, DIT_XL), VAE, 240.0, 750, args.steps
        print(f"{torch.cuda.get_device_name()}: release shapes, random weights, bf16, gradient checkpointing, "
              "30 s crops (750 latent frames):")
    else:
        print("GPU figures: skipped (no CUDA device; --cpu-smoke checks the script at toy sizes)")
        return
    train_case("2B", shapes[0], 64, device, steps, frames, 320, profile=args.profile)
    train_case("2B", shapes[0], 256, device, steps, frames, 320)
    train_case("XL", shapes[1], 64, device, steps, frames, 320)
    if args.batch_scaling:
        for batch in (2, 4):
            train_case("2B", shapes[0], 64, device, steps, frames, 320, batch=batch)
    vae_case(vae, seconds, device)


if __name__ == "__main__":
    main()
