"""Classical baselines built from scikit-learn: Isolation Forest, gradient boosting, and GBDT-OD.

Not in the R2-AD2 paper's tables (the report marks them with a dagger); they are here because a
strong tabular baseline is the first question a reader asks. Every method flattens images to
(N, 784) and works in float64.

* ``iforest`` — `IForest`: the A³ code's Isolation Forest (docs/methods.md#classical): scikit-learn defaults,
  fitted on the normal training rows (`split.train_target`), score = −decision_function.
  Options: ``iforest_n_estimators`` (100), ``iforest_max_samples`` ("auto"),
  ``iforest_max_features`` (1.0), ``iforest_random_state``: "substream" (default: the
  ``substream_seed(seed, "iforest")`` stream, like every other method here) or "seed" (the A³
  code's ``random_state=seed``).
* ``gbdt`` — `GBDT`: `HistGradientBoostingClassifier` on `train_alarm` (all training rows, labels
  `a_train`); score = predicted anomaly probability (`predict_proba[:, 1]`).
* ``gbdt-od`` — `GBDTOD`: the XGBOD idea (Zhao & Hryniewicki, IJCNN 2018) from scikit-learn parts.
  The unsupervised detectors below are fitted on all training rows (labels ignored, as XGBOD's
  "TOS"); their scores are appended to the raw features and the same classifier as ``gbdt`` is
  trained on the result. The detector set is fixed (`GBDTOD.feature_names_` after fit):

  - ``iforest``: −score_samples of an IsolationForest (defaults, raw features);
  - ``lof{k}`` for k ∈ ``gbdt_od_k`` (5, 10, 20): the local outlier factor as scikit-learn's
    `LocalOutlierFactor(n_neighbors=k, novelty=True)` computes it (lrd = 1 / (mean
    reach-distance + 1e-10), so duplicated rows give large but finite values);
  - ``knn_mean{k}``, ``knn_max{k}``: mean and maximum Euclidean distance to the k nearest
    training rows.

  kNN and LOF run on standardised features (a StandardScaler fitted on the training rows;
  constant columns stay 0). For training rows the row itself is excluded from its neighbours
  (scikit-learn's ``kneighbors()`` / ``negative_outlier_factor_``, PyOD's ``decision_scores_``);
  new rows use their k nearest training rows. One neighbour search with max(k) serves every k.
  Non-finite detector scores raise `NonFiniteFeaturesError`.
  Options: ``gbdt_od_k`` ((5, 10, 20)), ``gbdt_od_iforest_n_estimators`` (100), and the
  ``gbdt_*`` classifier options.

Classifier options (shared by ``gbdt`` and ``gbdt-od``): ``gbdt_max_iter`` (100),
``gbdt_learning_rate`` (0.1), ``gbdt_max_leaf_nodes`` (31), ``gbdt_min_samples_leaf`` (20),
``gbdt_l2_regularization`` (0.0), ``gbdt_class_weight`` (None; "balanced" reweights the few
anomalies), ``gbdt_early_stopping`` ("auto": scikit-learn's default, on above 10 000 rows with
a stratified 10 % validation split drawn from the method's seed).

Seeds: scikit-learn takes a 32-bit seed, so each stream is ``substream_seed(seed, name) % 2**32``
with the names "iforest", "gbdt", "gbdt-od/iforest", "gbdt-od/gbdt". After fit every detector
has ``versions`` ({"scikit-learn": ...}) for the result records.
"""

from __future__ import annotations


import numpy as np

from alarmbench.data.splits import Split
from alarmbench.methods.base import Detector, NoKnownAnomaliesError
from alarmbench.runtime.context import Context
from alarmbench.rng import substream_seed

__all__ = ["GBDT", "GBDTOD", "IForest", "NonFiniteFeaturesError", "OutlierFeatures", "sklearn_seed"]

LRD_EPS = 1e-10  # scikit-learn's LocalOutlierFactor._local_reachability_density


