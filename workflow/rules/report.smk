localrules:
    plot_training_curves,


rule plot_training_curves:
    input:
        histories=run_paths(
            "results/{study}/train/{activation}/seed_{seed}/history.csv"
        ),
    output:
        figure=report(
            "results/{study}/report/training_curves.png",
            caption="../../report/training_curves.rst",
            category="Training",
            labels={"figure": "training curves"},
        ),
        per_seed=report(
            "results/{study}/report/training_curves_per_seed.png",
            caption="../../report/training_curves_per_seed.rst",
            category="Training",
            labels={"figure": "training curves per seed"},
        ),
    log:
        "logs/{study}/plot_training_curves/figure.log",
    benchmark:
        "logs/{study}/benchmarks/plot_training_curves/figure.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.figures"),
        runs=run_labels(),
        activations=config["activations"],
        loss_units=LOSS_UNITS,
    script:
        "../scripts/plot_training_curves.py"


# One job per run and plane draws both its figures: a second job each would start Python,
# matplotlib and xarray again (about 3 s) for 18 landscapes in the default study.
rule plot_landscape:
    input:
        landscape=rules.merge_landscape.output.landscape,
        metrics=rules.compute_metrics.output.metrics,
    output:
        figure=report(
            "results/{study}/report/landscape/{activation}/seed_{seed}/{plane}.png",
            caption="../../report/landscape.rst",
            category="Landscapes",
            subcategory="{activation}",
            labels={"seed": "{seed}", "plane": "{plane}"},
        ),
        analysis=report(
            "results/{study}/report/analysis/{activation}/seed_{seed}/{plane}.png",
            caption="../../report/landscape_analysis.rst",
            category="Landscape analysis",
            subcategory="{activation}",
            labels={"seed": "{seed}", "plane": "{plane}"},
        ),
        numbers="results/{study}/report/analysis/{activation}/seed_{seed}/{plane}.rst",
    log:
        "logs/{study}/plot_landscape/{activation}/seed_{seed}/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/plot_landscape/{activation}/seed_{seed}/{plane}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.figures"),
    script:
        "../scripts/plot_landscape.py"


rule plot_study_statistics:
    input:
        summary=rules.summarize_study.output.summary,
        correlations=rules.study_statistics.output.correlations,
    output:
        comparison=report(
            "results/{study}/report/metric_comparison.png",
            caption="../../report/metric_comparison.rst",
            category="Study statistics",
            labels={"figure": "metrics per activation"},
        ),
        accuracy=report(
            "results/{study}/report/metric_accuracy.png",
            caption="../../report/metric_accuracy.rst",
            category="Study statistics",
            labels={"figure": "metrics against accuracy"},
        ),
    log:
        "logs/{study}/plot_study_statistics/figures.log",
    benchmark:
        "logs/{study}/benchmarks/plot_study_statistics/figures.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.figures"),
        activations=config["activations"],
        planes=SUMMARY_PLANES,
        loss_units=LOSS_UNITS,
    script:
        "../scripts/plot_study_statistics.py"


rule plot_width_over_training:
    input:
        table=rules.summarize_study.output.over_training,
    output:
        figure=report(
            "results/{study}/report/width_over_training.png",
            caption="../../report/width_over_training.rst",
            category="Study statistics",
            labels={"figure": "basin width over training"},
        ),
    log:
        "logs/{study}/plot_width_over_training/figure.log",
    benchmark:
        "logs/{study}/benchmarks/plot_width_over_training/figure.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.figures"),
        activations=config["activations"],
        loss_units=LOSS_UNITS,
    script:
        "../scripts/plot_width_over_training.py"


rule plot_plane_comparison:
    input:
        landscapes=landscapes_of_plane,
    output:
        figure=report(
            "results/{study}/report/planes/{plane}.png",
            caption="../../report/plane_comparison.rst",
            category="Landscapes",
            subcategory="all activations",
            labels={"plane": "{plane}"},
        ),
    log:
        "logs/{study}/plot_plane_comparison/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/plot_plane_comparison/{plane}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.figures"),
        runs=run_labels(),
        activations=config["activations"],
        variable=config["metrics"]["variable"],
    script:
        "../scripts/plot_plane_comparison.py"


rule plot_seed_barriers:
    input:
        barriers=seed_barrier_paths(),
    output:
        figure=report(
            "results/{study}/report/seed_barriers.png",
            caption="../../report/seed_barriers.rst",
            category="Study statistics",
            labels={"figure": "barriers between seeds"},
        ),
    log:
        "logs/{study}/plot_seed_barriers/figure.log",
    benchmark:
        "logs/{study}/benchmarks/plot_seed_barriers/figure.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=runtimes.fixed(10),
    params:
        code=code_of("stages.figures"),
        activations=config["activations"],
    script:
        "../scripts/plot_seed_barriers.py"
