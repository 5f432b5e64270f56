"""The kept walk of a model's modules follows every change of the tree and its weights."""

from __future__ import annotations

import torch
from torch import nn

from explorer.core import build_model
from explorer.core.config import ModelConfig
from explorer.core.walk import modules, weight_tensors
from explorer.trace.record import live_storages, weights_key


def _model():
    return build_model(ModelConfig(arch="decoder", vocab_size=20, l_max=8, d_e=8, n_heads=2,
                                   n_layers=2, d_mlp=16))


def test_the_walk_is_kept_and_equals_named_modules():
    model = _model()
    first = modules(model)
    assert [p for p, _ in first] == [p for p, _ in model.named_modules()]
    model.named_modules = None  # nothing changed: the kept walk is used, not a new one
    assert modules(model) == first
    assert all(a is b for (_, a), (_, b) in zip(modules(model), first))


def test_a_walked_model_is_freed_when_dropped():
    """The kept walks must not keep their models alive: live training hands the views a
    new copy of the weights every few seconds, and each old one has to go."""
    import gc
    import weakref

    from explorer.core.hooks import hook_points

    model = _model()
    modules(model), weight_tensors(model), weights_key(model), hook_points(model)
    dead = weakref.ref(model)
    del model
    gc.collect()
    assert dead() is None


def test_a_replaced_or_added_module_is_seen():
    model = _model()
    modules(model)
    model.stack.blocks[1].mlp = nn.Identity()
    assert [p for p, _ in modules(model)] == [p for p, _ in model.named_modules()]
    model.stack.blocks[0].extra = nn.Linear(2, 2)
    walk = modules(model)
    assert "stack.blocks.0.extra" in [p for p, _ in walk]
    assert any(t is model.stack.blocks[0].extra.weight for t in weight_tensors(model))


def test_weights_key_sees_a_replaced_parameter_and_an_in_place_change():
    model = _model()
    key = weights_key(model)
    assert weights_key(model) == key
    linear = model.stack.blocks[0].attn.W_q
    linear.weight = nn.Parameter(linear.weight.detach().clone())
    replaced = weights_key(model)
    assert replaced != key
    with torch.no_grad():
        linear.weight.add_(1.0)
    assert weights_key(model) != replaced
    assert linear.weight.untyped_storage().data_ptr() in live_storages(model)


def test_weight_tensors_are_the_parameters_and_buffers():
    model = _model()
    expected = {id(t) for t in [*model.parameters(), *model.buffers()]}
    assert {id(t) for t in weight_tensors(model)} == expected
