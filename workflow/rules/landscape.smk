rule evaluate_landscape_tile:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=TRAINED.output.checkpoints,
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
        runtime=runtimes.resource(runtimes.tile_seconds(config)),
        gpu=accelerator(config["landscape"]["device"], "cuda"),
        tpu=accelerator(config["landscape"]["device"], "xla"),
        # runtime-only: how often progress is saved changes no result, so it is a
        # resource (never a rerun trigger) rather than a param (config/README.md)
        save_every_seconds=str(config["landscape"]["save_every_seconds"]),
    params:
        code=code_of("stages.landscape"),
        settings=landscape_settings(),
    script:
        "../scripts/evaluate_landscape_tile.py"


rule merge_landscape:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=TRAINED.output.checkpoints,
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
        runtime=runtimes.resource(runtimes.trajectory_seconds(config)),
    params:
        code=code_of("stages.landscape"),
        settings=landscape_settings(),
    script:
        "../scripts/merge_landscape.py"


# Where each grid is one tile, a run's own planes are mapped in one job (map_run_planes)
# and a plane through several runs' models in one job (evaluate_landscape): a directions,
# tile or merge job each starts Python and torch again (2-3 s), which is most of a small
# model's plane. The same stage functions; partial saves still let a killed job resume.
# With tiles > 1, every plane goes through compute_directions, its tiles and the merge.
if config["landscape"]["tiles"] == 1:

    ruleorder: map_run_planes > evaluate_landscape > merge_landscape
    ruleorder: map_run_planes > compute_directions

else:

    ruleorder: merge_landscape > evaluate_landscape
    ruleorder: merge_landscape > map_run_planes
    ruleorder: compute_directions > map_run_planes


rule map_run_planes:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=TRAINED.output.checkpoints,
    output:
        directions=local_paths(
            "results/{study}/directions/{activation}/seed_{seed}/{plane}.pt"
        ),
        landscapes=local_paths(
            "results/{study}/landscape/{activation}/seed_{seed}/{plane}.nc"
        ),
    log:
        "logs/{study}/map_run_planes/{activation}/seed_{seed}.log",
    benchmark:
        "logs/{study}/benchmarks/map_run_planes/{activation}/seed_{seed}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["landscape"]["threads"]
    resources:
        mem_mb=int(config["landscape"]["memory_budget_mb"]) + 2000,
        runtime=runtimes.resource(run_planes_seconds()),
        gpu=accelerator(config["landscape"]["device"], "cuda"),
        tpu=accelerator(config["landscape"]["device"], "xla"),
        # runtime-only: how often progress is saved changes no result, so it is a
        # resource (never a rerun trigger) rather than a param (config/README.md)
        save_every_seconds=str(config["landscape"]["save_every_seconds"]),
    params:
        code=[code_of("stages.directions"), code_of("stages.landscape")],
        planes=local_planes(),
        options=local_plane_options(),
        settings=landscape_settings(),
    script:
        "../scripts/map_run_planes.py"


rule evaluate_landscape:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=TRAINED.output.checkpoints,
        directions=rules.compute_directions.output.directions,
    output:
        landscape="results/{study}/landscape/{activation}/seed_{seed}/{plane}.nc",
    log:
        "logs/{study}/evaluate_landscape/{activation}/seed_{seed}/{plane}.log",
    benchmark:
        "logs/{study}/benchmarks/evaluate_landscape/{activation}/seed_{seed}/{plane}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["landscape"]["threads"]
    resources:
        mem_mb=int(config["landscape"]["memory_budget_mb"]) + 2000,
        runtime=runtimes.resource(
            runtimes.grid_seconds(config, runtimes.plane_points(config))
            + runtimes.trajectory_seconds(config)
        ),
        gpu=accelerator(config["landscape"]["device"], "cuda"),
        tpu=accelerator(config["landscape"]["device"], "xla"),
        # runtime-only: how often progress is saved changes no result, so it is a
        # resource (never a rerun trigger) rather than a param (config/README.md)
        save_every_seconds=str(config["landscape"]["save_every_seconds"]),
    params:
        code=code_of("stages.landscape"),
        settings=landscape_settings(),
    script:
        "../scripts/evaluate_landscape.py"


rule interpolate_seeds:
    input:
        dataset=rules.prepare_dataset.output.dataset,
        checkpoints=seed_checkpoints,
    output:
        barriers="results/{study}/metrics/{activation}/seed_barriers.nc",
    log:
        "logs/{study}/interpolate_seeds/{activation}.log",
    benchmark:
        "logs/{study}/benchmarks/interpolate_seeds/{activation}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=runtimes.resource(runtimes.interpolation_seconds(config, len(SEEDS))),
    params:
        code=code_of("stages.seed_barriers"),
        points=config["across_seeds"]["points"],
        subset_size=config["landscape"]["subset_size"],
    script:
        "../scripts/interpolate_seeds.py"
