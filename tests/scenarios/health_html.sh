#!/usr/bin/env bash
# health --html FILE: the status page rendered by headless Chromium (the Debian package chromium)
# holds each connector's class with its evidence and what to do, the class history strip, and the
# inbound messages per hour with the silent gap marked; the screenshot is not blank; the exit code
# is health's; --offline writes it too; an unwritable path is exit 73 naming it.
. "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || fail "no chromium: install the Debian package chromium (scripts/install-deps.sh --test)"
start_sim --customers 5 --messages 20
cs -q pull || fail "pull failed"
# SMS arrived two an hour for three weeks and stopped two days ago (as in health.sh), and a vendor
# string with markup in it must reach the page escaped.
sqlite3 "$work/state.db" "DELETE FROM messages WHERE connector = 'sms';
  WITH RECURSIVE t(at) AS (SELECT CAST(strftime('%s', 'now', '-23 days') AS INTEGER) * 1000
                           UNION ALL SELECT at + 1800000 FROM t WHERE at < CAST(strftime('%s', 'now', '-2 days') AS INTEGER) * 1000)
  INSERT INTO messages(connector, id, conversation, channel, direction, author_kind, author_handle, sent_at, text)
  SELECT 'sms', 'h' || at, 'c1', 'sms', 'inbound', 'customer', '+4915112345678', at, 'hi' FROM t;"
set +e; HUBSPOT_TOKEN=wrong cs health --html "$work/status.html" >"$work/table.out" 2>"$work/html.err"; code=$?; set -e
[ "$code" -eq 2 ] || fail "a wrong HubSpot token should keep health's exit code CRITICAL (2) with --html, got $code: $(cat "$work/html.err")"
[ -s "$work/status.html" ] || fail "no page written: $(cat "$work/html.err")"
ls "$work"/status.html.?????? 2>/dev/null && fail "the temporary file was left behind"
grep -qiE '<script|<link|src="http' "$work/status.html" && fail "the page must be self-contained: $(grep -oiE '<script|<link|src="http' "$work/status.html")"

# render URL OUT: the DOM after Chromium loaded the page (its own profile dir, no port, no GPU).
render() {
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium-profile" \
    --no-first-run --dump-dom "$1" >"$2" 2>"$work/chromium.err" || fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.err")"
}
render "file://$work/status.html" "$work/dom.html"
python3 - "$work/dom.html" <<'PY' || fail "rendered page lacks what it should show: $(head -c 4000 "$work/dom.html")"
import re, sys
dom = open(sys.argv[1]).read()
def section(name):
    m = re.search(r'<section class="report sev-(\w+)" id="%s">(.*?)</section>' % re.escape(name), dom, re.S)
    assert m, name
    return m.group(1), m.group(2)
sev, crm = section("crm")
assert sev == "critical" and 'class="badge"' in crm and ">auth_failed<" in crm, crm[:2000]
assert 'class="finding cls-auth_failed"' in crm and "What to do:" in crm, crm[:2000]
assert 'class="inbound"' not in crm and "no inbound message of this connector is stored" in crm, crm[:3000]
sev, sms = section("sms")
assert sev == "warning" and ">silent<" in sms, sms[:2000]
assert re.search(r"no inbound sms message for (47 h|2 days)", sms), sms[:3000]
assert "<svg" in sms and 'class="inbound"' in sms, sms[:3000]
bars = len(re.findall(r'class="bar"', sms))
assert 200 <= bars <= 14 * 24, bars  # twelve days of messages, two a slot
gap = re.search(r'<rect class="gap" data-gap-start="([^"]+)" x="([\d.]+)" y="0" width="([\d.]+)"', sms)
assert gap, sms[:3000]
x, w = float(gap.group(2)), float(gap.group(3))
assert 800 < x < 1008 and abs(x + w - 1008) < 0.5, (x, w)  # the last two days of a 1008-pixel fortnight
assert 'class="history"' in sms and 'class="seg cls-' in sms, sms[:3000]
PY

# A screenshot that is not one colour: the page's PNG is much larger than a blank page's.
printf '<!DOCTYPE html><html><body style="background:#fff"></body></html>' >"$work/blank.html"
shot() {
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium-profile" \
    --no-first-run --hide-scrollbars --window-size=1200,2000 --screenshot="$2" "$1" >/dev/null 2>>"$work/chromium.err" \
    || fail "chromium --screenshot failed: $(tail -5 "$work/chromium.err")"
  [ -s "$2" ] || fail "empty screenshot $2"
}
shot "file://$work/status.html" "$work/page.png"
shot "file://$work/blank.html" "$work/blank.png"
python3 - "$work/page.png" "$work/blank.png" <<'PY' || fail "the screenshot looks blank"
import struct, sys, zlib
def colours(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10]); bpp = {2: 3, 6: 4}[ctype]
        if kind == b"IDAT": idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp + 1
    # Distinct filtered scanlines are enough: a one-colour image has at most a handful.
    return len({raw[i:i + stride] for i in range(0, len(raw), stride)})
page, blank = colours(sys.argv[1]), colours(sys.argv[2])
assert blank <= 3 and page > 50, (page, blank)
PY

# --offline writes the page too, without calling a vendor.
rm -f "$work/status.html"
set +e; cs health --offline sms --html "$work/status.html" >/dev/null 2>"$work/offline.err"; code=$?; set -e
[ "$code" -eq 1 ] || fail "--offline --html: a silent channel is WARNING (1), got $code: $(cat "$work/offline.err")"
grep -q 'class="gap"' "$work/status.html" || fail "--offline page lacks the gap: $(head -c 2000 "$work/status.html")"

# "-" is stdout, in place of the table; a symlink keeps pointing at the page it names.
set +e; cs health --offline sms --html - >"$work/stdout.html" 2>"$work/dash.err"; code=$?; set -e
[ "$code" -eq 1 ] && head -c 15 "$work/stdout.html" | grep -q '<!DOCTYPE html>' && ! grep -q '^NAME' "$work/stdout.html" \
  || fail "--html - should print the page alone on stdout, got $code: $(head -c 300 "$work/stdout.html") $(cat "$work/dash.err")"
[ ! -e ./- ] || fail "--html - made a file named -"
set +e; cs -o json health --offline sms --html - >/dev/null 2>"$work/dashjson.err"; code=$?; set -e
[ "$code" -eq 64 ] || fail "--html - with -o json should be a usage error (64), got $code: $(cat "$work/dashjson.err")"
ln -s status.html "$work/current.html"
cs health --offline sms --html "$work/current.html" >/dev/null 2>&1 || true
[ -L "$work/current.html" ] && grep -q 'class="gap"' "$work/status.html" \
  || fail "--html over a symlink should replace the page it names and keep the link: $(ls -l "$work")"

# An unwritable path: exit 73 naming it.
set +e; cs health sms --html "$work/no/such/dir/status.html" >/dev/null 2>"$work/unwritable.err"; code=$?; set -e
[ "$code" -eq 73 ] && grep -qF "$work/no/such/dir/status.html" "$work/unwritable.err" \
  || fail "an unwritable --html path should be exit 73 naming it, got $code: $(cat "$work/unwritable.err")"
set +e; cs health --since 1d --html "$work/x.html" >/dev/null 2>&1; code=$?; set -e
[ "$code" -eq 64 ] || fail "--html with --since should be a usage error (64), got $code"
echo "health_html: OK"
