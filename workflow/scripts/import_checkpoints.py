"""Snakemake adapter for rule import_checkpoints: one (activation, seed) run from a state dict
trained outside the workflow, written as rule train_model writes its outputs."""

from losslandscape.logs import log_to_file
from losslandscape.stages.imported import run_import_checkpoints

training = snakemake.params.training
with log_to_file(snakemake.log[0]):
    run_import_checkpoints(
        dataset=snakemake.input.dataset,
        state_dict=snakemake.input.state_dict,
        checkpoints=snakemake.output.checkpoints,
        history=snakemake.output.history,
        model_name=snakemake.params.model["name"],
        model_kwargs={
            **snakemake.params.model["kwargs"],
            "leaky_relu_slope": snakemake.params.model["leaky_relu_slope"],
        },
        activation=snakemake.wildcards.activation,
        seed=int(snakemake.wildcards.seed),
        batch_size=training["batch_size"],
        target_loss=training["target_loss"],
        device=training["device"],
        loss=training["loss"],
        threads=snakemake.threads,
    )
