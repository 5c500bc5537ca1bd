rule compute_metrics:
    input:
        landscape=rules.merge_landscape.output.landscape,
    output:
        metrics="results/{study}/metrics/{activation}/seed_{seed}/{plane}.nc",
    log:
        "logs/{study}/compute_metrics/{activation}/seed_{seed}/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/compute_metrics/{activation}/seed_{seed}/{plane}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.analyze"),
        metrics=canonical(config["metrics"]),
    script:
        "../scripts/compute_metrics.py"


# A run's own planes in one job (Python, xarray and scipy start once); compute_metrics
# handles the planes through several runs' models.
ruleorder: compute_run_metrics > compute_metrics


rule compute_run_metrics:
    input:
        landscapes=local_paths(
            "results/{study}/landscape/{activation}/seed_{seed}/{plane}.nc"
        ),
    output:
        metrics=local_paths(
            "results/{study}/metrics/{activation}/seed_{seed}/{plane}.nc"
        ),
    log:
        "logs/{study}/compute_run_metrics/{activation}/seed_{seed}.log",
    benchmark:
        "logs/{study}/benchmarks/compute_run_metrics/{activation}/seed_{seed}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(30),
    params:
        code=code_of("stages.analyze"),
        metrics=canonical(config["metrics"]),
    script:
        "../scripts/compute_metrics.py"


rule compute_sharpness:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=TRAINED.output.checkpoints,
    output:
        sharpness="results/{study}/metrics/{activation}/seed_{seed}/sharpness.nc",
    log:
        "logs/{study}/compute_sharpness/{activation}/seed_{seed}.log",
    benchmark:
        "logs/{study}/benchmarks/compute_sharpness/{activation}/seed_{seed}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=runtimes.resource(runtimes.sharpness_seconds(config)),
    params:
        code=code_of("stages.sharpness"),
        sharpness=canonical(config["sharpness"]),
    script:
        "../scripts/compute_sharpness.py"


rule summarize_study:
    input:
        metrics=run_plane_paths(
            "results/{study}/metrics/{activation}/seed_{seed}/{plane}.nc"
        ),
        sharpness=run_paths(
            "results/{study}/metrics/{activation}/seed_{seed}/sharpness.nc"
        ),
        histories=run_paths(
            "results/{study}/train/{activation}/seed_{seed}/history.csv"
        ),
        across_seeds=across_seed_paths(
            "results/{study}/metrics/{activation}/seed_{seed}/{plane}.nc"
        ),
        over_training=over_training_paths(
            "results/{study}/metrics/{activation}/seed_{seed}/{plane}.nc"
        ),
        seed_barriers=seed_barrier_paths(),
    output:
        summary=report(
            "results/{study}/metrics/summary.csv",
            caption="../../report/summary.rst",
            category="Metrics",
            labels={"table": "per run and plane"},
        ),
        by_activation=report(
            "results/{study}/metrics/summary_by_activation.csv",
            caption="../../report/summary_by_activation.rst",
            category="Metrics",
            labels={"table": "mean and sd over seeds"},
        ),
        across_seeds=report(
            "results/{study}/metrics/across_seeds.csv",
            caption="../../report/across_seeds.rst",
            category="Metrics",
            labels={"table": "across seeds: barriers and three-seed planes"},
        ),
        over_training=report(
            "results/{study}/metrics/width_over_training.csv",
            caption="../../report/width_over_training_table.rst",
            category="Metrics",
            labels={"table": "basin width over training"},
        ),
    log:
        "logs/{study}/summarize_study/summary.log",
    benchmark:
        "logs/{study}/benchmarks/summarize_study/summary.tsv"
    # a cheap gather: run where Snakemake runs, never submitted to a cluster
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.analyze"),
        runs=run_labels(),
        target_loss=config["training"]["target_loss"],
    script:
        "../scripts/summarize_study.py"


rule study_statistics:
    input:
        summary=rules.summarize_study.output.summary,
        across_seeds=rules.summarize_study.output.across_seeds,
    output:
        by_activation=report(
            "results/{study}/statistics/by_activation.csv",
            caption="../../report/statistics_by_activation.rst",
            category="Study statistics",
            labels={"table": "per activation, with intervals"},
        ),
        comparisons=report(
            "results/{study}/statistics/comparisons.csv",
            caption="../../report/statistics_comparisons.rst",
            category="Study statistics",
            labels={"table": "pairwise tests"},
        ),
        correlations=report(
            "results/{study}/statistics/correlations.csv",
            caption="../../report/statistics_correlations.rst",
            category="Study statistics",
            labels={"table": "correlation with accuracy"},
        ),
        variance_split=report(
            "results/{study}/statistics/variance_split.csv",
            caption="../../report/statistics_variance_split.rst",
            category="Study statistics",
            labels={"table": "variance between seeds and between direction draws"},
        ),
        dataset="results/{study}/statistics/study.nc",
        answer="results/{study}/statistics/answer.rst",
    log:
        "logs/{study}/study_statistics/statistics.log",
    benchmark:
        "logs/{study}/benchmarks/study_statistics/statistics.tsv"
    # a cheap gather: run where Snakemake runs, never submitted to a cluster
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.analyze"),
        activations=config["activations"],
        planes=SUMMARY_PLANES,
        basin_level_mode=config["metrics"]["basin_level_mode"],
        loss_units=LOSS_UNITS,
    script:
        "../scripts/study_statistics.py"
