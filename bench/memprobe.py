"""`python -m bench.memprobe --n 1000`: where the operator's memory goes, per resource.

Runs the idle scenario of bench.run (stuck `CST…` campaigns, the sharing decision at once, a long
backoff so no poll is due) but starts the operator through a wrapper: this same module in child
mode (`--child`), which imports the operator's modules, then starts `tracemalloc` (MEMPROBE_FRAMES
frames, default 25; MEMPROBE_TRACE_IMPORTS=1 traces the imports too, ~30 s start-up), installs a
SIGUSR2 handler and runs the `tendlc` module via runpy. On SIGUSR2 the child writes, under
MEMPROBE_DIR, a tracemalloc snapshot and a JSON of RSS (/proc), smaps by mapping, glibc mallinfo2,
pymalloc stats, traced memory, gc object counts by type and the sizes of the controller's
per-resource data.

The parent triggers a dump with 0 resources and one after all N are InMigration (+ settle time),
compares the two and writes bench/results/<timestamp>-n<N>-memprobe.{json,txt}. Stops everything it
started on exit, Ctrl-C or SIGTERM.

The child part imports only the standard library before `tendlc` so it adds nothing to the numbers.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

CHILD_FLAG = "--child"
ENV_DIR = "MEMPROBE_DIR"
ENV_FRAMES = "MEMPROBE_FRAMES"
ENV_KOPF_CONNECTIONS = "MEMPROBE_KOPF_CONNECTIONS"  # what-if: cap aiohttp's TCPConnector(limit=0) (Kopf's)
ENV_EARLY = "MEMPROBE_TRACE_IMPORTS"  # "1": start tracemalloc before any import (slow start-up)
REQUEST = "request.json"


# --- child: runs inside the operator process ---------------------------------------------------------


def _proc_status() -> dict[str, int]:
    wanted = {"VmRSS", "VmHWM", "RssAnon", "RssFile", "VmSize", "Threads"}
    out: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            parts = value.split()
            out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def _smaps_summary(top: int = 12) -> dict[str, Any]:
    """RSS by mapping: [heap], anonymous (thread arenas, pymalloc arenas, mmap'ed blocks), files."""
    by_kind: dict[str, int] = {}
    by_file: dict[str, int] = {}
    anon: list[tuple[int, int]] = []  # (rss, size)
    name, size = "", 0
    header = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if header.match(line):
            parts = line.split(None, 5)
            start, end = (int(x, 16) for x in parts[0].split("-"))
            name, size = (parts[5] if len(parts) > 5 else ""), end - start
        elif line.startswith("Rss:"):
            rss = int(line.split()[1]) * 1024
            if not name:
                kind = "anon"
                anon.append((rss, size))
            elif name.startswith("["):
                kind = name
            else:
                kind = "file"
                by_file[name] = by_file.get(name, 0) + rss
            by_kind[kind] = by_kind.get(kind, 0) + rss
    anon.sort(reverse=True)
    return {
        "rssByKind": by_kind,
        "anonMappings": len(anon),
        "largestAnon": [{"rss": r, "size": s} for r, s in anon[:top]],
        "topFiles": sorted(by_file.items(), key=lambda kv: -kv[1])[:top],
        "anonMappingsNear64MiB": sum(1 for _, s in anon if 60 * 2**20 <= s <= 68 * 2**20),
    }


def _mallinfo() -> dict[str, int] | None:
    try:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in
                        ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                         "fordblks", "keepcost")]

        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
        return {name: int(getattr(info, name)) for name, _ in MallInfo2._fields_}
    except Exception:
        return None


def _capture_stderr(fn: Any) -> str:
    """Output a C function writes to fd 2 (sys._debugmallocstats, malloc_stats)."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        try:
            os.dup2(tmp.fileno(), 2)
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode(errors="replace")


def _pymalloc_stats() -> dict[str, Any]:
    text = _capture_stderr(sys._debugmallocstats)
    out: dict[str, Any] = {}
    # Empty while tracemalloc runs: it wraps the allocator, and pymalloc then reports nothing.
    for line in text.splitlines():
        line = line.lstrip("# ")
        for key in ("arenas allocated total", "arenas reclaimed", "arenas highwater mark",
                    "arenas allocated current", "bytes in allocated blocks", "bytes in available blocks",
                    "unused pools", "bytes lost to pool headers", "bytes lost to quantization",
                    "bytes lost to arena alignment", "Total"):
            if line.startswith(key) and key not in out:
                value = line.split("=")[-1].strip().replace(",", "")
                with contextlib.suppress(ValueError):
                    out[key] = int(value)
    return out


def _glibc_arenas() -> dict[str, Any]:
    """glibc malloc_stats(): per-arena system/in-use bytes (how many arenas threads created)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        text = _capture_stderr(libc.malloc_stats)
    except Exception as error:
        return {"error": repr(error)}
    arenas = []
    current: dict[str, int] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Arena "):
            current = {}
            arenas.append(current)
        elif line.startswith("system bytes") and arenas and "system" not in current:
            current["system"] = int(line.split("=")[1])
        elif line.startswith("in use bytes") and arenas and "inUse" not in current:
            current["inUse"] = int(line.split("=")[1])
    total = {}
    for line in text.split("Total (incl. mmap):")[-1].splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            total[key.strip()] = int(value)
    return {"arenas": arenas, "total": total}


