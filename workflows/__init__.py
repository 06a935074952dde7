"""Deterministic orchestration only: no I/O, clocks or randomness outside Temporal's APIs.

Everything in this package runs inside Temporal's workflow sandbox, which re-imports it for every
run and rejects non-deterministic calls. What passes through the sandbox is listed here, imported
first so that every workflow module shares it: third-party libraries, TaskAgent's contracts
(spec models, results, events, names, errors, operator messages, the kinds registry) and its pure
helpers (expressions, graph, JSON checks, prompts, rendering, the log scope, telemetry, search
keys), which hold no state, do no I/O and read no clock: the lint rule that guards this package
guards them too (see pyproject.toml). OpenTelemetry passes through so that step spans reach the
worker's provider.
"""

import importlib
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import opentelemetry.trace  # noqa: F401

    import taskagent.audit
    import taskagent.conversation.context
    import taskagent.conversation.contracts
    import taskagent.conversation.window
    import taskagent.errors
    import taskagent.events
    import taskagent.expressions
    import taskagent.graph
    import taskagent.kinds
    import taskagent.kinds.context
    import taskagent.llm.checking
    import taskagent.llm.parsing
    import taskagent.llm.parsing_v1
    import taskagent.llm.prompts
    import taskagent.llm.refs
    import taskagent.llm.types
    import taskagent.memory
    import taskagent.messages
    import taskagent.names
    import taskagent.operator
    import taskagent.ratelimit
    import taskagent.render
    import taskagent.results
    import taskagent.schemas
    import taskagent.scope
    import taskagent.search
    import taskagent.spec
    import taskagent.telemetry.instruments
    import taskagent.telemetry.names  # noqa: F401

_CLASSES = {
    "ArchiveIdleConversations": "workflows.archive",
    "ConversationWorkflow": "workflows.conversation",
    "PipelineWorkflow": "workflows.pipeline",
    "RateLimitWorkflow": "workflows.rate_limit",
    "TopicWorkflow": "workflows.topic",
}
"""Each workflow type and its module, imported when first asked for (`from workflows import X`).

The sandbox imports this package again for every run: a pipeline's run then loads the pipeline's
modules only, not every other workflow type's (a few milliseconds of CPU per run)."""

if TYPE_CHECKING:
    from workflows.archive import ArchiveIdleConversations
    from workflows.conversation import ConversationWorkflow
    from workflows.pipeline import PipelineWorkflow
    from workflows.rate_limit import RateLimitWorkflow
    from workflows.topic import TopicWorkflow


def __getattr__(name: str) -> Any:
    module = _CLASSES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ArchiveIdleConversations",
    "ConversationWorkflow",
    "PipelineWorkflow",
    "RateLimitWorkflow",
    "TopicWorkflow",
]
