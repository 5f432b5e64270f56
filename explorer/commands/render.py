"""``transformer-explorer render``: one view of the window as a PNG or SVG, with no window.

The view widgets are the window's own (the step heatmap, the attention pattern, the head
grid, the attention lines, the output distribution), filled from an ``explorer.state``
session the same way, and exported with ``explorer.ui.lecture.export``: the same pixels as the
window's File ▸ Export view… for a view of the same size. ``--scene FILE`` renders a saved
scene (its model, text, step, head and view); the other options then override it. Every
view a tab of the window declares for scenes is drawn here: a training run's ``train``
curves and ``timelapse`` frame too, from the run folder in the scene's ``view_options.run``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from explorer.commands.counting import HELP_NOTE, counted_from_1

HELP = "Render one view of the window, or a saved scene, to PNG or SVG without a window."
VIEWS = ("step", "attention", "heads", "lines", "output", "circuit", "train",
         "timelapse", "architectures")  # render_views.RENDER_VIEWS
DEFAULT_SIZE = "1200x800"
WIDE_SIZE = "1600x1000"  # the default of the architectures view: three columns and the diff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.epilog = HELP_NOTE
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the picture to write (.png or .svg)")
    p.add_argument("--model", metavar="DIR|NAME",
                   help="a model folder or a bundled model name (default: the window's "
                        "default model of --arch)")
    p.add_argument("--arch", choices=("decoder", "encoder", "encoder-decoder"),
                   help="architecture of the default model (default decoder)")
    p.add_argument("--seed", type=int, help="seed of a random default model (default 0)")
    p.add_argument("--text", help="the text x (default: the window's default text)")
    p.add_argument("--context", help="the context z of an encoder-decoder")
    p.add_argument("--chunk", type=int, help="which ℓ_max-sized chunk of a long text (0-based)")
    p.add_argument("--step", metavar="NAME",
                   help="the step to show, e.g. blocks.0.attn.pattern (view 'step'); for "
                        "the view 'architectures' the line every column shows: ids, embed, "
                        "self_attn, cross_attn, mlp, final_norm, output, …")
    p.add_argument("--view", choices=VIEWS,
                   help="step (heatmap), attention (one head's pattern), heads (all heads), "
                        "lines (token-to-token lines), output (next-token distribution); "
                        "train (loss curves) and timelapse (a snapshot's frame) of the run "
                        "a --scene names in view_options.run; architectures (the decoder, "
                        "encoder and encoder-decoder side by side, with the pseudocode diff)")
    p.add_argument("--layer", type=int, help="layer, counted from 1 (attention views)")
    p.add_argument("--head", type=int, help="head, counted from 1")
    p.add_argument("--cross", action="store_true",
                   help="the decoder's cross-attention (encoder-decoder, attention views)")
    p.add_argument("--format", choices=("png", "svg"),
                   help="picture format (default: from the extension of -o)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="PNG pixels per screen pixel, e.g. 2 for slides (default 1)")
    p.add_argument("--size", metavar="WxH",
                   help=f"size of the view in screen pixels (default {DEFAULT_SIZE}; "
                        f"{WIDE_SIZE} for architectures)")
    p.add_argument("--no-caption", action="store_true",
                   help="leave out the band with title, shape, formula and tokens")
    p.add_argument("--scene", metavar="FILE", help="render a saved scene (.json)")


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size {text!r}: write it as WIDTHxHEIGHT, e.g. 1200x800") from None
    if not (100 <= w <= 8000 and 100 <= h <= 8000):
        raise ValueError(f"--size {text!r}: width and height must be 100 to 8000 pixels")
    return w, h


def _scene_from_args(args: argparse.Namespace):
    from explorer.state import DEFAULT_CONTEXT, DEFAULT_TEXT
    from explorer.state.scene import Scene, load_scene

    if args.scene:
        scene = load_scene(args.scene)
    else:
        scene = Scene(arch=args.arch or "decoder", text=DEFAULT_TEXT, context=DEFAULT_CONTEXT)
    changes: dict = {}
    for name in ("arch", "model", "seed", "text", "context", "chunk", "step", "view"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.model is not None:
        changes["model"] = _model_name(args.model)
    if args.layer is not None:
        changes["layer"] = counted_from_1(args.layer, "--layer") - 1
    if args.head is not None:
        changes["head"] = counted_from_1(args.head, "--head") - 1
    if args.step is not None and args.view is None and scene.view != "architectures":
        changes["view"] = "step"
    scene = replace(scene, **changes)
    if scene.view == "architectures" and args.step is not None:  # the line, not a step name
        scene = replace(scene, step=None, view_options={**scene.view_options, "line": args.step})
    scene.validate()
    return scene


def _model_name(value: str) -> str:
    """A bundled name as the state layer knows it, or the folder as given."""
    from explorer.state import bundled_models

    if value in bundled_models():
        return value
    from explorer.commands.model_arg import resolve_model_arg

    return str(resolve_model_arg(value))


def _ensure_app():
    if not os.environ.get("QT_QPA_PLATFORM") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        from explorer.ui.widgets import theme

        app = QApplication(sys.argv[:1])
        theme.apply_theme(app)
    return app


def render_scene(scene, path: str, fmt: str | None = None, scale: float = 1.0,
                 size: tuple[int, int] = (1200, 800), caption: bool = True) -> None:
    """Build the scene's view offscreen and export it (ValueError for bad input)."""
    from explorer.ui.lecture.export import export_image, format_of

    fmt = format_of(path, fmt)
    if fmt not in ("png", "svg"):
        raise ValueError(f"{path}: render writes pictures (.png or .svg), not .{fmt}")
    app = _ensure_app()
    import shiboken6

    from explorer.ui.lecture.view_parts import view_parts
    from explorer.ui.window.render_views import check_renderable

    check_renderable(scene)  # before the model is loaded

    view = build_scene_view(scene)
    try:
        view.resize(*size)
        view.show()
        app.processEvents()
        parts = view_parts(view)
        export_image(parts.target, path, scale, parts.caption if caption else None, fmt)
    finally:
        view.close()
        shiboken6.delete(view)  # the C++ widgets go now, not whenever gc finds them


