# shellcheck shell=bash
# Sourced by scripts/bench.sh, in its work directory, with its helpers and figures.
# chansync against a simulator that enforces each vendor's rate limits.
# limits_rows prints its rows of the table.

# Rate limits: chansync against a simulator that enforces them. Each pull is its own run; the
# simulator's stats (limits.<vendor>) are read after it, so each row is that pull's alone.
mkdir -p limits && cd limits
"$root/build/chansync-sim" --port-file lim.port --customers "${BENCH_LIMITS_CONTACTS:-30000}" --messages 20000 \
  --enforce-limits --hubspot-max 95 --hubspot-interval-ms 5000 --twilio-concurrency 2 --meta-calls 60 \
  --meta-window-ms 600000 2>lim.log &
sim2=$!
for _ in $(seq 600); do [ -s lim.port ] && break; sleep 0.1; done
lbase="http://127.0.0.1:$(cat lim.port)"
write_sim_config limits.toml "$(cat lim.port)"
cat >>limits.toml <<TOML

[connectors.calls]
type = "twilio-calls"
account_sid = "$sid"
auth_token_env = "TWILIO_AUTH_TOKEN"
base_url = "$lbase"

[connectors.fb]
type = "meta-messenger"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
base_url = "$lbase"
TOML
export META_PAGE_TOKEN=sim-meta-token
lim_cs=("$root/build/chansync" --config limits.toml -q)
limit_stats() { curl -fsS "$lbase/_sim/stats" | jq -c ".limits.$1" >"$2"; }
timed lim_hubspot "${lim_cs[@]}" pull crm
limit_stats hubspot lim_hubspot.json
curl -fsS -d '' "$lbase/_sim/touch-contacts?n=8000" >/dev/null
timed lim_search "${lim_cs[@]}" pull crm
limit_stats hubspot_search lim_search.json
# Twilio on a simulator of its own that takes 50 ms to answer, as a remote API does (on loopback a
# request is answered before the next is sent, and nothing is ever in flight for long); both
# connectors backfill two pages at once, the cap.
"$root/build/chansync-sim" --port-file tw.port --customers 3000 --messages "${BENCH_LIMITS_MESSAGES:-40000}" \
  --enforce-limits --twilio-concurrency 2 --delay-ms 50 2>tw.log &
sim3=$!
for _ in $(seq 600); do [ -s tw.port ] && break; sleep 0.1; done
sed -e "s|http://127.0.0.1:$(cat lim.port)|http://127.0.0.1:$(cat tw.port)|" -e 's|^path = "state.db"|path = "tw.db"|' \
  -e '/^type = "twilio-\(messaging\|calls\)"/a backfill_in_flight = 2' limits.toml >twilio.toml
timed lim_twilio "$root/build/chansync" --config twilio.toml -q pull sms calls
curl -fsS "http://127.0.0.1:$(cat tw.port)/_sim/stats" | jq -c ".limits.twilio" >lim_twilio.json
kill "$sim3" && wait "$sim3" 2>/dev/null || true
sim3=""
# HubSpot on a simulator that takes 150 ms to answer, as HubSpot's API does for a page of contacts:
# its list pages form one chain (each names the next), so the rate a backfill can use is one page per
# answer, whatever the budget.
"$root/build/chansync-sim" --port-file hs.port --customers 10000 --messages 1000 --enforce-limits \
  --hubspot-max 95 --hubspot-interval-ms 5000 --delay-ms 150 2>hs.log &
sim3=$!
for _ in $(seq 600); do [ -s hs.port ] && break; sleep 0.1; done
sed -e "s|http://127.0.0.1:$(cat lim.port)|http://127.0.0.1:$(cat hs.port)|" -e 's|^path = "state.db"|path = "hs.db"|' \
  limits.toml >hubspot.toml
timed lim_hubspot_latency "$root/build/chansync" --config hubspot.toml -q pull crm
curl -fsS "http://127.0.0.1:$(cat hs.port)/_sim/stats" | jq -c ".limits.hubspot" >lim_hubspot_latency.json
kill "$sim3" && wait "$sim3" 2>/dev/null || true
sim3=""
# Two connectors on one HubSpot token pulled at once: HubSpot's limit is per token, so they share one
# budget (each at 97% of it alone would ask for twice the limit).
"$root/build/chansync-sim" --port-file two.port --customers "${BENCH_LIMITS_TWO:-15000}" --messages 1000 \
  --enforce-limits --hubspot-max 95 --hubspot-interval-ms 5000 2>two.log &
