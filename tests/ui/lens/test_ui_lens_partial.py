"""The lens grid of a text longer than its view: after a keystroke the cells in view are
computed and painted first, the rest follows in the whole job, and the final grid equals
the lens computed in one go. (Only for a lens big enough to take a while: here the
threshold is lowered for the bundled decoder.)"""

from __future__ import annotations

import torch

from explorer.analysis import logit_lens
from tests.ui.lens.test_ui_lens import lens_tab, model_ids, settle

LONG = "the king sings and the queen follows the sad witch . " * 4


def in_view(v) -> range:
    """The columns of the grid the scroll area shows now."""
    cell = v.grid.cell_rect(0, 0).width()
    x = v.grid_area.horizontalScrollBar().value()
    width = v.grid_area.viewport().width() - v.grid.header_width()
    n = v.grid.lens.ids.numel()
    return range(min(x // cell, n), min((x + width - 1) // cell + 1, n))


def test_the_cells_in_view_come_first(open_window, qtbot, monkeypatch):
    from explorer.ui.lens import panel

    monkeypatch.setattr(panel, "VIEW_FIRST_MACS", 0)  # as for a GPT-2-sized lens
    window = open_window(arch="decoder", text=LONG)
    window.app_qtbot = qtbot
    window.resize(900, 700)
    tab = lens_tab(window)
    v = tab.view
    bar = v.grid_area.horizontalScrollBar()
    assert bar.maximum() > 0  # the grid is wider than its view
    seen, everything = [], []

    def delivered(job) -> None:  # after the tab took the job (connected after it)
        if isinstance(job, BaseException):
            return
        everything.append(job)
        if job.generation != tab._generation:
            return
        v.grid.repaint()  # paints what it holds now
        seen.append((job.generation, job.partial, job.lens, v.grid.lens is job.lens,
                     list(in_view(v))))

    tab._runner.finished.connect(delivered)
    box = window.inputs.text
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    qtbot.keyClicks(box, " the")
    settle(window, tab)
    ids = model_ids(window)
    # no job of the whole text before the cells in view (the keystroke's trace)
    assert next(job for job in everything if list(job.ids) == ids).partial
    generation = seen[-1][0]
    last = [entry[1:] for entry in seen if entry[0] == generation]
    assert [partial for partial, *_ in last] == [True, False]  # the view first, then all
    (_, first, painted, columns), (_, final, _, _) = last
    assert first.ids.tolist() == ids
    assert painted and not first.complete  # the grid painted the partial lens
    assert columns and ids and columns[-1] == len(ids) - 1  # scrolled to the last token
    assert bool(first.computed[columns].all())  # every cell in view is computed
    assert int(first.computed.sum()) < len(ids)
    expected = logit_lens(window.session.model, ids)
    assert torch.equal(first.top_ids[:, columns], expected.top_ids[:, columns])
    assert final.complete and v.grid.lens is final  # then the whole lens, as in one go
    assert torch.equal(final.top_ids, expected.top_ids)
    assert torch.allclose(final.top_probs, expected.top_probs, atol=1e-6)
    assert not bar.value() < bar.maximum() - bar.pageStep()  # still at the text's end
