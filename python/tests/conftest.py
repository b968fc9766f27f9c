"""Local mode for the Python tests: the repository's own local vendor (SigV4 check, the same vend handler
Lambda runs, dynalite, the Marketo simulator), started once per session in a child process on free ports
with fresh data directories, and stopped at the end (testing/local-vendor-process.ts).

Without node or the repository's node_modules the local-mode tests are skipped with the reason printed;
under CI=true they fail instead.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from marketo_token_vendor import AwsCredentials

REPO = Path(__file__).resolve().parents[2]

STARTUP_TIMEOUT_SECONDS = 120  # a hang guard: about 4 s idle, far more on a machine ten times slower
FULL_KEY = AwsCredentials("PYFULLKEY", "python-full-local-secret-123")
NARROW_KEY = AwsCredentials("PYNARROWKEY", "python-narrow-local-secret-456")


def _policy(*keys: tuple[AwsCredentials, str, list[str]]) -> dict[str, Any]:
    return {
        "keys": [
            {
                "accessKeyId": key.access_key_id,
                "secretAccessKey": key.secret_access_key,
                "principalArn": f"arn:aws:iam::000000000000:role/{role}",
                "clients": clients,
                "instances": clients,
            }
            for key, role, clients in keys
        ]
    }


def _client(client_id: str, instance: str | None = None) -> dict[str, str]:
    entry = {"clientId": client_id, "clientSecret": f"{client_id}-marketo-secret-0123"}
    return entry if instance is None else {**entry, "instance": instance}


#: Short-lived tokens: an expiry within seconds. The vendor never hands out a token with 5 s or less left
#: (its rotation guard), so a 7 s token serves for 2 s, then its successor is waited for.
SHORT_LIFESPAN_SECONDS = 7
#: A tiny instance, the same for the simulator and the budget: 8 calls per 2 s, 2 at once.
TINY_LIMITS = {"callsPerWindow": 8, "windowMs": 2000, "concurrentCalls": 2}

#: Bulk Extract on a clock of its own (moved by the tests' clients when they wait): jobs of 60 s, files of
#: 2,000 bytes, a day of 20 files, the same quota for the simulator and the vendor's slots.
BULK_FILE_BYTES = 2000
BULK_DAILY_BYTES = 20 * BULK_FILE_BYTES

VENDORS: dict[str, dict[str, Any]] = {
    "main": {
        "policy": _policy((FULL_KEY, "python-sync", ["*"]), (NARROW_KEY, "python-narrow", ["other-*"])),
        # The budget stays on, with room for every call of the suite: these tests are not about limits.
        "budgetLimits": {"callsPerWindow": 10000, "concurrentCalls": 100},
        "clients": [
            _client("py-threads"),
            _client("py-602"),
            _client("py-601"),
            _client("py-denied"),
            _client("py-close"),
            _client("py-mrp"),
            _client("py-pool-a", "py-pool"),
            _client("py-pool-b", "py-pool"),
        ],
    },
    "short": {
        "policy": _policy((FULL_KEY, "python-sync", ["*"])),
        "tokenLifespanSeconds": SHORT_LIFESPAN_SECONDS,
        "budgetLimits": {"callsPerWindow": 10000, "concurrentCalls": 100},
        "clients": [_client("py-expiry")],
    },
    "tiny": {
        "policy": _policy((FULL_KEY, "python-sync", ["*"])),
        "simulatorLimits": TINY_LIMITS,
        "budgetLimits": {
            "callsPerWindow": TINY_LIMITS["callsPerWindow"],
            "rateWindowMs": TINY_LIMITS["windowMs"],
            "concurrentCalls": TINY_LIMITS["concurrentCalls"],
            # One client is the instance's only consumer here: it may hold every slot (the default is half).
            "clientShare": 1,
        },
        # Each call lasts long enough for a third one to overlap if nothing held it back.
        "restLatencyMs": 100,
        "clients": [_client("py-budget")],
    },
    "bulk": {
        "policy": _policy((FULL_KEY, "python-sync", ["*"])),
        "budgetLimits": {"callsPerWindow": 10000, "concurrentCalls": 100},
        "simulatorBulk": {
            "processingMs": 60000,
            "fileBytes": BULK_FILE_BYTES,
            "exportDailyBytes": BULK_DAILY_BYTES,
            "virtualClock": True,
        },
        "bulkLimits": {"exportDailyBytes": BULK_DAILY_BYTES},
        "clients": [_client("py-bulk")],
    },
}


@dataclass(frozen=True)
class Vendor:
    """One running local vendor: its endpoint, region, the simulator's REST base, and its controls."""

    name: str
    url: str
    region: str
    rest_url: str
    process: LocalModeProcess

    def command(self, op: str, **fields: Any) -> Any:
        return self.process.command({"vendor": self.name, "op": op, **fields})

    def counters(self, client_id: str | None = None) -> Any:
        return self.command("counters", **({} if client_id is None else {"clientId": client_id}))

    def leads_url(self) -> str:
        return f"{self.rest_url}/rest/v1/leads.json"


