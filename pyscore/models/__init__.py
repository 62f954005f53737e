"""This package contains the model detectors: training, import through Treelite, compiled forests, model files.

The engine needs only::

    from pyscore.models import load_compiled
    forests = load_compiled(DIR, schema_hash=REGISTRY.schema_hash())  # refuses other signals
    proba = forests[0].predict(X)              # float32 (n, F) -> float64 (n, n_outputs)
    top = forests[0].contributions(X, top_k=5)  # features, values, bias per row
    forests[0].thresholds, forests[0].outputs, forests[0].category, forests[0].schema_hash

Training (``train``), import (``importer``) and model files (``modelfile``)
import scikit-learn, LightGBM, XGBoost and Treelite lazily, only when used.
"""

from pyscore.models.forest import CompiledForest, Contributions, ForestArrays
from pyscore.models.modelfile import (
    Detector,
    Model,
    compile_model,
    load_compiled,
    load_model,
    save_compiled,
    save_model,
)

__all__ = [
    "CompiledForest", "Contributions", "Detector", "ForestArrays", "Model", "compile_model",
    "load_compiled", "load_model", "save_compiled", "save_model",
]  # fmt: skip
