"""Scenes and lectures: a saved view to reopen identically, and an ordered list of them. Qt-free.

A scene is a small JSON file::

    {"version": 2, "model": null, "arch": "decoder", "seed": 0, "text": "the king sings",
     "context": "", "step": "blocks.0.attn.pattern", "layer": 1, "head": 2, "chunk": 0,
     "view": "step", "view_options": {}, "zoom": 1.0, "theme": "light",
     "interventions": [{"kind": "ablate_head", "layer": 1, "head": 2, "mode": "zero", ...}],
     "interventions_enabled": true}

The file counts layers and heads from 1, as the window does (``"layer": 1`` is the first
layer; so do the ``layer``/``head`` numbers in ``view_options``); the ``Scene`` object
counts from 0, like the rest of the Python API. A file of version 1, or one with no
``version``, was written when files counted from 0: it opens as it always did.

``view`` names what the window shows (``VIEWS``); each tab declares the views it can show
(``explorer.ui.widgets.panel.Panel.scene_views``) and opening a scene with a view the window
or ``render`` cannot show is refused with a message.

``interventions`` (optional) are the session's active list as
``explorer.analysis.interventions_to_list`` writes it, so a lecture replays them.

``model`` is None (the default model of ``arch``, seeded with ``seed`` when random), a
bundled model's name, or a model folder. A lecture lists scene files
(``explorer.state.lecture``).

```python
scene = scene_from_session(session, view="attention")
save_scene(scene, "demo.json"); scene = load_scene("demo.json")
loaded = resolve_model(scene)          # MissingModelError (a ValueError) if the folder is gone
apply_to_session(session, scene)       # text, context, chunk; then record; then select_in_session
```
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from explorer.analysis import AnalysisError, interventions_from_list, interventions_to_list
from explorer.state.defaults import (
    ARCHS,
    DEFAULT_SEED,
    LoadedModel,
    bundled_models,
    default_model,
    load_folder,
    random_model,
)

SCENE_VERSION = 2  # 2: layers and heads count from 1 in the file (1: from 0)
READ_VERSIONS = (1, 2)
VIEWS = ("step", "attention", "heads", "lines", "output", "train", "timelapse", "circuit",
         "architectures")
THEMES = ("light", "dark")
_REQUIRED = ("arch", "text")
_NUMBERED = ("layer", "head")  # 1-based in files of version 2, 0-based in a Scene


class MissingModelError(ValueError):
    """The scene's model folder does not exist; ``path`` is the folder it names."""

    def __init__(self, path: str, scene_file: str | None = None) -> None:
        where = f"{scene_file}: " if scene_file else ""
        super().__init__(f"{where}the scene's model folder {path} does not exist "
                         "(moved or deleted?); pick the folder where it is now")
        self.path = path