def build_scene_view(scene):
    """The scene's view widget, filled from a session recorded on this thread."""
    from explorer.state import Session
    from explorer.state.scene import apply_to_session, resolve_model
    from explorer.ui.window.render_views import RUN_VIEWS, build_run_view, build_view

    _ensure_app()
    if scene.view in RUN_VIEWS:  # a training run's view: no model to run
        return build_run_view(scene, scene.text)
    if scene.view == "architectures":  # its own models, side by side
        from explorer.ui.window.render_views import build_architectures_view

        return build_architectures_view(scene)
    session = Session(resolve_model(scene), scene.text, scene.context)
    if not apply_to_session(session, scene):
        names = ", ".join(s.name for s in session.steps[:6])
        raise ValueError(f"this model has no step {scene.step!r} (steps: {names}, …; "
                         "`transformer-explorer inspect` lists them all)")
    return build_view(session, scene)


def run(args: argparse.Namespace) -> int:
    try:
        scene = _scene_from_args(args)
        if args.cross:
            scene.view_options = {**scene.view_options, "cross": True}
        if args.cross and scene.arch != "encoder-decoder":
            raise ValueError("--cross needs an encoder-decoder model (--arch encoder-decoder)")
        size = parse_size(args.size or (WIDE_SIZE if scene.view == "architectures"
                                        else DEFAULT_SIZE))
        if not 0.1 <= args.scale <= 16:
            raise ValueError(f"--scale {args.scale}: choose a scale from 0.1 to 16")
        render_scene(scene, args.output, args.format, args.scale, size, not args.no_caption)
    except (ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"transformer-explorer render: error: {message}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0
