"""Rich progress bars shared by the build stages."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), transient=False)


def status_line(cfg) -> str:
    """How far a (resumable) build got: models trained, transfer heads measured, ground truth or not."""
    from zoo.build.train import is_done
    from zoo.build.transfer import read_source

    trained = sum(is_done(cfg, m) for m in cfg.models)
    total_heads = len(cfg.sources) * len(cfg.targets) * len(cfg.seeds)
    heads = sum(len(read_source(cfg, s)) for s in cfg.sources) if cfg.files.probe_info.exists() else 0
    gt = "ground truth written" if (cfg.files.ground_truth / "agreement.json").exists() else "no ground truth yet"
    return (f"zoo {cfg.version}: {trained}/{len(cfg.models)} models trained, {heads}/{total_heads} transfer heads "
            f"measured ({len(cfg.sources)} sources x {len(cfg.targets)} targets x {len(cfg.seeds)} seeds), {gt}")
