"""What Linux's ``/proc/cpuinfo`` says of the CPU, read without torch (empty elsewhere)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def cpuinfo_field(name: str) -> str:
    """The value of the first ``name : value`` line (case-insensitive name), or ""."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return ""


def cpu_has_amx() -> bool:
    """Whether the CPU lists AMX with bf16 (oneDNN then runs bf16 convolutions on it)."""
    return "amx_bf16" in cpuinfo_field("flags").split()
