"""Taking a listening test: one trial at a time, practice first, each answer durable before the next
trial shows. Nothing here reveals identities or the running score; a finished test is read-only.

A session killed at any moment resumes at the first unanswered trial: answers are appended and
fsynced one by one (see :mod:`engine.listening.log`), and a half-written answer is dropped.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from engine.listening.design import DEFINITION, ListeningError, ListeningTest, Trial, find_test, read_test
from engine.listening.log import HEAD, LOG, AnswerLog
from engine.workspace import Workspace

LABELS = {"abx": ("A", "B", "X"), "preference": ("A", "B"), "real": ("A", "B")}
CHOICES = {"abx": ("A", "B"), "preference": ("A", "B", "none"), "real": ("A", "B")}
QUESTIONS = {"abx": "Is X the same as A or as B?", "preference": "Which do you prefer?",
             "real": "Which one is the real track?"}


@dataclass(frozen=True)
class TrialView:
    """What the listener may know about the current trial."""

    number: int  # 1-based within practice or within the counted trials
    of: int
    practice: bool
    clips: dict[str, Path]  # label -> clip
    choices: tuple[str, ...]
    question: str


@dataclass(frozen=True)
class Feedback:
    """Practice only: whether the answer was right, and what was where."""

    correct: bool
    truth: str


def shown_sides(test: ListeningTest, trial: Trial) -> dict[str, str]:
    """Label -> source side ("a"/"b") for one trial."""
    if test.kind == "abx":
        return {"A": "a", "B": "b", "X": "b" if trial.swap else "a"}
    return {"A": "b", "B": "a"} if trial.swap else {"A": "a", "B": "b"}


def is_correct(test: ListeningTest, trial: Trial, choice: str) -> bool | None:
    """ABX: the choice names X's source; real: the choice is the real clip; preference: None."""
    sides = shown_sides(test, trial)
    if test.kind == "abx":
        return sides[choice] == sides["X"]
    if test.kind == "real":
        real = "a" if test.a["kind"] == "real" else "b"
        return sides[choice] == real
    return None


class Session:
    def __init__(self, test: ListeningTest) -> None:
        self.test = test
        self.log = AnswerLog(test.dir, (test.dir / DEFINITION).read_bytes())
        self.records = self.log.records()
        self.note: str | None = None  # what resuming had to repair, if anything
        if not self.finished:
            self.note = self.log.repair()
            self.records = self.log.records()
        self.problems = self.log.verify().problems  # an edited or truncated log takes no more answers

    @classmethod
    def open(cls, ws: Workspace, ref: str) -> Session:
        return cls(find_test(ws, ref))

    @classmethod
    def at(cls, directory: Path) -> Session:
        return cls(read_test(directory))

    @property
    def answered(self) -> int:
        return len(self.records)

    @property
    def finished(self) -> bool:
        return len(self.records) >= len(self.test.plan)

    def current(self) -> TrialView | None:
        if self.finished:
            return None
        index = len(self.records)
        trial = self.test.plan[index]
        practice = self.test.practice
        number, of = (index + 1, practice) if trial.practice else (index - practice + 1, self.test.trials)
        sides = shown_sides(self.test, trial)
        clips = {label: self.test.clip(trial.material, sides[label]) for label in LABELS[self.test.kind]}
        return TrialView(number, of, trial.practice, clips, CHOICES[self.test.kind], QUESTIONS[self.test.kind])

    def answer(self, choice: str) -> Feedback | None:
        """Record the answer to the current trial (durably); practice trials return feedback."""
        if self.finished:
            raise ListeningError(f"test {self.test.id} is finished: its answers are read-only")
        if self.problems:
            raise ListeningError(f"the answer log of test {self.test.id} fails verification ({self.problems[0]}); "
                                 "it takes no more answers (see `lofi listen verify`)")
        if choice not in CHOICES[self.test.kind]:
            raise ListeningError(f"{choice!r} is not an answer to a {self.test.kind} trial: use one of "
                                 f"{', '.join(CHOICES[self.test.kind])}")
        index = len(self.records)
        trial = self.test.plan[index]
        entry = self.log.append({"seq": index + 1, "trial": index, "practice": trial.practice, "choice": choice,
                                 "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        self.records.append(entry)
        if self.finished:
            for name in (LOG, HEAD, DEFINITION):
                os.chmod(self.test.dir / name, 0o444)  # read-only from now on, for people and programs
        if not trial.practice:
            return None
        sides = shown_sides(self.test, trial)
        if self.test.kind == "abx":
            truth = f"X was {'B' if sides['X'] == 'b' else 'A'}"
        else:
            real = "a" if self.test.a["kind"] == "real" else "b"
            truth = f"the real track was {'A' if sides['A'] == real else 'B'}"
        return Feedback(bool(is_correct(self.test, trial, choice)), truth)
