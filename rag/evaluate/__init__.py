"""Evaluate: question sets in, metrics (retrieval, citation, answer, abstention, latency), report and charts out."""

from .metrics import load_questions, run_eval
from .report import format_table, write_outputs

__all__ = ["format_table", "load_questions", "run_eval", "write_outputs"]
