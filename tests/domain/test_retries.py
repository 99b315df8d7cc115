import pytest

from hub.domain.retries import deferred_ms, next_attempt_ms, retry_deadline_ms

DAY = 86_400


@pytest.mark.parametrize(
    "now, first, window, delay, expected",
    [
        (1_000, 1_000, DAY, 0.5, 1_500),  # first retry, well inside the window
        (1_000, 1_000, DAY, 0.0, 1_000),  # no wait asked: due at once
        (5_000, 1_000, 10, 2.25, 7_250),  # fractions of a second round up to the ms
        (10_000, 1_000, 10, 30.0, 11_000),  # backoff past the end: one last try at the end
        (10_999, 1_000, 10, 0.001, 11_000),
        (11_000, 1_000, 10, 1.0, None),  # window over: give up
        (50_000, 1_000, 10, 1.0, None),
        (1_000, 1_000, 0, 1.0, None),  # a zero window never retries
        (1_000, 1_000, DAY, -5.0, 1_000),  # a negative delay is no delay
    ],
)
def test_next_attempt(now, first, window, delay, expected):
    assert next_attempt_ms(now, first, window, delay) == expected


def test_deadline_counts_from_the_first_attempt():
    assert retry_deadline_ms(1_000, 86_400) == 86_401_000
    assert retry_deadline_ms(1_000, 0.5) == 1_500


@pytest.mark.parametrize(
    "until, spread, rand, expected",
    [(10_000, 1_000, 0.0, 10_000), (10_000, 1_000, 0.5, 10_500), (10_000, 0, 0.9, 10_000), (10_000, -5, 0.5, 10_000)],
)
def test_deferred_until_the_circuit_closes(until, spread, rand, expected):
    assert deferred_ms(until, spread, rand) == expected


@pytest.mark.parametrize("rand", [-0.1, 1.0])
def test_deferred_rejects_rand_outside_unit_interval(rand):
    with pytest.raises(ValueError):
        deferred_ms(0, 10, rand)
