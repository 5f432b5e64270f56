"""``bench forward --configs``: the Llama-style model of SmolLM-135M's shape."""

from __future__ import annotations

import argparse

import pytest
import torch

from explorer.bench import forward
from explorer.core import build_model


def test_smollm_shaped_config_has_smollm_135m_parameter_count():
    cfg = forward.CONFIGS["smollm-135m-shaped"]
    with torch.device("meta"):
        assert build_model(cfg).num_parameters() == 134_515_008  # SmolLM-135M's count
    assert cfg.n_kv_heads == 3 and cfg.positions == "rotary" and cfg.activation == "swiglu"


def test_unknown_config_is_named():
    parser = argparse.ArgumentParser()
    forward.add_arguments(parser)
    with pytest.raises(ValueError, match="unknown --configs 'tiny'"):
        forward.run(parser.parse_args(["--configs", "tiny"]))
