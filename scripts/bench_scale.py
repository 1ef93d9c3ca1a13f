#!/usr/bin/env python3
"""How the ingest figures grow between two corpus sizes: `scripts/bench.sh --scale` runs the ingest
section at both and calls this with the two work directories (small first). Each holds the
figures.json bench.sh wrote (wall seconds and peak RSS kB of each run) and the JSON reports of its
syncs (*.out), whose stage seconds say where a sync's time went. Prints a Markdown table against
issue 12's targets at the larger size."""
import json
import os
import sys


def size(messages):
    return f"{messages / 1e6:g}M" if messages >= 1_000_000 else f"{messages / 1e3:g}k"


def load(work):
    with open(os.path.join(work, "figures.json")) as f:
        fig = json.load(f)

    def report(name):
        with open(os.path.join(work, f"{name}.out")) as f:
            return json.load(f)

    fig["reports"] = {n: report(n) for n in ("first_sync", "resync", "incremental", "incremental_known")}
    return fig


def mark(ok):
    return "✓" if ok else "✗"


def main(small_dir, large_dir):
    s, l = load(small_dir), load(large_dir)
    wall = lambda f, n: f["runs"][n][0]
    mb = lambda f, n: f["runs"][n][1] / 1024

    def local(f, n):  # what a sync did after its pull: reconcile + push
        r = f["reports"][n]
        return r["reconcile"]["seconds"] + sum(p["seconds"] for p in r["push"])

    rows = []
    ratio = lambda f: wall(f, "curl") / wall(f, "pull")
    rows.append(("pull ÷ curl", *(f"{ratio(f):.2f}× ({wall(f, 'pull'):.2f} s vs {wall(f, 'curl'):.2f} s)" for f in (s, l)),
                 f"≥ 1.0×: {mark(ratio(l) >= 1)}"))
    ingest = lambda f: wall(f, "import") / wall(f, "pull")
    rows.append(("ingest ÷ `.import`", *(f"{ingest(f):.2f}×" for f in (s, l)), f"≥ 1.0×: {mark(ingest(l) >= 1)}"))
    growth = mb(l, "pull") / mb(s, "pull") - 1
    rows.append(("peak RSS of pull", *(f"{mb(f, 'pull'):.0f} MB" for f in (s, l)),
                 f"flat: {growth:+.0%} for {l['messages'] / s['messages']:g}× the data"))
    multi = lambda f: wall(f, "multi") / max(wall(f, "alone"), wall(f, "pull_crm"))
    rows.append(("sms + crm at once ÷ slowest alone", *(f"{multi(f):.2f}×" for f in (s, l)), "≈ 1"))
    # The target names reconcile + push: their own stage times are the reading it is judged by. The
    # whole sync's wall time (process, pull of the newest day again, reconcile, push) is shown beside.
    t, m = local(l, "first_sync") / local(s, "first_sync"), mb(l, "first_sync") / mb(s, "first_sync")
    whole = wall(l, "first_sync") / wall(s, "first_sync")
    rows.append(("first sync (reconcile + push)",
                 *(f"{local(f, 'first_sync'):.2f} s (whole sync {wall(f, 'first_sync'):.2f} s), "
                   f"{mb(f, 'first_sync'):.0f} MB" for f in (s, l)),
                 f"≤ 5× the time: {t:.2f}× {mark(t <= 5)} (whole sync {whole:.2f}×); ≤ 1.5× the memory: {m:.2f}× "
                 f"{mark(m <= 1.5)}"))
    rows.append(("no-change re-sync", *(f"{wall(f, 'resync'):.2f} s, {f['resync_requests']} requests; reconcile + push "
                                         f"{local(f, 'resync'):.3f} s" for f in (s, l)),
                 f"local work ≤ 0.1 s: {mark(local(l, 'resync') <= 0.1)} (requests: the newest day re-read)"))
    for name, label in (("incremental", "sync after 100 new messages (new customer)"),
                        ("incremental_known", "sync after 100 more (known customer)")):
        rows.append((label, *(f"{wall(f, name):.2f} s, {mb(f, name):.0f} MB; reconcile + push {local(f, name):.3f} s"
                              for f in (s, l)),
                     f"reconcile + push ≤ 0.3 s: {mark(local(l, name) <= 0.3)}; ≤ 64 MB (the whole process, pull "
                     f"included): {mark(mb(l, name) <= 64)}"))
    print(f"\n| measure | {size(s['messages'])} | {size(l['messages'])} | target at {size(l['messages'])} |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: bench_scale.py SMALL_WORK_DIR LARGE_WORK_DIR")
    main(sys.argv[1], sys.argv[2])
