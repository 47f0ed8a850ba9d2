"""What setup.cfg cannot say: saved_models/ installs as the package data tf_style.saved_models.

The shipped styles stay at the top of the repository, and a wheel install carries them.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["tf_style", "tf_style.*"]), "tf_style.saved_models"],
    package_dir={"tf_style.saved_models": "saved_models"},
)
