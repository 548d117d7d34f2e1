"""sklearn's callbacks (``set_callbacks``) on HypernetSearchCV, side by side with GridSearchCV.

Real callbacks only: sklearn's ``ProgressBar`` and ``ScoringMonitor``, and
``TaskRecorder``, a FitCallback that writes down every task it is called on.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.callback._callback_context import get_context_path
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier

from skhyper import HypernetSearchCV

pytest.importorskip("rich")  # ProgressBar needs it (the dev extra installs it)

MAX_EPOCHS = 4


class WineMLP(torch.nn.Module):
    def __init__(self, p=0.2):
        super().__init__()
        self.hidden = torch.nn.Linear(13, 16)
        self.drop = torch.nn.Dropout(p)
        self.out = torch.nn.Linear(16, 3)

    def forward(self, X):
        return self.out(self.drop(torch.relu(self.hidden(X))))


class TaskRecorder:
    """A FitCallback that records each task it sees: (hook, estimator, task,
    the task it was merged with, the path of task names from the root).

    ``max_propagation_depth`` makes it auto-propagated, as ProgressBar is, so it
    also sees the tasks of a sub-estimator that takes callbacks (a Pipeline).
    """

    max_propagation_depth = None

    def __init__(self):
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append(("setup", type(estimator).__name__))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context):
        self.calls.append(("begin", *self._task(context)))

    def on_fit_task_end(self, estimator, context):
        self.calls.append(("end", *self._task(context)))

    @staticmethod
    def _task(context):
        path = tuple(ctx.task_name for ctx in get_context_path(context))
        return (context.estimator_name, context.task_name, context.source_task_name,
                context.max_subtasks, path)

    def begun(self, task_name, estimator_name=None):
        return [c for c in self.calls if c[0] == "begin" and c[2] == task_name
                and (estimator_name is None or c[1] == estimator_name)]


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def wine_net(**overrides):
    params = dict(criterion=torch.nn.CrossEntropyLoss, max_epochs=MAX_EPOCHS, lr=0.02,
                  optimizer=torch.optim.Adam, batch_size=32, train_split=None, verbose=0)
    params.update(overrides)
    return NeuralNetClassifier(WineMLP, **params)


def make_search(cls, estimator, prefix="", **params):
    key = f"{prefix}optimizer__weight_decay"
    if cls is GridSearchCV:
        return GridSearchCV(estimator, {key: [1e-4, 1e-2]}, cv=2, **params)
    return HypernetSearchCV(estimator, {key: (1e-4, 1e-2, "log")}, cv=2, random_state=0,
                            verify=1, **params)


def fit_quietly(search, X, y):
    """Fit; skorch nets take no callbacks, so sklearn warns at each real fit: kept."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    return [str(w.message) for w in caught if "does not support callbacks" in str(w.message)]


SEARCHES = [GridSearchCV, HypernetSearchCV]


@pytest.mark.parametrize("cls", SEARCHES, ids=lambda c: c.__name__)
def test_progress_bar_draws_a_bar_for_each_task_with_subtasks(cls, wine, capsys):
    X, y = wine
    recorder = TaskRecorder()
    search = make_search(cls, wine_net()).set_callbacks(ProgressBar(), recorder)
    fit_quietly(search, X, y)
    drawn = capsys.readouterr().out
    name = cls.__name__
    with_subtasks = {c[2] for c in recorder.calls if c[0] == "begin" and c[4] != 0}
    expected = ({"fit", "search"} if cls is GridSearchCV
                else {"fit", "hyper-training", "scoring", "verify"})
    assert with_subtasks == expected
    for task in expected:
        assert f"{name} - {task}" in drawn, drawn
    assert "100%" in drawn
    # a well-formed tree: every task begun is ended, setup before and teardown after
    begins = [c[1:] for c in recorder.calls if c[0] == "begin"]
    ends = [c[1:] for c in recorder.calls if c[0] == "end"]
    assert sorted(begins) == sorted(ends)
    assert recorder.calls[0] == ("setup", name) and recorder.calls[-1] == ("teardown", name)
    assert not hasattr(search, "_callback_fit_ctx")  # torn down, as BaseSearchCV's fit


