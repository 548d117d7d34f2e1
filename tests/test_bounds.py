"""A found value at a bound says so: a SkhyperWarning naming the key, the bound and
a fix that works where the user stands (issue 20, section 4)."""

import re
import warnings

import numpy as np
import pytest
from helpers import classification_data, make_classifier
from oracles import ridge_search
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skhyper import HypernetSearchCV, PerUnit, SkhyperWarning
from skhyper._bounds import values_at_bounds
from skhyper._space import parse_bounds

KEY = "optimizer__weight_decay"


def suggested_bounds(message):
    """The bounds a message suggests, as the user would paste them."""
    return eval(re.search(r"e\.g\. (\{.*\})", message).group(1))  # noqa: S307


def test_a_scalar_at_either_bound_is_named_with_a_fix_that_widens_its_range():
    space = parse_bounds({f"net__{KEY}": (1e-6, 1e-2, "log"), "net__module__p": (0.1, 0.5)})
    messages = values_at_bounds(space, [0.02, 0.97])
    assert len(messages) == 2
    assert messages[0].startswith(f"net__{KEY}=1.2e-06 lies at the lower bound 1e-06")
    assert messages[1].startswith("net__module__p=0.488 lies at the upper bound 0.5")
    for message, (low, high) in zip(messages, [(1e-6, 1e-2), (0.1, 0.5)]):
        (key, bounds), = suggested_bounds(message).items()
        widened = parse_bounds({key: bounds}).dimensions[0]
        assert widened.low <= low and widened.high >= high
        assert (widened.low, widened.high) != (low, high)
    assert values_at_bounds(space, [0.5, 0.5]) == []
    assert values_at_bounds(space, [0.06, 0.94]) == []


def test_a_linear_range_that_starts_at_0_says_so_instead_of_widening():
    space = parse_bounds({"module__dropout": (0.0, 0.5)})
    [message] = values_at_bounds(space, [0.01])
    assert "module__dropout=0.005 lies at the lower bound 0" in message
    assert "found no benefit" in message


def test_a_block_is_named_with_the_share_of_its_values_at_a_bound():
    space = parse_bounds({KEY: PerUnit((1e-5, 1.0, "log"), params="out.weight")})
    space = space.resolve({"out.weight": (20, 4)})
    t = np.full(20, 0.5)
    t[:12] = 0.02
    [message] = values_at_bounds(space, t)
    assert message.startswith(f"{KEY}: 12 of its 20 values (60%) lie at the lower bound 1e-05")
    t[:12] = 0.5
    t[0] = 0.02  # one value in twenty at each bound: below BLOCK_SHARE (10%)
    t[1] = 0.99
    assert values_at_bounds(space, t) == []
    t[2] = 0.99
    [message] = values_at_bounds(space, t)
    assert message.startswith(f"{KEY}: 2 of its 20 values (10%) lie at the upper bound 1")


def test_a_search_ending_at_a_bound_warns_with_the_pipeline_key_and_prints_it(capsys):
    X, y = classification_data()
    pipe = Pipeline([("scale", StandardScaler()), ("net", make_classifier(max_epochs=6))])
    search = HypernetSearchCV(pipe, {f"net__{KEY}": (1e-4, 1e-1, "log")}, cv=3,
                              random_state=0, verbose=1)
    with pytest.warns(SkhyperWarning, match=rf"net__{KEY}=.* lies at the lower bound") as seen:
        search.fit(X, y)
    [message] = search.at_bounds_
    assert f"{{'net__{KEY}': (1e-05, 0.1, 'log')}}" in message
    assert any(message in str(w.message) for w in seen)
    assert seen[0].filename == __file__  # points at the user's fit call
    assert f"at a bound: {message}" in capsys.readouterr().out
    # the fix works where the user stands: the suggested bounds run as they are
    widened = HypernetSearchCV(pipe, suggested_bounds(message), cv=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkhyperWarning)
        widened.fit(X, y)


def test_an_interior_optimum_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkhyperWarning)
        search, *_ = ridge_search(0, random_state=0)
    assert search.at_bounds_ == []