sim3=$!
for _ in $(seq 600); do [ -s two.port ] && break; sleep 0.1; done
sed -e "s|http://127.0.0.1:$(cat lim.port)|http://127.0.0.1:$(cat two.port)|" -e 's|^path = "state.db"|path = "two.db"|' \
  limits.toml >two.toml
cat >>two.toml <<TOML

[connectors.crm2]
type = "hubspot-contacts"
token_env = "HUBSPOT_TOKEN"
base_url = "http://127.0.0.1:$(cat two.port)"
TOML
timed lim_hubspot_two "$root/build/chansync" --config two.toml -q pull crm crm2
curl -fsS "http://127.0.0.1:$(cat two.port)/_sim/stats" | jq -c ".limits.hubspot" >lim_hubspot_two.json
kill "$sim3" && wait "$sim3" 2>/dev/null || true
sim3=""
timed lim_meta "${lim_cs[@]}" pull fb 2>lim_meta.err || true  # exits 75 when it stops before Meta's limit
lim_meta_rc=$(awk -F': ' '/Exit status/ { print $2 }' lim_meta.time)
limit_stats meta lim_meta.json
kill "$sim2" && wait "$sim2" 2>/dev/null || true
sim2=""
cd ..
limits_rows() {
  python3 - limits "${lim_meta_rc:-0}" "$(grep -o 'Meta reports.*' limits/lim_meta.err 2>/dev/null | head -1)" <<'PY'
import json, sys
d, meta_rc, meta_stop = sys.argv[1], sys.argv[2], sys.argv[3]
def load(name): return json.load(open(f"{d}/{name}.json"))
def rate_row(title, s, window, how):
    used = s["used_per_second"] / s["allowed_per_second"]
    print(f"| rate limits: {title} | {s['span_s']:.1f} | {s['used_per_second']:.1f} requests | "
          f"| **{used:.3f} of the allowed rate** ({s['allowed_per_second']:.1f}/s), "
          f"**{s['refused_after_first_window']} 429s after the first {window}** ({s['refused']} in all); "
          f"{s['accepted']} requests accepted; {how} |")
rate_row("HubSpot contacts, list pages", load("lim_hubspot"), "window (5 s)",
         "95 per 5 s rolling, X-HubSpot-RateLimit-* read from every answer; target >= 0.95 and 0")
rate_row("HubSpot contacts, list pages, 150 ms per answer", load("lim_hubspot_latency"), "window (5 s)",
         "one chain of pages: one request per answer, so the rate is bounded by the vendor's latency, "
         "not by the budget: at most 1 / (0.15 s x 19/s) = 0.35; target >= 0.95 and 0")
rate_row("HubSpot contacts, two connectors on one token at once", load("lim_hubspot_two"), "window (5 s)",
         "one budget per token, shared by both connectors' clients; target >= 0.95 and 0")
rate_row("HubSpot CRM search after a bulk edit of 8,000 contacts", load("lim_search"), "second",
         "4/s, no rate headers on search: paced at 97% of the documented limit, evenly spaced; target >= 0.95 and 0")
t = load("lim_twilio")
print(f"| rate limits: Twilio messages + calls, cap of 2 in flight, 50 ms per answer | {t['span_s']:.1f} | | "
      f"| **{t['mean_in_flight'] / t['cap']:.3f} of the cap used** (mean {t['mean_in_flight']:.2f} in flight "
      f"of {t['cap']}, peak {t['peak_in_flight']}), "
      f"**{t['refused_after_first_window']} 429s (20429) after the first second** ({t['refused']} in all); "
      f"backfill_in_flight = 2 on both: windows of days paged side by side, the concurrency gate held at the "
      f"level a 20429 taught; target >= 0.95 and 0 |")
m = load("lim_meta")
print(f"| rate limits: Meta Messenger, 60 calls per 10-minute window | {m['span_s']:.1f} | | "
      f"| **{m['accepted'] / 60:.3f} of the window's calls used**, **{m['refused']} refused** (Graph error 4); "
      f"exit {meta_rc}: {meta_stop or 'no stop'}; X-App-Usage names no window, so chansync stops at 95% "
      f"and the next run continues |")
PY
}