@dataclass
class Scene:
    """Everything needed to reopen one view of the window exactly."""

    arch: str = "decoder"
    text: str = ""
    context: str = ""
    compare: str = ""  # the second text B ("compare with"); "" = none
    model: str | None = None  # None: the default model of arch; a bundled name; a folder
    seed: int = DEFAULT_SEED
    step: str | None = None  # a step name, e.g. "blocks.0.attn.pattern"
    layer: int = 0  # 0-based here (1-based in the file), for the attention views
    head: int = 0  # 0-based here (1-based in the file)
    chunk: int = 0
    context_chunk: int = 0
    view: str = "step"
    view_options: dict[str, Any] = field(default_factory=dict)
    zoom: float = 1.0
    theme: str = "light"
    title: str = ""
    interventions: list[dict[str, Any]] = field(default_factory=list)
    interventions_enabled: bool = True
    version: int = SCENE_VERSION

    def validate(self) -> None:
        """ValueError naming the bad field (types and allowed values)."""
        if self.arch not in ARCHS:
            raise ValueError(f"arch {self.arch!r} is not one of {', '.join(ARCHS)}")
        if self.view not in VIEWS:
            raise ValueError(f"view {self.view!r} is not one of {', '.join(VIEWS)}")
        if self.theme not in THEMES:
            raise ValueError(f"theme {self.theme!r} is not one of {', '.join(THEMES)}")
        for name in ("seed", "layer", "head", "chunk", "context_chunk"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0, not {value!r}")
        for name in ("text", "context", "compare", "title"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.model is not None and not isinstance(self.model, str):
            raise ValueError(f"model must be a name, a folder or null, not {self.model!r}")
        if self.step is not None and not isinstance(self.step, str):
            raise ValueError(f"step must be a step name or null, not {self.step!r}")
        if not isinstance(self.zoom, (int, float)) or not 0.25 <= float(self.zoom) <= 8:
            raise ValueError(f"zoom must be a number from 0.25 to 8, not {self.zoom!r}")
        if not isinstance(self.view_options, dict):
            raise ValueError("view_options must be an object")
        if not isinstance(self.interventions_enabled, bool):
            raise ValueError("interventions_enabled must be true or false")
        try:
            interventions_from_list(self.interventions)
        except AnalysisError as exc:
            raise ValueError(f"interventions: {exc}") from None

    def to_json(self) -> str:
        """The file's JSON: the current version, layers and heads counted from 1."""
        data = asdict(self)
        data["version"] = SCENE_VERSION
        _shift_numbers(data, +1)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Scene:
        """Parse and check a scene; ValueError says what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise ValueError("a scene must be a JSON object")
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise ValueError(f"missing field{'s' if len(missing) > 1 else ''}: "
                             f"{', '.join(missing)}")
        version = data.get("version", 1)  # no version: written before files had one
        if version not in READ_VERSIONS or isinstance(version, bool):
            raise ValueError(f"scene version {version!r} is not supported "
                             f"(this program reads versions "
                             f"{', '.join(map(str, READ_VERSIONS))})")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown field{'s' if len(unknown) > 1 else ''}: "
                             f"{', '.join(unknown)}")
        if version >= 2:
            _check_numbers(data)
            if isinstance(data.get("view_options"), dict):  # shifted in a copy
                data = {**data, "view_options": dict(data["view_options"])}
            _shift_numbers(data, -1)
        scene = cls(**{**data, "version": SCENE_VERSION})
        scene.zoom = float(scene.zoom) if isinstance(scene.zoom, int) else scene.zoom
        scene.validate()
        return scene


def _numbers(data: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(where, key) of each layer and head number: the scene's own and its view options'."""
    places = [(data, key) for key in _NUMBERED if key in data]
    options = data.get("view_options")
    if isinstance(options, dict):
        places += [(options, key) for key in _NUMBERED if key in options]
    return places


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_numbers(data: dict[str, Any]) -> None:
    for where, key in _numbers(data):
        value = where[key]
        if (_is_int(value) and value < 1) or (where is data and not _is_int(value)):
            prefix = "view_options." if where is not data else ""
            raise ValueError(f"{prefix}{key} must be a whole number ≥ 1 (scene files count "
                             f"layers and heads from 1), not {value!r}")


def _shift_numbers(data: dict[str, Any], by: int) -> None:
    """Count ``data``'s layers and heads from 1 (``by`` +1) or back from 0 (-1), in place
    (``data["view_options"]`` is changed in place too: pass a copy)."""
    for where, key in _numbers(data):
        if _is_int(where[key]):
            where[key] += by


def save_scene(scene: Scene, path: str | os.PathLike) -> None:
    """Write ``scene`` as JSON (ValueError naming the file if it cannot be written)."""
    scene.validate()
    try:
        Path(path).write_text(scene.to_json(), encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot write the scene ({exc.strerror})") from None


def load_scene(path: str | os.PathLike) -> Scene:
    """Read a scene; ValueError naming the file for a missing file, bad JSON or bad fields."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the scene ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file") from None
    try:
        scene = Scene.from_json(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if scene.model is not None and _is_relative_folder(scene.model):
        local = Path(path).parent / scene.model
        if local.is_dir():
            scene.model = str(local)
    return scene


def bundled_scenes() -> dict[str, Path]:
    """title -> file of each scene that comes with the program (resources/scenes)."""
    from importlib.resources import files

    try:
        root = Path(str(files("explorer.resources") / "scenes"))
    except ModuleNotFoundError:
        return {}
    found = {}
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            found[load_scene(path).title or path.stem] = path
        except ValueError:
            continue  # a damaged file is not offered
    return found


def _is_relative_folder(model: str) -> bool:
    return model not in bundled_models() and not Path(model).is_absolute()


# -- models -------------------------------------------------------------------------------
_SEED_RE = re.compile(r"seed (\d+)")


def model_reference(loaded: LoadedModel) -> tuple[str | None, int]:
    """(scene ``model``, ``seed``) naming ``loaded``: None for a random model, a bundled
    model's name, or a folder."""
    if loaded.source == "bundled" and loaded.path is not None:
        return loaded.path.name, DEFAULT_SEED
    if loaded.path is not None:
        return str(loaded.path), DEFAULT_SEED
    match = _SEED_RE.search(loaded.label)
    return None, int(match.group(1)) if match else DEFAULT_SEED


def model_missing(scene: Scene) -> bool:
    """True when the scene names a folder that is not there (and no bundled model)."""
    model = scene.model
    return model is not None and model not in bundled_models() and not Path(model).is_dir()


def resolve_model(scene: Scene, scene_file: str | None = None) -> LoadedModel:
    """The model the scene names (MissingModelError if its folder is gone)."""
    model = scene.model
    if model is None:
        if scene.seed != DEFAULT_SEED:
            return random_model(scene.arch, scene.seed)
        return default_model(scene.arch, scene.seed)
    bundled = bundled_models()
    if model in bundled:
        return load_folder(bundled[model], source="bundled")
    if not Path(model).is_dir():
        raise MissingModelError(model, scene_file)
    return load_folder(model)


# -- sessions -----------------------------------------------------------------------------
def scene_from_session(session: Any, **extra: Any) -> Scene:
    """The scene of ``session`` (an ``explorer.state.Session``); ``extra`` sets the view
    fields (view, view_options, zoom, theme, title, layer)."""
    model, seed = model_reference(session.loaded)
    step = session.step
    layer = step.layer if step is not None and step.layer is not None else 0
    scene = Scene(arch=session.arch, text=session.text, context=session.context or "",
                  compare=session.compare.text, model=model, seed=seed,
                  step=step.name if step is not None else None,
                  layer=layer, head=int(session.head), chunk=int(session.chunk),
                  context_chunk=int(session.context_chunk),
                  interventions=interventions_to_list(session.interventions),
                  interventions_enabled=bool(session.interventions_enabled))
    return replace(scene, **extra)


def apply_inputs(session: Any, scene: Scene) -> None:
    """Put the scene's text, context, chunks and interventions into ``session`` (a new
    trace is due)."""
    session.set_text(scene.text)
    session.set_context(scene.context)
    session.set_chunk(scene.chunk)
    session.set_chunk(scene.context_chunk, True)
    session.compare.set_text(scene.compare)
    session.set_interventions(interventions_from_list(scene.interventions),
                              scene.interventions_enabled)


def select_in_session(session: Any, scene: Scene) -> bool:
    """Select the scene's step and head in a recorded ``session``; False if the step is
    not in this model's trace (the selection then stays where it was)."""
    session.select_head(scene.head)
    if scene.step is None:
        return True
    return bool(session.select_name(scene.step))


def apply_to_session(session: Any, scene: Scene) -> bool:
    """Inputs, a trace recorded on this thread, then the selection (notebooks, commands)."""
    apply_inputs(session, scene)
    if not session.record_now():
        raise ValueError(session.message or "the model could not run on the scene's text")
    if session.compare.active and not session.compare.record_now() and session.compare.error:
        raise ValueError(session.compare.error)
    return select_in_session(session, scene)


def attention_prefix(session: Any, scene: Scene) -> str:
    """The attention site (e.g. ``blocks.1.attn``) that the scene's attention views
    (attention, heads, lines) show, in the window and in ``render`` alike: its
    ``view_options["prefix"]``, else layer ``scene.layer``'s self-attention (cross-attention
    with ``view_options["cross"]``) of stack ``view_options["stack"]`` (an encoder-decoder's
    decoder by default). ValueError naming the layers and heads there are."""
    from explorer.state.attention_data import attention_sites

    sites = attention_sites(session.trace)
    options = scene.view_options
    if options.get("prefix"):
        wanted = [s for s in sites if s.prefix == options["prefix"]]
        if not wanted:
            raise ValueError(f"this model has no attention {options['prefix']!r}")
    else:
        cross = bool(options.get("cross", False))
        stack = options.get("stack", "decoder" if scene.arch == "encoder-decoder" else None)
        wanted = [s for s in sites if s.layer == scene.layer and s.cross == cross
                  and (stack is None or s.stack == stack)]
        if not wanted:
            n = len({s.layer for s in sites})
            raise ValueError(f"no {'cross-' if cross else ''}attention in layer "
                             f"{scene.layer + 1}: this model has {n} layer{'s' if n != 1 else ''}")
    if not 0 <= scene.head < session.n_heads:
        raise ValueError(f"head {scene.head + 1} does not exist: this model has heads 1 to "
                         f"{session.n_heads}")
    return wanted[0].prefix
