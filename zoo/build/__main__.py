"""``python -m zoo.build``: rebuild the embedded zoo (resumable; --force to redo)."""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

STAGES = ("data", "train", "cards", "transfer", "affinity", "layers", "docs")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.build", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run only these stages (default: all, in order)")
    parser.add_argument("--force", action="store_true", help="redo the chosen stages even where outputs exist")
    parser.add_argument("--jobs", type=int, default=2, help="transfer stage: seeds measured in parallel (1 torch thread each)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from zoo.build import paths

    paths.ensure()
    timings = json.loads(paths.TIMINGS.read_text()) if paths.TIMINGS.exists() else {}
    for stage in STAGES:
        if args.only and stage not in args.only:
            continue
        t0 = time.perf_counter()
        work = 1  # how many things the stage built (0: everything was already there)
        if stage == "data":
            from zoo.build import data

            work = data.build_all(args.force)
        elif stage == "train":
            from zoo.build import train

            work = train.run(args.force)
        elif stage == "cards":
            from zoo.build import cards, zoofile

            work = cards.run(args.force)
            zoofile.write()
        elif stage == "transfer":
            from zoo.build import transfer

            work = transfer.run(args.force, jobs=args.jobs)
        elif stage == "affinity":
            from zoo.build import affinity

            summary = affinity.run()
            print(f"seed agreement: mean Spearman {summary['spearman']:.3f}, P@5 {summary['p_at_5']:.3f}; "
                  f"own model best source for {summary['own_model_top1']}/{summary['targets']} targets")
        elif stage == "layers":
            from zoo.build import layer_truth

            work = layer_truth.run(args.force)
        elif stage == "docs":
            from zoo.build import docs

            docs.write(timings)
        seconds = time.perf_counter() - t0
        if stage != "docs":
            # wall time of the run that did the work; a resumed stage that found everything done keeps the old number
            if work or stage not in timings:
                timings[stage] = round(seconds, 1)
            paths.TIMINGS.write_text(json.dumps(timings, indent=1))
        print(f"stage {stage}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