class LocalModeProcess:
    """The child process and its JSON-lines protocol (lines starting with ``@mtv ``)."""

    PREFIX = "@mtv "

    def __init__(self, vendors: dict[str, dict[str, Any]]) -> None:
        env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
        env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true"
        self._process = subprocess.Popen(
            ["node", "--import", "tsx", "testing/local-vendor-process.ts", json.dumps({"vendors": vendors})],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._answers: queue.Queue[Any] = queue.Queue()
        self.console: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        threading.Thread(target=self._read, args=(self._process.stderr,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            if line.startswith(self.PREFIX):
                self._answers.put(json.loads(line[len(self.PREFIX) :]))
            else:
                self.console.append(line)
        self._answers.put({"error": "local mode exited"})

    def next_answer(self, timeout: float) -> Any:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            answer = {"error": f"no answer within {timeout} s"}
        if isinstance(answer, dict) and "error" in answer:
            raise RuntimeError(f"local mode: {answer['error']}\n{''.join(self.console[-40:])}")
        return answer

    def command(self, message: dict[str, Any]) -> Any:
        with self._lock:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(message) + "\n")
            self._process.stdin.flush()
            return self.next_answer(30)

    def stop(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _missing_tools() -> str | None:
    if shutil.which("node") is None:
        return "node is not on the PATH"
    if not (REPO / "node_modules" / "tsx").is_dir():
        return "the repository's node_modules are not installed (npm ci)"
    return None


def require_local_mode() -> None:
    """Skips (or under CI=true fails) a test that needs local mode on a machine that cannot run it."""
    missing = _missing_tools()
    if missing is None:
        return
    reason = f"local mode cannot start: {missing}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


#: Local mode started at collection (``pytest_collection_modifyitems``), before the first test that needs it.
_early_local_mode: list[LocalModeProcess] = []


@pytest.fixture(scope="session")
def local_mode() -> Iterator[dict[str, Vendor]]:
    require_local_mode()
    process = _early_local_mode.pop() if _early_local_mode else LocalModeProcess(VENDORS)
    try:
        ready = process.next_answer(STARTUP_TIMEOUT_SECONDS)["ready"]
        yield {
            name: Vendor(name, info["url"], info["region"], info["restUrl"], process)
            for name, info in ready.items()
        }
    finally:
        process.stop()


@pytest.fixture
def main_vendor(local_mode: dict[str, Vendor]) -> Vendor:
    return local_mode["main"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Starts what the selected tests wait for while the others run: local mode (about 4 s to start idle, far
    more on a busy machine) and ``pip install ./python`` (tests/test_install.py, mostly waiting on the package
    index), whose test then runs last."""
    if _missing_tools() is None and any("local_mode" in getattr(item, "fixturenames", ()) for item in items):
        _early_local_mode.append(LocalModeProcess(VENDORS))
    if any(item.path.name == "test_install.py" for item in items):
        from test_install import start_install

        start_install()
        items.sort(key=lambda item: item.path.name == "test_install.py")


def pytest_sessionfinish() -> None:
    """Stops local mode if it was started at collection but no test ended up using it."""
    while _early_local_mode:
        _early_local_mode.pop().stop()
