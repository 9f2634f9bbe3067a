"""``python -m rtadvisor`` is the ``rtadvisor`` command."""

from __future__ import annotations

import sys

from rtadvisor.cli import main

sys.exit(main())
