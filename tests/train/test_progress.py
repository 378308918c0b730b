"""training_progress(): no bar when off; a bar that counts to its total when on."""

from __future__ import annotations

from seqselect.train.progress import TrainingProgress, training_progress


def test_no_bar_when_disabled():
    with training_progress(False, "train Tiny", 10) as bar:
        assert bar is None


def test_a_bar_counts_up_to_its_total():
    with training_progress(True, "train Tiny", 10) as bar:
        assert isinstance(bar, TrainingProgress)
        bar.update(done=25, loss=0.5)  # past the total: capped
        task = bar._bar.tasks[0]
        assert task.completed == 10 and task.fields["status"] == "loss 0.5000"
        assert task.description == "train Tiny"
