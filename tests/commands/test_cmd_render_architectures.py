"""render --view architectures (issue 30 §5): the three columns at one line, with the
pseudocode diff, as a wide PNG or SVG."""

from __future__ import annotations

import argparse
import os
import xml.etree.ElementTree as ET

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QImage  # noqa: E402

from explorer.commands import render  # noqa: E402


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    render.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_render_architectures_writes_a_wide_png_and_an_svg(qtbot, tmp_path, capsys):
    png, svg = tmp_path / "slide.png", tmp_path / "slide.svg"
    text = "the wise girl follows the sad witch ."
    assert render.run(_args("--view", "architectures", "--text", text, "--step", "cross_attn",
                            "-o", str(png))) == 0
    image = QImage(str(png))
    assert image.width() >= 1200 and image.height() >= 700
    assert render.run(_args("--view", "architectures", "--text", text, "-o", str(svg))) == 0
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    words = " ".join(t for t in root.itertext())
    assert "Algorithm 10" in words and "Algorithm 9" in words and "Algorithm 8" in words
    assert "no such line" in words  # the diff's rows an algorithm does not have


def test_a_line_render_does_not_know_is_a_one_line_error(tmp_path, capsys):
    code = render.run(_args("--view", "architectures", "--step", "attention please",
                            "-o", str(tmp_path / "x.png")))
    err = capsys.readouterr().err
    assert code == 2 and "no line 'attention please'" in err and "cross_attn" in err
    assert "Traceback" not in err
