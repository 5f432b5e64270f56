"""Export writes valid PNG (size × scale), SVG, CSV (labels and values), NPY and curves."""

from __future__ import annotations

import csv
import os
import xml.etree.ElementTree as ET

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget  # noqa: E402

from explorer.ui.lecture.export import (  # noqa: E402
    caption_height,
    export_csv,
    export_curves_csv,
    export_npy,
    export_png,
    export_svg,
    export_table,
    render_image,
)
from explorer.ui.widgets.export_parts import Caption, Table, curve_series  # noqa: E402


@pytest.fixture
def widget(qtbot):
    w = QWidget()
    layout = QVBoxLayout(w)
    label = QLabel("attention")
    label.setStyleSheet("background: rgb(200, 30, 30); color: white;")
    layout.addWidget(label)
    plot = pg.PlotWidget()
    plot.plot([0, 1, 2], [3, 1, 2], name="loss")
    layout.addWidget(plot)
    w.resize(320, 240)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_png_is_widget_size_times_scale(widget, tmp_path, scale):
    path = tmp_path / "v.png"
    export_png(widget, path, scale)
    image = QImage(str(path))
    assert not image.isNull()
    assert (image.width(), image.height()) == (320 * scale, 240 * scale)
    # the red label is drawn (not a blank picture)
    reds = [image.pixelColor(x, int(8 * scale)).red() for x in range(0, image.width(), 7)]
    assert max(reds) > 150


def test_caption_band_is_added_under_the_picture(widget, tmp_path):
    caption = Caption("Layer 1 · head 2", "ℓ × ℓ", "A ← softmax(S)", "a b c")
    band = caption_height(caption, 640, 2.0)
    assert band > 0
    image = export_png(widget, tmp_path / "c.png", 2.0, caption)
    assert (image.width(), image.height()) == (640, 480 + band)
    assert render_image(widget, 1.0, None).height() == 240


def test_svg_parses_and_holds_the_caption(widget, tmp_path):
    path = tmp_path / "v.svg"
    export_svg(widget, path, Caption("Layer 1 · head 2", "ℓ × ℓ", "A ← softmax(S)"))
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert "Layer 1 · head 2" in path.read_text(encoding="utf-8")


def test_plot_item_exports_as_a_picture(widget, tmp_path):
    plot = widget.findChild(pg.PlotWidget).getPlotItem()
    image = export_png(plot, tmp_path / "p.png", 2.0)
    rect = plot.boundingRect()
    assert abs(image.width() - 2 * rect.width()) <= 2


def test_csv_has_labels_and_values(tmp_path):
    values = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    values[0, 0] = -np.inf
    path = tmp_path / "t.csv"
    export_csv(Table(values, None, ["a", "b", "a"], "d_e", "l"), path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["d_e \\ l", "1:a", "2:b", "3:a"]
    assert [r[0] for r in rows[1:]] == ["d_e 1", "d_e 2"]
    read = np.array([[float(v) for v in r[1:]] for r in rows[1:]], dtype=np.float32)
    assert np.array_equal(read, values)
    with pytest.raises(ValueError, match="use .npy"):
        export_csv(Table(np.zeros((2, 2, 2))), tmp_path / "x.csv")


def test_npy_equals_the_tensor(tmp_path):
    values = np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32)
    path = tmp_path / "t.npy"
    export_npy(values, path)
    assert np.array_equal(np.load(path), values)
    export_table(Table(values[0]), tmp_path / "u.npy")
    assert np.array_equal(np.load(tmp_path / "u.npy"), values[0])
    with pytest.raises(ValueError, match="cannot tell the format"):
        export_table(Table(values[0]), tmp_path / "u.txt")


def test_loss_curves_to_csv(widget, tmp_path):
    series = curve_series(widget.findChild(pg.PlotWidget))
    assert list(series) == ["loss"]
    path = tmp_path / "loss.csv"
    export_curves_csv(series, path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows == [["series", "step", "value"], ["loss", "0", "3"], ["loss", "1", "1"],
                    ["loss", "2", "2"]]


def test_hover_read_outs_are_left_out_of_pictures(widget):
    from explorer.ui.lecture.export import EXPORT_HIDDEN, render_image

    label = widget.findChild(QLabel)
    plain = render_image(widget)
    label.setProperty(EXPORT_HIDDEN, True)
    without = render_image(widget)
    assert label.isVisible()  # shown again in the window
    def has_red(image: QImage) -> bool:  # the label's red background
        rect = label.geometry()
        pixels = (image.pixelColor(x, y) for x in range(rect.left(), rect.right(), 4)
                  for y in range(rect.top(), rect.bottom()))
        return any(c.red() > 150 and c.green() < 90 for c in pixels)

    assert has_red(plain) and not has_red(without)
    assert without.size() == plain.size()  # nothing else moved
