"""LoRA training of ACE-Step 1.5's DiT: data selection, latent cache, the loop, checkpoints and runs."""
