"""Fitting linear text models with scikit-learn and exporting them as `LinearTextModel` arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.svm import LinearSVC

from .linear import FloatArray, LinearTextModel, with_prefix_view

SEED = 12345


def char_vectorizer(
    ngram_range: tuple[int, int] = (1, 3), min_df: int = 2, max_features: int | None = 150_000
) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char",
        ngram_range=ngram_range,
        sublinear_tf=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )


def _estimator(kind: str, c: float) -> LinearSVC | LogisticRegression:
    if kind == "svm":
        return LinearSVC(C=c, random_state=SEED)
    return LogisticRegression(C=c, max_iter=2000, random_state=SEED)


def _fit_linear(
    kind: str,
    c: float,
    matrix: sp.csr_matrix,
    gold: Sequence[int],
    n_classes: int,
    weights: npt.NDArray[np.float64] | None,
) -> tuple[FloatArray, FloatArray]:
    """(coef of shape (n_features, n_classes), intercept). `svm+nbsvm` is the sum of a linear SVM and a
    naive-Bayes-weighted SVM (Wang & Manning 2012), each scaled to unit spread: still one linear map."""
    if kind != "svm+nbsvm":
        estimator = _estimator(kind, c).fit(matrix, gold, sample_weight=weights)
        coef = np.asarray(estimator.coef_, dtype=np.float32)
        intercept = np.asarray(estimator.intercept_, dtype=np.float32)
        if n_classes == 2:  # sklearn stores one row for two classes
            coef = (np.vstack([-coef, coef]) / 2).astype(np.float32)
            intercept = (np.asarray([-intercept[0], intercept[0]]) / 2).astype(np.float32)
        return coef.T.copy(), intercept
    svm_coef, svm_intercept = _fit_linear("svm", c, matrix, gold, n_classes, weights)
    gold_array = np.asarray(gold)
    present = (matrix > 0).astype(np.float32)
    nb_coef = np.zeros_like(svm_coef)
    nb_intercept = np.zeros(n_classes, dtype=np.float32)
    for label in range(n_classes):
        positive = gold_array == label
        p = np.asarray(present[positive].sum(axis=0)).ravel() + 1.0
        q = np.asarray(present[~positive].sum(axis=0)).ravel() + 1.0
        ratio = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
        binary = LinearSVC(C=c, random_state=SEED).fit(
            matrix.multiply(ratio).tocsr(), positive.astype(int), sample_weight=weights
        )
        nb_coef[:, label] = ratio * binary.coef_.ravel()
        nb_intercept[label] = binary.intercept_[0]
    svm_spread = float(np.std(matrix @ svm_coef + svm_intercept))
    nb_spread = float(np.std(matrix @ nb_coef + nb_intercept))
    coef = svm_coef / svm_spread + nb_coef / nb_spread
    intercept = svm_intercept / svm_spread + nb_intercept / nb_spread
    return coef.astype(np.float32), intercept.astype(np.float32)


def fit_class_bias(scores: FloatArray, gold: Sequence[int], rounds: int = 3) -> FloatArray:
    """Per-class offsets that maximise macro-F1 of the out-of-fold scores (coordinate ascent on a grid):
    a linear SVM's margins favour the large classes, and macro-F1 weighs the small ones equally."""
    gold_index = np.asarray(gold)
    bias = np.zeros(scores.shape[1], dtype=np.float32)

    def score(offsets: FloatArray) -> float:
        return float(f1_score(gold_index, (scores + offsets).argmax(axis=1), average="macro"))

    best = score(bias)
    for _ in range(rounds):
        for label in range(len(bias)):
            for value in np.linspace(-1.0, 1.0, 21, dtype=np.float32):
                trial = bias.copy()
                trial[label] = value
                trial_score = score(trial)
                if trial_score > best + 1e-6:
                    best, bias = trial_score, trial
    return bias


def fit_temperature(scores: FloatArray, gold: Sequence[int]) -> float:
    """The softmax temperature that minimises held-out negative log-likelihood."""
    gold_index = np.asarray(gold)

    def nll(temperature: float) -> float:
        scaled = scores / temperature
        exp = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        return float(-np.log(probabilities[np.arange(len(gold_index)), gold_index] + 1e-9).mean())

    result = minimize_scalar(nll, bounds=(0.02, 10.0), method="bounded")
    return float(result.x)


def train_linear(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    kind: str = "svm",
    c: float = 0.5,
    ngram_range: tuple[int, int] = (1, 3),
    min_df: int = 2,
    max_features: int | None = 150_000,
    calibration_folds: int = 3,
    sample_weight: Sequence[float] | None = None,
    groups: Sequence[str] | None = None,
    prefix_view: int = 0,
    class_bias: bool = False,
) -> LinearTextModel:
    """Fit on all rows; the temperature comes from out-of-fold scores so it is honest. `groups` keeps the
    several forms of one message in the same fold."""
    classes = sorted(set(labels))
    gold = [classes.index(label) for label in labels]
    texts = [with_prefix_view(text, prefix_view) for text in texts]
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    out_of_fold = np.zeros((len(texts), len(classes)), dtype=np.float32)
    folds = StratifiedGroupKFold(n_splits=calibration_folds, shuffle=True, random_state=SEED)
    group_ids = list(range(len(texts))) if groups is None else list(groups)
    for train_index, test_index in folds.split(np.zeros(len(gold)), gold, group_ids):
        vectorizer = char_vectorizer(ngram_range, min_df, max_features)
        matrix = vectorizer.fit_transform([texts[i] for i in train_index])
        coef, intercept = _fit_linear(
            kind,
            c,
            matrix,
            [gold[i] for i in train_index],
            len(classes),
            None if weights is None else weights[train_index],
        )
        out_of_fold[test_index] = vectorizer.transform([texts[i] for i in test_index]) @ coef + intercept
    bias = fit_class_bias(out_of_fold, gold) if class_bias else np.zeros(len(classes), dtype=np.float32)
    temperature = fit_temperature(out_of_fold + bias, gold)

    vectorizer = char_vectorizer(ngram_range, min_df, max_features)
    matrix = vectorizer.fit_transform(texts)
    coef, intercept = _fit_linear(kind, c, matrix, gold, len(classes), weights)
    intercept = (intercept + bias).astype(np.float32)
    return LinearTextModel(
        classes=classes,
        vocabulary={gram: int(i) for gram, i in vectorizer.vocabulary_.items()},
        idf=np.asarray(vectorizer.idf_, dtype=np.float32),
        coef=coef,
        intercept=intercept,
        ngram_range=ngram_range,
        temperature=temperature,
        prefix_view=prefix_view,
    )
