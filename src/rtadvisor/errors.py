"""One exception tree for rtadvisor.

::

    RtadvisorError                 base; the CLI prints ``str(err)`` on one line, exits ``err.exit_code``
    ├── InputError                 bad user input (profile, manifest, option); exit 2
    │   ├── ProfileError           a workload profile field is wrong (names the field)
    │   ├── ManifestError          a Kubernetes manifest cannot be read (names file and line)
    │   └── NotFoundError          a named item (runtime id, run id) does not exist (the API's 404)
    ├── KnowledgeBaseError         a packaged knowledge file is invalid (names the file and field)
    ├── RuntimeUnavailable         a runtime/backend cannot be used on this node (says why)
    ├── BenchError                 a measurement failed (runtime error, timeout, wrong output)
    ├── StoreError                 the result store cannot be opened/read/written
    │   └── StoreUnavailable       ... for now: the database cannot be reached (retry later)
    └── ArtifactError              an artifact (config, manifest, image) cannot be generated or read

Lower-level errors (subprocess, YAML, TOML, SQL) are translated into these at the boundary with
``raise ... from exc`` so the cause stays chained for debugging while the user sees one line.
"""

from __future__ import annotations


class RtadvisorError(Exception):
    """Base of every error rtadvisor raises on purpose.

    ``field`` names the input field at fault when there is one (``memory_mb``, ``runtime_id``): the
    HTTP API reports it as ``"field"`` so clients need not pick it out of the message.
    """

    exit_code: int = 1
    field: str | None = None

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        if field is not None:
            self.field = field


class InputError(RtadvisorError):
    """The user gave us something we cannot use."""

    exit_code = 2


class ProfileError(InputError):
    """A workload profile is invalid; the message names the field and what is allowed."""


class ManifestError(InputError):
    """A Kubernetes manifest cannot be read; the message names the file and line."""


class KnowledgeBaseError(RtadvisorError):
    """A packaged knowledge file is invalid; the message names the file and field."""


class RuntimeUnavailable(RtadvisorError):
    """A runtime or backend cannot be used on this node."""


class BenchError(RtadvisorError):
    """A measurement failed."""


class StoreError(RtadvisorError):
    """The result store cannot be used."""


class StoreUnavailable(StoreError):
    """The result store cannot be reached right now (database down, network, locked): worth a retry.

    The fleet agent keeps its result on disk and retries with backoff; every other StoreError
    (a newer schema, other content under a stored run id) would fail the same way again.
    """


class ArtifactError(RtadvisorError):
    """An artifact cannot be generated, merged or read."""


class NotFoundError(InputError):
    """A named item (a runtime id, a stored run id) does not exist; the message says what does.

    The HTTP API answers 404; the CLI exits 2 like any other bad input.
    """
