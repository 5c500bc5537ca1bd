rule compute_directions:
    input:
        checkpoints=plane_checkpoints,
        dataset=hessian_dataset,
    output:
        directions="results/{study}/directions/{activation}/seed_{seed}/{plane}.pt",
    log:
        "logs/{study}/compute_directions/{activation}/seed_{seed}/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/compute_directions/{activation}/seed_{seed}/{plane}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=runtimes.resource(direction_seconds),
    params:
        code=code_of("stages.directions"),
        options=plane_options,
    script:
        "../scripts/compute_directions.py"
