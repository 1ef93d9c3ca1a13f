# shellcheck shell=bash
# Sourced by scripts/bench.sh, in its work directory, with its helpers and figures.
# The automatic identity pass and the suggestions over generated, labelled identities.
# identity_rows prints its rows of the table.

# Identity: chansync-identity-bench generates seeded, labelled people and their records (CRM contacts
# in two CRMs, conversation handles, vendor links, with the noise real data has), normalised by the
# pipeline's own rules, then times reconcile alone and scores it against the labels, then the
# suggestions stage (suggest) on the persons it made and the quality of accepting them. The people
# counts give ~1,000,000 and ~100,000 identity-graph nodes (CRM records + distinct handles); each
# run is its own process, so peak RSS is that size's.
cmake --build "$root/build" --parallel "$(nproc)" --target chansync-identity-bench >&2
for people in 298400 29840; do
  "$root/build/chansync-identity-bench" --seed 1 --people "$people" --json >"identity_$people.json"
done
identity_rows() {
  python3 - identity_298400.json identity_29840.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    target = "; target <= 2 s and <= 300 MB" if r['identities'] >= 900_000 else ""
    print(f"| identity: automatic pass (reconcile), {r['identities']:,} identities (graph nodes) | {r['reconcile_s']:.2f} "
          f"| {r['identities'] / r['reconcile_s']:,.0f} identities | {r['peak_rss_mb']:.0f} "
          f"| precision {r['precision']:.4f}, recall {r['recall']:.4f}, F1 {r['f1']:.4f}, "
          f"**{r['over_merges']:,} over-merges** (persons holding records of 2+ true people), "
          f"{r['under_merges']:,} under-merges; {r['records']:,} records of {r['people']:,} people scored; "
          f"{r['reconcile_cpu_s']:.2f} s CPU; {r['rss_before_reconcile_mb']:.0f} MB held before the pass; generation + normalisation "
          f"{r['generate_s']:.1f} s, not in the time{target} |")
    s = r.get('suggest')
    if not s:
        continue
    accepted = "; ".join(
        f"accepting >= {a['threshold']}: precision {a['precision']:.4f}, recall {a['recall']:.4f}, F1 {a['f1']:.4f}, "
        f"**{a['true_merges']:,} true / {a['false_merges']:,} false merges** ({a['false_merges_in_household']:,} of the false "
        f"in one household)" for a in s['accepted'])
    print(f"| identity: suggestions (suggest over the {s['profiles']:,} persons the pass made), {r['identities']:,} identities "
          f"| {s['suggest_cpu_s']:.2f} CPU | {s['candidate_pairs']:,} candidate pairs | {s['peak_rss_mb']:.0f} "
          f"| {s['suggestions_090']:,} suggestions >= 0.9, {s['suggestions_099']:,} >= 0.99; {accepted}; "
          f"prior {s['prior']:.3g}, {s['skipped_blocks']:,} blocking keys over max_block skipped; "
          f"{s['rss_before_mb']:.0f} MB held before the stage; profiles {s['profiles_cpu_s']:.2f} s CPU, not in the time |")
PY
}
