"""The package as a new user gets it: the wheel built from this checkout, installed into a
clean virtual environment the way the README says (PyTorch's CPU build first), then run.

Prints the wheel's size, how long each install step took, how many packages the venv
ends with (and whether any NVIDIA/CUDA one slipped in), and the first calls of
`sb --help`, `sb mail send` and `sb mail check --json` from that venv, each a fresh
process with bytecode caching on.

    python bench/wheel.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"  # as the Makefile pins it
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def timed(label: str, command: list[str], **kwargs: object) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    took = time.perf_counter() - start
    print(f"  {label:<44} {took:7.1f} s")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build and install under this directory and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sb-wheel-"))
    work.mkdir(parents=True, exist_ok=True)
    dist, venv = work / "dist", work / "venv"

    print("wheel, from this checkout:")
    timed(
        "build (pip wheel --no-deps)",
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
    )
    wheel = next(dist.glob("switchboard_opencode-*.whl"))
    print(f"  {wheel.name}: {wheel.stat().st_size / 1024:.0f} KiB")

    print("clean venv, as the README installs it:")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    total = timed("python -m venv", [sys.executable, "-m", "venv", str(venv)])
    total += timed(f"pip install {TORCH} (CPU index)", [*pip, TORCH, "--extra-index-url", CPU_INDEX])
    total += timed("pip install the wheel", [*pip, str(wheel)])
    print(f"  {'total':<44} {total:7.1f} s")
    listed = subprocess.run([*pip[:-2], "list", "--format", "json"], capture_output=True, text=True, check=True)
    names = [p["name"].lower() for p in json.loads(listed.stdout)]
    cuda = [n for n in names if n.startswith(("nvidia", "triton", "cuda"))]
    print(f"  {len(names)} packages, NVIDIA/CUDA ones: {', '.join(cuda) or 'none'}")

    print("first calls from the venv (fresh home, bytecode caching on):")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["SWITCHBOARD_HOME"] = str(work / "home")
    sb = str(venv / "bin" / "sb")
    for label, command in (
        ("sb --help", [sb, "--help"]),
        ("sb mail send", [sb, "mail", "send", "--to", "bob", "--type", "status_report", "--payload", "hello"]),
        ("sb mail check --json", [sb, "mail", "check", "--agent", "bob", "--json"]),
    ):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
            times.append((time.perf_counter() - start) * 1000)
        print(f"  {label:<24} first {times[0]:6.0f} ms, then {min(times[1:]):5.0f} ms")
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)], check=True)


if __name__ == "__main__":
    main()
