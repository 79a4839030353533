"""Labelled image sets: probe images together with per-task labels for every image.

The one label system of the harness: ``harness sharing --labels``, ``harness run --labels``
and ``--labelled-benchmark`` all read labels here.

    labelled = load_labelled("synthetic-indoor", ProbeRequest(n_images=200, size=32), tasks=["class_scene"])
    labelled.probe                          # the ProbeSet (uint8 RGB NCHW), as any probe set
    labelled.task("class_scene").values     # (n,) int64 class indices, aligned with the images
    labels_on("labels.csv", probe)          # labels for a probe set that is already loaded

Sources (:mod:`.sources`, :mod:`.attach`): the built-in generated sets (``synthetic-indoor``,
``synthetic-studio``: every task of ``harness.probes.synthetic.TASKS``; ``synthetic-glyphs``:
plus ``glyph`` and ``class_scene_super``); a folder with one sub-folder per class (task
``label``; classes are the sorted sub-folder names, or their integer values when every name is
an integer); a labels CSV (:mod:`.table` states what a column means).

Dense synthetic labels keep their per-pixel form (kind ``dense_regression`` /
``dense_classification``); :func:`per_image` turns them into one target per image.
"""

from harness.probes.labels.attach import csv_labels, folder_labels, generated_labels, labels_on
from harness.probes.labels.records import KINDS, LabelledSet, TaskLabels, cell_means, per_image
from harness.probes.labels.sources import LABEL_SOURCES, builtin_tasks, list_label_sources, load_class_folder, load_csv, load_labelled
from harness.probes.labels.table import LabelTable, column_labels, read_label_table

__all__ = ["TaskLabels", "LabelledSet", "KINDS", "per_image", "cell_means", "load_labelled", "list_label_sources",
           "builtin_tasks", "LABEL_SOURCES", "load_class_folder", "load_csv", "labels_on", "csv_labels", "folder_labels",
           "generated_labels", "LabelTable", "read_label_table", "column_labels"]