class NonFiniteFeaturesError(FloatingPointError):
    """An unsupervised detector of GBDT-OD produced inf/NaN scores."""


def sklearn_seed(seed: int, stream: str) -> int:
    """A seed for scikit-learn's `random_state` (it accepts [0, 2**32)) from the named sub-stream."""
    return substream_seed(seed, stream) % 2**32


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float64)


def _versions() -> dict[str, str]:
    import sklearn

    return {"scikit-learn": sklearn.__version__}


def _labels(split: Split, method: str) -> np.ndarray:
    y = np.asarray(split.a_train).astype(np.int64)
    if not y.any():
        raise NoKnownAnomaliesError(f"{method} needs labelled anomalies in the training split, but it has none")
    if y.all():
        raise ValueError(f"{method} needs normal training rows, but every training row is an anomaly")
    return y


class _Boosted(Detector):
    """A detector ending in scikit-learn's HistGradientBoostingClassifier; its options are the
    classifier's (`gbdt_<parameter>`)."""

    def __init__(self, *, gbdt_max_iter: int, gbdt_learning_rate: float, gbdt_max_leaf_nodes: int | None,
                 gbdt_min_samples_leaf: int, gbdt_l2_regularization: float, gbdt_class_weight: str | dict | None,
                 gbdt_early_stopping: str | bool) -> None:
        self.gbdt = dict(max_iter=int(gbdt_max_iter), learning_rate=float(gbdt_learning_rate),
                         max_leaf_nodes=gbdt_max_leaf_nodes, min_samples_leaf=int(gbdt_min_samples_leaf),
                         l2_regularization=float(gbdt_l2_regularization), class_weight=gbdt_class_weight,
                         early_stopping=gbdt_early_stopping)

    def _classifier(self, ctx: Context, stream: str):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(**self.gbdt, random_state=sklearn_seed(ctx.seed, stream))


def _anomaly_probability(clf, x: np.ndarray) -> np.ndarray:
    column = list(clf.classes_).index(1)
    return clf.predict_proba(x)[:, column].astype(np.float64)


class IForest(Detector):
    """Isolation Forest on the normal training rows (docs/methods.md#classical); score = −decision_function."""

    name = "iforest"

    def __init__(self, *, iforest_random_state: str, iforest_n_estimators: int, iforest_max_samples: str | int | float,
                 iforest_max_features: int | float) -> None:
        self.random_state = iforest_random_state
        self.forest = dict(n_estimators=int(iforest_n_estimators), max_samples=iforest_max_samples,
                           max_features=iforest_max_features)

    def fit(self, split: Split, ctx: Context) -> IForest:
        from sklearn.ensemble import IsolationForest

        how = self.random_state
        if how == "substream":
            random_state = sklearn_seed(ctx.seed, "iforest")
        elif how == "seed":
            random_state = int(ctx.seed) % 2**32
        else:
            raise ValueError(f"iforest_random_state must be 'substream' or 'seed', got {how!r}")
        self.model = IsolationForest(**self.forest, random_state=random_state).fit(_flat(split.train_target))
        self.versions = _versions()
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return -self.model.decision_function(_flat(x))


class GBDT(_Boosted):
    """HistGradientBoostingClassifier on all training rows with their 0/1 labels."""

    name = "gbdt"

    def fit(self, split: Split, ctx: Context) -> GBDT:
        y = _labels(split, self.name)
        self.model = self._classifier(ctx, "gbdt").fit(_flat(split.x_train), y)
        self.versions = _versions()
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return _anomaly_probability(self.model, _flat(x))


