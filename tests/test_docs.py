"""The documents a newcomer reads: short README, links that lead somewhere."""

import os
import re

import pytest

from conftest import REPOSITORY

DOCUMENTS = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "docs/design.md", "docs/benchmarks.md", "docs/cli.md"]


def test_the_readme_is_at_most_15_kb():
    assert os.path.getsize(os.path.join(REPOSITORY, "README.md")) <= 15 * 1024


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_relative_link_leads_to_a_file(document):
    path = os.path.join(REPOSITORY, document)
    with open(path) as file:
        text = file.read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "#")):
            continue
        target = target.split("#")[0]
        assert os.path.exists(os.path.join(os.path.dirname(path), target)), f"{document}: {target}"


def test_contributing_maps_every_module():
    with open(os.path.join(REPOSITORY, "CONTRIBUTING.md")) as file:
        text = file.read()
    for folder, _, names in os.walk(os.path.join(REPOSITORY, "tf_style")):
        for name in names:
            if name.endswith(".py") and name != "__init__.py":
                relative = os.path.relpath(os.path.join(folder, name), REPOSITORY)
                assert relative in text or f"`{name}`" in text, f"CONTRIBUTING.md does not say what {relative} holds"