def _module(kind: type) -> str:
    module = getattr(kind, "__module__", "")
    return module if isinstance(module, str) else ""


def _deep_size(roots: list[Any], seen: set[int]) -> int:
    """Sum of sys.getsizeof over everything reachable from roots, stopping at shared things."""
    import types

    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
            types.CodeType)
    size = 0
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        try:
            size += sys.getsizeof(obj)
        except TypeError:
            continue
        stack.extend(gc.get_referents(obj))
    return size


def _marginal(items: list[Any], seen: set[int]) -> dict[str, float]:
    """Deep size of `items` beyond `seen`, and its per-item share measured on the second half only.

    Shared things an item reaches (settings, clients, the loop, Kopf's registry) are counted once,
    by whichever item reaches them first, so (size(all) - size(first half)) / (second half) is the
    per-item cost without them. Adds what `items` reach to `seen`.
    """
    half = len(items) // 2
    first = _deep_size(items[:half], set(seen)) if half else 0
    total = _deep_size(items, seen)
    rest = len(items) - half
    return {"total": total, "perItem": round((total - first) / rest, 1) if rest else 0.0}


def _shared_seen(objects: list[Any]) -> set[int]:
    """ids not to count as per-resource: module globals, builtins, the loop."""
    import builtins

    seen = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    seen.add(id(vars(builtins)))
    try:
        import asyncio

        seen.add(id(asyncio.get_running_loop()))
    except RuntimeError:
        pass
    return seen


def _reconciler_sizes(objects: list[Any]) -> dict[str, Any]:
    """Per-resource deep sizes of the controller's Resource fields, in order (each without the earlier)."""
    reconciler = next((o for o in objects if type(o).__name__ == "Registry"
                       and _module(type(o)) == "tendlc.controller.registry"), None)
    if reconciler is None:
        return {}
    resources = list(reconciler.resources.values())
    seen = _shared_seen(objects)
    seen.add(id(reconciler))
    sizes: dict[str, Any] = {}
    own = [reconciler.resources, *reconciler.resources.keys(), *resources,
           *(vars(r) for r in resources if hasattr(r, "__dict__"))]
    sizes["Resource object + key + dict entry"] = {"total": sum(sys.getsizeof(o) for o in own),
                                                    "perItem": round(sum(sys.getsizeof(o) for o in own)
                                                                     / max(len(resources), 1), 1)}
    seen.update(id(o) for o in own)
    for attribute in ("body", "status", "written", "logger", "inbox", "last_wake_key"):
        sizes[attribute] = _marginal([getattr(r, attribute) for r in resources], seen)
    tasks = [r.task for r in resources if r.task is not None]
    # What the task's contextvars.Context pins (created inside Kopf's handler: Kopf's cause_var etc.).
    contexts = [t.get_context() for t in tasks if hasattr(t, "get_context")]
    sizes["task contextvars (Kopf cause…)"] = _marginal(contexts, seen)
    sizes["task + coroutine frames + waiter tasks"] = _marginal(tasks, seen)
    for attribute in ("wake", "stopping"):
        sizes[attribute] = _marginal([getattr(r, attribute) for r in resources], seen)
    inbox = next((o for o in objects if type(o).__name__ == "WebhookInbox"), None)
    if inbox is not None:
        sizes["indexes"] = {"total": _deep_size([inbox._by_infobip_id, inbox._by_campaign_id], seen)}
    return {"resources": len(resources), "deepBytes": sizes}


def _kopf_sizes(objects: list[Any]) -> dict[str, Any]:
    """Kopf's per-object bookkeeping: ResourceMemories._items (after the controller's data), and the
    watching causes still alive (pinned by the contextvars of tasks created inside a handler)."""
    out: dict[str, Any] = {}
    causes = [o for o in objects if type(o).__name__ == "WatchingCause" and _module(type(o)).startswith("kopf")]
    if causes:
        seen = _shared_seen(objects)
        reconciler = next((o for o in objects if type(o).__name__ == "Registry"), None)
        if reconciler is not None:
            seen.add(id(reconciler))
            resources = list(reconciler.resources.values())
            _deep_size([f for r in resources for f in (r.body, r.status, r.written, r.logger)], seen)
        out["WatchingCause (alive)"] = {"items": len(causes), **_marginal(causes, seen)}
        # Who holds them: the chain of referrer types from one cause (e.g. hamt node → hamt → Context → Task).
        chain, current = [], causes[0]
        for _ in range(5):
            holders = [r for r in gc.get_referrers(current) if r is not objects and r is not causes
                       and not isinstance(r, list | type(sys._getframe()))]
            if not holders:
                break
            current = holders[0]
            chain.append(f"{_module(type(current))}.{type(current).__qualname__}")
        out["WatchingCause held by"] = " ← ".join(chain)
    for obj in objects:
        kind = type(obj)
        if _module(kind).startswith("kopf") and kind.__name__ == "ResourceMemories":
            items = list(getattr(obj, "_items", {}).values())
            reconciler = next((o for o in objects if type(o).__name__ == "Registry"), None)
            seen = _shared_seen(objects)
            if reconciler is not None:  # what the reconciler holds is counted there
                seen.add(id(reconciler))
                _deep_size(list(reconciler.resources.values()), seen)
            out["ResourceMemories"] = {"items": len(items), **_marginal(items, seen)}
            fields: dict[str, Any] = {}
            for name in ("memo", "error_throttler", "indexing_memory", "daemons_memory"):
                fields[name] = _marginal([getattr(m, name, None) for m in items], set(seen))
            out["ResourceMemory fields (each alone)"] = fields
    return out


