"""Results of listening tests: per test (one listener), per listener and pooled over every finished test
of the same comparison, with exact statistics and a verdict that never claims more than the data.

- ABX and "which is real?": correct of n, the exact one-sided binomial p against guessing, a two-sided
  95 % Clopper-Pearson interval, and the smallest accuracy the test detects at alpha 0.05 with 80 %
  power. "Indistinguishable" needs accuracy <= 55 %, p > 0.05 and that detectable accuracy at or below
  75 % (the conventional threshold of a just-noticeable difference in a two-choice task);
  otherwise the verdict is "inconclusive: too few trials".
- Preference: wins, ties and losses of A (the candidate), the exact two-sided sign test of wins
  against losses, and the 95 % interval of the win-or-tie share, against which the release criterion
  (A wins or ties at least 40 % of comparisons) is met, not met, or not yet decided.

An unfinished test shows no numbers at all: the score stays hidden until its last trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.listening import stats
from engine.listening.design import KIND_NAMES, ListeningTest, all_tests
from engine.listening.session import Session, is_correct, shown_sides
from engine.workspace import Workspace

CHANCE_CEILING = 0.55  # "not better than 55 %"
JND_ACCURACY = 0.75  # a difference worth detecting: right 3 times in 4
CRITERION = 0.40  # a quantized model wins or ties at least 40 % of blind comparisons
P_ONE_SIDED = "exact binomial, one-sided, P(X >= k | n, 1/2)"
P_SIGN = "exact sign test, two-sided, wins against losses (ties dropped)"
CI_METHOD = "Clopper-Pearson (exact), two-sided 95 %"


@dataclass
class Report:
    kind: str
    a: str
    b: str
    a_label: str
    b_label: str
    tests: list[str]
    listeners: list[str]
    status: str  # finished | in progress
    trials: int  # planned counted trials (summed when pooled)
    answered: int
    correct: int | None = None
    wins: int | None = None
    ties: int | None = None
    losses: int | None = None
    rate: float | None = None  # accuracy, or the win-or-tie share
    p_value: float | None = None
    p_test: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
    detectable: float | None = None  # ABX/real: smallest accuracy detected at alpha 0.05 with 80 % power
    trials_needed: int | None = None  # ABX/real: trials whose detectable accuracy is <= 75 %
    verdict: str = "unfinished"
    summary: str = ""
    warnings: list[str] = field(default_factory=list)


def _pct(x: float | None) -> str:
    """A share as a percentage; a figure an unfinished report does not have shows as "-"."""
    return "-" if x is None else f"{100 * x:.0f} %"


def _base(tests: list[ListeningTest]) -> Report:
    t = tests[0]
    return Report(t.kind, t.a["spec"], t.b["spec"], t.a["label"], t.b["label"], [x.id for x in tests],
                  sorted({x.listener for x in tests}), "finished", sum(x.trials for x in tests), 0,
                  warnings=sorted({w for x in tests for w in x.warnings}))


def score(tests: list[ListeningTest]) -> Report:
    """Pool finished tests of one comparison (one test gives that test's report)."""
    report = _base(tests)
    correct = wins = ties = 0
    for test in tests:
        session = Session(test)
        report.warnings += [f"{test.id}: answer log fails verification: {p}" for p in session.problems]
        for record in session.records:
            if record["practice"]:
                continue
            trial = test.plan[record["trial"]]
            report.answered += 1
            if test.kind == "preference":
                wins += record["choice"] != "none" and shown_sides(test, trial)[record["choice"]] == "a"
                ties += record["choice"] == "none"
            else:
                correct += bool(is_correct(test, trial, record["choice"]))
    n = report.answered
    if report.kind == "preference":
        _preference(report, wins, ties, n - wins - ties)
    else:
        _discrimination(report, correct)
    return report


def _discrimination(r: Report, k: int) -> None:
    n = r.answered
    r.correct = k
    r.rate = rate = k / n
    p_value = stats.p_greater(k, n)
    r.p_value, r.p_test = p_value, P_ONE_SIDED
    r.ci_low, r.ci_high = stats.clopper_pearson(k, n)
    r.ci_method = CI_METHOD
    r.detectable = stats.detectable_accuracy(n)
    heard = "listeners picked the real track" if r.kind == "real" else "listeners heard a difference"
    result = f"{k} of {n} correct ({_pct(rate)}), p = {p_value:.3g}"
    powerless = r.detectable is None or r.detectable > JND_ACCURACY
    if p_value <= stats.ALPHA:
        r.verdict, r.summary = "distinguishable", f"distinguishable: {heard} ({result})"
    elif powerless:
        r.trials_needed = stats.trials_needed(JND_ACCURACY)
        reach = ("no result could be significant" if r.detectable is None else
                 f"it would only catch listeners right {_pct(r.detectable)} of the time")
        r.verdict = "inconclusive"
        r.summary = (f"inconclusive: too few trials (n = {n}): {reach}; a claim of \"indistinguishable\" needs "
                     f"n >= {r.trials_needed} ({result})")
    elif rate <= CHANCE_CEILING:
        r.verdict = "indistinguishable"
        r.summary = (f"indistinguishable: {result}, at most {_pct(CHANCE_CEILING)} and not significant, and the test "
                     f"would have caught listeners right {_pct(r.detectable)} of the time")
    else:
        r.verdict = "inconclusive"
        r.summary = f"inconclusive: {_pct(rate)} is above {_pct(CHANCE_CEILING)} but not significant ({result})"


def _preference(r: Report, wins: int, ties: int, losses: int) -> None:
    n = r.answered
    r.wins, r.ties, r.losses = wins, ties, losses
    share = wins + ties
    r.rate = share / n
    r.p_value, r.p_test = stats.p_two_sided(wins, wins + losses), P_SIGN
    r.ci_low, r.ci_high = ci_low, ci_high = stats.clopper_pearson(share, n)
    r.ci_method = CI_METHOD
    counts = f"{wins} wins, {ties} ties, {losses} losses of {n}"
    ci = f"95 % CI {_pct(ci_low)}-{_pct(ci_high)}"
    if ci_low >= CRITERION:
        r.verdict = "met"
        r.summary = (f"{r.a_label} wins or ties {_pct(r.rate)} ({ci}): meets the >= {_pct(CRITERION)} criterion "
                     f"({counts})")
    elif ci_high < CRITERION:
        r.verdict = "not met"
        r.summary = (f"{r.a_label} wins or ties {_pct(r.rate)} ({ci}): below the {_pct(CRITERION)} criterion "
                     f"({counts})")
    else:
        r.verdict = "inconclusive"
        r.summary = (f"inconclusive: {r.a_label} wins or ties {_pct(r.rate)} but the {ci} includes "
                     f"{_pct(CRITERION)}; more trials or listeners decide it ({counts})")


def report_for(test: ListeningTest) -> Report:
    """One test; while it is unfinished only how far it got, never the score."""
    session = Session(test)
    if not session.finished:
        report = _base([test])
        report.status = "in progress"
        report.answered = sum(not r["practice"] for r in session.records)
        report.summary = (f"in progress: {report.answered} of {test.trials} answered; results stay hidden until the "
                          "last trial")
        return report
    return score([test])


@dataclass
class Comparison:
    """Every finished test of one comparison: pooled, and per listener."""

    pooled: Report
    listeners: dict[str, Report]
    tests: list[ListeningTest]


def comparisons(ws: Workspace) -> list[Comparison]:
    groups: dict[tuple[str, ...], list[ListeningTest]] = {}
    for test in all_tests(ws):
        if Session(test).finished:
            groups.setdefault(test.comparison, []).append(test)
    out = []
    for tests in groups.values():
        by_listener: dict[str, list[ListeningTest]] = {}
        for t in tests:
            by_listener.setdefault(t.listener, []).append(t)
        out.append(Comparison(score(tests), {name: score(ts) for name, ts in sorted(by_listener.items())}, tests))
    return out


def model_card_lines(ws: Workspace, run: str, step: int) -> list[str]:
    """Finished blind tests between sources of one checkpoint (its precisions, its LoRA), one line each,
    e.g. "int8 vs fp32: 9 wins, 6 ties, 5 losses of 20 (blind preference, 1 listener; ...)"."""
    lines = []
    for c in comparisons(ws):
        t = c.tests[0]
        if not all(side["run"] == run and side["step"] == step for side in (t.a, t.b)):
            continue
        r = c.pooled
        who = f"{len(r.listeners)} listener{'s' if len(r.listeners) > 1 else ''}"
        if r.kind == "preference":
            head = f"{r.a_label} vs {r.b_label}: {r.wins} wins, {r.ties} ties, {r.losses} losses of {r.answered}"
        else:
            head = f"{r.a_label} vs {r.b_label}: {r.correct} of {r.answered} correct"
        lines.append(f"{head} ({KIND_NAMES[r.kind]}, {who}; {r.verdict}, p = {r.p_value:.3g}, "
                     f"95 % CI {_pct(r.ci_low)}-{_pct(r.ci_high)})")
    return lines


def checkpoint_notes(ws: Workspace, run: str) -> dict[int, str]:
    """Step -> a short note of the finished blind tests that involve that checkpoint of ``run``.

    Preference counts are wins/ties/losses of that checkpoint; the verdict (a criterion on A's share) is given on
    A's row only. Discrimination tests are symmetric: both rows read the same."""
    notes: dict[int, list[str]] = {}
    for c in comparisons(ws):
        t, r = c.tests[0], c.pooled
        for side, other, is_a in ((t.a, t.b, True), (t.b, t.a, False)):
            if side["kind"] == "ckpt" and side["run"] == run:
                if r.kind != "preference":
                    figure = f"{r.correct}/{r.answered} {r.verdict}"
                elif is_a:
                    figure = f"{r.wins}/{r.ties}/{r.losses} {r.verdict}"
                else:
                    figure = f"{r.losses}/{r.ties}/{r.wins}"
                notes.setdefault(side["step"], []).append(f"{KIND_NAMES[r.kind]} vs {other['label']}: {figure}")
    return {step: "; ".join(n) for step, n in notes.items()}


def report_lines(report: Report, title: str | None = None) -> list[str]:
    """The report as plain lines, for the CLI and the dashboard alike."""
    who = ", ".join(report.listeners)
    lines = [title or f"{' + '.join(report.tests)} · {KIND_NAMES[report.kind]} · {report.a} vs {report.b} · "
             f"listener{'s' if len(report.listeners) > 1 else ''} {who}"]
    if report.status != "finished":
        return [*lines, f"  {report.summary}"]
    if report.kind == "preference":
        lines.append(f"  {report.a_label} (A) against {report.b_label}: {report.wins} wins, {report.ties} ties, "
                     f"{report.losses} losses of {report.answered}; win or tie {_pct(report.rate)}")
    else:
        lines.append(f"  {report.correct} of {report.answered} correct ({_pct(report.rate)})")
    lines.append(f"  p = {report.p_value:.4g} ({report.p_test})")
    lines.append(f"  95 % CI {_pct(report.ci_low)} to {_pct(report.ci_high)} ({report.ci_method})")
    if report.detectable is not None:
        lines.append(f"  power: {report.answered} trials detect listeners right {_pct(report.detectable)} of the time "
                     "(alpha 0.05, 80 % power)")
    lines.append(f"  verdict: {report.summary}")
    lines += [f"  warning: {w}" for w in report.warnings]
    return lines
