rule evaluate_landscape_tile:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=rules.train_model.output.checkpoints,
        directions=rules.compute_directions.output.directions,
    output:
        tile="results/{study}/landscape/{activation}/seed_{seed}/{plane}/tile_{tile}.nc",
    log:
        "logs/{study}/evaluate_landscape_tile/{activation}/seed_{seed}/{plane}/tile_{tile}.log",
    benchmark:
        "logs/{study}/benchmarks/evaluate_landscape_tile/{activation}/seed_{seed}/{plane}/tile_{tile}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["landscape"]["threads"]
    resources:
        mem_mb=int(config["landscape"]["memory_budget_mb"]) + 2000,
        runtime=120,
        gpu=accelerator(config["landscape"]["device"], "cuda"),
        tpu=accelerator(config["landscape"]["device"], "xla"),
    params:
        code=code_of("stages.landscape"),
        settings=landscape_settings(),
    script:
        "../scripts/evaluate_landscape_tile.py"


rule merge_landscape:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=rules.train_model.output.checkpoints,
        directions=rules.compute_directions.output.directions,
        tiles=landscape_tiles,
    output:
        landscape="results/{study}/landscape/{activation}/seed_{seed}/{plane}.nc",
    log:
        "logs/{study}/merge_landscape/{activation}/seed_{seed}/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/merge_landscape/{activation}/seed_{seed}/{plane}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        code=code_of("stages.landscape"),
        settings=landscape_settings(),
    script:
        "../scripts/merge_landscape.py"
