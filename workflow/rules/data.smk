rule prepare_dataset:
    output:
        dataset="results/{study}/data/dataset.pt",
    log:
        "logs/{study}/prepare_dataset/dataset.log",
    benchmark:
        "logs/{study}/benchmarks/prepare_dataset/dataset.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        name=config["dataset"]["name"],
    script:
        "../scripts/prepare_dataset.py"
