"""The build hook: builds the Swift product CrossSimC (the C ABI, Sources/CrossSimC/crosssim.h)
with the Swift runtime linked statically and puts libCrossSimC.so inside the package, so that
the wheel needs only libzstd, the BLAS and the C/C++ runtime of the distribution.

CROSSSIM_LIBRARY=path/to/libCrossSimC.so uses a library built already instead of building."""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # the Swift package: python/ lives in its checkout
LIBRARY = "libCrossSimC.so"
SCRATCH = ".build-python"


def built_library() -> Path:
    prebuilt = os.environ.get("CROSSSIM_LIBRARY")
    if prebuilt:
        return Path(prebuilt)
    if not (PACKAGE_ROOT / "Package.swift").exists():
        raise SystemExit(f"crosssim: no Package.swift in {PACKAGE_ROOT}: build from a CrossSim checkout, "
                         "or set CROSSSIM_LIBRARY to a built libCrossSimC.so")
    # -static-stdlib puts the Swift runtime inside the library. It changes how every module is
    # compiled, so the build has its own scratch folder: sharing .build with `swift build -c
    # release` (the CLI, scripts/test.sh) would recompile every module at each switch.
    command = ["swift", "build", "-c", "release", "--product", "CrossSimC", "-Xswiftc", "-static-stdlib",
               "--scratch-path", str(PACKAGE_ROOT / SCRATCH)]
    subprocess.run(command, cwd=PACKAGE_ROOT, check=True)
    binaries = subprocess.run(command + ["--show-bin-path"], cwd=PACKAGE_ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    return Path(binaries) / LIBRARY


class BuildWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "crosssim" / "lib"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built_library(), target / LIBRARY)
        os.chmod(target / LIBRARY, 0o755)


class PlatformWheel(bdist_wheel):
    """The library is native code but does not use Python's C API: py3-none-<platform>."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class NativeDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel}, distclass=NativeDistribution)
