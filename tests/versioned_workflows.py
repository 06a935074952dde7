"""Three versions of one small workflow type, for tests/test_versioning.py.

Kept apart from the test so the workflow sandbox imports nothing but Temporal here.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=10)


@activity.defn
async def fetch(name: str) -> str:
    return f"fetched {name}"


@activity.defn
async def audit(name: str) -> str:
    return f"audited {name}"


@workflow.defn(name="Versioned")
class VersionOne:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(fetch, name, start_to_close_timeout=TIMEOUT)


@workflow.defn(name="Versioned")
class VersionTwoUnsafe:
    """Adds an audit call before the fetch: runs recorded by VersionOne cannot replay."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.execute_activity(audit, name, start_to_close_timeout=TIMEOUT)
        return await workflow.execute_activity(fetch, name, start_to_close_timeout=TIMEOUT)


@workflow.defn(name="Versioned")
class VersionTwoPatched:
    """The same change behind `workflow.patched`: old runs keep their path, new runs audit."""

    @workflow.run
    async def run(self, name: str) -> str:
        if workflow.patched("audit-before-fetch"):
            await workflow.execute_activity(audit, name, start_to_close_timeout=TIMEOUT)
        return await workflow.execute_activity(fetch, name, start_to_close_timeout=TIMEOUT)
