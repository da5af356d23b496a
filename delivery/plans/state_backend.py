"""Where the Pulumi CLI's DIY backend (``pulumi login s3://...``) reads and writes a stack's
state, so the CI roles' state-bucket policy (README, "The workflows") names exactly those paths.

Read in pulumi/pulumi at v3.259.0 and at the newest snapshot (1b5949891b, 3.260.0-dev; the
mirror holds nothing newer than the CLI the workflows pin, 3.272.0), pkg/backend/diy:
- store.go ``projectReferenceStore``: the checkpoint is ``.pulumi/stacks/<project>/<stack>.json``
  (``.gz``/``.zst`` when compressed); state.go copies it to ``<file>.bak`` before each write
  and, with PULUMI_RETAIN_CHECKPOINTS, writes ``<file>.<unix nanoseconds>`` beside it;
- ``HistoryDir``: ``.pulumi/history/<project>/<stack>/`` (``*.history.json`` and
  ``*.checkpoint.json``); ``BackupDir``: ``.pulumi/backups/<project>/<stack>/`` (a copy before
  ``pulumi stack rm`` or a rename);
- lock.go ``lockPath``: ``.pulumi/locks/`` + the stack's fully qualified name
  (``organization/<project>/<stack>``, backend.go ``FullyQualifiedName``: the DIY backend's
  organization is always "organization") + ``/<lock id>.json``; ``checkForLock`` lists that
  folder, so ListBucket must allow its prefix;
- meta.go: ``.pulumi/meta.yaml`` is read on every login; written only when absent (the first
  ``pulumi login`` to an empty bucket, an administrator's).
The DIY backend keeps no journal at these versions (no "journal" anywhere in pkg/backend/diy).
"""

from __future__ import annotations

from dataclasses import dataclass

from delivery.config.model import PROJECT

BOOKKEEPING = ".pulumi"
DIY_ORGANIZATION = "organization"


@dataclass(frozen=True)
class StatePaths:
    """A stack's object keys in the state bucket, as IAM resource patterns."""

    read_write: tuple[str, ...]  # s3:GetObject, s3:PutObject, s3:DeleteObject
    read_only: tuple[str, ...]  # s3:GetObject
    list_prefixes: tuple[str, ...]  # s3:ListBucket with an s3:prefix condition


def lock_prefix(stack: str, project: str = PROJECT) -> str:
    """The folder of the stack's update locks, relative to the backend's root."""
    return f"{BOOKKEEPING}/locks/{DIY_ORGANIZATION}/{project}/{stack}/"


def state_paths(stack: str, project: str = PROJECT) -> StatePaths:
    locks = lock_prefix(stack, project)
    history = f"{BOOKKEEPING}/history/{project}/{stack}/"
    backups = f"{BOOKKEEPING}/backups/{project}/{stack}/"
    checkpoint = f"{BOOKKEEPING}/stacks/{project}/{stack}.json"
    return StatePaths(
        read_write=(f"{checkpoint}*", f"{history}*", f"{locks}*", f"{backups}*"),
        read_only=(f"{BOOKKEEPING}/meta.yaml",),
        list_prefixes=(f"{BOOKKEEPING}/stacks/{project}/", history, locks, backups),
    )
