rule download_archive:
    output:
        archive="resources/datasets/{dataset}/{archive}",
    log:
        "logs/download_archive/{dataset}/{archive}.log",
    retries: 2
    localrule: True
    conda:
        "../../envs/torch.yaml"
    resources:
        # where from is not what: a resource, not a param, so that a changed mirror does
        # not refetch archives whose md5 was verified
        mirror=config["dataset"]["mirror"] or "",
    params:
        code=code_of("data.archives"),
        checksums=canonical(config["dataset"]["checksums"]),
    script:
        "../scripts/download_archive.py"


rule prepare_dataset:
    input:
        archives=dataset_archives,
        file=DATASET_FILE,
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
        mem_mb=8000,
        runtime=runtimes.fixed(30),
    params:
        code=code_of("stages.data"),
        name=config["dataset"]["name"],
        labels=config["dataset"]["labels"],
        checksums=canonical(config["dataset"]["checksums"]),
    script:
        "../scripts/prepare_dataset.py"
