"""Lectures: an ordered list of scene files (``explorer.state.scene``) to walk through.
Qt-free. A lecture file lists scene files, relative to itself::

    {"version": 1, "title": "Attention, step by step", "scenes": ["01.json", "02.json"]}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

LECTURE_VERSION = 1

@dataclass
class Lecture:
    """An ordered list of scene files to walk through; ``index`` is the current one."""

    scenes: list[Path]
    title: str = ""
    index: int = 0

    @property
    def current(self) -> Path:
        return self.scenes[self.index]

    def next(self) -> Path | None:
        """Move on and return the next scene file; None (staying put) at the end."""
        if self.index + 1 >= len(self.scenes):
            return None
        self.index += 1
        return self.current

    def previous(self) -> Path | None:
        if self.index == 0:
            return None
        self.index -= 1
        return self.current

    def position(self) -> str:
        return f"scene {self.index + 1} / {len(self.scenes)}"


def save_lecture(lecture: Lecture, path: str | os.PathLike) -> None:
    folder = Path(path).resolve().parent
    names = []
    for scene in lecture.scenes:
        try:
            names.append(str(Path(scene).resolve().relative_to(folder)))
        except ValueError:
            names.append(str(Path(scene).resolve()))
    data = {"version": LECTURE_VERSION, "title": lecture.title, "scenes": names}
    try:
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot write the lecture ({exc.strerror})") from None


def load_lecture(path: str | os.PathLike) -> Lecture:
    """Read a lecture; ValueError naming the file (bad JSON, version, no scenes, a scene
    file that is not there)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the lecture ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or "scenes" not in data or "version" not in data:
        raise ValueError(f"{path}: a lecture is an object with 'version' and 'scenes'")
    if data["version"] != LECTURE_VERSION:
        raise ValueError(f"{path}: lecture version {data['version']!r} is not supported "
                         f"(this program reads version {LECTURE_VERSION})")
    names = data["scenes"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path}: 'scenes' must be a non-empty list of scene file names")
    folder = Path(path).parent
    scenes = [Path(n) if Path(n).is_absolute() else folder / n for n in names]
    gone = [str(s) for s in scenes if not s.is_file()]
    if gone:
        raise ValueError(f"{path}: scene file{'s' if len(gone) > 1 else ''} not found: "
                         f"{', '.join(gone)}")
    return Lecture(scenes, str(data.get("title", "")))
