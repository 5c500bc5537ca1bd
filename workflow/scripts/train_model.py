"""Snakemake adapter for rule train_model: train one (activation, seed) run."""

from losslandscape.logs import log_to_file
from losslandscape.stages.train import run_train_model

training = snakemake.params.training
with log_to_file(snakemake.log[0]):
    run_train_model(
        dataset=snakemake.input.dataset,
        checkpoints=snakemake.output.checkpoints,
        history=snakemake.output.history,
        threads=snakemake.threads,
        model_name=snakemake.params.model["name"],
        model_kwargs={
            **snakemake.params.model["kwargs"],
            "leaky_relu_slope": snakemake.params.model["leaky_relu_slope"],
        },
        activation=snakemake.wildcards.activation,
        seed=int(snakemake.wildcards.seed),
        learning_rate=snakemake.params.learning_rate,
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        optimizer=training["optimizer"],
        momentum=training["momentum"],
        weight_decay=training["weight_decay"],
        plateau_factor=training["plateau"]["factor"] if training["plateau"] else None,
        plateau_patience=training["plateau"]["patience"] if training["plateau"] else 0,
        cosine=training["cosine"],
        target_loss=training["target_loss"],
        checkpoint_every=training["checkpoint_every"],
        augmentation=training["augmentation"],
        milestones=training["milestones"]["epochs"] if training["milestones"] else None,
        milestone_factor=training["milestones"]["factor"] if training["milestones"] else 0.1,
        device=training["device"],
        loss=training["loss"],
    )
