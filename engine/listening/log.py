"""A tamper-evident, crash-safe answer log: one JSON line per answer, appended and fsynced before the
answer counts, each line carrying the sha256 of the line before it (the first one: of the test's
definition), and a ``head.json`` naming the last line's hash.

Editing any line breaks the chain at the next line (or at the head for the last one); removing lines
from the end disagrees with the head. A line torn by a crash mid-write was never acknowledged: it is
cut off when the log is next opened for writing, and the head is brought up to date if the crash
came between an append and the head's update. Someone who rewrites the log *and* recomputes every
hash is not detected: this guards against accidents and casual edits, not against a forger.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from engine.atomic import atomic_write_json

LOG = "answers.jsonl"
HEAD = "head.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Verification:
    ok: bool
    lines: int
    problems: list[str] = field(default_factory=list)


class AnswerLog:
    def __init__(self, directory: Path, anchor: bytes) -> None:
        self.dir = Path(directory)
        self.path = self.dir / LOG
        self.head_path = self.dir / HEAD
        self.anchor = sha256(anchor)

    def _raw_lines(self) -> tuple[list[bytes], bytes]:
        """Complete lines, and what follows the last newline (a torn write, normally empty)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], b""
        *lines, tail = data.split(b"\n")
        return lines, tail

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._raw_lines()[0]]

    def _head(self) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], json.loads(self.head_path.read_text()))
        except FileNotFoundError:
            return None

    def repair(self) -> str | None:
        """Before appending: drop a torn last line and catch up a head one line behind (a crash between
        the two writes). Anything else is left for :meth:`verify` to report. Says what it did, if anything."""
        lines, tail = self._raw_lines()
        note = None
        if tail:
            size = self.path.stat().st_size
            with open(self.path, "r+b") as fh:
                fh.truncate(size - len(tail))
                os.fsync(fh.fileno())
            note = "an answer being written when the session stopped was incomplete and was dropped"
        head = self._head()
        if lines and (head or {}).get("lines", 0) == len(lines) - 1:  # killed between the append and the head
            self._write_head(lines)
        return note

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Append one record, chained to the previous line, and make it durable before returning."""
        lines, _ = self._raw_lines()
        entry = {**record, "prev": sha256(lines[-1]) if lines else self.anchor}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        self._write_head([*lines, line])
        return entry

    def _write_head(self, lines: list[bytes]) -> None:
        atomic_write_json(self.head_path, {"lines": len(lines), "sha256": sha256(lines[-1])})

    def verify(self) -> Verification:
        lines, tail = self._raw_lines()
        problems = []
        prev = self.anchor
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(f"line {number} is not valid JSON")
                prev = sha256(line)
                continue
            if entry.get("prev") != prev:
                what = "the test definition (test.json) was changed" if number == 1 else f"line {number - 1} was changed"
                problems.append(f"line {number}: hash chain broken ({what})")
            prev = sha256(line)
        if tail:
            problems.append(f"line {len(lines) + 1} is incomplete (a write cut short)")
        head = self._head()
        recorded = head.get("lines", 0) if head else 0
        if lines and head is None:
            problems.append(f"{HEAD} is missing")
        elif recorded > len(lines):
            problems.append(f"the log has {len(lines)} lines but {HEAD} records {recorded}: lines were removed "
                            "from the end")
        elif recorded == len(lines) and lines and head is not None and head.get("sha256") != prev:
            problems.append(f"line {len(lines)} was changed (it does not match {HEAD})")
        elif recorded == len(lines) - 1 and recorded and head is not None and head.get("sha256") != sha256(lines[-2]):
            problems.append(f"line {recorded} was changed (it does not match {HEAD})")
        elif recorded < len(lines) - 1:
            problems.append(f"{HEAD} records {recorded} lines but the log has {len(lines)}: lines were added")
        return Verification(not problems, len(lines), problems)
