"""``python -m zoo.build``: rebuild a zoo version (resumable; --force to redo)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

STAGES = ("data", "train", "cards", "hardness", "transfer", "affinity", "layers", "docs")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.build", description=__doc__)
    parser.add_argument("--version", default="3.0", choices=("1.0", "2.0", "3.0"),
                        help="zoo version to build (default 3.0: zoo.yaml, the default zoo; 2.0: zoo-2.0.yaml; 1.0: zoo-1.0.yaml)")
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run only these stages (default: all, in order)")
    parser.add_argument("--force", action="store_true", help="redo the chosen stages even where outputs exist")
    parser.add_argument("--jobs", type=int, default=2, help="processes (1 torch thread each) for rendering, training "
                        "(zoo 2.0; 1.0 trains one model at a time), transfer and layer-transfer measurements")
    parser.add_argument("--smoke", metavar="DIR", type=Path, help="build a toy-scale copy (few images, steps, tasks) into DIR")
    parser.add_argument("--tasks", nargs="+", metavar="TASK", help="with --smoke: the tasks of the toy copy (default: "
                        "inpainting rgb2depth class_scene)")
    parser.add_argument("--partial", action="store_true", help="affinity stage: ground truth of the models measured so "
                        "far, into <state>/partial_ground_truth (a progress check; the zoo file is not touched)")
    parser.add_argument("--status", action="store_true", help="print how far the build got (one line) and exit")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from zoo.build.config import VERSIONS, smoke

    cfg = VERSIONS[args.version]
    if args.smoke:
        cfg = smoke(cfg, args.smoke, **({"tasks": tuple(args.tasks)} if args.tasks else {}))
    elif args.tasks:
        parser.error("--tasks needs --smoke (a full build has every task)")
    files = cfg.files
    if args.status:
        from zoo.build.progress import status_line

        print(status_line(cfg))
        return 0
    files.ensure()
    timings = json.loads(files.timings.read_text()) if files.timings.exists() else {}
    for stage in STAGES:
        if args.only and stage not in args.only:
            continue
        t0 = time.perf_counter()
        work = 1  # how many things the stage built (0: everything was already there)
        if stage == "data":
            from zoo.build import data

            work = data.build_all(cfg, args.force, args.jobs)
        elif stage == "train":
            from zoo.build import train

            work = train.run(cfg, args.force, jobs=args.jobs if cfg.version != "1.0" else 1)
        elif stage == "cards":
            from zoo.build import cards, zoofile

            work = cards.run(cfg, args.force)
            zoofile.write(cfg)
        elif stage == "hardness":
            if cfg.version != "1.0":
                print("stage hardness: zoo 2.0's class_object stays near the majority class; the classifier that learned "
                      "it (python -m zoo.build.explain_models) gets the predictor instead; skipped")
                continue
            from zoo.build import hardness

            work = hardness.run(cfg.files.cards / "class_object.yaml", args.force)
        elif stage == "transfer":
            from zoo.build import transfer

            work = transfer.run(cfg, args.force, jobs=args.jobs)
        elif stage == "affinity":
            from zoo.build import affinity, zoofile

            summary = affinity.run(cfg, partial=args.partial)
            fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731  (P@5 needs >= 5 sources)
            print(f"seed agreement over {summary['sources']} sources: mean Spearman {fmt(summary['spearman'])}, P@5 "
                  f"{fmt(summary['p_at_5'])}; worse than {summary['random_baseline']}: {summary['worse_than_random']:.1%} "
                  + (f"(than the same family's random encoder: {summary['worse_than']['same_family']:.1%} of off-diagonal pairs) "
                     if "same_family" in summary["worse_than"] else "")
                  + f"of pairs; own model best source for {summary['own_model_top1']}/{summary['targets']} targets")
            if not args.partial:
                zoofile.write(cfg)
        elif stage == "layers":
            from zoo.build import layer_truth

            if cfg.version not in layer_truth.PLANS or args.smoke:
                print(f"stage layers: zoo {cfg.version}{' (smoke copy)' if args.smoke else ''} has no layer-selection "
                      f"ground truth (zoo 1.0 and 3.0 do); skipped")
                continue
            work = layer_truth.run(layer_truth.PLANS[cfg.version], args.force, args.jobs)
        elif stage == "docs":
            from zoo.build import docs

            docs.write(cfg, timings)
        seconds = time.perf_counter() - t0
        if stage != "docs" and not (stage == "affinity" and args.partial):
            # wall time of the run that did the work; a resumed stage that found everything done keeps the old number
            if work or stage not in timings:
                timings[stage] = round(seconds + (timings.get(stage, 0) if work and stage in ("train", "transfer", "layers") and not args.force else 0), 1)
            files.timings.write_text(json.dumps(timings, indent=1))
        print(f"stage {stage}: {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
