"""``rag ask --batch``: many questions from JSONL, one process, one JSON result per line."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

from ..errors import QuestionError, RagError
from .assistant import Assistant, answer_to_dict


def read_questions(path: Path) -> Iterator[tuple[int, dict | None, str]]:
    """(line number, record, problem) for each non-blank line; a line with a problem is not asked
    (its record, when it is a JSON object, is kept so that its id can be passed through)."""
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise RagError(f"cannot read {path} ({exc.strerror or exc}). Check the path") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON ({exc.msg})"
                continue
            if not isinstance(record, dict):
                yield number, None, 'needs a JSON object with a "question" string'
                continue
            if not isinstance(record.get("question"), str):
                yield number, record, 'needs a "question" string'
                continue
            yield number, record, ""


def run_batch(
    assistant: Assistant, path: Path, out: Path | None, k: int | None = None, mode: str | None = None
) -> int:
    """Answer every question; bad lines are reported with their numbers and the rest answered."""
    from tqdm import tqdm

    records = list(read_questions(path))
    began, answered, abstained, problems = time.perf_counter(), 0, 0, 0
    sink = open(out, "w", encoding="utf-8") if out else nullcontext(sys.stdout)
    with sink as stream:
        for number, record, problem in tqdm(records, desc="Answering", unit="q", disable=None):
            result = {k2: v for k2, v in (record or {}).items() if k2 != "question"}
            if not problem:
                try:
                    result.update(answer_to_dict(assistant.ask(record["question"], k=k, mode=mode)))
                    answered += 1
                    abstained += result["abstained"]
                except QuestionError as exc:
                    problem = str(exc)
            if problem:
                problems += 1
                print(f"warning: {path} line {number}: {problem}", file=sys.stderr)
                result.update({"line": number, "error": problem})
            stream.write(json.dumps(result, ensure_ascii=False) + "\n")
    seconds = time.perf_counter() - began
    print(
        f"Answered {answered} questions ({abstained} abstained) in {seconds:.1f} s; "
        f"{problems} lines with problems{f'; results in {out}' if out else ''}.",
        file=sys.stderr,
    )
    return 0
