"""The claims table (docs/claims.md): per claim of the two papers and architecture, the difference Δ that
the claim is about with its 95% interval, what the interval covers, and the verdict by the committed rules.

Each claim is a registered function of the run's evidence (`claims.evidence.Evidence`: the specs, the
selected images, the per-image outputs of the stages by name, who is compared with whom), so a new claim
is one more registration. Values are per image, over the images every model classifies correctly; a
flagged or non-finite value is left out and counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ineqbench.claims.evidence import Evidence, by_arch
from ineqbench.claims.verdicts import MARGINS, Interval, agreement, upper_rate, verdict
from ineqbench.io import read_json, write_text
from ineqbench.models.spec import ModelSpec
from ineqbench.registry import Registry
from ineqbench.reporting.tables import to_markdown

COLOURS = {"B": "black", "G": "grey", "W": "white"}


@dataclass(frozen=True)
class ClaimRow:
    claim: str
    paper: str
    statement: str
    arch: str
    comparison: str
    unit: str  # "gini" or "rate": how Δ is shown
    interval: Interval
    verdict: str
    method: str = ""


def _row(claim, paper, statement, arch, comparison, unit, interval, *, direction, kind, margin=None, method=""):
    return ClaimRow(
        claim,
        paper,
        statement,
        arch,
        comparison,
        unit,
        interval,
        verdict(interval, direction=direction, kind=kind, margin=margin),
        method,
    )


CLAIMS: Registry[Callable[[Evidence], list[ClaimRow]]] = Registry("claim")
DUAN, WANG = "Duan et al.", "Wang & Kong"


def _difference(ev: Evidence, pair: tuple[str, str]) -> str:
    """What Δ is: the second model's value minus the first's."""
    return f"{ev.label(pair[1])} − {ev.label(pair[0])}"


def _gini_claims(ev: Evidence, method: str | None = None) -> list[ClaimRow]:
    rows = []
    for scope, claim in (("global", "D1g"), ("regional", "D1r")):
        for arch, pairs in ev.ladder():
            groups = [(ev.gini(s, scope, method), ev.gini(r, scope, method)) for s, r in pairs]
            rows.append(
                _row(
                    claim,
                    DUAN,
                    f"{scope} Gini rises with ε",
                    arch,
                    _difference(ev, pairs[0]),
                    "gini",
                    ev.interval(groups),
                    direction=1,
                    kind="training",
                    method=method or ev.method,
                )
            )
    return rows


def _fragility_claims(ev: Evidence, method: str | None = None) -> list[ClaimRow]:
    rows = []
    settings = []
    if "noise" in ev.inputs:
        settings += [
            ("D2n1", "Noise I", lambda m: ev.noise(m, "type1", method)),
            ("D2n2", "Noise II", lambda m: ev.noise(m, "type2", method)),
        ]
    if "occlusion" in ev.inputs and ev.occlusion_budget:
        settings += [
            (f"D2o{c}", f"occlusion ({colour})", lambda m, colour=colour: ev.occlusion(m, colour, method))
            for c, colour in COLOURS.items()
        ]
    for claim, name, values in settings:
        for arch, pairs in ev.ladder():
            groups = [(values(s), values(r)) for s, r in pairs]
            rows.append(
                _row(
                    claim,
                    DUAN,
                    f"l∞ models are more fragile than standard ones to inductive {name}",
                    arch,
                    _difference(ev, pairs[0]),
                    "rate",
                    ev.interval(groups),
                    direction=1,
                    kind="training",
                    method=method or ev.method,
                )
            )
    return rows


CLAIMS.add("gini_rises", _gini_claims)
CLAIMS.add("l_inf_fragile", _fragility_claims)


@CLAIMS.register("guided_beats_random")
def _guided_beats_random(ev: Evidence) -> list[ClaimRow]:
    rows = []
    for arch, pairs in ev.ladder():
        robust = [r for _, r in pairs]
        if "noise" in ev.inputs:
            groups = [(ev.noise(r, "random"), ev.noise(r, "type1")) for r in robust]
            rows.append(
                _row(
                    "D3",
                    DUAN,
                    "guided noise beats random noise at the same k",
                    arch,
                    f"Noise I − random, {ev.label(robust[0])}",
                    "rate",
                    ev.interval(groups),
                    direction=1,
                    kind="attack",
                )
            )
        if "random_occlusion" in ev.inputs and ev.occlusion_budget:
            for c, colour in COLOURS.items():
                groups = [(ev.occlusion(r, colour, family="random_occlusion"), ev.occlusion(r, colour)) for r in robust]
                rows.append(
                    _row(
                        f"D4{c}",
                        DUAN,
                        f"guided occlusion beats random-region occlusion ({colour})",
                        arch,
                        f"guided − random, {ev.label(robust[0])}",
                        "rate",
                        ev.interval(groups),
                        direction=1,
                        kind="attack",
                    )
                )
    return rows


@CLAIMS.register("transfer_asymmetry")
def _transfer(ev: Evidence) -> list[ClaimRow]:
    """Among the images an attack fooled on the source, the share that also fools the target (Noise I)."""

    def rate(source: str, target: str) -> np.ndarray:
        frame = pd.read_parquet(ev.inputs["transfer"][source][target])
        frame = frame[(frame["setting"] == "type1") & (frame["budget"] == ev.noise_budget) & frame["source_fooled"]]
        frame = frame[frame["pool_index"].isin(ev.chosen)]
        return frame["target_fooled"].astype(float).to_numpy()

    rows = []
    transfer = ev.inputs.get("transfer", {})
    for arch, pairs in ev.ladder():
        groups = [(rate(r, s), rate(s, r)) for s, r in pairs if r in transfer.get(s, {}) and s in transfer.get(r, {})]
        if groups:
            s, r = pairs[0]
            rows.append(
                _row(
                    "D5",
                    DUAN,
                    "transfer from standard to robust is easier than the reverse (Noise I)",
                    arch,
                    f"rate({ev.label(s)} → {ev.label(r)}) − rate(reverse)",
                    "rate",
                    ev.interval(groups, paired=False),
                    direction=1,
                    kind="attack",
                )
            )
    return rows


def _family_pairs(ev: Evidence, members, partner) -> list[tuple[str, list[tuple[str, str]]]]:
    pairs = []
    for spec in members:
        other = partner(spec)
        if other is not None:
            pairs.append((ev.specs[other], spec))
    return by_arch(pairs)


def _gini_or_black(ev: Evidence, model: str, what: str) -> np.ndarray:
    return ev.gini(model, "global") if what == "gini" else ev.occlusion(model, "black")


def _family_claim(ev, claim, statement, members, partner, what, *, direction, margin=None) -> list[ClaimRow]:
    if what == "rate" and not ("occlusion" in ev.inputs and ev.occlusion_budget):
        return []
    rows = []
    for arch, pairs in _family_pairs(ev, members, partner):
        if not all(ev.has("scores", m) for pair in pairs for m in pair):
            continue
        groups = [(_gini_or_black(ev, a, what), _gini_or_black(ev, b, what)) for a, b in pairs]
        a, b = pairs[0]
        rows.append(
            _row(
                claim,
                DUAN,
                statement,
                arch,
                _difference(ev, (a, b)),
                what,
                ev.interval(groups),
                direction=direction,
                kind="training",
                margin=margin,
            )
        )
    return rows


@CLAIMS.register("l2")
def _l2(ev: Evidence) -> list[ClaimRow]:
    l2 = [m for m in ev.specs.values() if m.is_plain and m.norm == "l2" and not m.is_standard]
    standard = lambda m: ev.plain_partner(m, norm=None, epsilon=0.0)  # noqa: E731
    return _family_claim(
        ev,
        "D6",
        "l2 models are not more unequal than standard ones",
        l2,
        standard,
        "gini",
        direction=-1,
        margin=MARGINS["gini"],
    ) + _family_claim(
        ev,
        "D7",
        "l2 models are more fragile to occlusion than standard ones (black)",
        l2,
        standard,
        "rate",
        direction=1,
    )


@CLAIMS.register("sparsity")
def _sparsity(ev: Evidence) -> list[ClaimRow]:
    rows = []
    for variant in sorted({m.variant for m in ev.pruned()}):
        members = [m for m in ev.pruned() if m.variant == variant]
        rows += _family_claim(
            ev,
            "D8",
            f"pruned models are not more unequal than their unpruned comparator ({variant})",
            members,
            lambda m: ev.comparator(m),
            "gini",
            direction=-1,
            margin=MARGINS["gini"],
        )
        rows += _family_claim(
            ev,
            "D9",
            f"pruned models are less fragile than l∞ models (occlusion, black; {variant})",
            members,
            lambda m: ev.plain_partner(m, norm="linf", epsilon=None),
            "rate",
            direction=-1,
        )
    return rows


@CLAIMS.register("cutout")
def _cutout(ev: Evidence) -> list[ClaimRow]:
    members = [m for m in ev.specs.values() if ev.variant_settings.get(m.id, {}).get("cutout", 0) > 0]
    members = [m for m in members if not m.is_standard]
    return _family_claim(
        ev,
        "D10",
        "Cutout lowers the Gini of l∞ AT",
        members,
        lambda m: ev.plain_partner(m, norm=m.norm, epsilon=m.epsilon),
        "gini",
        direction=-1,
    )


@CLAIMS.register("method_agreement")
def _method_agreement(ev: Evidence) -> list[ClaimRow]:
    methods = list(ev.inputs["scores"])
    if len(methods) < 2:
        return []
    per_method = {m: _gini_claims(ev, m) + _fragility_claims(ev, m) for m in methods}
    rows = []
    for sub in ("D1g", "D2n1", "D2oB"):
        for arch in dict.fromkeys(r.arch for r in per_method[methods[0]] if r.claim == sub):
            found = {m: next(r for r in rows_ if r.claim == sub and r.arch == arch) for m, rows_ in per_method.items()}
            sides = {m: r.interval.side() for m, r in found.items()}
            table = found[ev.method] if ev.method in found else next(iter(found.values()))
            rows.append(
                ClaimRow(
                    "D11",
                    DUAN,
                    f"the attribution method does not change the conclusion of {sub}",
                    arch,
                    ", ".join(f"{m}: {'+' if s > 0 else '−' if s < 0 else '0'}" for m, s in sides.items()),
                    table.unit,
                    table.interval,
                    agreement(sides),
                    ev.method,
                )
            )
    return rows


@CLAIMS.register("practical_bound")
def _practical_bound(ev: Evidence) -> list[ClaimRow]:
    frames = [
        pd.read_parquet(p).assign(model=m)
        for by_model in ev.inputs.get("bounds", {}).values()
        for m, p in by_model.items()
    ]
    frames = [f for f in frames if "iterates_checked" in f]
    if not frames:
        return []
    rows = []
    bounds = pd.concat(frames, ignore_index=True)
    for claim, column, statement in (
        ("W1", "iterates_over_practical", "no attack on the smooth network exceeds the practical bound"),
        ("W2", "real_iterates_over_practical", "(finding) real-network attack iterates beyond the practical bound"),
    ):
        part = bounds if claim == "W1" else bounds[bounds["surrogate"].astype(bool)]
        if not len(part):
            continue
        events, trials = int(part[column].sum()), int(part["iterates_checked"].sum())
        rate = events / trials if trials else float("nan")
        interval = Interval(rate, 0.0 if events == 0 else float("nan"), upper_rate(events, trials), 1, trials, 0)
        decided = ("holds" if events == 0 else "does not hold") if claim == "W1" else "finding"
        rows.append(
            ClaimRow(
                claim,
                WANG,
                statement,
                "all bounded",
                f"{events} of {trials} counted attack iterates",
                "share",
                interval,
                decided,
            )
        )
    return rows


def _format(row: ClaimRow) -> dict:
    i = row.interval
    if row.unit == "share":
        evidence = f"{i.estimate:.2%} (95% upper limit {i.high:.2%})"
        covers = f"{i.n_images} attack iterates"
    else:
        scale, unit = (100, " pp") if row.unit == "rate" else (1, "")
        fmt = (lambda v: f"{scale * v:+.1f}") if row.unit == "rate" else (lambda v: f"{v:+.3f}")
        evidence = f"{fmt(i.estimate)}{unit} [{fmt(i.low)}, {fmt(i.high)}]" if np.isfinite(i.estimate) else "n/a"
        covers = i.covers()
    return {
        "Claim": row.claim,
        "Paper": row.paper,
        "Statement": row.statement,
        "Model": row.arch,
        "Δ of": row.comparison,
        "Δ [95% interval]": evidence,
        "Interval over": covers,
        "Verdict": row.verdict,
    }


def aggregate_claims(
    *,
    dataset: str,
    inputs: dict,
    card_paths: dict[str, str],
    selection_path: str,
    selection_info_path: str,
    occlusion_budget: str | None,
    method: str,
    transform: str,
    noise_budget: str,
    n_boot: int,
    seed: int,
    csv_path: str,
    md_path: str,
) -> None:
    cards = {m: read_json(p) for m, p in card_paths.items()}
    evidence = Evidence(
        specs={m: ModelSpec(**c["spec"]) for m, c in cards.items()},
        variant_settings={m: c.get("recipe", {}).get("variant", {}) for m, c in cards.items()},
        chosen=np.sort(pd.read_parquet(selection_path)["pool_index"].to_numpy()),
        inputs=inputs,
        method=method,
        transform=transform,
        noise_budget=noise_budget,
        occlusion_budget=occlusion_budget,
        n_boot=n_boot,
        seed=seed,
    )
    rows = [row for name in CLAIMS for row in CLAIMS.get(name)(evidence)]
    rows.sort(key=lambda r: (r.paper != DUAN, int("".join(c for c in r.claim[1:3] if c.isdigit()) or 0), r.claim))
    long = pd.DataFrame(
        [
            {**{k: v for k, v in vars(r).items() if k != "interval"}, **vars(r.interval), "covers": r.interval.covers()}
            for r in rows
        ]
    )
    long.assign(dataset=dataset).to_csv(csv_path, index=False)
    info = read_json(selection_info_path)
    wide = pd.DataFrame([_format(r) for r in rows])
    caption = (
        f"Claims of Duan et al. and Wang & Kong on {dataset}, with the verdict by the rules of docs/claims.md "
        f"(written before the first claims table): {method} attributions, Gini ({transform}), noise at "
        f"{noise_budget}, occlusion at {occlusion_budget}; {info['description']}. A claim about training needs "
        f"3 seeds for a verdict other than inconclusive."
    )
    warning = f"> WARNING: {info['warning']}\n\n" if info.get("warning") else ""
    write_text(md_path, f"{warning}### {caption}\n\n{to_markdown(wide) if len(wide) else '(no claim applies)'}\n")
