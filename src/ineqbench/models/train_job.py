"""The `train_model` stage: train one spec on its data set, save its weights and a training record;
and the `evaluate_model` stage that turns any model's record (trained or fetched) into its card.

A model with `init_from` starts from that model's weights (fine-tuning), pruned first when its variant
prunes; the masks are folded into the weights before saving, and the record holds the sparsity measured
on them and the sha256 of the weights it started from.

Evaluation is a job of its own, so changing the evaluation settings re-evaluates and never retrains.
With a `resume_path` the job saves its state after every epoch and a rerun (after a kill at the
time limit) continues from it; the state is removed once the checkpoint is written.
"""

from __future__ import annotations

import logging
import time

from ineqbench.data.prepare import load_split
from ineqbench.device import select_device
from ineqbench.io import read_json, sha256_file, write_json
from ineqbench.models.architectures import build_classifier
from ineqbench.models.autoattack import autoattack_accuracy
from ineqbench.models.checkpoint import load_model, load_weights, save_checkpoint
from ineqbench.models.resume import ResumeFile, training_fingerprint
from ineqbench.models.settings import PRUNING, AutoAttackSettings, Variant
from ineqbench.models.spec import ModelSpec, epsilon_label
from ineqbench.models.training import TrainingRecipe, clean_accuracy, robust_accuracy, train_classifier
from ineqbench.models.variants import make_permanent, sparsity
from ineqbench.provenance import provenance

log = logging.getLogger(__name__)


def evaluate_classifier(
    model, test_path: str, *, radii: dict[str, list[float]], pgd_steps: int, eval_images: int, seed: int, device
) -> dict:
    """Clean accuracy on the whole test split; PGD accuracy on its first `eval_images` images at each
    radius of each norm (`radii`: {"linf": [2/255], "l2": [0.5]}), as {norm: {ε label: accuracy}}."""
    test = load_split(test_path)
    n = min(eval_images, len(test))
    result = {
        "clean_accuracy": clean_accuracy(model, test.images, test.labels, device),
        "robust_accuracy": {},
        "robust_eval": {
            "attack": "PGD",
            "pgd_steps": pgd_steps,
            "images": n,
            "step_size": "2.5 eps / steps",
            "random_start": True,
        },
    }
    for norm, epsilons in radii.items():
        for eps in sorted(epsilons):
            acc = robust_accuracy(
                model,
                test.images[:n],
                test.labels[:n],
                norm=norm,
                epsilon=eps,
                steps=pgd_steps,
                device=device,
                seed=seed,
            )
            result["robust_accuracy"].setdefault(norm, {})[epsilon_label(eps, norm)] = acc
            log.info("PGD-%d %s accuracy at ε=%s: %.4f", pgd_steps, norm, epsilon_label(eps, norm), acc)
    return result


def autoattack_radii(spec: ModelSpec, radii: dict[str, list[float]]) -> dict[str, list[float]]:
    """Where AutoAttack runs: an adversarially trained model at its own norm and ε (Table 5); a plain
    standard model at every configured radius (where the adversarially trained models' checks compare
    with it); a standard model of a variant (fine-tuned, pruned), which is no one's comparator, at the
    first configured radius only."""
    if not spec.is_standard:
        return {spec.norm: [spec.epsilon]}
    configured = {norm: sorted(epsilons) for norm, epsilons in radii.items() if epsilons}
    if spec.is_plain or not configured:
        return configured
    norm, epsilons = next(iter(configured.items()))
    return {norm: epsilons[:1]}


def evaluate_autoattack(
    model, spec: ModelSpec, test_path: str, *, radii: dict[str, list[float]], settings: AutoAttackSettings, device
) -> dict:
    """The card's `autoattack` entry: the settings, whether they are the standard version, and per norm
    and ε label the accuracy before and after each attack, on the first `settings.n_images` test images."""
    test = load_split(test_path)
    n = min(settings.n_images, len(test))
    accuracy = {}
    for norm, epsilons in autoattack_radii(spec, radii).items():
        for eps in epsilons:
            accuracy.setdefault(norm, {})[epsilon_label(eps, norm)] = autoattack_accuracy(
                model, test.images[:n], test.labels[:n], norm=norm, epsilon=eps, settings=settings, seed=spec.seed,
                device=device,
            )  # fmt: skip
    return {
        "settings": settings.as_dict(),
        "standard_version": settings.is_standard,
        "images": n,
        "seed": spec.seed,
        "accuracy": accuracy,
    }


