"""Two training processes over gloo on the tiny model, started the way `lofi train --processes 2` starts them."""

import json

import pytest

from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.events import read_metrics
from engine.training.loop import Trainer
from engine.training.runs import create_run, start_run, worker_command

pytestmark = pytest.mark.slow


def _ranks(folder):
    return [[json.loads(line) for line in (folder / f"rank-{r}.jsonl").read_text().splitlines()] for r in (0, 1)]


def test_two_processes_share_each_step_and_only_rank_zero_writes(train_workspace, tiny_model, tmp_path,
                                                                 hooked_worker):
    ws = train_workspace
    common = dict(base_model=str(tiny_model), workspace=str(ws.root), max_steps=3, checkpoint_every=3, warmup_steps=1,
                  crop_sec=2.0, rank=4, learning_rate=1e-2, schedule="constant", grad_accum=2)
    single = create_run(ws, TrainConfig(run="mp-single", **common))
    assert Trainer(single).run() == "finished"

    path = create_run(ws, TrainConfig(run="mp-two", processes=2, **common))
    assert worker_command(path, 2)[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    logs = tmp_path / "ranks"
    logs.mkdir()
    hooked_worker("--rank-log", str(logs))
    proc = start_run(path, detach=False)
    assert proc.wait(timeout=900) == 0, (path / "train.log").read_text()[-3000:]

    metrics = read_metrics(path / "metrics.jsonl")
    lines = (path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines if '"type": "step"' in line] == [1, 2, 3]  # one line per step
    assert [e["step"] for e in metrics.events if e["event"] == "checkpoint_saved"] == [0, 3]  # each written once
    assert metrics.events[0]["processes"] == 2
    assert ckpt.list_checkpoints(path) == [0, 3] and not list((path / "checkpoints").glob(".*"))
    rank0, rank1 = _ranks(logs)
    assert [r["step"] for r in rank0] == [r["step"] for r in rank1] == [1, 2, 3]
    for a, b in zip(rank0, rank1):
        assert a["lora"] == b["lora"]  # identical weights after every step
        assert a["tracks"] != b["tracks"]  # but each rank drew its own track
    # the same sequence as one process taking the whole step (grad accum 2)
    assert metrics.losses() == pytest.approx(read_metrics(single / "metrics.jsonl").losses(), rel=1e-3)

    config = TrainConfig.load(path)
    config.max_steps = 4
    config.save(path)
    assert start_run(path, detach=False).wait(timeout=900) == 0, (path / "train.log").read_text()[-3000:]
    resumed = read_metrics(path / "metrics.jsonl")
    assert [e["from_step"] for e in resumed.events if e["event"] == "resumed"] == [3]
    assert sorted(resumed.steps) == [1, 2, 3, 4] and ckpt.list_checkpoints(path)[-1] == 4
