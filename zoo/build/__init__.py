"""Build the embedded mini-taskonomy zoo from scratch: data, training, export, cards, ground truth.

    .venv/bin/python -m zoo.build                # every stage, skipping what already exists
    .venv/bin/python -m zoo.build --only transfer
    .venv/bin/python -m zoo.build --force        # rebuild everything
"""
