"""The probe functions of tests/support.py for worker.py subprocesses.

TASKAGENT_MODULES=tests.probe_module python worker.py
"""

from __future__ import annotations

from tests.support import probes as registry

__all__ = ["registry"]
