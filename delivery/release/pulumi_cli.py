"""The Pulumi CLI child of the Automation API, run so that the driver can stop it.

An abort must not wait for the CLI, and the CLI must stop when the driver aborts:

- GitHub's runner cancels a step by signalling the step's process only: ``kill(pid, SIGINT)``,
  SIGTERM 7.5 s later, SIGKILL 2.5 s after that (actions/runner src/Runner.Sdk/ProcessInvoker.cs
  ``CancelAndKillProcessTree``, ``_sigintTimeout``/``_sigtermTimeout``). The ``pulumi up``
  child of the driver hears none of it, and the runner's clean-up kills it at the job's end,
  leaving its state lock behind.
- The Automation API's own run (pulumi 3.272.0 automation/_cmd.py ``PulumiCommand.run``) reads
  the child's output on two threads inside ``with subprocess.Popen(...)``; an interrupt on the
  main thread reaches ``Popen.__exit__``, whose ``stdout.close()`` waits for the reader
  thread's lock until the child writes or ends. This command's run is the same without the
  ``with``: the interrupt leaves the wait on the readers at once (a lock wait, which a signal
  interrupts), and the child's process is kept so that ``stop`` can end it.
- The CLI's first SIGINT or SIGTERM cancels: it waits for the operations in flight, and the
  cutover's is a bake of minutes. The second terminates: the engine returns at once and closes
  the plugins, the cutover's provider among them (pkg/backend/cancellation_scope.go,
  pkg/engine/deployment.go ``<-ctx.Cancel.Terminated()``), and the DIY backend's deferred
  ``Unlock`` deletes the update's lock (pkg/backend/diy/backend.go ``defer b.Unlock``; read at
  pulumi 3.260.0, the newest snapshot here, below the 3.272.0 the workflows pin).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.automation import PulumiCommand
from pulumi.automation._cmd import CommandResult, _fixup_path
from pulumi.automation.errors import create_command_error

# The CLI's signal loop reads a channel buffered for one signal (cancellation_scope.go
# ``make(chan os.Signal, 1)``, ``signal.Notify`` drops a signal that does not fit): the second
# is sent once the first has had time to be taken, or it may be dropped.
SECOND_SIGNAL_AFTER = 0.2
TERMINATE_GRACE = 3.0  # the CLI closes its plugins and unlocks; then SIGKILL
KILL_GRACE = 1.0  # within the runner's 7.5 s before its SIGTERM, with the restore before it


@dataclass(frozen=True)
class Stopped:
    """How the CLI child ended when the driver stopped it."""

    pid: int
    how: str  # "exited" (before any signal), "terminated" (it unlocked), "killed" (SIGKILL)
    returncode: int | None


class CancellableCommand(PulumiCommand):
    """``PulumiCommand`` whose ``run`` is the SDK's (same arguments, environment, output
    callbacks, result and errors) with the child kept, so that ``stop`` can end it."""

    def __init__(self, root: str | None = None) -> None:
        super().__init__(root=root)  # runs `pulumi version`: a missing CLI fails here
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process else None

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Callable[[str], Any] | None = None,
        on_error: Callable[[str], Any] | None = None,
    ) -> CommandResult:
        separator = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:separator]:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        if os.path.isabs(self.command):
            env = _fixup_path(env, os.path.dirname(self.command))
        chunks: dict[str, list[str]] = {"stdout": [], "stderr": []}

        def consume(stream: Any, callback: Callable[[str], Any] | None, into: list[str]) -> None:
            for line in iter(stream.readline, ""):
                stripped = line.rstrip()
                if callback:
                    callback(stripped)
                into.append(stripped)
            stream.close()

        process = subprocess.Popen(
            [self.command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            text=True,
            encoding="utf-8",
        )
        with self._lock:
            self._process = process
        readers = [
            threading.Thread(target=consume, args=(process.stdout, on_output, chunks["stdout"])),
            threading.Thread(target=consume, args=(process.stderr, on_error, chunks["stderr"])),
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        code = process.wait()
        with self._lock:
            self._process = None
        result = CommandResult(
            stdout="\n".join(chunks["stdout"]), stderr="\n".join(chunks["stderr"]), code=code
        )
        if code != 0:
            raise create_command_error(result)
        return result

    def stop(self, sleep: Callable[[float], None] = time.sleep) -> Stopped | None:
        """End the running child, if any: SIGINT (the CLI cancels), SIGINT again (it
        terminates and unlocks), SIGKILL if it is still there. Returns within about 4 s."""
        with self._lock:
            process = self._process
        if process is None:
            return None
        if process.poll() is not None:
            return Stopped(process.pid, "exited", process.returncode)
        for signum, grace in (
            (signal.SIGINT, SECOND_SIGNAL_AFTER),
            (signal.SIGINT, TERMINATE_GRACE),
        ):
            process.send_signal(signum)  # a no-op once it has ended (bpo-38630)
            if _ended(process, grace, sleep):
                return Stopped(process.pid, "terminated", process.returncode)
        process.kill()
        _ended(process, KILL_GRACE, sleep)
        return Stopped(process.pid, "killed", process.returncode)


def _ended(process: subprocess.Popen[str], within: float, sleep: Callable[[float], None]) -> bool:
    deadline = time.monotonic() + within
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        sleep(0.02)
    return True
