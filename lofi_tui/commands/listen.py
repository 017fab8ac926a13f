"""``lofi listen new|run|report|verify``: blind ABX, preference and "which is real?" tests.

``new`` renders clips (PyTorch for checkpoints, onnxruntime for bundles); ``run``, ``report`` and
``verify`` only read the test and never load a model.
"""

from __future__ import annotations

from dataclasses import asdict

import click

from engine.listening.design import DEFAULT_TRIALS, KINDS, find_test
from engine.listening.report import comparisons, report_for, report_lines
from engine.listening.session import Session
from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, progress_bar, stderr, stdout


@main.group("listen")
def listen_group() -> None:
    """Blind listening tests: fixed trials, hidden identities, level-matched clips, exact statistics."""


@listen_group.command("new")
@click.option("--kind", type=click.Choice(KINDS), required=True,
              help="abx: is X like A or B; preference: which is better; real: which is the real track.")
@click.option("--a", "a", required=True, help="Source A (the candidate): ckpt:RUN/STEP, base:RUN, bundle:PATH, "
                                              "real:validation.")
@click.option("--b", "b", required=True, help="Source B (the reference), same forms.")
@click.option("--trials", type=int, default=None,
              help=f"Counted trials, fixed now [default: {', '.join(f'{k} {v}' for k, v in DEFAULT_TRIALS.items())}].")
@click.option("--seed", type=int, default=None, help="Randomisation seed [default: drawn and recorded].")
@click.option("--listener", default=None, help="Who takes this test [default: your login name].")
@click.option("--practice", type=int, default=0, show_default=True,
              help="Practice trials with feedback before the counted ones (abx, real).")
@click.option("--duration", type=float, default=10.0, show_default=True, help="Seconds per clip.")
@click.option("--steps", type=int, default=8, show_default=True, help="Sampling steps for generated clips.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def new_cmd(ctx, kind, a, b, trials, seed, listener, practice, duration, steps, as_json):
    """Create a test: render both sources, level-match the clips, fix the plan (same command resumes)."""
    from engine.listening.prepare import ListeningRequest, create_test

    ws = workspace_of(ctx)
    request = ListeningRequest(kind, a, b, trials, seed, listener, practice, duration, steps)
    with progress_bar("preparing", enabled=not as_json) as on_progress:
        test = create_test(ws, request, progress=on_progress)
    for warning in test.warnings:
        stderr.print(f"warning: {warning}", markup=False)
    if as_json:
        emit_json({"id": test.id, "kind": test.kind, "a": test.a["spec"], "b": test.b["spec"], "trials": test.trials,
                   "practice": test.practice, "seed": test.seed, "listener": test.listener, "dir": test.dir,
                   "warnings": test.warnings})
        return
    stdout.print(f"test {test.id} ready: {test.trials} trials for {test.listener} (seed {test.seed}) in "
                 f"{test.dir}\ntake it with: lofi listen run {test.id}   (or in the dashboard, screen 5)", markup=False)


@listen_group.command("run")
@click.argument("test_id")
@click.pass_context
def run_cmd(ctx, test_id):
    """Take a test in a full-screen terminal session (resumes at the first unanswered trial)."""
    from screens.listening import ListenApp

    session = Session.open(workspace_of(ctx, create=False), test_id)
    ListenApp(session).run()


@listen_group.command("report")
@click.argument("test_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def report_cmd(ctx, test_id, as_json):
    """Results of one test (with its comparison pooled over listeners), or of every comparison."""
    ws = workspace_of(ctx, create=False)
    if test_id:
        test = find_test(ws, test_id)
        report = report_for(test)
        pooled = [c for c in comparisons(ws) if c.pooled.status == "finished" and test.id in c.pooled.tests]
        if as_json:
            emit_json({**asdict(report), "pooled": asdict(pooled[0].pooled) if pooled and len(pooled[0].tests) > 1
                       else None})
            return
        _print(report_lines(report))
        if pooled and len(pooled[0].tests) > 1:
            _print(report_lines(pooled[0].pooled, f"pooled over {len(pooled[0].tests)} tests of {test.name}"))
        return
    every = comparisons(ws)
    if as_json:
        emit_json([{"pooled": c.pooled, "listeners": c.listeners} for c in every])
        return
    if not every:
        stdout.print("no finished listening tests yet (lofi listen new ...)")
    for c in every:
        _print(report_lines(c.pooled, f"{c.tests[0].name} · {c.pooled.kind} · pooled over {len(c.tests)} test(s)"))
        if len(c.listeners) > 1:
            for name, r in c.listeners.items():
                _print(report_lines(r, f"  listener {name}"))


def _print(lines: list[str]) -> None:
    stdout.print("\n".join(lines), markup=False, highlight=False)


@listen_group.command("verify")
@click.argument("test_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def verify_cmd(ctx, test_id, as_json):
    """Check a test's answer log: hash chain, head, nothing edited, torn or removed (exit 1 if not)."""
    test = find_test(workspace_of(ctx, create=False), test_id)
    result = Session(test).log.verify()
    if as_json:
        emit_json({"id": test.id, **asdict(result)})
    elif result.ok:
        stdout.print(f"{test.id}: answer log intact ({result.lines} answers, hash chain and head agree)")
    else:
        for problem in result.problems:
            stderr.print(f"{test.id}: {problem}", markup=False)
    if not result.ok:
        raise SystemExit(1)
