"""Serve a package's modules from code compiled once, for Temporal's sandbox to import per run.

The sandbox imports the workflow code again for every run. Through the normal import machinery
each import looks the module up on `sys.path`, reads its bytecode cache (or, where Python writes
none, as with PYTHONDONTWRITEBYTECODE or a read-only folder, compiles its source) and unmarshals
it: a third of the cost of starting a run of PipelineWorkflow on this machine (6.6 ms -> 4.4 ms
a run with this cache). Here the lookup and the compiled code are kept in memory: each run still
executes the modules afresh, so runs share no state, but no run reads a file.

A worker keeps running the code it compiled first, even if the files change under it; restart it
to deploy (as Temporal's build ids assume anyway).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType


class _CachedLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose compiled code is kept for the next import of the module."""

    def __init__(self, fullname: str, path: str) -> None:
        super().__init__(fullname, path)
        self._code: CodeType | None = None

    def get_code(self, fullname: str) -> CodeType:
        # Two threads creating runs at once may both compile it the first time: harmless.
        if self._code is None:
            code = super().get_code(fullname)
            if code is None:  # a source file always has code; this keeps the types honest
                raise ImportError(f"no code for {fullname}", name=fullname)
            self._code = code
        return self._code


class CodeCache(importlib.abc.MetaPathFinder):
    """Finds the modules of `package` once and keeps their compiled code."""

    def __init__(self, package: str) -> None:
        self.package = package
        self._found: dict[str, tuple[_CachedLoader, bool]] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.package and not fullname.startswith(self.package + "."):
            return None
        found = self._found.get(fullname)
        if found is None:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
            if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
                return spec
            is_package = spec.submodule_search_locations is not None
            found = (_CachedLoader(fullname, str(spec.origin)), is_package)
            self._found[fullname] = found
        loader, is_package = found
        # A new spec each time: importing a module records its state on its spec.
        return importlib.util.spec_from_file_location(
            fullname,
            loader.path,
            loader=loader,
            submodule_search_locations=[os.path.dirname(loader.path)] if is_package else None,
        )


_installed: dict[str, CodeCache] = {}


def install(package: str) -> CodeCache:
    """Serve `package` from memory from now on, in this process (once; later calls reuse it)."""
    cache = _installed.get(package)
    if cache is None:
        cache = _installed[package] = CodeCache(package)
        sys.meta_path.insert(0, cache)
    return cache
