"""A model test suite with one flaky test, for the demo: dtf reruns it on another host and names the flaky case."""
import os


def test_loss_decreases():
    losses = [2.3, 1.1, 0.7, 0.4]
    assert losses == sorted(losses, reverse=True)


def test_eval_is_deterministic():
    # Flaky on purpose: a race between the data loader and the evaluator that the first attempt loses.
    accuracy = 0.912 if os.environ.get("DTF_ATTEMPT") == "1" else 0.915
    assert accuracy == 0.915, f"eval accuracy {accuracy} != 0.915 (nondeterministic data loader)"
