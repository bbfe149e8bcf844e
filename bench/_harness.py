"""Shared benchmark plumbing: gunicorn on loopback, driven by wrk (or a Python fallback).

wrk is the load generator: a C program that saturates the server long before it saturates
itself, so a ratio between two endpoints reflects the server's cost of each. When wrk cannot
be had, a closed loop of Python threads stands in; it saturates first (the figures then
understate the server's rate and squash the ratios towards 1), and every result says which
generator produced it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(instance: Path, **extra: str) -> dict[str, str]:
    """Environment for a benchmark app: its own SQLite database and outbox mail."""
    env = dict(os.environ)
    env.update(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'bench.db'}",
            "SECRET_KEY": "bench-secret",
            "MAIL_BACKEND": "outbox",
            "MAIL_FROM": "letters@campaign.example",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> None:
    """Run an `advocacy` subcommand."""
    subprocess.run([str(BIN / "advocacy"), *args], env=env, check=True, capture_output=True)


@contextmanager
def gunicorn(
    env: dict[str, str],
    workers: int = 2,
    *,
    port: int | None = None,
    app: str = "wsgi:app",
    cwd: Path = ROOT,
    ready_path: str = "/healthz",
) -> Iterator[str]:
    """Serve `app` with gunicorn's default (sync) workers on loopback; yield its URL."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=cwd,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = proc.pid
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {proc.returncode}")
            try:
                if requests.get(f"{base}{ready_path}", timeout=5).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        SERVERS.pop(base, None)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


# Base URL -> gunicorn master pid, so a measurement can read its processes' CPU time.
SERVERS: dict[str, int] = {}


def server_cpu_seconds(url: str) -> float | None:
    """CPU time used so far by the gunicorn serving `url`: its master and live workers.

    Throughput on a shared machine moves with everybody else's load; the CPU the server
    spends per request moves much less, so results report both.
    """
    pid = next((p for base, p in SERVERS.items() if url.startswith(base)), None)
    if pid is None or not Path("/proc/self/stat").exists():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces; the fields after it do not.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@dataclass
