"""What a result was measured on and how it was made: device, host, library versions, commit, command."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from typing import Any

import jax

# JAX's persistent compilation cache (off unless the user sets JAX_COMPILATION_CACHE_DIR, see BUILD.md):
# a hit loads a compiled program from disk, so a result's compile times then measure loads, not
# compiles. Counted for provenance(), from the events JAX records on each compile request.
_compilation_cache_events = {"compile_requests_use_cache": 0, "cache_hits": 0}


def _count_compilation_cache_event(event: str, **kwargs: Any) -> None:
    name = event.removeprefix("/jax/compilation_cache/")
    if name in _compilation_cache_events:
        _compilation_cache_events[name] += 1


jax.monitoring.register_event_listener(_count_compilation_cache_event)


def _read_cpuinfo() -> str:
    """/proc/cpuinfo's text ('' where there is none: not Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


def _first_processor(cpuinfo: str) -> dict[str, str]:
    """The fields ("model name", "cpu family", "flags", ...) of the first processor in a /proc/cpuinfo text."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break  # the first processor's block ends here
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _cpu_model() -> str:
    return _first_processor(_read_cpuinfo()).get("model name") or platform.processor() or platform.machine()


# The widest vector instructions a CPU offers, widest first, by their /proc/cpuinfo flag. XLA:CPU and its
# GEMM libraries pick kernels by them, so two CPUs of one vendor can round a run's sums differently.
VECTOR_ISAS = (("amx_tile", "amx"), ("avx512f", "avx512"), ("avx2", "avx2"), ("avx", "avx"), ("sse2", "sse2"))


def cpu_signature(cpuinfo: str) -> dict[str, str]:
    """{"family_model": "25/1", "vector_isa": "avx2"} of the first processor in a /proc/cpuinfo text: what
    "AMD EPYC" alone does not say (this VM's CPU model changes between sessions)."""
    fields = _first_processor(cpuinfo)
    flags = set(fields.get("flags", "").split())
    isa = next((name for flag, name in VECTOR_ISAS if flag in flags), "unknown")
    return {"family_model": f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}", "vector_isa": isa}


def device_info() -> dict[str, Any]:
    device = jax.devices()[0]
    return {
        "platform": device.platform,
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "host_cpu": _cpu_model(),
        "host_cores": os.cpu_count(),
    }


def device_name(device: dict[str, Any] | None = None) -> str:
    """What ran, in words: "CPU (AMD EPYC x2 cores)" or "1x NVIDIA H200 (host AMD EPYC x16 cores)";
    device: a device_info() dict (as results.json records it), this machine's by default."""
    device = device or device_info()
    host = f"{device['host_cpu']} x{device['host_cores']} cores"
    if device["platform"] == "cpu":  # JAX names a CPU device "cpu"; the host's model says more
        return f"CPU ({host})"
    return f"{device['device_count']}x {device['device_kind']} (host {host})"


def versions() -> dict[str, str]:
    names = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy")
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = platform.python_version()
    return found


def _git(*args: str) -> str | None:
    """Output of a git command in the checkout holding this package, or None outside one."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        done = subprocess.run(["git", *args], cwd=package_root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.rstrip("\n") if done.returncode == 0 else None


def command_line() -> str:
    """The command that is running, as a user would type it (`python -m module args`)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    program = ["python", "-m", spec.name] if spec is not None and spec.name else ["python", sys.argv[0]]
    return shlex.join(program + sys.argv[1:])


def memory_gib() -> float:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return -1.0


# Names the commit of a tree whose own git history is missing or not its own (a copied working tree).
COMMIT_ENV_VAR = "FMNIST_JAX_COMMIT"


def compilation_cache() -> dict[str, Any] | None:
    """None where JAX's persistent compilation cache is off; else its folder and, so far in this process,
    the compiles it was asked for and the ones it answered from disk (their "compile" time is a load)."""
    folder = jax.config.jax_compilation_cache_dir
    if not folder:
        return None
    return {
        "dir": str(folder),
        "requests_in_this_process": _compilation_cache_events["compile_requests_use_cache"],
        "hits_in_this_process": _compilation_cache_events["cache_hits"],
    }


def provenance() -> dict[str, Any]:
    """How a result was made: the code (commit, and whether the tree differed from it), the command,
    the XLA flags, and the machine. `dirty` lists the tracked files that differed, so a reader knows
    exactly what was not committed."""
    named_commit = os.environ.get(COMMIT_ENV_VAR)
    if named_commit:  # a copy of a checkout without (or with a stale) .git, e.g. on a device machine
        commit, dirty, changed_files = f"{named_commit} (from ${COMMIT_ENV_VAR})", None, []
    else:
        commit = _git("rev-parse", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no")
        dirty = bool(changed) if changed is not None else None
        changed_files = [line[3:] for line in changed.splitlines()] if changed else []
    return {
        "git_commit": commit or "unknown (not a git checkout)",
        "git_dirty": dirty,
        "git_changed_files": changed_files,
        "command": command_line(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "jax_platforms": os.environ.get("JAX_PLATFORMS", ""),
        # None: the backend's default (on recent NVIDIA GPUs TF32 for fp32 matmuls and convolutions).
        "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
        "compilation_cache": compilation_cache(),
        "machine": {
            "hostname": platform.node(),
            "os": platform.platform(),
            "cpu": _cpu_model(),
            **{f"cpu_{key}": value for key, value in cpu_signature(_read_cpuinfo()).items()},
            "cores": os.cpu_count(),
            "memory_gib": memory_gib(),
        },
    }
