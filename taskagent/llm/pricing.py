"""Prices per model, in USD per million input and output tokens, overridable by configuration."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger("taskagent.pricing")


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        total = input_tokens * self.input_per_million + output_tokens * self.output_per_million
        return round(total / 1_000_000, 10)


# List prices when this table was written; override them with TASKAGENT_PRICES.
DEFAULT_PRICES: dict[str, Price] = {
    "openai:gpt-4o": Price(2.50, 10.00),
    "openai:gpt-4o-mini": Price(0.15, 0.60),
    "openai:gpt-4.1": Price(2.00, 8.00),
    "openai:gpt-4.1-mini": Price(0.40, 1.60),
    "openai:gpt-4.1-nano": Price(0.10, 0.40),
    "gemini:gemini-2.5-pro": Price(1.25, 10.00),
    "gemini:gemini-2.5-flash": Price(0.30, 2.50),
    "gemini:gemini-2.0-flash": Price(0.10, 0.40),
}


class PriceTable:
    """Prices by `provider:model`; a model without a price costs 0 and is logged once."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices = dict(DEFAULT_PRICES if prices is None else prices)
        self._warned: set[str] = set()

    @classmethod
    def from_config(
        cls, value: str | None, configured: Mapping[str, Price] | None = None
    ) -> PriceTable:
        """Defaults, overridden by the model configuration file's prices (`configured`), then by
        TASKAGENT_PRICES: JSON text or the path of a JSON file,
        `{"provider:model": [input_per_million, output_per_million], ...}`."""
        table = cls()
        table._prices.update(configured or {})
        if not value:
            return table
        text = Path(value).read_text() if not value.lstrip().startswith("{") else value
        try:
            data = json.loads(text)
            for model, (inp, out) in data.items():
                table._prices[model] = Price(float(inp), float(out))
        except (ValueError, TypeError) as err:
            raise ValueError(
                'TASKAGENT_PRICES must map "provider:model" to [input, output] USD per million '
                f"tokens: {err}"
            ) from err
        return table

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        price = self._prices.get(model)
        if price is None and model.startswith("offline:"):
            return 0.0  # the demo's and the tests' model runs on the worker: it costs nothing
        if price is None:
            if model not in self._warned:
                self._warned.add(model)
                log.warning("no price for model; its calls are counted at $0", model=model)
            return 0.0
        return price.cost(input_tokens, output_tokens)
