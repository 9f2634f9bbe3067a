"""Wasm OCI images without Docker: build (compat image, CNCF Wasm artifact, plain Linux), validate, inspect.

* :mod:`.build` — deterministic OCI layout/tar writer and the three image kinds
* :mod:`.layout` — reading layouts (dir or tar) and checking them against the OCI schemas and digests
* :mod:`.inspect` — which kind an image is and which route / handler can run it
"""

from __future__ import annotations
