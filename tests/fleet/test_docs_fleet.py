"""docs/fleet.md's quick start works as written (each line, in a fresh directory, in order)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from fleethelpers import RTADVISOR

DOC = Path(__file__).parents[2] / "docs" / "fleet.md"


def quickstart() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- fleet-quickstart -->\n```bash\n(.*?)```", text, re.DOTALL)
    assert block, "docs/fleet.md lost its quick-start block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_quick_start_runs_as_written(tmp_path: Path, agent_env: dict[str, str]) -> None:
    lines = quickstart()
    assert [shlex.split(line)[1] for line in lines] == ["agent", "fleet", "fleet", "recommend", "generate"]
    for line in lines:
        argv = shlex.split(line)
        assert argv[0] == "rtadvisor"
        done = subprocess.run([RTADVISOR, *argv[1:]], cwd=tmp_path, env=agent_env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
    assert (tmp_path / "fleet.db").exists() and (tmp_path / "fleet-deploy" / "fleet.yaml").exists()
    assert not list((tmp_path / "spool").glob("*.json"))