def evaluate_model_card(
    model,
    spec: ModelSpec,
    test_path: str,
    *,
    radii: dict[str, list[float]],
    pgd_steps: int,
    eval_images: int,
    device,
    autoattack: AutoAttackSettings | None = None,
) -> dict:
    """The card's accuracies: PGD at the configured radii of each norm, plus an adversarially trained
    model's own norm and ε (its gradient-masking check compares it with the standard model there), and
    AutoAttack (`evaluate_autoattack`) unless it attacks no image."""
    pgd_radii = {norm: set(epsilons) for norm, epsilons in radii.items() if epsilons}
    if not spec.is_standard:
        pgd_radii.setdefault(spec.norm, set()).add(spec.epsilon)
    card = evaluate_classifier(
        model,
        test_path,
        radii={norm: sorted(epsilons) for norm, epsilons in pgd_radii.items()},
        pgd_steps=pgd_steps,
        eval_images=eval_images,
        seed=spec.seed,
        device=device,
    )
    if autoattack is not None and autoattack.n_images > 0:
        card["autoattack"] = evaluate_autoattack(
            model, spec, test_path, radii=radii, settings=autoattack, device=device
        )
    return card


def train_model(
    *,
    spec: dict,
    recipe: dict,
    train_path: str,
    test_path: str,
    info_path: str,
    weights_path: str,
    record_path: str,
    init_weights_path: str | None = None,
    resume_path: str | None = None,
    threads: int = 1,
) -> None:
    """`recipe` is the recipe's fields, plus, for a model of a variant, the variant's under "variant"
    (only then, so a plain model's job params read as before variants existed and it is not retrained)."""
    model_spec = ModelSpec(**spec)
    variant = recipe.get("variant")
    training = TrainingRecipe(**{k: v for k, v in recipe.items() if k != "variant"})
    changes = Variant(**(variant or {}))
    device = select_device(threads)
    info = read_json(info_path)
    train = load_split(train_path)
    model = build_classifier(model_spec, len(info["class_names"]), info["train_pixel_mean"], info["train_pixel_std"])
    start_from = None
    if init_weights_path:
        load_weights(model, init_weights_path)
        start_from = {"id": model_spec.init_from, "weights_sha256": sha256_file(init_weights_path)}
        log.info("%s starts from %s", model_spec.id, model_spec.init_from)
    if changes.prune:
        PRUNING.get(changes.prune)(model, changes.amount)
    log.info(
        "training %s (%s, %s) on %s for %d epochs on %s",
        model_spec.id,
        model_spec.arch,
        model_spec.training_label,
        model_spec.dataset,
        training.epochs,
        device,
    )
    resume = start = None
    if resume_path:
        inputs = [train_path, info_path, *([init_weights_path] if init_weights_path else [])]
        fingerprint = training_fingerprint(spec, recipe, inputs)
        resume = ResumeFile(resume_path, fingerprint, model_spec.id)
        start = resume.load()
    resumed_from = int(start["epoch"]) if start else 0
    if start:
        log.info("resuming %s from epoch %d/%d (%s)", model_spec.id, resumed_from, training.epochs, resume.path)
    started = time.perf_counter()
    history = train_classifier(
        model,
        train.images,
        train.labels,
        recipe=training,
        norm=model_spec.norm,
        epsilon=model_spec.epsilon,
        seed=model_spec.seed,
        device=device,
        cutout=changes.cutout,
        start=start,
        on_epoch_end=resume.save if resume else None,
    )
    seconds = time.perf_counter() - started
    make_permanent(model)
    settings = {"spec": spec, "recipe": recipe}
    record = {
        "spec": spec,
        "recipe": recipe,
        **({"init_from": start_from} if start_from else {}),
        "num_classes": len(info["class_names"]),
        "class_names": info["class_names"],
        "image_shape": info["image_shape"],
        "mean": info["train_pixel_mean"],
        "std": info["train_pixel_std"],
        "history": history,
        "train_device": str(device),
        # a resumed job times only its own epochs
        "train_seconds": round(seconds, 2),
        "resumed_from_epoch": resumed_from,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "sparsity": sparsity(model),
        "provenance": provenance(
            settings, seed=model_spec.seed, inputs=[train_path, *([init_weights_path] if init_weights_path else [])]
        ),
    }
    save_checkpoint(model, weights_path, record, record_path)
    if resume:
        resume.clear()  # only now: a kill during saving resumes with no epoch to train


def evaluate_model(
    *,
    weights_path: str,
    record_path: str,
    test_path: str,
    eval_radii: dict[str, list[float]],
    eval_pgd_steps: int,
    eval_images: int,
    card_path: str,
    autoattack: dict | None = None,
    threads: int = 1,
) -> None:
    """The model card every later stage reads: the training or fetch record, clean accuracy on the test
    split, PGD accuracy per norm, AutoAttack accuracy (`evaluate_autoattack`), the device, and the sha256
    of the weights evaluated."""
    device = select_device(threads)
    record = read_json(record_path)
    spec = ModelSpec(**record["spec"])
    model = load_model(weights_path, record_path, device)
    metrics = evaluate_model_card(
        model,
        spec,
        test_path,
        radii=eval_radii,
        pgd_steps=eval_pgd_steps,
        eval_images=eval_images,
        device=device,
        autoattack=AutoAttackSettings(**autoattack) if autoattack is not None else None,
    )
    log.info("%s: clean accuracy %.4f on %s", spec.id, metrics["clean_accuracy"], device)
    write_json(card_path, {**record, **metrics, "device": str(device), "weights_sha256": sha256_file(weights_path)})
