"""Weight decay and dropout on load_digits: HypernetSearchCV next to GridSearchCV.

Both search the same box on the same net and folds; the table compares time, the
point found and the test log-loss, and (with matplotlib) the hypernets' predicted
landscape is drawn with GridSearchCV's real points on it. About 40 seconds on one
CPU core (a 3x3 grid keeps it short; benchmarks/digits_vs_grid.py runs 5x5).
"""

import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from skhyper import HypernetSearchCV
from skhyper._demo import make_net

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                    stratify=y)
cv = StratifiedKFold(3, shuffle=True, random_state=0)

searches = {
    "HypernetSearchCV": HypernetSearchCV(
        make_net(), {"optimizer__weight_decay": (1e-6, 1e-1, "log"),
                     "module__dropout": (0.0, 0.8)},
        cv=cv, scoring="neg_log_loss", random_state=0),
    "GridSearchCV 3x3": GridSearchCV(
        make_net(), {"optimizer__weight_decay": [1e-6, 3e-4, 1e-1],
                     "module__dropout": [0.0, 0.4, 0.8]},
        cv=cv, scoring="neg_log_loss"),
}
print(f"{'method':<18} {'seconds':>8}  {'best params':<48} {'test log-loss':>13}")
for name, search in searches.items():
    begin = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - begin
    params = ", ".join(
        f"{k.split('__')[-1]}={float(v):.3g}" for k, v in search.best_params_.items()
    )
    loss = log_loss(y_test, search.predict_proba(X_test))
    print(f"{name:<18} {seconds:8.1f}  {params:<48} {loss:13.4f}")

try:
    import matplotlib

    matplotlib.use("Agg")
    from skhyper.plot import plot_landscape
except ImportError:
    print("(install matplotlib for the landscape plot)")
else:
    ax = plot_landscape(searches["HypernetSearchCV"], X_train, y_train,
                        grid_results=searches["GridSearchCV 3x3"].cv_results_)
    ax.figure.savefig("digits_landscape.png", dpi=100)
    print("wrote digits_landscape.png")
