#!/usr/bin/env python3
"""charmkit vs ops: the same charm, the same fake Juju, side by side.

Run through bench/run.sh (which prepares the venv and our binary). See bench/README.md.

Every dispatch is started by this driver with posix_spawn and reaped with wait4, which gives
its wall time, the CPU time (user+sys) of its whole process tree (the dispatch process and the
hook tools it waited for) and the max RSS of the largest process in that tree. The driver is a
child subreaper (prctl PR_SET_CHILD_SUBREAPER), so a process the hook leaves behind (our
detached exporter) is re-parented to it and reaped here too: its wall and CPU are reported
apart, as "background".
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collector import BlackHole, Collector  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STUBS = BENCH / "stubs"
OPS_CHARM = BENCH / "ops-charm"
OUR_NAME = "rust-starter"
UNIT = "bench/0"
MODEL_UUID = "b3c4a1e2-0000-4000-8000-00000000beef"
PR_SET_CHILD_SUBREAPER = 36


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Process running


@dataclass
class Run:
    """One dispatch, as measured."""

    rc: int
    wall: float  # s, spawn → reaped
    cpu: float  # s, user+sys of the process tree the hook waited for
    maxrss_kib: int
    calls: list = field(default_factory=list)  # [(argv, stdin or None)]
    bg_wall: float | None = None  # s, spawn → last left-behind process reaped
    bg_cpu: float = 0.0
    bg_maxrss_kib: int = 0
    bg_procs: int = 0
    bg_killed: int = 0
    tool_time: float | None = None  # s, replayed hook-tool calls
    export: dict | None = None
    status: str = ""
    out: str = ""
    t0: float = 0.0
    state: Path | None = None


def set_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except OSError:
        return False


def spawn(path: str, argv: list, env: dict, cwd: str, stdout: str, stdin_data: bytes | None = None):
    """posix_spawn `path` in `cwd`; returns (pid, t0, write end of stdin or None)."""
    actions = []
    r = w = None
    if stdin_data is None:
        actions.append((os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0))
    else:
        r, w = os.pipe()
        actions += [(os.POSIX_SPAWN_DUP2, r, 0), (os.POSIX_SPAWN_CLOSE, r), (os.POSIX_SPAWN_CLOSE, w)]
    actions += [
        (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        t0 = time.monotonic()
        pid = os.posix_spawn(path, argv, env, file_actions=actions)
    finally:
        os.chdir(old)
    if r is not None:
        os.close(r)
        try:
            os.write(w, stdin_data)
        except BrokenPipeError:
            pass
        os.close(w)
    return pid, t0


LAUNCHER: Path | None = None


def build_launcher(dst: Path) -> Path | None:
    """Compiles spawn.c (any C compiler: one is needed to link Rust anyway)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None
    dst.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([cc, "-O2", "-o", str(dst), str(BENCH / "spawn.c")], capture_output=True, text=True)
    return dst if p.returncode == 0 else None


def launch(path: str, env: dict, cwd: str, out: str, result: Path):
    """Runs `path` through the launcher; returns (rc, t0, wall, cpu, maxrss_kib)."""
    if LAUNCHER is None:  # fallback: spawn from here; max RSS then includes the driver's
        pid, t0 = spawn(path, [path], env, cwd, out)
        _, status, ru = os.wait4(pid, 0)
        return (os.waitstatus_to_exitcode(status), t0, time.monotonic() - t0,
                ru.ru_utime + ru.ru_stime, ru.ru_maxrss)
    argv = [str(LAUNCHER), str(result), cwd, "/dev/null", out, path, path]
    pid = os.posix_spawn(str(LAUNCHER), argv, env)
    _, status, _ = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not result.exists():
        raise RuntimeError(f"launcher failed on {path}")
    rc, t0, wall, ut, st, rss = result.read_text().split()
    return int(rc), int(t0) / 1e9, int(wall) / 1e9, (int(ut) + int(st)) / 1e6, int(rss)


def reap_background(run: Run, t0: float, deadline: float, until=None, poll: float = 0.005) -> None:
    """Reaps what the hook left behind (re-parented to us), until none is left or `deadline`.

    `until()` may end the wait early (returns True when satisfied and nothing is left)."""
    while True:
        try:
            pid, status, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return  # nothing left
        if pid:
            run.bg_procs += 1
            run.bg_cpu += ru.ru_utime + ru.ru_stime
            run.bg_maxrss_kib = max(run.bg_maxrss_kib, ru.ru_maxrss)
            run.bg_wall = time.monotonic() - t0
            continue
        if time.monotonic() > deadline:
            return
        time.sleep(poll)


def kill_leftovers(run: Run | None = None, grace: float = 2.0) -> None:
    """Ends every process re-parented to us (only ours: descendants of the hooks we started)."""
    pids = set()
    me = os.getpid()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me:
                pids.add(int(p.name))
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            if run:
                run.bg_killed += 1
        except ProcessLookupError:
            pass
    end = time.monotonic() + grace
    while True:
        try:
            pid, _, _ = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            if time.monotonic() > end:
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                end = time.monotonic() + 5
            time.sleep(0.01)


def read_calls(state: Path) -> list:
    calls = []
    log_path = state / "calls.log"
    if not log_path.exists():
        return calls
    for line in log_path.read_text(errors="replace").split("\n"):
        if line.startswith("\x1e"):
            if calls:
                argv, data = calls[-1]
                calls[-1] = (argv, (data or b"") + line[1:].encode() + b"\n")
            continue
        if line:
            calls.append((line.split("\x1f"), None))
    return calls


