"""Which packages the distribution holds (the rest of the build is in pyproject.toml).

Every folder under ``explorer/`` with an ``__init__.py`` is found, so a new one cannot be
forgotten; ``explorer.resources`` is added as it lives at the top level (``resources/``,
mapped by pyproject's ``[tool.setuptools.package-dir]``), where
``[tool.setuptools.packages.find]`` cannot see it.
"""

from setuptools import find_packages, setup

RESOURCES = "explorer.resources"


def packages() -> list[str]:
    """``explorer`` and every package below it, and the top-level resources."""
    found = find_packages(include=["explorer", "explorer.*"],
                          exclude=[RESOURCES, RESOURCES + ".*"])
    return sorted([*found, RESOURCES])


if __name__ == "__main__":
    setup(packages=packages())
