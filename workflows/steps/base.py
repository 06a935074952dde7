"""What an executor hands back to the choke point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepOutcome:
    """A step's output, how many attempts it took, and steps a routing decision left out."""

    output: Any
    attempts: int = 1
    skip: dict[str, str] = field(default_factory=dict)
