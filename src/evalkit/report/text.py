"""The command line's text output: Danish summaries of indicators, series and the capacity calculator.

Numbers go through the one Danish formatter (`evalkit.report.format`), as in the
reports; the statistics modules return numbers only and never format them.
"""

from __future__ import annotations

from evalkit.report.format import fmt_int, fmt_num, fmt_pct
from evalkit.spec import STATUS_CATEGORIES
from evalkit.stats.capacity import _dec, _plain, round_half_up

# --- evalkit indicators ---


def _pct(x) -> str:
    """A share as a Danish percentage (evalkit.report.format), '-' when there is none."""
    return "-" if x is None else fmt_pct(x)


def _num(x, digits=2) -> str:
    """A Danish number with `digits` decimals (evalkit.report.format), '-' when there is none."""
    return "-" if x is None else fmt_num(x, digits)


def _met(block: dict, key: str) -> str:
    if block.get("target") is None:
        return ""
    from evalkit.stats.criteria import TARGET_DIRECTION  # late: `evalkit capacity` imports no pandas

    sign = "≤" if TARGET_DIRECTION[key] == "<=" else "≥"
    verdict = {True: "opfyldt", False: "ikke opfyldt", None: "kan ikke vurderes"}[block.get("met")]
    return f"   mål {sign} {_pct(block['target'])}: {verdict}"


def format_indicators(result: dict) -> str:
    """A readable Danish summary table of `compute_indicators`' result."""
    sel = result.get("selection", {})
    where = ", ".join(
        [f"kommune {sel['municipality']}"] * (sel.get("municipality") is not None)
        + [f"runde {sel['round']}"] * (sel.get("round") is not None)
    ) or "hele projektet"
    s, sc1_, sc2, sc3_ = result["survival"], result["sc1"], result["sc2"], result["sc3"]
    lines = [
        f"{result.get('dataset', '')} - udtræksdato {result.get('extraction_date', '')} - {where}",
        f"Forløb i alt: {result['n_cases']}",
        "",
        "Statuskategori ved udtræksdato",
    ]
    lines += [f"  {cat:<20}{result['status_counts'].get(cat, 0):>8}" for cat in STATUS_CATEGORIES]
    lines += [
        "",
        "Succeskriterier",
        f"  1 Andel i fleksjob (ledighedsydelse): {_pct(sc1_['value'])} "
        f"(95 % CI {_pct(sc1_['ci_low'])} - {_pct(sc1_['ci_high'])}; {sc1_.get('k', '-')} af {sc1_['n']}){_met(sc1_, 'sc1')}",
        f"  2 Andel stadig på ledighedsydelse efter 39 uger, S(39): {_pct(sc2['value'])} "
        f"(95 % CI {_pct(sc2['ci_low'])} - {_pct(sc2['ci_high'])}){_met(sc2, 'sc2')}",
        f"  3 Andel med progression i effektive timer: {_pct(sc3_['value'])} "
        f"(95 % CI {_pct(sc3_['ci_low'])} - {_pct(sc3_['ci_high'])}; {sc3_.get('k', '-')} af {sc3_['n']}; "
        f"ændring gns. {_num(sc3_['mean_change'])}, median {_num(sc3_['median_change'])} timer){_met(sc3_, 'sc3')}",
        "",
        f"Tid til fleksjob: {s.get('n')} forløb, {s.get('events')} i fleksjob, i risiko ved 39 uger: {s.get('at_risk_39')}, "
        f"median {_num(s.get('median_weeks'), 1)} uger",
        "",
        "Sagsstamme og resultat (hældning pr. sag, 95 % CI, p; klyngerobust pr. jobformidler)",
    ]
    names = {"flexjob_39w": "fleksjob inden 39 uger (logit)", "hours_change": "ændring i effektive timer (OLS)"}
    for key, r in result["caseload_regression"].items():
        if r.get("slope") is None:
            lines.append(f"  {names.get(key, key):<34} ikke estimeret: {r.get('reason', '')} (n = {r.get('n')})")
        else:
            lines.append(f"  {names.get(key, key):<34} {_num(r['slope'], 4)} ({_num(r['ci_low'], 4)} - "
                         f"{_num(r['ci_high'], 4)}), p = {_num(r['p_value'], 3)}, n = {r['n']}")
    f, st = result["follow_up"], result["step_up"]
    lines += [
        "",
        f"Opfølgning i fleksjobbets første 26 uger: {f['n']} fleksjob; mindst 2: {_pct(f['share_2'])}, "
        f"mindst 4: {_pct(f['share_4'])}",
        f"Step Up: {st['n']} forløb på ledighedsydelse i 26+ uger uden fleksjob; med Step Up: {_pct(st['share'])}",
    ]
    if "logrank_rounds" in result:
        lr = result["logrank_rounds"]
        lines.append(f"Log-rank-test mellem runder: statistik {_num(lr.get('statistic'))}, p = {_num(lr.get('p_value'), 4)}")
    return "\n".join(lines)


