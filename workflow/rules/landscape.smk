rule evaluate_landscape:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=rules.train_model.output.checkpoints,
        directions=rules.compute_directions.output.directions,
    output:
        landscape="results/{study}/landscape/{activation}/seed_{seed}/{plane}.nc",
    log:
        "logs/{study}/evaluate_landscape/{activation}/seed_{seed}/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/evaluate_landscape/{activation}/seed_{seed}/{plane}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        grid=config["landscape"],
    script:
        "../scripts/evaluate_landscape.py"
