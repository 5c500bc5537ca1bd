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
    log:
        "logs/{study}/plot_training_curves/figure.log",
    benchmark:
        "logs/{study}/benchmarks/plot_training_curves/figure.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_of("stages.figures"),
        runs=run_labels(),
    script:
        "../scripts/plot_training_curves.py"


rule plot_landscape:
    input:
        landscape=rules.merge_landscape.output.landscape,
    output:
        figure=report(
            "results/{study}/report/landscape/{activation}/seed_{seed}/{plane}.png",
            caption="../../report/landscape.rst",
            category="Landscapes",
            subcategory="{activation}",
            labels={"seed": "{seed}", "plane": "{plane}"},
        ),
    log:
        "logs/{study}/plot_landscape/{activation}/seed_{seed}/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/plot_landscape/{activation}/seed_{seed}/{plane}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_of("stages.figures"),
    script:
        "../scripts/plot_landscape.py"
