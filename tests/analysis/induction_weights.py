"""A two-layer decoder built by hand: layer 1 head 1 a previous-token head, layer 2 head 1
an induction head that keys on its output (K-composition), every other part silent.

The residual stream has three slots: the token (one-hot, V dims), the position (one-hot,
l_max dims) and "the token before" (V dims, written by the previous-token head)."""

from __future__ import annotations

import torch

from explorer.core import ModelConfig, build_model

V, L_MAX = 8, 16
TOK, POS, PREV = 0, V, V + L_MAX  # where each slot starts
D_E = 2 * V + L_MAX  # 32, two heads of 16
SHARP = 6.0


def induction_model():
    cfg = ModelConfig(arch="decoder", vocab_size=V, l_max=L_MAX, d_e=D_E, n_heads=2,
                      n_layers=2, d_mlp=8)
    model = build_model(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for module in model.modules():  # the norms' γ back to 1
            if hasattr(module, "gamma"):
                module.gamma.fill_(1.0)
        model.stack.embed.token.W_e.weight[:, TOK:TOK + V] = torch.eye(V)
        model.stack.embed.position.W_p.weight[:, POS:POS + L_MAX] = torch.eye(L_MAX)
        d = cfg.d_attn
        first, second = model.stack.blocks[0].attn, model.stack.blocks[1].attn
        # layer 1, head 1: the query of position t meets the key of position t - 1
        for t in range(1, L_MAX):
            first.W_q.weight[t, POS + t] = SHARP
            first.W_k.weight[t, POS + t - 1] = SHARP
        # ... and writes that position's token into the PREV slot
        first.W_v.weight[:V, TOK:TOK + V] = torch.eye(V)
        first.W_o.weight[PREV:PREV + V, :V] = torch.eye(V)
        # layer 2, head 1: the query's token meets the key's PREV slot, copies the token
        second.W_q.weight[:V, TOK:TOK + V] = SHARP * torch.eye(V)
        second.W_k.weight[:V, PREV:PREV + V] = SHARP * torch.eye(V)
        second.W_v.weight[:V, TOK:TOK + V] = torch.eye(V)
        second.W_o.weight[TOK:TOK + V, :V] = torch.eye(V)
        model.unembed.W_u.weight[:, TOK:TOK + V] = torch.eye(V)
        assert d >= V
    return model
