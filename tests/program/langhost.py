"""Runs the program as Pulumi's Python language host does, under the mock runtime.

``pulumi-language-python-exec`` (pulumi/pulumi, sdk/python/cmd) runs ``main: infra/`` with
``runpy.run_path`` inside ``pulumi.runtime.run_in_stack``; it logs a ``pulumi.RunError`` as its
message alone and any other exception as ``traceback.format_exc()``. This module repeats exactly
that, so a test sees what a `pulumi up` user would see.
"""

from __future__ import annotations

import asyncio
import logging
import os
import runpy
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockEngine, MockSettings
from pulumi.runtime.settings import configure, set_root_resource

from delivery.config.settings import REGION_KEY, SECRET_VALUES_KEY
from delivery.config.stackfile import PROJECT_ROOT
from infra.offline import RecordingMocks, RecordingMonitor, config_for


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class HostRun:
    successful: bool
    errors: list[str]  # what the CLI shows as the program's error diagnostics
    mocks: RecordingMocks = field(default_factory=RecordingMocks)


def run_as_language_host(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | str | None = None,
    mocks: RecordingMocks | None = None,
    root: Path = PROJECT_ROOT,
) -> HostRun:
    """Run as `pulumi up` does: in ``main``'s directory (infra/), the engine naming ``root``
    (the directory of Pulumi.yaml and the stack files) as the project root."""
    mocks = mocks if mocks is not None else RecordingMocks()
    config = config_for(stack, overrides, secrets)
    mocks.region = config.get(REGION_KEY, mocks.region)
    logger = logging.getLogger(f"langhost-{id(mocks)}")
    logger.propagate = False
    collect = _Collect()
    logger.addHandler(collect)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # pulumi.runtime.set_mocks without its root stack: run_in_stack registers the root itself.
    monitor = RecordingMonitor(mocks)
    features = set(monitor.GetDeploymentInfo(None).supportedFeatures)  # type: ignore[no-untyped-call]
    set_root_resource(None)  # type: ignore[arg-type]  # the SDK's own reset value
    configure(
        MockSettings(  # type: ignore[no-untyped-call]
            monitor=monitor,
            monitor_features=features,
            engine=MockEngine(logger),
            project="switchyard",
            stack=stack,
            dry_run=False,
            organization=None,
            callbacks=None,
            root_directory=str(root),
        )
    )
    pulumi.runtime.set_all_config(config, [SECRET_VALUES_KEY] if secrets is not None else [])
    successful = False
    program = str(PROJECT_ROOT / "infra")

    def run_program() -> None:
        runpy.run_path(program, run_name="__main__")

    cwd = Path.cwd()
    os.chdir(program)  # the CLI's pwd is ``main`` when it is a directory
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(run_program))
        successful = True
    except pulumi.RunError as e:
        pulumi.log.error(str(e))
    except Exception:
        pulumi.log.debug("Program failed with an unhandled exception:")
        pulumi.log.error(traceback.format_exc())
    finally:
        os.chdir(cwd)
        loop.close()
        asyncio.set_event_loop(asyncio.new_event_loop())  # as the other mock runs expect
        set_root_resource(None)  # type: ignore[arg-type]  # the next mock run makes its own
    errors = [r.getMessage() for r in collect.records if r.levelno >= logging.ERROR]
    return HostRun(successful, errors, mocks)
