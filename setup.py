"""Ships the top-level templates/ and static/ folders inside the wheel, as shima/_assets/.

They stay where they are in the repository (the one source of truth); `pip install .` copies
them into the built package, where shima.settings finds them. Editable installs
(`make setup`) read the top-level folders directly, so nothing is copied for them.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSET_FOLDERS = ("templates", "static")


class build_py_with_assets(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "shima" / "_assets"
        for name in ASSET_FOLDERS:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(here / name, target / name)


setup(cmdclass={"build_py": build_py_with_assets})
