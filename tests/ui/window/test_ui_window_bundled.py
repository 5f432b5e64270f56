"""The window's start: a bundled model that fails to load is shown as a problem."""

from __future__ import annotations

from explorer.core import save_model
from explorer.state import default_tokenizer, random_model
from explorer.state import defaults as defaults_module


def test_the_window_shows_that_the_bundled_model_failed_to_load(open_window, tmp_path,
                                                                 monkeypatch):
    folder = tmp_path / "models" / "default-decoder"
    save_model(random_model("decoder", seed=3).model, folder)
    default_tokenizer().save(str(folder / "tokenizer.json"))
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    monkeypatch.setattr(defaults_module, "bundled_models_dir", lambda: tmp_path / "models")
    window = open_window()
    assert window.banner.isVisible()
    assert "bundled decoder model could not be loaded" in window.banner.text()
    assert "failed to load" in window.toolbars.model_label.property("full_text")
    window.close()