# --------------------------------------------------------------------------------------------
# The two frameworks


class Framework:
    key: str
    label: str
    template: Path

    def buffer_count(self, charm_dir: Path) -> int | None:
        raise NotImplementedError

    def env(self) -> dict:
        return {}


class Ops(Framework):
    key = "ops"

    def __init__(self, work: Path, venv: Path):
        self.python = venv / "bin" / "python3"
        site = next((venv / "lib").glob("python3*/site-packages"))
        self.version = subprocess.run(
            [str(self.python), "-c", "import ops, ops_tracing, importlib.metadata as m;"
             "print(ops.__version__, m.version('ops-tracing'))"],
            capture_output=True, text=True, check=True).stdout.split()
        self.label = f"ops {self.version[0]} (+ops-tracing {self.version[1]}), Python {platform.python_version()}"
        self.template = work / "tpl-ops"
        shutil.copytree(OPS_CHARM, self.template, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "requirements.txt"))
        # What `charmcraft pack` does: metadata.yaml, config.yaml, actions.yaml from charmcraft.yaml.
        import yaml  # from the venv (ops depends on PyYAML)

        cc = yaml.safe_load((OPS_CHARM / "charmcraft.yaml").read_text())
        meta = {k: cc[k] for k in ("name", "summary", "description", "requires") if k in cc}
        (self.template / "metadata.yaml").write_text(yaml.safe_dump(meta))
        (self.template / "config.yaml").write_text(yaml.safe_dump(cc.get("config", {})))
        (self.template / "actions.yaml").write_text(yaml.safe_dump(cc.get("actions", {})))
        (self.template / "venv").symlink_to(site)
        h = hashlib.sha256((OPS_CHARM / "src" / "charm.py").read_bytes())
        h.update(" ".join(self.version).encode())
        self.cache_key = h.hexdigest()[:12]

    def env(self):
        return {"BENCH_PYTHON": str(self.python)}

    def buffer_count(self, charm_dir):
        db = charm_dir / ".tracing-data.db"
        if not db.exists():
            return 0
        with sqlite3.connect(db, timeout=10) as c:
            return c.execute("SELECT COUNT(*) FROM tracing").fetchone()[0]


