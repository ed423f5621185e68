"""Errors a user can cause, reported completely and without a traceback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (dotted path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RelaysimError(Exception):
    """Base class for errors caused by input; the CLI prints them and exits with status 2."""


class ScenarioError(RelaysimError):
    """A scenario (file or in-memory dict) has one or more problems; all are listed."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.report())

    def report(self) -> str:
        where = self.source or "<scenario>"
        n = len(self.problems)
        head = f"{where}: {n} problem{'s' if n != 1 else ''} found"
        return "\n".join([head] + [f"  {where}: {p}" for p in self.problems])


class UsageError(RelaysimError):
    """A command-line or API argument is wrong (not the scenario itself)."""