@pytest.mark.parametrize("cls", SEARCHES, ids=lambda c: c.__name__)
def test_callbacks_see_each_epoch_row_and_real_fit(cls, wine):
    X, y = wine
    recorder = TaskRecorder()
    search = make_search(cls, wine_net()).set_callbacks(recorder)
    fit_quietly(search, X, y)
    assert recorder.calls[-1] == ("teardown", cls.__name__)
    real_fits = len(search.cv_results_["params"]) * search.n_splits_
    assert len(recorder.begun("candidate-split-evaluation")) == real_fits
    assert [c[5] for c in recorder.begun("refit-with-best-params")] == [
        ("fit", "refit-with-best-params")]
    if cls is HypernetSearchCV:
        epochs = recorder.begun("epoch")
        assert len(epochs) == search.n_epochs_ == MAX_EPOCHS
        assert {c[5] for c in epochs} == {("fit", "hyper-training", "epoch")}
        rows = len(search.hypernet_results_["params"]) * search.n_splits_
        assert len(recorder.begun("candidate-split-scoring")) == rows
        assert {c[5][:2] for c in recorder.begun("candidate-split-evaluation")} == {
            ("fit", "verify")}


@pytest.mark.parametrize("cls", SEARCHES, ids=lambda c: c.__name__)
def test_real_fits_get_the_context_as_grid_search_gives_it(cls, wine, capsys):
    """With a Pipeline (which takes callbacks) the verify fits and the refit carry the
    search's context: the Pipeline's own tasks hang under them, as under GridSearchCV's."""
    X, y = wine
    recorder = TaskRecorder()
    pipe = make_pipeline(StandardScaler(), wine_net())
    search = make_search(cls, pipe, prefix="neuralnetclassifier__")
    fit_quietly(search.set_callbacks(ProgressBar(), recorder), X, y)
    pipeline_fits = recorder.begun("fit", estimator_name="Pipeline")
    merged_with = [c[3] for c in pipeline_fits]
    n_real = len(search.cv_results_["params"]) * search.n_splits_
    assert merged_with.count("candidate-split-evaluation") == n_real
    assert merged_with.count("refit-with-best-params") == 1
    assert len(pipeline_fits) == n_real + 1
    assert f"{cls.__name__} - refit-with-best-params | Pipeline - fit" in capsys.readouterr().out


@pytest.mark.parametrize("cls", SEARCHES, ids=lambda c: c.__name__)
def test_scoring_monitor_logs_the_rows_of_hypernet_search(cls, wine):
    """ScoringMonitor scores a task given a ready-to-predict estimator. GridSearchCV's
    skorch fits give it none (skorch takes no callbacks), so it logs nothing; each
    (row, fold) of HypernetSearchCV does: the fold's net at the row's point, scored on
    the fold's training rows, i.e. ``cv_results_``'s ``split{k}_train_score``."""
    X, y = wine
    monitor = ScoringMonitor(scoring="accuracy")
    search = make_search(cls, wine_net(), scoring="accuracy", return_train_score=True)
    if cls is HypernetSearchCV:
        search.set_params(verify=0)
    fit_quietly(search.set_callbacks(monitor), X, y)
    if cls is GridSearchCV:
        with pytest.raises(ValueError, match="No logs to retrieve"):
            monitor.get_logs()
        return
    log = monitor.get_logs().data
    results = search.hypernet_results_
    n_rows, n_splits = len(results["params"]), search.n_splits_
    assert [row["task_name"] for row in log] == ["candidate-split-scoring"] * (n_rows * n_splits)
    logged = np.array([row["accuracy"] for row in log]).reshape(n_rows, n_splits)
    expected = np.column_stack([results[f"split{k}_train_score"] for k in range(n_splits)])
    np.testing.assert_allclose(logged, expected)


def test_no_callbacks_leave_the_fit_unchanged(wine):
    """The callback context costs nothing numerically: same rows with and without."""
    X, y = wine
    plain = make_search(HypernetSearchCV, wine_net()).fit(X, y)
    watched = make_search(HypernetSearchCV, wine_net()).set_callbacks(TaskRecorder())
    fit_quietly(watched, X, y)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(plain.hypernet_results_[key],
                                      watched.hypernet_results_[key])
    np.testing.assert_array_equal(plain.predict_proba(X), watched.predict_proba(X))
