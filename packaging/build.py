"""Build the one-folder desktop bundle: dist/transformer-explorer/ (and a .app on macOS).

Usage (from the repository root, in the environment whose packages go into the bundle)::

    python -m pip install pyinstaller
    python packaging/build.py                 # CPU-only torch required (the default, small)
    python packaging/build.py --cuda          # accept a CUDA torch (bundle of several GB)
    python packaging/build.py --no-trim       # keep everything the hooks collect (for comparison)

Prints the build time and the bundle's size when done.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "packaging" / "transformer-explorer.spec"
NAME = "transformer-explorer"


def folder_size(path: Path) -> int:
    """Bytes in all regular files under ``path`` (symbolic links not followed)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def executable(dist: Path) -> Path:
    """The bundle's launcher inside ``dist``."""
    suffix = ".exe" if sys.platform == "win32" else ""
    return dist / NAME / f"{NAME}{suffix}"


def build(dist: Path, work: Path, *, cuda: bool = False, trim: bool = True) -> Path:
    """Run PyInstaller on the spec; return the launcher's path. Raises on failure."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit(
            "PyInstaller is not installed: python -m pip install pyinstaller"
        ) from None
    env = dict(os.environ)
    env["TRANSFORMER_EXPLORER_CUDA"] = "1" if cuda else "0"
    env["TRANSFORMER_EXPLORER_NO_TRIM"] = "0" if trim else "1"
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(SPEC),
    ]
    print("+ " + " ".join(command), flush=True)
    subprocess.run(command, env=env, cwd=REPO, check=True)
    return executable(dist)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuda", action="store_true", help="allow a CUDA build of torch")
    parser.add_argument(
        "--no-trim", action="store_true", help="skip the spec's exclusions (to measure them)"
    )
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="output folder")
    parser.add_argument(
        "--work", type=Path, default=REPO / "build" / "pyinstaller", help="build cache folder"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        launcher = build(args.dist, args.work, cuda=args.cuda, trim=not args.no_trim)
    except subprocess.CalledProcessError as error:
        print(f"PyInstaller failed (exit status {error.returncode})", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    if not launcher.is_file():
        print(f"PyInstaller finished but {launcher} is missing", file=sys.stderr)
        return 1
    size = folder_size(launcher.parent)
    print(f"bundle: {launcher.parent}")
    print(f"build time: {seconds:.0f} s; bundle size: {size / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
