"""Scoring through slices gives exactly skorch's own predictions."""

import numpy as np
import torch
from helpers import classification_data, make_classifier

from skhyper._inference import SlicingLoader, fast_inference


def test_fast_inference_predicts_exactly_as_skorch():
    X, y = classification_data(100)
    net = make_classifier(batch_size=32).fit(X, y)
    expected = net.predict_proba(X)
    with fast_inference(net):
        assert net.iterator_valid is SlicingLoader
        fast = net.predict_proba(X)
        fast_tensor = net.predict_proba(torch.as_tensor(X))
    assert net.iterator_valid is torch.utils.data.DataLoader
    np.testing.assert_array_equal(fast, expected)
    np.testing.assert_array_equal(fast_tensor, expected)


def test_other_inputs_and_custom_loaders_keep_skorch_path():
    X, y = classification_data(60)
    net = make_classifier().fit(X, y)
    loader = SlicingLoader(net.get_dataset({"X": X}), batch_size=16)
    assert not loader._sliceable  # a dict input goes through a real DataLoader
    assert [len(b[0]["X"]) for b in loader] == [16, 16, 16, 12]
    custom = make_classifier().fit(X, y)
    custom.iterator_valid = type("MyLoader", (torch.utils.data.DataLoader,), {})
    with fast_inference(custom):
        assert custom.iterator_valid.__name__ == "MyLoader"
