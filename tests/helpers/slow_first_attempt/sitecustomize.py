"""Loaded by Python at start-up when this folder is on PYTHONPATH (the Slurm time-limit test only).

A training run that starts from scratch sleeps INEQBENCH_TEST_EPOCH_DELAY_S seconds after saving each
epoch's resume state, so the first attempt cannot finish within its time limit, whatever the machine's
speed; an attempt that resumes from a saved state runs at full speed. The package code is not changed:
`ineqbench.models.training.train_classifier` is wrapped when that module is first imported.
"""

import functools
import importlib.abc
import importlib.util
import os
import sys
import time

TARGET = "ineqbench.models.training"


def _slow_first_attempt(train_classifier):
    delay = float(os.environ.get("INEQBENCH_TEST_EPOCH_DELAY_S", "0"))

    @functools.wraps(train_classifier)
    def wrapped(*args, start=None, on_epoch_end=None, **kwargs):
        if start is None and on_epoch_end is not None and delay > 0:
            save = on_epoch_end

            def on_epoch_end(state):  # noqa: F811 (the slowed-down callback)
                save(state)
                time.sleep(delay)

        return train_classifier(*args, start=start, on_epoch_end=on_epoch_end, **kwargs)

    return wrapped


class _WrapOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            module.train_classifier = _slow_first_attempt(module.train_classifier)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _WrapOnImport())
