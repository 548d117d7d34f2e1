"""Real CV log-loss at the point HypernetSearchCV finds, for a variant of its settings.

Used for the measurements in docs/design.md: run the search with the given
keyword arguments on a workload and seeds, then refit the found point on the
same folds for real (3 plain fits) and report its real CV log-loss and the
refit model's test log-loss.

Usage::

    python benchmarks/search_variants.py --workload small_digits --seeds 0 1
    python benchmarks/search_variants.py --workload digits hyper_lr=0.15 warmup_fraction=0.5
    python benchmarks/search_variants.py --workload digits early_stopping=True
    python benchmarks/search_variants.py --workload digits hyper_steps_per_epoch=4 --save

``--save`` writes ``benchmarks/results/variants_<workload>[_<settings>].md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).parent))
from provenance import metadata, save  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

from skhyper import HypernetSearchCV  # noqa: E402


def parse_value(text):
    if text in ("True", "False"):
        return text == "True"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="digits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("settings", nargs="*", help="HypernetSearchCV keyword=value pairs")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    meta = metadata("search_variants.py", argv)  # before the run: the code it imported
    workload = WORKLOADS[args.workload]
    settings = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.settings)}
    rows, lines, records = [], [], []
    for seed in args.seeds:
        X_train, X_test, y_train, y_test = workload.data(seed)
        cv = StratifiedKFold(3, shuffle=True, random_state=seed)
        begin = time.perf_counter()
        search = HypernetSearchCV(workload.make_net(), workload.bounds, cv=cv,
                                  scoring="neg_log_loss", random_state=seed, **settings)
        search.fit(X_train, y_train)
        seconds = time.perf_counter() - begin
        torch.manual_seed(seed)
        real = -cross_val_score(workload.make_net(**search.best_params_), X_train, y_train,
                                cv=cv, scoring="neg_log_loss").mean()
        test = log_loss(y_test, search.predict_proba(X_test))
        rows.append((real, test))
        found = ", ".join(f"{k.split('__')[-1]}={v:.3g}" for k, v in search.best_params_.items())
        lines.append(f"{workload.name} seed {seed}: {found}; search's CV log-loss "
                     f"({search.cv_results_['scored_by'][search.best_index_]}) "
                     f"{-search.best_score_:.4f}, real CV log-loss {real:.4f}, test log-loss "
                     f"{test:.4f} ({search.n_epochs_} epochs, {seconds:.1f}s)")
        print(lines[-1], flush=True)
        records.append({"seed": seed, "best_params": search.best_params_,
                        "search_cv_log_loss": -search.best_score_, "real_cv_log_loss": real,
                        "test_log_loss": test, "n_epochs": search.n_epochs_, "seconds": seconds})
    real, test = np.mean(rows, axis=0)
    lines.append(f"settings {settings}: mean real CV log-loss {real:.4f}, "
                 f"mean test log-loss {test:.4f}")
    print(lines[-1])
    if args.save:
        tag = "_".join([f"variants_{args.workload}", *(s.replace("=", "-") for s in args.settings)])
        save(tag, meta, "\n".join(lines), {"settings": settings, "seeds": records})


if __name__ == "__main__":
    main()
