"""``pip install ./python`` builds and installs the package (flit_core as the build backend), typed.

pip spends most of its time waiting (on the package index, on the isolated build environment), so the install
starts as soon as this test is collected (``conftest.py`` calls ``start_install``) and runs beside the other
tests; the test waits for it and checks what it installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Install:
    """``pip --version``, then (when pip works) ``pip install`` into ``target``."""

    version: subprocess.CompletedProcess[str]
    installed: subprocess.CompletedProcess[str] | None
    target: Path


def _install() -> _Install:
    target = Path(tempfile.mkdtemp(prefix="mtv-pip-install-"))
    version = _pip("--version")
    if version.returncode != 0:
        return _Install(version, None, target)
    installed = _pip("install", "--no-deps", "--target", str(target), str(REPO / "python"))
    return _Install(version, installed, target)


_started: Future[_Install] | None = None


def start_install() -> Future[_Install]:
    """Starts the install in a thread of its own (once); the test below waits for it."""
    global _started
    if _started is None:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pip-install")
        _started = executor.submit(_install)
        executor.shutdown(wait=False)
    return _started


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def test_installs_with_pip_as_a_typed_package_that_imports() -> None:
    result = start_install().result()
    try:
        if result.installed is None:
            _skip_or_fail("pip is not available to this python")
        assert result.installed is not None
        installed = result.installed
        if installed.returncode != 0 and "No matching distribution found for flit_core" in installed.stderr:
            _skip_or_fail("no package index reachable for the build backend (flit_core)")

        assert installed.returncode == 0, installed.stderr[-2000:]
        package = result.target / "marketo_token_vendor"
        assert (package / "py.typed").is_file()
        metadata = next(result.target.glob("marketo_token_vendor-*.dist-info")) / "METADATA"
        assert [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist")] == [
            "Requires-Dist: botocore>=1.31"
        ]
        probe = subprocess.run(
            [sys.executable, "-c", "import marketo_token_vendor as m; print(m.__file__, m.__version__)"],
            env={**os.environ, "PYTHONPATH": str(result.target)},
            capture_output=True,
            text=True,
            check=True,
        )
        assert probe.stdout.split() == [str(package / "__init__.py"), "0.1.0"]
    finally:
        shutil.rmtree(result.target, ignore_errors=True)
