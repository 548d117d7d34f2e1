"""Targets and inputs as sklearn users pass them (issue 21, section 4).

Each input either gives the answer its plain numpy form gives (the oracle: the same
search on ``np.asarray`` data) or a clear error before training that names the input
and a fix; where the error gives a fix, the test runs the fix as written.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import TinyClassifier, classification_data, make_classifier, regression_data
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from skorch import NeuralNetBinaryClassifier, NeuralNetRegressor
from skorch.helper import SliceDict
from test_errors import assert_unfitted
from torch import nn

from skhyper import HypernetSearchCV, SkhyperWarning

WD = "optimizer__weight_decay"
BOUNDS = {WD: (1e-4, 1e-1, "log")}
X, Y = classification_data(90)


def search(net=None, **kw):
    return HypernetSearchCV(make_classifier(max_epochs=2) if net is None else net, BOUNDS,
                            cv=3, random_state=0, **kw)


def same_search(a, b):
    """Two fitted searches found the same points with the same scores."""
    assert a.best_params_ == b.best_params_
    np.testing.assert_allclose(a.cv_results_["mean_test_score"],
                               b.cv_results_["mean_test_score"], rtol=1e-6)


def fails_before_training(s, X, y, exc, match):
    with warnings.catch_warnings():  # a broadcasting loss would warn once it trains
        warnings.simplefilter("error", UserWarning)
        with pytest.raises(exc, match=match):
            s.fit(X, y)
    assert_unfitted(s, X)


# -- regressor targets ------------------------------------------------------------
class Linear(nn.Module):
    def __init__(self, n_in=5, squeeze=False):
        super().__init__()
        self.lin = nn.Linear(n_in, 1)
        self.squeeze = squeeze

    def forward(self, X):
        out = self.lin(X)
        return out.squeeze(-1) if self.squeeze else out


def regressor(**kw):
    return NeuralNetRegressor(Linear, max_epochs=3, batch_size=-1, lr=0.05,
                              optimizer=torch.optim.Adam, train_split=None, verbose=0, **kw)


def test_a_1d_target_for_an_n_by_1_output_is_refused_with_the_reshape():
    Xr, yr = regression_data(60)
    s = HypernetSearchCV(regressor(), BOUNDS, cv=3, random_state=0)
    fails_before_training(s, Xr, yr.ravel(), ValueError,
                          r"y is 1-D but Linear returns one column per row.*"
                          r"y\.reshape\(-1, 1\)")
    s.fit(Xr, yr.ravel().reshape(-1, 1))  # the fix, as the message writes it
    assert np.isfinite(s.best_score_)


def test_a_1d_target_for_a_1d_output_trains_as_skorch_does():
    Xr, yr = regression_data(60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no broadcasting between y and output
        warnings.simplefilter("ignore", SkhyperWarning)  # a bound, not the input
        s = HypernetSearchCV(regressor(module__squeeze=True), BOUNDS, cv=3, random_state=0,
                             refit=False).fit(Xr, yr.ravel())
    assert np.isfinite(s.best_score_)


def test_a_dataframe_target_is_refused_and_both_fixes_work():
    """skorch turns a DataFrame y into a dict of columns and fails; the search says so
    before training, and each fix it names fits: the regressor's (n, 1) array, and
    one column for class labels (the same search as the plain labels)."""
    Xr, yr = regression_data(60)
    frame = pd.DataFrame({"target": yr.ravel()})
    s = HypernetSearchCV(regressor(), BOUNDS, cv=3, random_state=0)
    fails_before_training(s, Xr, frame, TypeError,
                          r"y is a pandas DataFrame with 1 column\(s\) \['target'\].*"
                          r"y\.to_numpy\(dtype=np\.float32\)")
    assert np.isfinite(s.fit(Xr, frame.to_numpy(dtype=np.float32)).best_score_)
    labels = pd.DataFrame({"label": Y})
    fails_before_training(search(), X, labels, TypeError, r"y\.iloc\[:, 0\]\.to_numpy\(\)")
    same_search(search().fit(X, labels.iloc[:, 0].to_numpy()), search().fit(X, Y))


@pytest.mark.parametrize("case", ["two-targets-one-output", "column-against-1d-output"])
def test_a_regressor_whose_y_and_output_differ_per_row_is_refused(case):
    """torch broadcasts MSELoss over (n, 2) against (n, 1), or (n, 1) against (n,), and
    only warns: the search refuses both before training, naming the two shapes."""
    Xr, yr = regression_data(60)
    if case == "two-targets-one-output":
        net, y, shapes = regressor(), np.c_[yr, yr], r"\(n, 2\) but Linear returns shape \(n, 1\)"
    else:
        net, y = regressor(module__squeeze=True), yr
        shapes = r"\(n, 1\) but Linear returns shape \(n,\)"
    s = HypernetSearchCV(net, BOUNDS, cv=3, random_state=0)
    fails_before_training(s, Xr, y, ValueError, r"y has shape " + shapes + r": MSELoss would "
                          r"broadcast the two and train on the wrong loss")


class GaussianNLL(nn.Module):
    """A criterion of a mean-and-variance output: (n, 2) against y of shape (n, 1)."""

    def forward(self, out, y):
        return nn.functional.gaussian_nll_loss(out[:, :1], y, out[:, 1:].exp())


class MeanAndLogVar(nn.Module):
    def __init__(self, n_in=5):
        super().__init__()
        self.lin = nn.Linear(n_in, 2)

    def forward(self, X):
        return self.lin(X)


def test_a_criterion_of_its_own_may_take_an_output_shaped_otherwise():
    Xr, yr = regression_data(60)
    net = NeuralNetRegressor(MeanAndLogVar, criterion=GaussianNLL, max_epochs=2, lr=0.05,
                             optimizer=torch.optim.Adam, train_split=None, verbose=0)
    def neg_mse_of_the_mean(estimator, X, y):
        return -float(np.mean((estimator.predict(X)[:, 0] - np.ravel(y)) ** 2))

    s = HypernetSearchCV(net, BOUNDS, cv=3, random_state=0, scoring=neg_mse_of_the_mean,
                         refit=False).fit(Xr, yr)
    assert np.isfinite(s.best_score_)


# -- class labels -------------------------------------------------------------------
def test_string_labels_are_refused_and_the_label_encoder_fix_works():
    names = np.array(["cat", "dog", "owl"])[Y]
    fails_before_training(search(), X, names, TypeError,
                          r"y holds string labels \('cat', 'dog', 'owl'\).*LabelEncoder")
    encoder = LabelEncoder()
    s = search().fit(X, encoder.fit_transform(names))
    predicted = encoder.inverse_transform(s.predict(X))
    assert set(predicted) <= {"cat", "dog", "owl"}
    same_search(s, search().fit(X, Y))  # the codes are the integer labels


def test_integer_valued_float_labels_are_refused_with_astype():
    fails_before_training(search(), X, Y.astype(np.float64), TypeError,
                          r"y holds float64 labels \(0\.0, 1\.0, 2\.0\).*y\.astype\(np\.int64\)")


@pytest.mark.parametrize("dtype", [np.int32, np.int16, torch.int32],
                         ids=["int32", "int16", "torch-int32"])
def test_integer_labels_torch_cannot_take_are_refused_with_astype(dtype):
    """skorch's fit fails on int32 labels inside torch (its losses take int64 or
    uint8 indices); the search names the dtype and the fix before training."""
    labels = torch.as_tensor(Y, dtype=dtype) if isinstance(dtype, torch.dtype) \
        else Y.astype(dtype)
    fails_before_training(search(), X, labels, TypeError,
                          r"y holds int(32|16) labels \(0, 1, 2\).*int64 indices.*"
                          r"y\.astype\(np\.int64\)")


def test_uint8_labels_train_as_int64_labels_do():
    assert Y.dtype == np.int64
    same_search(search().fit(X, Y.astype(np.uint8)), search().fit(X, Y))


class BinaryLogit(nn.Module):
    """One logit per row, as skorch's NeuralNetBinaryClassifier expects."""

    def __init__(self, n_in=8):
        super().__init__()
        self.lin = nn.Linear(n_in, 1)

    def forward(self, X):
        return self.lin(X).squeeze(-1)


