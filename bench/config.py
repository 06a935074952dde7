"""Sizes and repetitions of a full run and of a `--quick` one."""

from __future__ import annotations

from dataclasses import dataclass

from bench.shapes import Shape


@dataclass(frozen=True)
class Config:
    chain_steps: int = 50
    reps: int = 5
    """Repetitions of the no-op chain and the fan-outs."""
    slow_reps: int = 3
    """Repetitions of the chain of 50 ms steps."""
    fanouts: tuple[int, ...] = (50, 200)
    runs: int = 100
    """Runs started together in the throughput scenario."""
    throughput_reps: int = 3
    replay_steps: int = 500
    replays: int = 7
    starts: int = 5
    agent_reps: int = 10

    def shapes(self) -> list[Shape]:
        """What the long-lived workers must be able to run."""
        return [
            Shape("noop", self.chain_steps),
            Shape("sleep50", self.chain_steps),
            *(Shape("noop", k, parallel=True) for k in self.fanouts),
            Shape("noop", 3),
            Shape("noop", self.replay_steps),
            Shape("answer", 1),
        ]


FULL = Config()
QUICK = Config(
    chain_steps=10,
    reps=2,
    slow_reps=1,
    fanouts=(20, 50),
    runs=20,
    throughput_reps=1,
    replay_steps=100,
    replays=2,
    starts=2,
    agent_reps=3,
)
