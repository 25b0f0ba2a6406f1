#!/usr/bin/env bash
# Installs the Python package offline with pip into a fresh directory, packaging the
# extension of this build (SEGMENTA_BUILD_DIR), then imports it from there alone.
#   pip_install_test.sh PYTHON SOURCE_DIR BUILD_DIR
set -euo pipefail
python=$1 source=$2 build=$3
target=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$target" "$work"' EXIT
# pip builds in the source tree; a copy of the package's sources keeps the checkout
# clean (and leaves out what earlier builds left in python/build).
mkdir "$work/python"
cp -r "$source/python/pyproject.toml" "$source/python/setup.py" "$source/python/README.md" \
  "$source/python/segmenta" "$work/python/"
SEGMENTA_BUILD_DIR="$build" "$python" -m pip install --quiet --no-build-isolation --no-index --no-deps \
  --target "$target" "$work/python"
cd "$work"
version=$(PYTHONPATH="$target" PYTHONDONTWRITEBYTECODE=1 "$python" -c "import segmenta; print(segmenta.__version__)")
where=$(PYTHONPATH="$target" PYTHONDONTWRITEBYTECODE=1 "$python" -c "import segmenta; print(segmenta.__file__)")
echo "installed segmenta $version at $where"
[[ "$version" == "$(sed -n 's/^version = "\(.*\)"/\1/p' "$source/python/pyproject.toml")" ]]
[[ "$where" == "$target/segmenta/__init__.py" ]]
PYTHONPATH="$target" "$python" -c "
import numpy as np, segmenta
X = np.vstack([np.zeros((5, 2)), np.ones((5, 2)) * 10])
labels = segmenta.KMeans(n_clusters=2, random_state=0).fit_predict(X)
assert len(set(labels[:5])) == 1 and len(set(labels[5:])) == 1 and labels[0] != labels[5]
"
