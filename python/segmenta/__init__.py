"""segmenta: customer segmentation in the notebook.

The engine of the ``segmenta`` command as a Python package: scikit-learn-style
estimators (KMeans, KPrototypes, KModes, ECOD, PCA, MCA, FAMD, TSNE,
PowerTransformer, SentenceEncoder), metrics, the knee locator, and the whole
pipeline from a DataFrame (``segment``). See docs/PYTHON.md.
"""

from . import _core
from ._base import NotFittedError
from .cluster import KMeans, KModes, KPrototypes, LatentClassModel
from .decomposition import FAMD, MCA, PCA, TSNE, trustworthiness
from .embed import SentenceEncoder
from .knee import KneeLocator
from .metrics import (adjusted_mutual_info_score, adjusted_rand_score, calinski_harabasz_score,
                      davies_bouldin_score, distortion_score, silhouette_samples, silhouette_samples_many,
                      silhouette_score)
from .outliers import ECOD
from .pipeline import Model, SegmentationResult, load, run_parameters, segment
from .preprocessing import PowerTransformer

__version__ = _core.__version__


def set_num_threads(n):
    """Worker threads of the engine (0 = SEGMENTA_THREADS, else all cores; a negative
    number is a ValueError, not "all cores"). Results do not depend on it."""
    _core.set_num_threads(int(n))


def num_threads():
    return _core.num_threads()


__all__ = [
    "KMeans", "KPrototypes", "KModes", "LatentClassModel", "ECOD", "PCA", "MCA", "FAMD", "TSNE", "PowerTransformer",
    "SentenceEncoder", "KneeLocator", "silhouette_score", "silhouette_samples", "silhouette_samples_many",
    "calinski_harabasz_score", "davies_bouldin_score", "distortion_score", "adjusted_rand_score",
    "adjusted_mutual_info_score", "trustworthiness", "segment", "SegmentationResult", "Model", "load",
    "run_parameters", "set_num_threads", "num_threads", "NotFittedError", "__version__",
]