class LoadResult:
    """Requests completed in a timed, closed-loop run."""

    requests: int
    errors: int
    seconds: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    server_cpu_seconds: float | None = None

    @property
    def per_second(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def closed_loop(
    call: Callable[[requests.Session, int], bool], *, concurrency: int, seconds: float
) -> LoadResult:
    """Run `call` from `concurrency` threads for `seconds`; count successes and errors."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    counter = {"ok": 0, "err": 0, "seq": 0}

    def worker() -> None:
        with requests.Session() as http:
            while time.monotonic() < stop:
                with lock:
                    counter["seq"] += 1
                    seq = counter["seq"]
                ok = call(http, seq)
                with lock:
                    counter["ok" if ok else "err"] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(counter["ok"], counter["err"], time.monotonic() - started)


# wrk ---------------------------------------------------------------------------------------

# Each thread counts the responses with the expected status and the others; done() adds
# them up over the threads and prints one line for the harness to read. `%(request)s` is
# replaced by a request() function, or nothing for a plain GET of the URL.
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  expected_status = tonumber(args[1])
  run_tag = args[2] or ""
  matched, unexpected, sequence = 0, 0, 0
end

function response(status, headers, body)
  if status == expected_status then
    matched = matched + 1
  else
    unexpected = unexpected + 1
  end
end

%(request)s

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("matched")
    bad = bad + thread:get("unexpected")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"matched": %%d, "unexpected": %%d, "socket_errors": %%d, ' ..
    '"seconds": %%.6f, "p50_ms": %%.3f, "p99_ms": %%.3f}\n',
    ok, bad, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""

# A POST whose body differs per request: the body is split at each `{who}`, and `who` is
# unique per request (run tag, wrk thread, per-thread counter), so that every submission
# is a different person. `%(parts)s` and `%(headers)s` are Lua table literals.
WRK_UNIQUE_POST = r"""
local body_parts = %(parts)s
local post_headers = %(headers)s
local post_path = %(path)s

function request()
  sequence = sequence + 1
  local who = run_tag .. "x" .. thread_id .. "x" .. sequence
  return wrk.format("POST", post_path, post_headers, table.concat(body_parts, who))
end
"""


def _lua_string(value: str) -> str:
    """A Lua string literal (long brackets would not survive every byte; escape instead)."""
    escaped = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in " %+-._~=&/:@") else f"\\{ord(ch):03d}"
        for ch in value
    )
    return f'"{escaped}"'


@dataclass(frozen=True)
class LoadGenerator:
    """Which load generator a benchmark used, and why."""

    name: str
    version: str
    path: str | None
    note: str = ""

    @property
    def is_wrk(self) -> bool:
        """True when wrk drives the server."""
        return self.path is not None

    def describe(self) -> dict[str, str]:
        """The JSON fields that say how the figures were produced."""
        fields = {"load_generator": self.name, "load_generator_version": self.version}
        if self.note:
            fields["load_generator_note"] = self.note
        return fields


def _wrk_version(path: str) -> str:
    # wrk prints its version in the first line of its usage text (and exits 1).
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def find_wrk() -> LoadGenerator:
    """wrk from PATH, installing Debian's package if missing; else the Python fallback."""
    path = shutil.which("wrk")
    note = ""
    if path is None:
        note = _install_wrk()
        path = shutil.which("wrk")
    if path is not None:
        return LoadGenerator("wrk", _wrk_version(path), path, note)
    return LoadGenerator(
        "python-requests",
        f"requests {requests.__version__}",
        None,
        "wrk could not be installed (" + note + "): a Python closed loop measured this "
        "instead; it saturates before the server, so rates are low and ratios too close to 1",
    )


def _install_wrk() -> str:
    """Install wrk with apt-get; return what happened, in a few words."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "no apt-get on this machine"
    command = [apt, "install", "-y", "-q", "wrk"]
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None:
            return "not root and no sudo"
        command = [sudo, "-n", *command]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()
        return "apt-get install wrk failed: " + (tail[-1] if tail else f"exit {done.returncode}")
    return "installed wrk with apt-get"


def wrk(
    generator: LoadGenerator,
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int,
    expect_status: int = 200,
    request_lua: str = "",
    tag: str = "",
) -> LoadResult:
    """Drive `url` with wrk for `seconds`; count responses with `expect_status` as successes."""
    if generator.path is None:
        raise RuntimeError("wrk is not available")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as script:
        script.write(WRK_SCRIPT % {"request": request_lua})
        script.flush()
        done = subprocess.run(
            [
                generator.path,
                f"--threads={threads}",
                f"--connections={connections}",
                f"--duration={seconds}s",
                "--timeout=10s",
                f"--script={script.name}",
                url,
                "--",
                str(expect_status),
                tag,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    result = json.loads(line.removeprefix("WRK_RESULT "))
    return LoadResult(
        requests=result["matched"],
        errors=result["unexpected"] + result["socket_errors"],
        seconds=result["seconds"],
        latency_ms={"p50": result["p50_ms"], "p99": result["p99_ms"]},
    )


def unique_post_lua(url: str, form: Sequence[tuple[str, str]], headers: dict[str, str]) -> str:
    """A wrk request() posting `form`, where each `{who}` in a value is unique per request."""
    encoded = urlencode(list(form)).replace("%7Bwho%7D", "{who}")
    parts = "{" + ", ".join(_lua_string(part) for part in encoded.split("{who}")) + "}"
    lua_headers = (
        "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}"
    )
    return WRK_UNIQUE_POST % {
        "parts": parts,
        "headers": lua_headers,
        "path": _lua_string(urlsplit(url).path),
    }


# Targets and rounds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One endpoint to load: a GET of `url`, or a POST of `form` with `{who}` made unique."""

    name: str
    url: str
    expect_status: int = 200
    form: tuple[tuple[str, str], ...] | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Load:
    """How hard to push: wrk's connections and threads (or the fallback's threads)."""

    generator: LoadGenerator
    seconds: int
    connections: int
    threads: int


def drive(load: Load, target: Target, *, seconds: int | None = None, tag: str = "") -> LoadResult:
    """Load one target for a while with the benchmark's generator."""
    cpu_before = server_cpu_seconds(target.url)
    result = _drive(load, target, seconds or load.seconds, tag)
    cpu_after = server_cpu_seconds(target.url)
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu_seconds = cpu_after - cpu_before
    return result


def _drive(load: Load, target: Target, seconds: int, tag: str) -> LoadResult:
    headers = dict(target.headers)
    if target.form is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if load.generator.is_wrk:
        lua = unique_post_lua(target.url, target.form, headers) if target.form is not None else ""
        return wrk(
            load.generator,
            target.url,
            seconds=seconds,
            connections=load.connections,
            threads=load.threads,
            expect_status=target.expect_status,
            request_lua=lua,
            tag=tag,
        )

    def call(http: requests.Session, seq: int) -> bool:
        if target.form is None:
            response = http.get(target.url, headers=headers, timeout=10, allow_redirects=False)
        else:
            who = f"{tag}x0x{seq}"
            data = [(k, v.replace("{who}", who)) for k, v in target.form]
            response = http.post(
                target.url, data=data, headers=headers, timeout=10, allow_redirects=False
            )
        return response.status_code == target.expect_status

    return closed_loop(call, concurrency=load.connections, seconds=seconds)


def alternate(load: Load, targets: Sequence[Target], rounds: int) -> dict[str, list[LoadResult]]:
    """Warm each target up, then load them in turn for `rounds` short rounds.

    On a shared machine the background load drifts; short alternating rounds spread that
    drift over every target, so ratios between targets of one round are fair. Each target's
    list starts with its one-second warm-up, which `rates` and `ratio_summary` leave out.
    """
    results: dict[str, list[LoadResult]] = {target.name: [] for target in targets}
    for target in targets:
        results[target.name].append(drive(load, target, seconds=1, tag="w"))
    for round_number in range(rounds):
        for target in targets:
            results[target.name].append(drive(load, target, tag=f"r{round_number}"))
    return results


def mean_rate(results: Sequence[LoadResult]) -> float:
    """The mean of the rounds' rates."""
    return sum(r.per_second for r in results) / len(results) if results else 0.0


def ratio_summary(
    results: dict[str, list[LoadResult]], measured: str, baseline: str
) -> dict[str, Any]:
    """The mean ratio of `measured` to `baseline`, each round's, and their spread."""
    measured_rounds, baseline_rounds = results[measured][1:], results[baseline][1:]
    per_round = [
        m.per_second / b.per_second if b.per_second else 0.0
        for m, b in zip(measured_rounds, baseline_rounds, strict=True)
    ]
    base = mean_rate(baseline_rounds)
    return {
        "ratio": round(mean_rate(measured_rounds) / base, 3) if base else 0.0,
        "round_ratios": [round(r, 3) for r in per_round],
        "round_ratio_spread": round(max(per_round) - min(per_round), 3) if per_round else 0.0,
    }


def rates(results: dict[str, list[LoadResult]]) -> dict[str, Any]:
    """Per target: mean requests/s, each round's, errors and median latency."""
    summary: dict[str, Any] = {}
    for name, runs in results.items():
        rounds = runs[1:]
        summary[name] = {
            "per_second": round(mean_rate(rounds), 1),
            "round_per_second": [round(r.per_second, 1) for r in rounds],
            "errors": sum(r.errors for r in rounds),
        }
        cpu = [r.server_cpu_seconds for r in rounds if r.server_cpu_seconds is not None]
        served = sum(r.requests + r.errors for r in rounds)
        if cpu and served and len(cpu) == len(rounds):
            summary[name]["server_cpu_ms_per_request"] = round(1000 * sum(cpu) / served, 3)
        if rounds and rounds[0].latency_ms:
            p50 = sorted(r.latency_ms["p50"] for r in rounds)[len(rounds) // 2]
            summary[name]["latency_p50_ms"] = round(p50, 2)
    return summary


# Pages -------------------------------------------------------------------------------------


class _FormParser(HTMLParser):
    """Collects the fields of every form on a page, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), []))
        elif self.forms and tag == "input" and values.get("name"):
            if values.get("type") not in {"submit", "button", "checkbox", "radio"}:
                self.forms[-1][1].append((values["name"], values.get("value", "")))
        elif self.forms and tag == "textarea" and values.get("name"):
            self._textarea, self._text = values["name"], []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            # A textarea's first newline belongs to the markup, not to the value.
            self.forms[-1][1].append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def page_form(page_url: str, html: str, action_suffix: str) -> tuple[str, list[tuple[str, str]]]:
    """The absolute action URL and fields of the form on a page whose action ends so."""
    parser = _FormParser()
    parser.feed(html)
    for action, fields in parser.forms:
        if action.endswith(action_suffix):
            return urljoin(page_url, action), fields
    raise RuntimeError(f"no form posting to ...{action_suffix} on {urlsplit(page_url).path}")


def temp_instance() -> tempfile.TemporaryDirectory[str]:
    """A throwaway instance directory."""
    return tempfile.TemporaryDirectory(prefix="advocacy-bench-")


def emit(result: dict[str, Any]) -> None:
    """Print the result as the last line of output, one JSON object."""
    print(json.dumps(result, sort_keys=True))