class Ours(Framework):
    key = "ours"

    def __init__(self, work: Path, binary: Path):
        self.binary = binary
        self.template = work / "tpl-ours"
        # The charm as Juju unpacks it: what `charmkit pack` (`cargo xtask pack`) writes for
        # ubuntu@22.04 — `dispatch` is the binary itself, beside metadata.yaml, config.yaml,
        # actions.yaml and manifest.yaml. Packed from this build (`--binary`), so nothing is
        # rebuilt; zip modes are applied as Juju's unpacking does.
        packed = work / "packed-ours"
        subprocess.run(["cargo", "xtask", "pack", "--binary", str(binary), "--output", str(packed),
                        "--platform", "ubuntu@22.04:amd64"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        charm = next(packed.glob("*.charm"))
        with zipfile.ZipFile(charm) as z:
            for info in z.infolist():
                dest = self.template / info.filename
                z.extract(info, self.template)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    dest.chmod(mode)
        self.files = sorted(i.filename for i in zipfile.ZipFile(charm).infolist())
        data = binary.read_bytes()
        self.size = len(data)
        # An ELF with a symbol table names its section in .shstrtab.
        self.symtab = b"\0.symtab\0" in data
        self.cache_key = hashlib.sha256(data).hexdigest()[:12]
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        self.label = f"charmkit {OUR_NAME} @ {rev or '?'} (release build)"

    def buffer_count(self, charm_dir):
        try:
            out = subprocess.run([str(charm_dir / "dispatch"), "trace", "status", "--json"],
                                 env={"PATH": "/usr/bin:/bin", "JUJU_CHARM_DIR": str(charm_dir)},
                                 capture_output=True, text=True, timeout=30)
            return int(json.loads(out.stdout)["chunks"])
        except (ValueError, KeyError, subprocess.SubprocessError, OSError):
            return None


# --------------------------------------------------------------------------------------------
# The fake Juju


class Juju:
    def __init__(self, work: Path, collector: Collector, blackhole: BlackHole):
        self.work = work
        self.collector = collector
        self.blackhole = blackhole
        self.n = 0

    def state(self, relation_url: str | None) -> Path:
        """A fresh hook-tool state directory."""
        self.n += 1
        s = self.work / "state" / f"{self.n:05d}"
        s.mkdir(parents=True)
        (s / "leader").write_text("true\n")
        (s / "config.json").write_text('{"greeting": "hello"}\n')
        (s / "config-greeting.json").write_text('"hello"\n')
        if relation_url:
            (s / "rel-tracing").write_text("")
            receivers = [
                {"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": relation_url.split("//")[1].rsplit(":", 1)[0] + ":4317"},
                {"protocol": {"name": "otlp_http", "type": "http"}, "url": relation_url},
            ]
            (s / "tempo-app.json").write_text(json.dumps({"receivers": json.dumps(receivers)}) + "\n")
        return s

    def env(self, fw: Framework, charm_dir: Path, event: str, state: Path) -> dict:
        self.n += 1
        e = {
            "PATH": f"{STUBS}:/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "BENCH_STATE": str(state),
            "JUJU_DISPATCH_PATH": f"hooks/{event}",
            "JUJU_HOOK_NAME": event,
            "JUJU_UNIT_NAME": UNIT,
            "JUJU_MODEL_NAME": "bench",
            "JUJU_MODEL_UUID": MODEL_UUID,
            "JUJU_CHARM_DIR": str(charm_dir),
            "JUJU_VERSION": "3.6.0",
            "JUJU_MACHINE_ID": "0",
            "JUJU_CONTEXT_ID": f"{UNIT}-{event}-{self.n}",
            "JUJU_AGENT_SOCKET_NETWORK": "unix",
            "JUJU_AGENT_SOCKET_ADDRESS": "@/var/lib/juju/agents/unit-bench-0/agent.socket",
        }
        m = re.match(r"(.+)-relation-(created|joined|changed|departed|broken)$", event)
        if m:  # relation events: the relation, the remote app and unit
            e.update(JUJU_RELATION=m.group(1), JUJU_RELATION_ID=f"{m.group(1)}:1",
                     JUJU_REMOTE_APP="tempo", JUJU_REMOTE_UNIT="tempo/0")
            if m.group(2) == "departed":
                e["JUJU_DEPARTING_UNIT"] = "tempo/0"
        e.update(fw.env())
        return e

    def dispatch(self, fw: Framework, charm_dir: Path, event: str, relation_url: str | None,
                 bg_wait: float = 0.0, until=None) -> Run:
        """One dispatch of `event` in `charm_dir`; waits up to `bg_wait` s for what it leaves."""
        state = self.state(relation_url)
        env = self.env(fw, charm_dir, event, state)
        out = state / "output.txt"
        rc, t0, wall, cpu, rss = launch(str(charm_dir / "dispatch"), env, str(charm_dir), str(out),
                                        state / "rusage.txt")
        run = Run(rc=rc, wall=wall, cpu=cpu, maxrss_kib=rss, t0=t0)
        if bg_wait:
            reap_background(run, t0, time.monotonic() + bg_wait, until)
        run.calls = read_calls(state)
        st = state / "status-unit"
        run.status = st.read_text().strip() if st.exists() else ""
        run.out = out.read_text(errors="replace")[-2000:] if out.exists() else ""
        run.state = state
        return run

    def replay(self, fw: Framework, charm_dir: Path, run: Run, times: int = 3) -> float:
        """Time to run the same hook-tool calls (argv, stdin) from here, one after the other;
        the median of `times` replays."""
        state = self.state(None)
        for f in run.state.iterdir():
            if f.name not in ("calls.log", "output.txt", "rusage.txt"):
                shutil.copy2(f, state / f.name)
        env = self.env(fw, charm_dir, "replay", state)
        sink = str(state / "replay-out.txt")
        totals = []
        for _ in range(times):
            total = 0.0
            for argv, stdin in run.calls:
                path = STUBS / argv[0]
                if not path.exists():
                    path = STUBS / "_hooktool"
                pid, t0 = spawn(str(path), argv, env, str(charm_dir), sink, stdin)
                os.wait4(pid, 0)
                total += time.monotonic() - t0
            totals.append(total)
        return statistics.median(totals)


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Scenario:
    key: str
    title: str
    event: str
    seed: str  # installed | started-blackhole | backlog
    target: str | None  # None | collector | blackhole
    runs: int
    bg_wait: float  # s to wait for left-behind processes after each run


def copy_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


class Bench:
    def __init__(self, args, work: Path):
        self.args = args
        self.work = work
        self.collector = Collector()
        self.blackhole = BlackHole()
        self.juju = Juju(work, self.collector, self.blackhole)
        self.nrun = 0
        self.seeds: dict = {}
        self.notes: list = []
        self.s1_calls = None
        self.bad_status: set = set()

    def url(self, target):
        return {None: None, "collector": self.collector.url, "blackhole": self.blackhole.url}[target]

    def run_dir(self, fw: Framework, src: Path) -> Path:
        self.nrun += 1
        return copy_dir(src, self.work / "runs" / f"{fw.key}-{self.nrun:05d}")

    # --- seeds ---------------------------------------------------------------------------

    def seed(self, fw: Framework, kind: str) -> Path:
        if (fw.key, kind) in self.seeds:
            return self.seeds[(fw.key, kind)]
        dst = self.work / "seeds" / f"{fw.key}-{kind}"
        if kind == "installed":
            d = copy_dir(fw.template, dst)
            r = self.juju.dispatch(fw, d, "install", None, bg_wait=30)
            self.check(fw, r, "seed install")
        elif kind == "started-blackhole":
            d = copy_dir(self.seed(fw, "installed"), dst)
            r = self.juju.dispatch(fw, d, "start", self.blackhole.url, bg_wait=1)
            kill_leftovers()
            self.check(fw, r, "seed start (black-hole collector)")
        elif kind == "backlog":
            d = self.backlog(fw, dst)
        else:
            raise ValueError(kind)
        self.seeds[(fw.key, kind)] = d
        return d

    def backlog(self, fw: Framework, dst: Path) -> Path:
        """`installed` + unobserved update-status dispatches (no relation) until the buffer
        holds args.backlog chunks. Cached under bench/.cache per framework build."""
        want = self.args.backlog
        cache = BENCH / ".cache" / f"backlog-{fw.key}-{fw.cache_key}-{want}"
        if cache.exists() and not self.args.no_cache:
            d = copy_dir(self.seed(fw, "installed"), dst)
            made = cache / "made.json"
            if made.exists():
                self.notes.append(json.loads(made.read_text())["note"] + " (cached)")
            for f in cache.iterdir():
                if f.name == "made.json":
                    continue
                target = d / f.name
                if target.is_dir():
                    shutil.rmtree(target)
                (shutil.copytree if f.is_dir() else shutil.copy2)(f, target)
            n = fw.buffer_count(d)
            log(f"  {fw.key}: backlog from cache {cache.name}: {n} chunks")
            return d
        d = copy_dir(self.seed(fw, "installed"), dst)
        have = fw.buffer_count(d) or 0
        t0 = time.monotonic()
        jobs = max(1, min(self.args.backlog_jobs, os.cpu_count() or 1))
        done = 0
        while have < want:
            # Estimate how many dispatches are still needed (one chunk per dispatch, typically).
            batch = max(1, min(want - have, 50))
            running = []
            for _ in range(batch):
                state = self.juju.state(None)
                env = self.juju.env(fw, d, "update-status", state)
                pid, _ = spawn(str(d / "dispatch"), [str(d / "dispatch")], env, str(d),
                               str(state / "output.txt"))
                running.append(pid)
                if len(running) >= jobs:
                    os.wait4(running.pop(0), 0)
            for pid in running:
                os.wait4(pid, 0)
            reap_background(Run(0, 0, 0, 0), 0, time.monotonic() + 30)
            done += batch
            have = fw.buffer_count(d) or 0
            log(f"  {fw.key}: backlog {have}/{want} chunks after {done} dispatches "
                f"({time.monotonic() - t0:.0f} s)")
            if done > 3 * want:
                raise RuntimeError(f"{fw.key}: buffer does not grow ({have} chunks after {done} dispatches)")
        note = (f"{fw.key}: backlog of {have} chunks made by {done} unobserved update-status "
                f"dispatches ({jobs} in parallel) in {time.monotonic() - t0:.0f} s")
        self.notes.append(note)
        # Cache the buffer (and unit state) for the next run of the benchmark.
        tmp = cache.with_name(cache.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in (".tracing-data.db", ".charm-tracing", ".unit-state.db"):
            f = d / name
            if f.exists():
                (shutil.copytree if f.is_dir() else shutil.copy2)(f, tmp / name)
        (tmp / "made.json").write_text(json.dumps({"note": note}))
        shutil.rmtree(cache, ignore_errors=True)
        tmp.rename(cache)
        return d

    def check(self, fw, run: Run, what: str):
        if run.rc != 0:
            msg = f"{fw.key}: {what} exited {run.rc}: {run.out.strip()[-600:]}"
            log("  WARNING " + msg)
            self.notes.append(msg)

    # --- measurement -----------------------------------------------------------------------

    def measure(self, fw: Framework, sc: Scenario) -> Run:
        d = self.run_dir(fw, self.seed(fw, sc.seed))
        url = self.url(sc.target)
        until = None
        if sc.key == "4":
            self.collector.reset()
        r = self.juju.dispatch(fw, d, sc.event, url, bg_wait=sc.bg_wait, until=until)
        if sc.key == "4":
            snap = self.collector.snapshot()
            left = fw.buffer_count(d)
            r.export = dict(snap, left=left, backlog=self.args.backlog)
        self.check(fw, r, f"scenario {sc.key}")
        want = f"active hello from {UNIT}"
        if r.status != want and (fw.key, sc.key) not in self.bad_status:
            self.bad_status.add((fw.key, sc.key))
            self.notes.append(f"{fw.key}, scenario {sc.key}: unit status {r.status!r}, expected {want!r}")
        r.tool_time = self.juju.replay(fw, d, r)
        if sc.target == "blackhole":
            # What the hook left behind (our exporter, stuck on the black hole): count, end it.
            kill_leftovers(r)
        if not self.args.keep:
            shutil.rmtree(d, ignore_errors=True)
        return r

    def run_scenario(self, fws: list, sc: Scenario) -> dict:
        log(f"scenario {sc.key}: {sc.title} — {self.args.warmup} warm-up + {sc.runs} runs per framework")
        for fw in fws:
            self.seed(fw, sc.seed)
        for _ in range(self.args.warmup):
            for fw in fws:
                self.measure(fw, sc)
        runs = {fw.key: [] for fw in fws}
        for i in range(sc.runs):
            order = fws if i % 2 == 0 else fws[::-1]  # A B, B A, ...: no framework always first
            for fw in order:
                r = self.measure(fw, sc)
                runs[fw.key].append(r)
        if sc.target == "blackhole":
            kill_leftovers()
        for fw in fws:
            rs = runs[fw.key]
            log(f"  {fw.key:4}: wall median {1000 * statistics.median(r.wall for r in rs):8.1f} ms, "
                f"calls {statistics.median(len(r.calls) for r in rs):.0f}")
        return runs


# --------------------------------------------------------------------------------------------
# Reporting


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})",
        "ram": mem,
        "kernel": platform.release(),
        "os": platform.platform(terse=True),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def sms(x):
    """Signed ms."""
    return "–" if x is None else ("+" if x >= 0 else "−") + ms(abs(x))


def ms(x):
    return "–" if x is None else (f"{x * 1000:.0f}" if x >= 1 else f"{x * 1000:.1f}" if x >= 0.01 else f"{x * 1000:.2f}")


def mm(xs):
    """median (min–max), ms."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return f"{ms(statistics.median(xs))} ({ms(min(xs))}–{ms(max(xs))})"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return f"{a / b:.1f}×" if a and b else "–"


def tool_breakdown(calls) -> str:
    counts: dict = {}
    for argv, _ in calls:
        counts[argv[0]] = counts.get(argv[0], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def report(bench: Bench, fws, scenarios, results, extra: dict) -> str:
    m = machine()
    L = []
    L.append("# charmkit vs ops: dispatch benchmark\n")
    L.append(f"- Date: {m['date']}")
    L.append(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, Linux {m['kernel']} ({m['os']})")
    for fw in fws:
        L.append(f"- {fw.key}: {fw.label}")
    if "ours" in [f.key for f in fws]:
        ours = [f for f in fws if f.key == "ours"][0]
        kept = "symbol table kept" if ours.symtab else "stripped"
        L.append(f"- Our release binary: {ours.size / 1024 / 1024:.2f} MiB ({ours.size} bytes, {kept})")
        L.append(f"- Our charm, packed by `cargo xtask pack` from that binary: {', '.join(ours.files)}")
    cmd = os.environ.get("BENCH_CMDLINE") or ("bench/bench.py " + " ".join(bench.args.argv))
    L.append(f"- Command: `{cmd.strip()}`")
    L.append("")
    L.append("Each framework is dispatched against the same stub hook tools (`bench/stubs/`, dash "
             "scripts) and the same fake `JUJU_*` context, alternating A B / B A after warm-up. "
             "Times in ms: median (min–max); ratios are of the medians (and of the minima, less "
             "sensitive to other work on a shared machine). *CPU* is user+sys of the hook's process tree "
             "(dispatch + the hook tools it waited for; wait4). *Max RSS* is the max RSS of the "
             "largest process in that tree (wait4 ru_maxrss), not a sum. *Tool time* is the time "
             "the same hook-tool calls (same argv and stdin) take when replayed one after another "
             "from the driver (posix_spawn + wait4 each); *own time* = wall − tool time, per run, "
             "then the median. Our exporter runs detached after the hook returns: it is not in "
             "the hook's wall/CPU, and is shown as *background* (reaped by the driver, a child "
             "subreaper).\n")
    L.append("| scenario | framework | runs | wall ms | CPU ms | max RSS MiB | hook-tool calls | tool time ms | own time ms | background wall / CPU ms |")
    L.append("|---|---|---:|---|---|---:|---:|---:|---|---|")
    for sc in scenarios:
        res = results.get(sc.key)
        if not res:
            continue
        walls = {}
        for fw in fws:
            rs = res[fw.key]
            walls[fw.key] = med([r.wall for r in rs])
            own = [r.wall - r.tool_time for r in rs if r.tool_time is not None]
            bgw = [r.bg_wall for r in rs if r.bg_procs]
            bg = "–"
            if bgw:
                bg = f"{ms(med(bgw))} / {ms(med([r.bg_cpu for r in rs if r.bg_procs]))}"
            elif any(r.bg_killed for r in rs):
                bg = f"{med([r.bg_killed for r in rs]):.0f} process(es) per run still hanging ~20 ms after the hook (ended by the driver)"
            fails = sum(1 for r in rs if r.rc != 0)
            L.append(
                f"| {sc.key}. {sc.title} | {fw.key}{' (%d failed)' % fails if fails else ''} | {len(rs)} "
                f"| {mm([r.wall for r in rs])} | {mm([r.cpu for r in rs])} "
                f"| {med([r.maxrss_kib for r in rs]) / 1024:.1f} "
                f"| {med([len(r.calls) for r in rs]):.0f} | {ms(med([r.tool_time for r in rs]))} "
                f"| {mm(own)} | {bg} |")
        if "ops" in walls and "ours" in walls:
            cpu = {k: med([r.cpu for r in res[k]]) for k in ("ops", "ours")}
            rss = {k: med([r.maxrss_kib for r in res[k]]) for k in ("ops", "ours")}
            own = {k: med([r.wall - r.tool_time for r in res[k] if r.tool_time is not None]) for k in ("ops", "ours")}
            mins = {k: min(r.wall for r in res[k]) for k in ("ops", "ours")}
            L.append(f"| | **ops / ours** | | **{ratio(walls['ops'], walls['ours'])}** (of the minima: {ratio(mins['ops'], mins['ours'])}) | {ratio(cpu['ops'], cpu['ours'])} "
                     f"| {ratio(rss['ops'], rss['ours'])} | | | {ratio(own['ops'], own['ours'])} | |")
    L.append("")

    # Scenario 3 vs 1
    if "1" in results and "3" in results:
        L.append("**A hanging collector** (scenario 3 − scenario 1, medians): " + ", ".join(
            f"{fw.key} {sms(med([r.wall for r in results['3'][fw.key]]) - med([r.wall for r in results['1'][fw.key]]))} ms"
            for fw in fws) + " (differences of a few ms are within the run-to-run noise of this shared machine).\n")

    # The targets, for context (figures, not assertions).
    if {"ops", "ours"} <= {f.key for f in fws}:
        t = []

        def w(k, f="ours"):
            return med([r.wall for r in results[k][f]]) if k in results else None

        for k in ("1", "2"):
            if k in results:
                t.append(f"scenario {k} wall ops/ours ≥ 30×: {ratio(w(k, 'ops'), w(k))}")
        rss = [r.maxrss_kib for k in results for r in results[k]["ours"]]
        if rss:
            t.append(f"our max RSS ≤ 8 MiB (ops ≈ 40 MiB): {max(rss) / 1024:.1f} MiB at most")
        own = [med([r.wall - r.tool_time for r in results[k]["ours"] if r.tool_time is not None])
               for k in ("1", "2") if k in results]
        if own:
            t.append("our own time ≤ 2 ms: " + ", ".join(
                f"scenario {k} {ms(o)} ms" for k, o in zip([k for k in ("1", "2") if k in results], own)))
        if "1" in results and "3" in results:
            t.append(f"scenario 3 within 50 ms of scenario 1 (ops: +6 s): ours {sms(w('3') - w('1'))} ms, "
                     f"ops {sms(w('3', 'ops') - w('1', 'ops'))} ms")
        t.append("append time flat 10 → 10,000 chunks: see the cargo bench section")
        L.append("**Against the issue's targets** (context, not assertions): " + "; ".join(t) + ".\n")

    # Export throughput
    if "4" in results:
        L.append(f"**Export of a backlog** (scenario 4: {bench.args.backlog} buffered chunks, collector up, "
                 "one `start` dispatch). Delivered = chunks the local collector received by the end of the "
                 f"wait (the hook, plus up to {bench.args.export_wait:.0f} s for a detached exporter); "
                 "time = spawn of the dispatch → last chunk received; left = chunks still buffered after.\n")
        L.append("| framework | delivered chunks | spans | bytes | time to last chunk ms | chunks/s | left in buffer | content type |")
        L.append("|---|---:|---:|---:|---|---:|---:|---|")
        for fw in fws:
            rs = [r for r in results["4"][fw.key] if r.export]
            if not rs:
                continue
            ts = [r.export["last"] - r.t0 for r in rs if r.export["last"]]
            rates = [r.export["chunks"] / (r.export["last"] - r.t0) for r in rs if r.export["last"]]
            mimes = {}
            for r in rs:
                for k, v in r.export["mimes"].items():
                    mimes[k] = mimes.get(k, 0) + v
            lefts = [r.export["left"] for r in rs if r.export["left"] is not None]
            L.append(f"| {fw.key} | {med([r.export['chunks'] for r in rs]):.0f} | {med([r.export['spans'] for r in rs]):.0f} "
                     f"| {med([r.export['bytes'] for r in rs]):.0f} | {mm(ts)} "
                     f"| {med(rates) or 0:.0f} | {f'{med(lefts):.0f}' if lefts else '?'} | {', '.join(mimes) or '–'} |")
        L.append("")

    # Hook-tool calls
    L.append("**Hook-tool calls of one run** (from the stubs' calls log):\n")
    L.append("| scenario | framework | calls |")
    L.append("|---|---|---|")
    for sc in scenarios:
        res = results.get(sc.key)
        if not res:
            continue
        for fw in fws:
            rs = res[fw.key]
            if rs:
                L.append(f"| {sc.key} | {fw.key} | {len(rs[-1].calls)}: {tool_breakdown(rs[-1].calls)} |")
    L.append("")

    for title, body in extra.items():
        L.append(f"## {title}\n")
        L.append(body.rstrip() + "\n")
    if bench.notes:
        L.append("## Notes from this run\n")
        L += [f"- {n}" for n in bench.notes]
        L.append("")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------
# Profiling our dispatch


def profile_ours(bench: Bench, ours: Ours, tools: dict) -> str:
    out = []
    sc_event, sc_seed = "update-status", "installed"
    out.append(f"One unobserved `{sc_event}` dispatch of ours (scenario 1), through `./dispatch`.\n")

    def prepared():
        d = bench.run_dir(ours, bench.seed(ours, sc_seed))
        state = bench.juju.state(None)
        env = bench.juju.env(ours, d, sc_event, state)
        return d, env

    # A cost model: the same dispatch with and without the dispatch script, our binary doing
    # nothing, one hook-tool call, an empty process. Launcher-timed, interleaved, 30 rounds.
    d, env = prepared()
    # The packed charm's dispatch is the binary itself: no script to take out.
    binp = str(d / "dispatch")
    cases = [
        ("`./dispatch` (scenario 1, whole hook; the binary itself)", binp, [], env),
        ("`./dispatch help` (start + exit of our binary, prints usage)", binp, ["help"],
         {"PATH": env["PATH"], "LANG": "C.UTF-8"}),
        ("one hook tool: `is-leader --format=json` (stub)", str(STUBS / "is-leader"), ["--format=json"], env),
        ("`/bin/true` (an empty process)", "/bin/true", [], env),
    ]
    if LAUNCHER:
        samples = {c[0]: [] for c in cases}
        rss = {c[0]: 0 for c in cases}
        res = bench.work / "cost.txt"
        for _ in range(30):
            for label, path, extra, e in cases:
                argv = [str(LAUNCHER), str(res), str(d), "/dev/null", str(bench.work / "cost-out.txt"), path, path, *extra]
                pid = os.posix_spawn(str(LAUNCHER), argv, e)
                os.wait4(pid, 0)
                f = res.read_text().split()
                samples[label].append(int(f[2]) / 1e9)
                rss[label] = max(rss[label], int(f[5]))
            reap_background(Run(0, 0, 0, 0), 0, time.monotonic() + 5)
        out.append("Cost model (30 interleaved rounds, launcher-timed; wall ms median (min–max), max RSS):\n")
        out.append("| what | wall ms | max RSS MiB |\n|---|---|---:|")
        for label, *_ in cases:
            out.append(f"| {label} | {mm(samples[label])} | {rss[label] / 1024:.1f} |")
        out.append("")
        md = {label: statistics.median(v) for label, v in samples.items()}
        whole, helpt, tool, empty = (md[c[0]] for c in cases)
        n = int(bench.s1_calls or 0)
        if n:
            rest = whole - helpt - n * tool
            out.append(
                f"Reading it (medians): of the {ms(whole)} ms hook, "
                f"starting and ending our binary {ms(helpt)} ms (an empty process: {ms(empty)} ms); "
                f"{n} hook-tool calls ≈ {n} × {ms(tool)} = {ms(n * tool)} ms; everything else our binary does "
                f"(metadata, spans, buffer append, spawning and reading the tools) ≈ {ms(rest)} ms.\n")
    if tools.get("perf"):
        d, env = prepared()
        p = subprocess.run(["perf", "stat", "-r", "50", "-e",
                            "task-clock,context-switches,cpu-migrations,page-faults", str(d / "dispatch")],
                           cwd=d, env=env, capture_output=True, text=True)
        txt = "\n".join(l for l in p.stderr.splitlines() if l.strip())
        out.append("`perf stat -r 50` (software counters; this VM exposes no hardware counters):\n")
        out.append("```\n" + txt + "\n```\n")
        kill_leftovers()
    if tools.get("strace"):
        d, env = prepared()
        f = bench.work / "strace-c.txt"
        subprocess.run(["strace", "-f", "-c", "-o", str(f), str(d / "dispatch")], cwd=d, env=env,
                       capture_output=True)
        txt = f.read_text() if f.exists() else ""
        lines = txt.splitlines()
        out.append("`strace -f -c` (syscalls of the hook's process tree, top 15 by time):\n")
        out.append("```\n" + "\n".join(lines[:17] + lines[-2:]) + "\n```\n")
        # Timeline: where the wall time goes (exec of dispatch, our binary, each hook tool).
        d, env = prepared()
        f = bench.work / "strace-t.txt"
        subprocess.run(["strace", "-f", "-ttt", "-e", "trace=execve,exit_group,wait4",
                        "-o", str(f), str(d / "dispatch")], cwd=d, env=env, capture_output=True)
        out.append(strace_timeline(f))
        kill_leftovers()
    if tools.get("valgrind"):
        d, env = prepared()
        f = bench.work / "callgrind.out"
        binp = d / "dispatch"
        if bench.args.profile_binary:
            binp = Path(bench.args.profile_binary)
        env2 = dict(env, CHARMKIT_DISPATCH_DIR=str(d))
        p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={f}",
                            "--trace-children=no", str(binp)], cwd=d, env=env2,
                           capture_output=True, text=True)
        kill_leftovers()
        if f.exists() and shutil.which("callgrind_annotate"):
            ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(f)],
                                 capture_output=True, text=True).stdout
            lines = ann.splitlines()
            # Keep the totals and the function lines, with registry/toolchain paths shortened.
            body = [l for l in lines if re.match(r"\s*[\d,]+ \(", l)]
            seen, keep = set(), []
            for l in body:
                l = re.sub(r"/root/\.cargo/registry/src/[^/]+/", "", l)
                l = re.sub(r"/rustc/[0-9a-f]+/", "rustc:", l)
                l = re.sub(r" \[[^\]]*\]$", "", l)
                key = l.split(":", 1)[-1]
                if key in seen:
                    continue
                seen.add(key)
                keep.append(l[:150])
            keep = keep[:32]
            out.append(f"`valgrind --tool=callgrind` on the binary itself (hook tools not traced; "
                       f"binary {'with line tables: ' + str(binp) if bench.args.profile_binary else ('with its symbol table' if ours.symtab else 'stripped, so our own functions show as addresses')}), "
                       "inclusive instruction counts:\n")
            out.append("```\n" + "\n".join(keep) + "\n```\n")
    return "\n".join(out)


def strace_timeline(f: Path) -> str:
    if not f.exists():
        return ""
    ev = []
    for line in f.read_text().splitlines():
        m = re.match(r"(\d+)\s+(\d+\.\d+)\s+(.*)", line)
        if m:
            ev.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    if not ev:
        return ""
    t0 = ev[0][1]
    entries = []  # [start, end, cmd]; a later execve by the same pid ends the previous image
    current = {}
    for pid, t, rest in ev:
        mm_ = re.match(r'execve\("([^"]+)", \[(.*?)\]', rest)
        if mm_ and "= -1" not in rest:
            argv = re.findall(r'"((?:[^"\\]|\\.)*)"', mm_.group(2))
            argv[0] = mm_.group(1).rsplit("/", 1)[-1]
            if pid in current:
                current[pid][1] = t
            current[pid] = [t, None, " ".join(argv)[:80]]
            entries.append(current[pid])
        elif rest.startswith("+++ exited") and pid in current:
            current[pid][1] = t
    end = ev[-1][1]
    lines = [f"{'start ms':>9} {'dur ms':>8}  process (exec → exit or next exec)"]
    tools_total = 0.0
    for s, e, cmd in entries:
        dur = (e or end) - s
        name = cmd.split()[0].rsplit("/", 1)[-1] if cmd else "?"
        if (STUBS / name).exists():
            tools_total += dur
        lines.append(f"{(s - t0) * 1000:9.2f} {dur * 1000:8.2f}  {cmd}")
    lines.append(f"total {1000 * (end - t0):.2f} ms under strace; hook tools (exec → exit) {tools_total * 1000:.2f} ms")
    return ("Timeline of one dispatch (`strace -f -ttt`, exec → exit of each process; strace "
            "slows everything down, read the proportions):\n\n```\n" + "\n".join(lines) + "\n```\n")


def cargo_bench() -> str | None:
    benches = ROOT / "crates" / "charmkit" / "benches"
    if not (benches / "buffer.rs").exists():
        return None
    log("cargo bench -p charmkit --bench buffer …")
    p = subprocess.run(["cargo", "bench", "--locked", "-p", "charmkit", "--bench", "buffer"],
                       cwd=ROOT, capture_output=True, text=True)
    txt = p.stdout.strip()
    if p.returncode != 0:
        txt += "\n" + "\n".join(p.stderr.strip().splitlines()[-30:])
        txt = f"(exit {p.returncode})\n" + txt
    return "Output of `cargo bench -p charmkit --bench buffer`:\n\n```\n" + txt + "\n```\n"


# --------------------------------------------------------------------------------------------


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 20)),
                   help="measured runs per framework per scenario (default 20, env BENCH_RUNS)")
    p.add_argument("--hang-runs", type=int, default=5,
                   help="runs for scenario 3, where every ops dispatch costs ~6 s (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up runs per framework per scenario")
    p.add_argument("--backlog", type=int, default=1000, help="chunks buffered before scenario 4")
    p.add_argument("--backlog-jobs", type=int, default=2, help="parallel dispatches making the backlog")
    p.add_argument("--export-wait", type=float, default=60, help="bound, s, on waiting for a detached exporter in scenario 4")
    p.add_argument("--scenarios", default="1,2,3,4")
    p.add_argument("--frameworks", default="ops,ours")
    p.add_argument("--binary", default=str(ROOT / "target" / "release" / OUR_NAME))
    p.add_argument("--venv", default=str(BENCH / ".venv"))
    p.add_argument("--out", default=str(BENCH / "results.md"))
    p.add_argument("--no-profile", action="store_true", help="skip perf/strace/callgrind of ours")
    p.add_argument("--profile-binary", help="an unstripped build of ours for callgrind (run.sh --symbols makes one)")
    p.add_argument("--no-cargo-bench", action="store_true")
    p.add_argument("--no-cache", action="store_true", help="regenerate the scenario 4 backlogs")
    p.add_argument("--keep", action="store_true", help="keep the per-run charm and state directories")
    args = p.parse_args(argv)
    args.argv = argv
    if args.profile_binary:
        args.profile_binary = str(Path(args.profile_binary).resolve())

    global LAUNCHER
    LAUNCHER = build_launcher(BENCH / ".cache" / "spawn")
    if LAUNCHER is None:
        log("warning: no C compiler for bench/spawn.c: spawning from Python; max RSS then "
            "includes the driver's own (~30 MiB)")
    if not set_subreaper():
        log("warning: could not become a child subreaper; left-behind processes are not measured")
    work = Path(tempfile.mkdtemp(prefix="charmkit-bench-"))
    log(f"work dir: {work}")
    bench = Bench(args, work)
    fws = []
    wanted = args.frameworks.split(",")
    if "ops" in wanted:
        fws.append(Ops(work, Path(args.venv)))
    if "ours" in wanted:
        b = Path(args.binary)
        if b.exists():
            fws.append(Ours(work, b))
        else:
            bench.notes.append(f"ours: no binary at {b}; only ops was measured")
            log(f"warning: no binary at {b}: ours is skipped")
    n, h = args.runs, min(args.hang_runs, args.runs)
    all_sc = [
        Scenario("1", "unobserved update-status, no tracing relation", "update-status", "installed", None, n, 10),
        Scenario("2", "observed start, collector related", "start", "installed", "collector", n, 10),
        Scenario("3", "update-status, related collector hangs", "update-status", "started-blackhole", "blackhole", h, 0),
        Scenario("4", f"start, {args.backlog}-chunk backlog, collector up", "start", "backlog", "collector", n,
                 args.export_wait),
    ]
    scenarios = [s for s in all_sc if s.key in args.scenarios.split(",")]
    if any(s.key == "3" for s in scenarios):
        bench.notes.append(f"scenario 3 runs capped at {h} per framework (an ops dispatch there takes ~6 s)")
    results = {}
    t_start = time.monotonic()
    load0 = os.getloadavg()
    if load0[0] > 0.5:
        log(f"warning: load average {load0[0]:.2f} before the run: other work on this machine will show in the figures")
    try:
        for sc in scenarios:
            results[sc.key] = bench.run_scenario(fws, sc)
            if sc.key == "1" and "ours" in results[sc.key]:
                bench.s1_calls = statistics.median(len(r.calls) for r in results[sc.key]["ours"])
        extra = {}
        tools = {t: shutil.which(t) for t in ("perf", "strace", "valgrind")}
        ours = [f for f in fws if f.key == "ours"]
        if ours and not args.no_profile:
            log("profiling ours …")
            missing = [t for t, w in tools.items() if not w]
            body = profile_ours(bench, ours[0], tools)
            if missing:
                body += f"\n(not installed, skipped: {', '.join(missing)})\n"
            extra["Where our dispatch time goes"] = body
        if ours and not args.no_cargo_bench:
            cb = cargo_bench()
            extra["Buffer append time (cargo bench)"] = cb or (
                "`crates/charmkit/benches/buffer.rs` does not exist yet: not run.")
        bench.notes.append(f"total benchmark time {time.monotonic() - t_start:.0f} s; 1-min load average "
                           f"{load0[0]:.2f} at the start of the measurements (after run.sh's builds), "
                           f"{os.getloadavg()[0]:.2f} at the end (this benchmark alone adds ~1; more means "
                           "other work shared the CPUs)")
        text = report(bench, fws, scenarios, results, extra)
    finally:
        kill_leftovers()
        bench.collector.close()
        bench.blackhole.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(text)
    print(text)
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