def binary_search():
    net = NeuralNetBinaryClassifier(BinaryLogit, max_epochs=2, lr=0.05,
                                    optimizer=torch.optim.Adam, train_split=None, verbose=0)
    return HypernetSearchCV(net, BOUNDS, cv=3, random_state=0)


YB = (Y == 1).astype(np.int64)  # 0/1 labels as sklearn's loaders give them: int64


def test_integer_binary_labels_are_refused_and_the_astype_fix_works():
    """skorch's fit fails on int64 0/1 labels inside torch's BCEWithLogitsLoss; the
    search says so before training, and the fix as written fits."""
    fails_before_training(binary_search(), X, YB, TypeError,
                          r"NeuralNetBinaryClassifier trains on float targets in \[0, 1\].*"
                          r"int64 labels \(0, 1\).*Pass y\.astype\(np\.float32\)")
    s = binary_search().fit(X, YB.astype(np.float32))
    assert set(np.unique(s.predict(X))) <= {0, 1} and np.isfinite(s.best_score_)


@pytest.mark.parametrize("labels, exc", [
    (np.where(Y == 1, 2.0, 1.0), ValueError),  # two classes, not coded 0/1: trains silently
    (np.where(Y == 1, "yes", "no"), TypeError),
], ids=["1.0-2.0", "strings"])
def test_binary_labels_not_coded_0_1_are_refused_with_the_encoding(labels, exc):
    fails_before_training(binary_search(), X, labels, exc,
                          r"y = \(y == positive_label\)\.astype\(np\.float32\)")