# --- evalkit series ---


def _series_pct(x) -> str:
    """A share as a Danish percentage number without the sign (23,4), '-' when there is none."""
    return "-" if x is None else fmt_num(100 * x, 1)


def format_series(result: dict) -> str:
    """Readable Danish tables: per scope the monthly stocks and flows, then the quarterly criteria."""
    short = {"før_rehab": "før rehab", "ledighedsydelse": "ledigh.", "fleksjob_0_10": "fj 0-10",
             "fleksjob_over_10": "fj >10", "udgået": "udgået"}
    flow_names = {"entered": "indgået", "to_ledighedsydelse": "→ledigh.", "flexjob_started": "→fleksjob",
                  "left": "udgået i md."}
    lines = [f"{result['dataset']} - udtræksdato {result['extraction_date']}"]
    for label, scope in result["scopes"].items():
        head = ["dato", "forløb", *short.values(), *flow_names.values()]
        lines += ["", f"== {label} ==", "Bestand ved månedens udgang og bevægelser i måneden",
                  "  " + "".join(f"{h:>13}" for h in head)]
        for p in scope["monthly"]:
            values = [p["date"], p["n_cases"], *p["status_counts"].values(), *p["flows"].values()]
            lines.append("  " + "".join(f"{v:>13}" for v in values))
        lines += ["Succeskriterier ved kvartalets udgang (%, 95 % CI)"]
        for p in scope["quarterly"]:
            cells = [f"SK{k[-1]} -" if p[k]["value"] is None else
                     f"SK{k[-1]} {_series_pct(p[k]['value'])} ({_series_pct(p[k]['ci_low'])}-{_series_pct(p[k]['ci_high'])})"
                     for k in ("sc1", "sc2", "sc3")]
            lines.append(f"  {p['date']}  " + "   ".join(cells))
    return "\n".join(lines)


# --- evalkit capacity ---


def _cap_num(x) -> str:
    """Danish number format (evalkit.report.format): 1.320 for a whole number, 0,30 otherwise."""
    return fmt_int(x) if isinstance(x, int) else fmt_num(x, 2)


def format_capacity(tables: dict) -> str:
    """The tables as readable Danish text."""
    i = tables["inputs"]
    share = _plain(_dec(i["intensive_share"]) * 100)
    n_intensive = round_half_up(i["citizens"] * _dec(i["intensive_share"]))
    names = {"4": "lovkrav (4 om året)", "6": "hver anden måned (6)", "12": "månedligt (12)", "24": "to gange om måneden (24)"}
    lines = [
        "Ressourceberegner",
        f"Borgere: {_cap_num(i['citizens'])}   samtaledage pr. uge: {_cap_num(i['days'])}   "
        f"uger pr. årsværk: {_cap_num(i['weeks'])}   andel med intensiveret indsats: {_cap_num(share)} % ({_cap_num(n_intensive)} borgere)",
        "",
        "Samtaler om året, alle borgere med samme frekvens:",
    ]
    lines += [f"  {names[f]:<28}{_cap_num(v):>10}" for f, v in tables["everybody"].items()]
    lines += ["", "Samtaler om året med intensiveret indsats (resten efter lovkrav):",
              f"  {'frekvens':<28}{'intensiveret':>13}{'øvrige':>10}{'i alt':>10}"]
    for f, row in tables["intensified"].items():
        lines.append(f"  {names[f]:<28}{_cap_num(row['intensive']):>13}{_cap_num(row['regular']):>10}{_cap_num(row['total']):>10}")
    per_day = list(next(iter(tables["staff_table"].values())))
    lines += ["", "Kapacitet (samtaler om året) efter årsværk og samtaler pr. dag:",
              "  årsværk" + "".join(f"{c + '/dag':>9}" for c in per_day)]
    for k, row in tables["staff_table"].items():
        lines.append(f"  {k:>7}" + "".join(f"{_cap_num(v):>9}" for v in row.values()))
    return "\n".join(lines)
