"""The ``variant`` fixture: one small random model per architecture and norm variant."""

from __future__ import annotations

import pytest
from analysis_models import VARIANTS, make_model


@pytest.fixture(params=sorted(VARIANTS))
def variant(request):
    arch, changes = VARIANTS[request.param]
    return request.param, make_model(arch, **changes)
