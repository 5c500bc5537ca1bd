"""Stage prepare_dataset: the data set as tensors."""

import logging

from losslandscape.datasets import prepare_dataset, save_dataset

log = logging.getLogger(__name__)


def run_prepare_dataset(name: str, out: str) -> None:
    """Build data set ``name`` and write it to ``out`` (.pt)."""
    dataset = prepare_dataset(name)
    save_dataset(dataset, out)
    log.info(
        "%s: %d train / %d test samples, %d classes, input %s → %s",
        name,
        len(dataset["y_train"]),
        len(dataset["y_test"]),
        dataset["n_classes"],
        dataset["input_shape"],
        out,
    )
