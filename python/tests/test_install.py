"""``pip install ./python`` builds and installs the package (flit_core as the build backend), typed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    # No retries of an unreachable index (this machine's pip falls back to its local index at once).
    env = {**os.environ, "PIP_RETRIES": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pip", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def test_installs_with_pip_as_a_typed_package_that_imports(tmp_path: Path) -> None:
    if _pip("--version").returncode != 0:
        _skip_or_fail("pip is not available to this python")

    installed = _pip("install", "--no-deps", "--target", str(tmp_path), str(REPO / "python"))
    if installed.returncode != 0 and "No matching distribution found for flit_core" in installed.stderr:
        _skip_or_fail("no package index reachable for the build backend (flit_core)")

    assert installed.returncode == 0, installed.stderr[-2000:]
    package = tmp_path / "marketo_token_vendor"
    assert (package / "py.typed").is_file()
    metadata = next(tmp_path.glob("marketo_token_vendor-*.dist-info")) / "METADATA"
    assert [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist")] == [
        "Requires-Dist: botocore>=1.31"
    ]
    probe = subprocess.run(
        [sys.executable, "-c", "import marketo_token_vendor as m; print(m.__file__, m.__version__)"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == [str(package / "__init__.py"), "0.1.0"]
