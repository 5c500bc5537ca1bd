if EXTERNAL:

    # Models trained elsewhere (training.external_checkpoints): each run's state dict is
    # loaded, checked and evaluated into the outputs training would write
    rule import_checkpoints:
        input:
            dataset=rules.prepare_dataset.output.dataset,
            state_dict=external_state_dict,
            model=MODEL_SOURCES,
        output:
            checkpoints="results/{study}/train/{activation}/seed_{seed}/checkpoints.pt",
            history="results/{study}/train/{activation}/seed_{seed}/history.csv",
        log:
            "logs/{study}/import_checkpoints/{activation}/seed_{seed}.log",
        benchmark:
            "logs/{study}/benchmarks/import_checkpoints/{activation}/seed_{seed}.tsv"
        conda:
            "../../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=runtimes.resource(runtimes.import_seconds(config)),
            gpu=accelerator(config["training"]["device"], "cuda"),
            tpu=accelerator(config["training"]["device"], "xla"),
        params:
            code=code_of("stages.imported"),
            model=canonical(config["model"]),
            model_code=MODEL_CODE,
            training=canonical(
                {
                    k: config["training"][k]
                    for k in ("batch_size", "target_loss", "device", "loss")
                }
            ),
        script:
            "../scripts/import_checkpoints.py"

    TRAINED = rules.import_checkpoints

else:

    rule train_model:
        input:
            dataset=rules.prepare_dataset.output.dataset,
            model=MODEL_SOURCES,
        output:
            checkpoints="results/{study}/train/{activation}/seed_{seed}/checkpoints.pt",
            history="results/{study}/train/{activation}/seed_{seed}/history.csv",
        log:
            "logs/{study}/train_model/{activation}/seed_{seed}.log",
        benchmark:
            "logs/{study}/benchmarks/train_model/{activation}/seed_{seed}.tsv"
        conda:
            "../../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=runtimes.resource(runtimes.training_seconds(config)),
            gpu=accelerator(config["training"]["device"], "cuda"),
            tpu=accelerator(config["training"]["device"], "xla"),
        params:
            code=code_of("stages.train"),
            model=canonical(config["model"]),
            model_code=MODEL_CODE,
            training=canonical(
                {k: v for k, v in config["training"].items() if k != "learning_rate"}
            ),
            learning_rate=learning_rate,
        script:
            "../scripts/train_model.py"

    # every rule that reads a run's models takes them from here
    TRAINED = rules.train_model