def test_a_column_of_class_labels_is_refused_with_ravel():
    """skorch's fit fails on an (n, 1) y inside torch's NLLLoss; the search names the
    shape and y.ravel(), which gives the 1-D labels' search."""
    fails_before_training(search(), X, Y.reshape(-1, 1), ValueError,
                          r"y has shape \(90, 1\): NeuralNetClassifier's NLLLoss takes one "
                          r"class label per row.*Pass y\.ravel\(\)")
    same_search(search().fit(X, Y.reshape(-1, 1).ravel()), search().fit(X, Y))


def test_continuous_targets_for_a_classifier_point_to_the_regressor():
    fails_before_training(search(), X, X[:, 0].astype(np.float64), TypeError,
                          r"non-integer values.*NeuralNetRegressor")


def test_labels_past_the_output_width_are_refused_before_training():
    fails_before_training(search(), X, np.array([3, 7, 9])[Y], ValueError,
                          r"class label 9 is past the 3 columns of TinyClassifier's output")


def test_negative_labels_are_refused():
    fails_before_training(search(), X, Y - 1, TypeError, r"negative labels.*LabelEncoder")


def test_a_series_or_a_list_of_labels_gives_the_array_s_answer_without_warnings():
    plain = search().fit(X, Y)
    for labels in (pd.Series(Y), Y.tolist()):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # torch's non-writable warning
            warnings.simplefilter("ignore", SkhyperWarning)  # a bound, not the input
            same_search(search().fit(X, labels), plain)


# -- X --------------------------------------------------------------------------
class ByColumn(TinyClassifier):
    """TinyClassifier reading a DataFrame's eight columns by name."""

    def forward(self, a, b, c, d, e, f, g, h):
        return super().forward(torch.cat([a, b, c, d, e, f, g, h], dim=1))


COLUMNS = list("abcdefgh")


def test_a_dataframe_whose_columns_forward_does_not_take_is_refused():
    frame = pd.DataFrame(X, columns=COLUMNS)
    fails_before_training(search(), frame, Y, TypeError,
                          r"X is a pandas DataFrame.*forward\(X\) does not take 'a', 'b', "
                          r"'c', 'd', 'e', \.\.\..*X\.to_numpy\(dtype=np\.float32\)")
    same_search(search().fit(frame.to_numpy(dtype=np.float32), Y), search().fit(X, Y))


def test_a_dataframe_reaches_a_forward_that_takes_its_columns_as_skorch_passes_them():
    frame = pd.DataFrame(X, columns=COLUMNS)
    by_name = search(make_classifier(ByColumn, max_epochs=2)).fit(frame, Y)
    # skorch passes a DataFrame as a dict of its columns, each of shape (n, 1)
    columns = SliceDict(**{c: X[:, [i]] for i, c in enumerate(COLUMNS)})
    same_search(by_name, search(make_classifier(ByColumn, max_epochs=2)).fit(columns, Y))
    assert by_name.predict(frame.iloc[:5]).shape == (5,)


def test_a_dataframe_through_a_pipeline_reaches_the_net_as_an_array():
    frame = pd.DataFrame(X, columns=COLUMNS)
    pipe = make_pipeline(StandardScaler(), make_classifier(max_epochs=2))
    s = HypernetSearchCV(pipe, {"neuralnetclassifier__" + WD: BOUNDS[WD]}, cv=3,
                         random_state=0, refit=False).fit(frame, Y)
    assert np.isfinite(s.best_score_)


def test_a_list_of_rows_is_refused_with_the_array_fix():
    fails_before_training(search(), X.tolist(), Y, TypeError,
                          r"X is a list of 90 rows.*np\.asarray\(X, dtype=np\.float32\)")
    same_search(search().fit(np.asarray(X.tolist(), dtype=np.float32), Y),
                search().fit(X, Y))
