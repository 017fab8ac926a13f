"""Entry point of the training process: ``python -m engine.training.worker RUN_DIR [--from-checkpoint N]``.

Also works under ``accelerate launch -m engine.training.worker RUN_DIR`` for several GPUs. Exit
status: 0 finished or stopped on request, 1 a LofiError (message on stderr), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import LofiError
from engine.training.loop import StepHooks, Trainer


def main(argv: list[str] | None = None, hooks: StepHooks | None = None) -> int:
    parser = argparse.ArgumentParser(prog="engine.training.worker")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--from-checkpoint", type=int, default=None)
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        trainer = Trainer(args.run_dir, log=log, hooks=hooks)
        trainer.install_signal_handlers()
        status = trainer.run(from_checkpoint=args.from_checkpoint)
    except LofiError as exc:
        log(f"error: {exc}")
        return 1
    log(f"training {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
