"""`BatchSampler.seek` and `replay`: back to a checkpoint's position by replaying the
seeded index stream, equal to drawing that many batches afresh."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from landscape.foundations.errors import LandscapeError  # noqa: E402
from landscape_plugins.torchnet.data import BatchSampler  # noqa: E402


def _drawn(k: int) -> list[torch.Tensor]:
    s = BatchSampler(10, 4, seed=3)  # 2 batches an epoch: k = 5 crosses two new permutations
    return [s.next() for _ in range(k)]


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_seek_is_drawing_that_many_batches_afresh(k):
    s = BatchSampler(10, 4, seed=3)
    for _ in range(7):  # somewhere else in the stream first
        s.next()
    s.seek(k)
    assert s.drawn == k
    fresh = _drawn(k + 3)
    for expected in fresh[k:]:
        torch.testing.assert_close(s.next(), expected, rtol=0, atol=0)
    if k:
        torch.testing.assert_close(BatchSampler(10, 4, seed=3).replay(k), fresh[k - 1], rtol=0, atol=0)


def test_bad_positions_are_one_line_errors():
    s = BatchSampler(10, 4, seed=3)
    with pytest.raises(LandscapeError, match="-1 batches drawn"):
        s.seek(-1)
    with pytest.raises(LandscapeError, match="0 batches drawn"):
        s.replay(0)
    for bad in ("3", 2.5, True, None):  # a damaged checkpoint: one line, not a ValueError
        with pytest.raises(LandscapeError, match="bad sampler checkpoint"):
            s.seek(bad)
