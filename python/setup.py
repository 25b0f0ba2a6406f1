"""Builds the extension segmenta._core with the project's CMake build.

By default a portable release build of the engine (no -march=native; the kernels
pick the CPU's instruction set at run time) in the build directory setuptools
gives. With SEGMENTA_BUILD_DIR set, the extension of that existing CMake build
directory is built (its target only) and packaged instead (a relative path is taken from the repository root), so that a machine which
has built the engine already does not compile it a second time.
"""

import glob
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("SEGMENTA_BUILD_DIR")
        if build_dir:
            build_dir = pathlib.Path(build_dir)
            if not build_dir.is_absolute():  # pip runs this from python/: relative to the repository
                build_dir = ROOT / build_dir
            if not (build_dir / "CMakeCache.txt").exists():
                raise RuntimeError(f"SEGMENTA_BUILD_DIR={build_dir} is not a configured CMake build directory")
        else:
            build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
            args = ["cmake", "-S", str(ROOT), "-B", str(build_dir),
                    "-DCMAKE_BUILD_TYPE=Release", "-DSEGMENTA_NATIVE=OFF",
                    "-DSEGMENTA_BUILD_TESTS=OFF", "-DSEGMENTA_BUILD_BENCH=OFF",
                    f"-DPython3_EXECUTABLE={sys.executable}"]
            if shutil.which("ninja"):
                args += ["-G", "Ninja"]
            subprocess.run(args, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "segmenta_python", "--parallel", jobs],
                       check=True)
        built = glob.glob(str(build_dir / "python" / "segmenta" / "_core*.so"))
        if len(built) != 1:
            raise RuntimeError(f"the extension was not found in {build_dir / 'python' / 'segmenta'}")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(ext_modules=[Extension("segmenta._core", sources=[])], cmdclass={"build_ext": CMakeBuild})
