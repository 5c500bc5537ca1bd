rule train_model:
    input:
        dataset=rules.prepare_dataset.output.dataset,
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
        training=canonical(
            {k: v for k, v in config["training"].items() if k != "learning_rate"}
        ),
        learning_rate=learning_rate,
    script:
        "../scripts/train_model.py"