class OutlierFeatures:
    """The fixed unsupervised-score features of GBDT-OD (see the module docstring).

    `fit_transform(x)` returns the training rows' features (self excluded from the neighbours);
    `transform(x)` those of new rows. Columns are named by `names`."""

    def __init__(self, ks: tuple[int, ...] = (5, 10, 20), iforest_n_estimators: int = 100,
                 random_state: int = 0) -> None:
        if not ks or any(int(k) < 1 for k in ks):
            raise ValueError(f"gbdt_od_k must be positive integers, got {ks!r}")
        self.ks = tuple(int(k) for k in ks)
        self.iforest_n_estimators = iforest_n_estimators
        self.random_state = random_state

    @property
    def names(self) -> list[str]:
        return (["iforest"] + [f"lof{k}" for k in self.ks]
                + [f"knn_{stat}{k}" for k in self.ks for stat in ("mean", "max")])

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        from sklearn.ensemble import IsolationForest
        from sklearn.neighbors import NearestNeighbors
        from sklearn.preprocessing import StandardScaler

        n = len(x)
        if n < 2:
            raise ValueError(f"GBDT-OD needs at least 2 training rows, got {n}")
        # As LocalOutlierFactor: k larger than the other training rows is clipped to n − 1.
        self.k_eff = tuple(min(k, n - 1) for k in self.ks)
        self.iforest = IsolationForest(n_estimators=self.iforest_n_estimators,
                                       random_state=self.random_state).fit(x)
        self.scaler = StandardScaler().fit(x)
        self.nn = NearestNeighbors(n_neighbors=max(self.k_eff)).fit(self.scaler.transform(x))
        dist, idx = self.nn.kneighbors()  # training rows: self excluded
        # Per k: the k-distance and the local reachability density of every training row.
        self._kdist, self._lrd = {}, {}
        for k in self.k_eff:
            kdist = dist[:, k - 1]
            reach = np.maximum(dist[:, :k], kdist[idx[:, :k]])
            self._kdist[k], self._lrd[k] = kdist, 1.0 / (reach.mean(1) + LRD_EPS)
        return self._features(x, dist, idx)

    def transform(self, x: np.ndarray) -> np.ndarray:
        dist, idx = self.nn.kneighbors(self.scaler.transform(x), n_neighbors=max(self.k_eff))
        return self._features(x, dist, idx)

    def _features(self, x: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
        lof, knn = [], []
        for k in self.k_eff:
            d, i = dist[:, :k], idx[:, :k]
            lrd = 1.0 / (np.maximum(d, self._kdist[k][i]).mean(1) + LRD_EPS)
            lof.append(self._lrd[k][i].mean(1) / lrd)
            knn += [d.mean(1), d[:, -1]]
        feats = np.column_stack([-self.iforest.score_samples(x), *lof, *knn])
        bad = ~np.isfinite(feats)
        if bad.any():
            cols = [self.names[j] for j in np.flatnonzero(bad.any(0))]
            raise NonFiniteFeaturesError(
                f"GBDT-OD: detector scores {cols} are not finite on {int(bad.any(1).sum())} rows")
        return feats


class GBDTOD(_Boosted):
    """XGBOD-style: raw features + unsupervised detector scores → HistGradientBoostingClassifier."""

    name = "gbdt-od"

    def __init__(self, *, gbdt_od_k: list[int], gbdt_od_iforest_n_estimators: int, **gbdt) -> None:
        super().__init__(**gbdt)
        self.ks = tuple(gbdt_od_k)
        self.iforest_n_estimators = int(gbdt_od_iforest_n_estimators)

    def fit(self, split: Split, ctx: Context) -> GBDTOD:
        y = _labels(split, self.name)
        x = _flat(split.x_train)
        self.features = OutlierFeatures(self.ks, self.iforest_n_estimators,
                                        random_state=sklearn_seed(ctx.seed, "gbdt-od/iforest"))
        train_features = self.features.fit_transform(x)
        self.feature_names_ = [f"x{j}" for j in range(x.shape[1])] + self.features.names
        self.model = self._classifier(ctx, "gbdt-od/gbdt").fit(np.hstack([x, train_features]), y)
        self.versions = _versions()
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        x = _flat(x)
        return _anomaly_probability(self.model, np.hstack([x, self.features.transform(x)]))