def _type_counts(objects: list[Any]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for obj in objects:
        kind = type(obj)
        key = f"{_module(kind)}.{getattr(kind, '__qualname__', kind.__name__)}"
        entry = counts.get(key)
        if entry is None:
            entry = counts[key] = [0, 0]
        entry[0] += 1
        with contextlib.suppress(TypeError):
            entry[1] += sys.getsizeof(obj)
    return counts


def _untracked_counts(objects: list[Any]) -> dict[str, Any]:
    """Objects the gc does not track (str, bytes, int, float, atomic-only dicts/tuples), reached from
    the tracked ones: counts and getsizeof by type, and str/bytes by size bucket (never contents)."""
    tracked = {id(o) for o in objects}
    seen: set[int] = set()
    by_type: dict[str, list[int]] = {}
    buckets: dict[str, list[int]] = {}
    stack: list[Any] = []
    for obj in objects:
        stack.extend(gc.get_referents(obj))
        while stack:
            child = stack.pop()
            ident = id(child)
            if ident in tracked or ident in seen:
                continue
            seen.add(ident)
            kind = type(child)
            try:
                size = sys.getsizeof(child)
            except TypeError:
                size = 0
            entry = by_type.setdefault(kind.__name__, [0, 0])
            entry[0] += 1
            entry[1] += size
            if isinstance(child, str | bytes | bytearray):
                bucket = next(f"{kind.__name__} <= {limit}" for limit in (64, 512, 4096, 65536, 2**62)
                              if size <= limit)
                slot = buckets.setdefault(bucket, [0, 0])
                slot[0] += 1
                slot[1] += size
            elif isinstance(child, dict | tuple | list):  # untracked containers hold atomics only
                stack.extend(gc.get_referents(child))
    return {"byType": by_type, "strBytesBySize": buckets}


def _dump(directory: Path) -> None:
    request = json.loads((directory / REQUEST).read_text())
    label = request["label"]
    t0 = time.time()
    info: dict[str, Any] = {"label": label, "time": t0}
    info["statusBefore"] = _proc_status()
    info["smaps"] = _smaps_summary()
    info["mallinfo2"] = _mallinfo()
    info["pymalloc"] = _pymalloc_stats()
    info["glibcArenas"] = _glibc_arenas()
    traced, peak = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
    info["traced"] = {"current": traced, "peak": peak, "tracemallocOverhead": tracemalloc.get_tracemalloc_memory()}
    info["allocatedBlocks"] = sys.getallocatedblocks()
    import threading

    info["threads"] = sorted(t.name for t in threading.enumerate())
    try:
        import asyncio

        tasks = asyncio.all_tasks()
        names: dict[str, int] = {}
        for task in tasks:
            name = re.sub(r"[0-9]+", "#", task.get_name())
            coro = task.get_coro()
            name = f"{getattr(coro, '__qualname__', type(coro).__name__)} [{name.split('/')[0]}]"
            names[name] = names.get(name, 0) + 1
        info["asyncioTasks"] = {"total": len(tasks), "byCoroutine": sorted(names.items(), key=lambda kv: -kv[1])[:20]}
    except RuntimeError as error:
        info["asyncioTasks"] = {"error": repr(error)}

    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        snapshot.dump(str(directory / f"{label}.snapshot"))
        del snapshot
    gc.collect()
    info["statusAfterSnapshotAndCollect"] = _proc_status()
    objects = gc.get_objects()
    info["gcObjects"] = len(objects)
    info["typeCounts"] = _type_counts(objects)
    info["untracked"] = _untracked_counts(objects)
    watch = ("SSLProtocol", "_SSLProtocolTransport", "ResponseHandler", "SSLObject", "SSLSocket",
             "_SelectorSocketTransport", "ClientResponse", "Connection")
    info["connections"] = {key: value[0] for key, value in info["typeCounts"].items()
                           if key.rsplit(".", 1)[-1] in watch}
    info["reconciler"] = _reconciler_sizes(objects)
    info["kopf"] = _kopf_sizes(objects)
    del objects
    gc.collect()
    if request.get("trim"):
        import ctypes

        before = _proc_status()["VmRSS"]
        ctypes.CDLL(None).malloc_trim(0)
        info["mallocTrim"] = {"rssBefore": before, "rssAfter": _proc_status()["VmRSS"]}
    info["dumpSeconds"] = round(time.time() - t0, 2)
    tmp = directory / f"{label}.json.tmp"
    tmp.write_text(json.dumps(info, default=str))
    tmp.rename(directory / f"{label}.json")


def child_main() -> None:
    frames = int(os.environ.get(ENV_FRAMES, "25"))
    if os.environ.get(ENV_EARLY) != "1":
        # Importing under tracemalloc with 25 frames takes ~30 s (30 times slower): the operator would
        # miss its start-up deadline. The modules the operator imports anyway are imported first, untraced;
        # everything allocated from then on (start-up, watch, every resource) is traced.
        import kopf  # noqa: F401

        import tendlc.handlers
        import tendlc.logs  # noqa: F401
    cap = int(os.environ.get(ENV_KOPF_CONNECTIONS) or 0)
    if cap:
        # What-if only (the operator is not changed): Kopf's one aiohttp session is built with
        # TCPConnector(limit=0), i.e. one new TLS connection per concurrent request (event posts).
        import aiohttp

        original = aiohttp.TCPConnector.__init__

        def capped(self: Any, *args: Any, **kwargs: Any) -> None:
            if not kwargs.get("limit"):
                kwargs["limit"] = cap
            original(self, *args, **kwargs)

        aiohttp.TCPConnector.__init__ = capped  # type: ignore[method-assign]
    if frames > 0:  # 0: no tracemalloc (true RSS and pymalloc stats; no allocation sites)
        tracemalloc.start(frames)
    directory = Path(os.environ[ENV_DIR])

    def on_signal(signum: int, frame: object) -> None:
        try:
            _dump(directory)
        except Exception as error:  # the operator must keep running; the parent times out and says why
            (directory / "error.txt").write_text(repr(error))

    signal.signal(signal.SIGUSR2, on_signal)
    sys.argv = ["tendlc"]
    import runpy

    runpy.run_module("tendlc", run_name="__main__", alter_sys=True)


# --- parent: the stack, the triggers, the report --------------------------------------------------------


def trigger(pid: int, directory: Path, label: str, trim: bool = False, timeout: float = 900) -> dict[str, Any]:
    import psutil

    from bench.stack import log

    (directory / REQUEST).write_text(json.dumps({"label": label, "trim": trim}))
    rss_parent = psutil.Process(pid).memory_info().rss
    log(f"dump {label}: operator RSS {rss_parent / 2**20:.1f} MiB")
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    done = directory / f"{label}.json"
    while not done.exists():
        if (directory / "error.txt").exists():
            raise RuntimeError(f"dump failed in the operator: {(directory / 'error.txt').read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no dump {label} within {timeout} s")
        if not psutil.pid_exists(pid):
            raise RuntimeError("the operator died during the dump")
        time.sleep(0.5)
    info = json.loads(done.read_text())
    info["rssParentPsutil"] = rss_parent
    log(f"dump {label} written in {info['dumpSeconds']} s")
    return info


def _frame_in(frame: Any, part: str) -> bool:
    return part in frame.filename


def _site(frame: Any) -> str:
    name = frame.filename
    for marker in ("site-packages/", "/operator/", "/lib/python3.11/"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    return f"{name}:{frame.lineno}"


def analyse(directory: Path, n: int, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    filters = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__),
               tracemalloc.Filter(False, "<unknown>")]
    snap0 = tracemalloc.Snapshot.load(str(directory / f"{before['label']}.snapshot")).filter_traces(filters)
    snap1 = tracemalloc.Snapshot.load(str(directory / f"{after['label']}.snapshot")).filter_traces(filters)
    per = max(n, 1)

    def rows(diffs: list[Any], limit: int) -> list[dict[str, Any]]:
        out = []
        for d in diffs[:limit]:
            out.append({"site": _site(d.traceback[-1]) if d.traceback else "?",
                        "sizeDiff": d.size_diff, "countDiff": d.count_diff, "size": d.size,
                        "bytesPerResource": round(d.size_diff / per, 1)})
        return out

    by_line = snap1.compare_to(snap0, "lineno")
    by_file = snap1.compare_to(snap0, "filename")
    by_tb = snap1.compare_to(snap0, "traceback")
    tracebacks = []
    for d in by_tb[:10]:
        tracebacks.append({"sizeDiff": d.size_diff, "countDiff": d.count_diff,
                           "bytesPerResource": round(d.size_diff / per, 1),
                           "traceback": [f"{_site(f)}" for f in reversed(d.traceback)]})  # most recent first

    def attribute(part: str) -> list[dict[str, Any]]:
        """size_diff grouped by the innermost frame whose file contains `part`."""
        groups: dict[str, list[int]] = {}
        for d in by_tb:
            if d.size_diff == 0 and d.count_diff == 0:
                continue
            site = next((_site(f) for f in reversed(d.traceback) if _frame_in(f, part)), f"(no {part} frame)")
            entry = groups.setdefault(site, [0, 0])
            entry[0] += d.size_diff
            entry[1] += d.count_diff
        ranked = sorted(groups.items(), key=lambda kv: -kv[1][0])[:25]
        return [{"site": s, "sizeDiff": v[0], "countDiff": v[1], "bytesPerResource": round(v[0] / per, 1)}
                for s, v in ranked]

    total0 = sum(s.size for s in snap0.statistics("filename"))
    total1 = sum(s.size for s in snap1.statistics("filename"))

    def split(snapshot: Any) -> dict[str, int]:
        """Traced bytes in blocks ≤ 512 B (pymalloc arenas) and larger (glibc malloc)."""
        small = sum(trace.size for trace in snapshot.traces if trace.size <= 512)
        large = sum(trace.size for trace in snapshot.traces if trace.size > 512)
        return {"small<=512": small, "large>512": large}

    sizes_by_allocator = {"n0": split(snap0), "nN": split(snap1)}
    return {
        "tracedFilteredBytes": {"n0": total0, "nN": total1, "diff": total1 - total0,
                                "perResource": round((total1 - total0) / per)},
        "tracedByAllocator": sizes_by_allocator,
        "topLines": rows(by_line, 40),
        "topFiles": rows(by_file, 40),
        "topTracebacks": tracebacks,
        "byTendlcFrame": attribute("/operator/tendlc/"),
        "byKopfFrame": attribute("site-packages/kopf/"),
    }


def reachable(n: int, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """getsizeof totals of gc-tracked objects and of the untracked ones they reach, at both points."""
    def totals(info: dict[str, Any]) -> dict[str, int]:
        tracked = sum(v[1] for v in info["typeCounts"].values())
        untracked = sum(v[1] for v in info["untracked"]["byType"].values())
        return {"tracked": tracked, "untracked": untracked, "total": tracked + untracked}

    t0, t1 = totals(before), totals(after)
    rows = []
    u0, u1 = before["untracked"]["byType"], after["untracked"]["byType"]
    for key in set(u0) | set(u1):
        c0, b0 = u0.get(key, [0, 0])
        c1, b1 = u1.get(key, [0, 0])
        rows.append({"type": key, "countDiff": c1 - c0, "bytesDiff": b1 - b0, "perResource": round((b1 - b0) / n)})
    rows.sort(key=lambda r: -r["bytesDiff"])
    s0, s1 = before["untracked"]["strBytesBySize"], after["untracked"]["strBytesBySize"]
    sizes = []
    for key in sorted(set(s0) | set(s1)):
        c0, b0 = s0.get(key, [0, 0])
        c1, b1 = s1.get(key, [0, 0])
        sizes.append({"bucket": key, "countDiff": c1 - c0, "bytesDiff": b1 - b0})
    return {"n0": t0, "nN": t1, "untrackedByType": rows[:12], "strBytesBySize": sizes}


def type_diff(n: int, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """gc-tracked objects by type: top 30 by count difference, top 15 by shallow size difference."""
    types0, types1 = before["typeCounts"], after["typeCounts"]
    type_rows = []
    for key in set(types0) | set(types1):
        c0, s0 = types0.get(key, [0, 0])
        c1, s1 = types1.get(key, [0, 0])
        type_rows.append({"type": key, "countDiff": c1 - c0, "count": c1, "shallowBytesDiff": s1 - s0,
                          "perResource": round((c1 - c0) / max(n, 1), 2)})
    type_rows.sort(key=lambda r: -r["countDiff"])
    return {"typeCountDiff": type_rows[:30],
            "typeBytesDiff": sorted(type_rows, key=lambda r: -r["shallowBytesDiff"])[:15]}


def point(info: dict[str, Any]) -> dict[str, Any]:
    status = info["statusBefore"]
    mall = info.get("mallinfo2") or {}
    pym = info.get("pymalloc") or {}
    pym = {key.lstrip("# "): value for key, value in pym.items()}
    live = None
    if mall and pym.get("bytes in allocated blocks") is not None:
        live = (pym["bytes in allocated blocks"] + mall["uordblks"] + mall["hblkhd"]
                - info["traced"]["tracemallocOverhead"])
    return {
        "rss": info["rssParentPsutil"],
        "liveHeap": live,
        "rssAnon": status.get("RssAnon"), "rssFile": status.get("RssFile"),
        "rssAfterSnapshotAndCollect": info["statusAfterSnapshotAndCollect"].get("VmRSS"),
        "traced": info["traced"]["current"], "tracedPeak": info["traced"]["peak"],
        "tracemallocOverhead": info["traced"]["tracemallocOverhead"],
        "mallinfo": {"arenaNonMmap": mall.get("arena"), "mmapBlocks": mall.get("hblkhd"),
                     "inUse": mall.get("uordblks"), "freeInArenas": mall.get("fordblks"),
                     "topReleasable": mall.get("keepcost")},
        "pymalloc": {"arenas": pym.get("arenas allocated current"),
                     "allocatedBlocksBytes": pym.get("bytes in allocated blocks"),
                     "availableBlocksBytes": pym.get("bytes in available blocks"),
                     "total": pym.get("Total")},
        "glibcArenaCount": len((info.get("glibcArenas") or {}).get("arenas", [])),
        "smapsRssByKind": info["smaps"]["rssByKind"],
        "threads": len(info["threads"]),
        "asyncioTasks": info["asyncioTasks"].get("total"),
        "gcObjects": info["gcObjects"],
        "mallocTrim": info.get("mallocTrim"),
    }


def mib(value: float | None) -> str:
    return "?" if value is None else f"{value / 2**20:.1f}"


def text_report(report: dict[str, Any]) -> str:
    n = report["n"]
    p0, p1 = report["points"]["n0"], report["points"]["nN"]
    a = report.get("analysis")
    types = report["types"]
    lines = [f"memprobe n={n}  tracemalloc frames={report['frames']}  ({report['timestamp']})  "
             f"code {report['code']['head'][:10]} operator dirty={report['code']['operatorDirty']} "
             f"({report['code']['operatorDiffSha256']})", ""]
    lines.append(f"{'':34}{'N=0':>10}{'N=' + str(n):>10}{'diff':>10}{'/resource':>12}")

    def row(label: str, v0: float | None, v1: float | None, unit: str = "MiB") -> None:
        if v0 is None or v1 is None:
            return
        if unit == "MiB":
            lines.append(f"{label:34}{mib(v0):>10}{mib(v1):>10}{mib(v1 - v0):>10}{(v1 - v0) / n / 1024:>9.1f} KiB")
        else:
            lines.append(f"{label:34}{v0:>10}{v1:>10}{v1 - v0:>10}{(v1 - v0) / n:>12.2f}")

    row("RSS (psutil)", p0["rss"], p1["rss"])
    row("  RssAnon", p0["rssAnon"], p1["rssAnon"])
    row("  RssFile", p0["rssFile"], p1["rssFile"])
    row("live heap (pymalloc+glibc-tm)", p0["liveHeap"], p1["liveHeap"])
    row("tracemalloc traced (all)", p0["traced"], p1["traced"])
    if a:
        row("tracemalloc traced (filtered)", a["tracedFilteredBytes"]["n0"], a["tracedFilteredBytes"]["nN"])
        by = a["tracedByAllocator"]
        row("  of it in blocks <= 512 B", by["n0"]["small<=512"], by["nN"]["small<=512"])
        row("  of it in blocks > 512 B", by["n0"]["large>512"], by["nN"]["large>512"])
        row("tracemalloc own overhead", p0["tracemallocOverhead"], p1["tracemallocOverhead"])
    reach = report.get("reachable")
    if reach:
        row("python objects (getsizeof, reachable)", reach["n0"]["total"], reach["nN"]["total"])
        row("  gc-tracked", reach["n0"]["tracked"], reach["nN"]["tracked"])
        row("  untracked (str, bytes, int, ...)", reach["n0"]["untracked"], reach["nN"]["untracked"])
    row("glibc in use (uordblks)", p0["mallinfo"]["inUse"], p1["mallinfo"]["inUse"])
    row("glibc free in arenas (fordblks)", p0["mallinfo"]["freeInArenas"], p1["mallinfo"]["freeInArenas"])
    row("glibc mmap'ed blocks (hblkhd)", p0["mallinfo"]["mmapBlocks"], p1["mallinfo"]["mmapBlocks"])
    row("pymalloc allocated blocks", p0["pymalloc"]["allocatedBlocksBytes"], p1["pymalloc"]["allocatedBlocksBytes"])
    row("pymalloc free blocks", p0["pymalloc"]["availableBlocksBytes"], p1["pymalloc"]["availableBlocksBytes"])
    row("pymalloc total (arenas)", p0["pymalloc"]["total"], p1["pymalloc"]["total"])
    row("glibc arenas", p0["glibcArenaCount"], p1["glibcArenaCount"], unit="n")
    row("threads", p0["threads"], p1["threads"], unit="n")
    row("asyncio tasks", p0["asyncioTasks"], p1["asyncioTasks"], unit="n")
    row("gc-tracked objects", p0["gcObjects"], p1["gcObjects"], unit="n")
    if p1.get("mallocTrim"):
        t = p1["mallocTrim"]
        lines.append(f"malloc_trim(0) at N={n}: RSS {mib(t['rssBefore'])} → {mib(t['rssAfter'])} MiB")
    lines.append(f"smaps RSS by kind N=0: { {k: mib(v) for k, v in p0['smapsRssByKind'].items()} }")
    lines.append(f"smaps RSS by kind N={n}: { {k: mib(v) for k, v in p1['smapsRssByKind'].items()} }")
    if report.get("whatIf", {}).get("kopfConnectorLimit"):
        lines.append(f"WHAT-IF: Kopf's aiohttp TCPConnector limit forced to {report['whatIf']['kopfConnectorLimit']}")
    conns = report.get("connections") or {}
    lines.append(f"connection objects N=0: {conns.get('n0')}  N={n}: {conns.get('nN')}")
    late = report.get("late")
    if late:
        lp = late["point"]
        mall, pym = lp["mallinfo"], lp["pymalloc"]
        lines.append(f"{late['seconds']:g} s later: RSS {mib(lp['rss'])} MiB, glibc in use {mib(mall['inUse'])}, "
                     f"glibc free {mib(mall['freeInArenas'])}, pymalloc arenas {mib(pym['total'])} "
                     f"(allocated {mib(pym['allocatedBlocksBytes'])}), connections {late['connections']}, "
                     f"untracked {late['untrackedByType']}")
        if lp.get("mallocTrim"):
            t = lp["mallocTrim"]
            lines.append(f"malloc_trim(0) then: RSS {mib(t['rssBefore'])} → {mib(t['rssAfter'])} MiB")
    if reach:
        lines.append("untracked objects by type (bytes diff, per resource): " + ", ".join(
            f"{r['type']} {mib(r['bytesDiff'])} MiB ({r['perResource']} B)" for r in reach["untrackedByType"][:8]))
        lines.append("str/bytes by size (count diff, MiB diff): " + ", ".join(
            f"{r['bucket']}: {r['countDiff']}, {mib(r['bytesDiff'])}" for r in reach["strBytesBySize"]))
    rec = report.get("reconciler") or {}
    if rec:
        lines += ["", f"reconciler: deep sizes (sys.getsizeof walk) of the Resource fields, {rec['resources']} "
                      "resources; each field without what earlier fields reached; per resource = marginal "
                      "(second half of the resources, so shared objects drop out):"]
        for key, value in rec["deepBytes"].items():
            per = value.get("perItem")
            lines.append(f"  {key:40} total {mib(value['total']):>7} MiB  "
                         f"{'' if per is None else f'{per:>8.0f} B/resource'}")
    if report.get("kopf"):
        lines.append(f"kopf: {report['kopf']}")

    def table(title: str, items: list[dict[str, Any]], key: str = "site") -> None:
        lines.extend(["", title, f"  {'KiB diff':>10} {'B/res':>8} {'count':>8}  site"])
        for r in items:
            lines.append(f"  {r['sizeDiff'] / 1024:>10.1f} {r['bytesPerResource']:>8.0f} {r['countDiff']:>8}  {r[key]}")

    if a:
        table("top 40 lines (innermost frame) by size diff", a["topLines"])
        table("top 40 files by size diff", a["topFiles"])
        table("by innermost tendlc frame", a["byTendlcFrame"])
        table("by innermost kopf frame", a["byKopfFrame"])
        lines.extend(["", "top 10 tracebacks (most recent frame first)"])
        for t in a["topTracebacks"]:
            lines.append(f"  {t['sizeDiff'] / 1024:.1f} KiB, {t['countDiff']} blocks, "
                         f"{t['bytesPerResource']:.0f} B/resource")
            lines.extend(f"      {f}" for f in t["traceback"])
    lines.extend(["", "top 30 gc-tracked types by count diff", f"  {'diff':>8} {'/res':>6} {'shallow KiB':>12}  type"])
    for r in types["typeCountDiff"]:
        lines.append(f"  {r['countDiff']:>8} {r['perResource']:>6} {r['shallowBytesDiff'] / 1024:>12.1f}  {r['type']}")
    lines.extend(["", "top 15 gc-tracked types by shallow size diff"])
    for r in types["typeBytesDiff"]:
        lines.append(f"  {r['countDiff']:>8} {r['perResource']:>6} {r['shallowBytesDiff'] / 1024:>12.1f}  {r['type']}")
    return "\n".join(lines) + "\n"


def code_version() -> dict[str, Any]:
    """The commit, and a digest of uncommitted changes under operator/ (what was measured)."""
    import hashlib
    import subprocess

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False,
                                cwd=Path(__file__).resolve().parent.parent)
        return result.stdout

    diff = git("diff", "HEAD", "--", "operator")
    return {"head": git("rev-parse", "HEAD").strip(), "operatorDirty": bool(diff),
            "operatorDiffSha256": hashlib.sha256(diff.encode()).hexdigest()[:16] if diff else None,
            "python": sys.executable}


def run(args: Any) -> dict[str, Any]:
    import collections
    import shutil
    import tempfile

    from bench.stack import PhaseWatch, Stack, log, migration
    from tendlc_dev.devcluster import free_port

    n = args.n
    stamp = time.strftime("%Y%m%dT%H%M%S")
    probe_dir = Path(tempfile.mkdtemp(prefix="tendlc-memprobe-"))
    stack = Stack(keep_dir=args.keep)
    report: dict[str, Any] = {"timestamp": stamp, "n": n, "frames": args.frames, "scenario": "idle",
                              "code": code_version()}
    try:
        stack.start_cluster()
        assert stack.kube is not None
        stack.start_sandbox(["--time-scale", "100", "--rate-limit-scale", "100", "--sharing-decision-after", "0"])
        backoff = "600"  # as bench.run idle: the first poll after submission is due in [300, 600] s
        env = stack.operator_env(100.0, {"TENDLC_BACKOFF_INITIAL_SECONDS": backoff,
                                         "TENDLC_BACKOFF_MAX_SECONDS": backoff,
                                         # its own port: the default 9090 may be taken by another operator
                                         "TENDLC_METRICS_PORT": str(free_port()),
                                         ENV_DIR: str(probe_dir), ENV_FRAMES: str(args.frames),
                                         **({ENV_KOPF_CONNECTIONS: str(args.kopf_connections)}
                                            if args.kopf_connections else {})})
        report["whatIf"] = {"kopfConnectorLimit": args.kopf_connections or None}
        # The wrapper runs under the interpreter bench.run gives the operator (the runtime-only venv when
        # built: Kopf imports `kubernetes` whenever it is installed); the trailing `python -m tendlc`
        # Stack appends is ignored by the child.
        import bench.stack

        python = getattr(bench.stack, "operator_python", lambda: sys.executable)()
        report["operatorPython"] = python
        stack.start_operator(env, wrapper=[python, "-m", "bench.memprobe", CHILD_FLAG])
        pid = stack.operator_pid()
        log(f"operator (tracemalloc, {args.frames} frames) pid {pid}")
        watch = PhaseWatch(stack.kube).start()
        time.sleep(args.settle)
        before = trigger(pid, probe_dir, "n0")
        time.sleep(3)
        objects = [migration(i, "CST", 2) for i in range(n)]
        log(f"creating {n} CampaignMigrations (idle)")
        t_apply = time.time()
        stack.kube.create_all(objects)

        def progress(phases: dict[str, str]) -> None:
            counts = collections.Counter(phases.values())
            log(f"{time.time() - t_apply:6.1f} s  " + ", ".join(f"{k or '-'}={v}" for k, v in sorted(counts.items())))

        reached = watch.wait_until(
            lambda phases: len(phases) >= n and all(p in ("InMigration", "Failed") for p in phases.values()),
            timeout=args.timeout, progress=progress)
        progress(dict(watch.phases))
        report["reached"] = reached
        report["phases"] = dict(collections.Counter(watch.phases.values()))
        report["secondsToInMigration"] = round(time.time() - t_apply, 1)
        watch.stop()
        log(f"settling {args.settle:g} s")
        time.sleep(args.settle)
        after = trigger(pid, probe_dir, f"n{n}", trim=args.late <= 0)
        late = None
        if args.late > 0:
            log(f"waiting {args.late:g} s more (idle keep-alive connections expire after 15 s)")
            time.sleep(args.late)
            late = trigger(pid, probe_dir, f"n{n}-late", trim=True)
        stack.close()
        log("stack stopped; comparing snapshots")
        report["points"] = {"n0": point(before), "nN": point(after)}
        report["connections"] = {"n0": before.get("connections"), "nN": after.get("connections")}
        if late is not None:
            report["late"] = {"seconds": args.late, "point": point(late), "connections": late.get("connections"),
                              "untrackedByType": {k: v for k, v in late["untracked"]["byType"].items()
                                                  if k in ("bytearray", "str", "bytes", "dict")}}
        report["reconciler"] = after.get("reconciler")
        report["kopf"] = after.get("kopf")
        report["glibcArenas"] = {"n0": before.get("glibcArenas"), "nN": after.get("glibcArenas")}
        report["smaps"] = {"n0": before["smaps"], "nN": after["smaps"]}
        report["asyncioTasks"] = {"n0": before["asyncioTasks"], "nN": after["asyncioTasks"]}
        report["threads"] = {"n0": before["threads"], "nN": after["threads"]}
        report["types"] = type_diff(n, before, after)
        report["reachable"] = reachable(n, before, after)
        if args.frames > 0:
            report["analysis"] = analyse(probe_dir, n, before, after)
    finally:
        stack.close()
        if args.keep:
            log(f"kept snapshots in {probe_dir}")
        else:
            shutil.rmtree(probe_dir, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    from bench.stack import install_signal_handlers, log

    parser = argparse.ArgumentParser(prog="python -m bench.memprobe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="CampaignMigrations applied at once")
    parser.add_argument("--frames", type=int, default=25,
                        help="tracemalloc frames per allocation; 0: no tracemalloc (true RSS, pymalloc stats, fast)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before each dump")
    parser.add_argument("--timeout", type=float, default=1800.0, help="deadline for all to be InMigration")
    parser.add_argument("--late", type=float, default=30.0,
                        help="seconds after the N dump for a last one (0: none); malloc_trim runs at the last dump")
    parser.add_argument("--kopf-connections", type=int, default=0,
                        help="what-if: cap Kopf's aiohttp connector (limit=0 in Kopf) at this many connections")
    parser.add_argument("--keep", action="store_true", help="keep the stack's temp dir and the snapshots")
    args = parser.parse_args(argv)
    install_signal_handlers()
    try:
        report = run(args)
    except KeyboardInterrupt:
        log("interrupted: everything started was stopped")
        return 130
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(parents=True, exist_ok=True)
    base = results / f"{report['timestamp']}-n{args.n}-memprobe"
    base.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    text = text_report(report)
    base.with_suffix(".txt").write_text(text)
    print(text)
    print(f"results: {base}.json, {base}.txt")
    return 0 if report.get("reached") else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG:
        child_main()
    else:
        sys.exit(main())
