# shellcheck shell=bash
# Sourced by scripts/bench.sh, in its work directory, with its helpers and figures.
# Meta Graph (Messenger) pages fetched by curl, by a curl + jq loop, and pulled by chansync.
# graph_rows prints its rows of the table.

# Meta Graph: the Messenger conversations chansync pulls (the same fields and limit, then each long
# conversation's older messages), listed once untimed and fetched by curl on one keep-alive
# connection; then a curl + jq loop that follows paging.next as it goes (a process and a connection
# per page: what a shell client pays); then chansync pull of a meta-messenger connector into its own
# state file, and a re-pull with nothing new.
export META_PAGE_TOKEN=sim-meta-token
graph_page=1000000000000001
graph_stat() { curl -fsS "$base/_sim/stats" | jq -r ".$1"; }
python3 - "$base" "$graph_page" >graph_urls.cfg <<'PY'
import http.client, json, sys, urllib.parse
base, page = sys.argv[1], sys.argv[2]
fields = "id,updated_time,participants,messages.limit(100){id,created_time,from,to,message,attachments}"
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
def get(url):
    print(f'url = "{url}"\noutput = "/dev/null"')
    p = urllib.parse.urlparse(url)
    conn.request("GET", f"{p.path}?{p.query}", headers={"Authorization": "Bearer sim-meta-token"})
    return json.loads(conn.getresponse().read())
url = f"{base}/v23.0/{page}/conversations?platform=messenger&fields={urllib.parse.quote(fields, safe='')}&limit=25"
while url:
    listing = get(url)
    for c in listing["data"]:
        older = c.get("messages", {}).get("paging", {}).get("next")
        while older:
            older = get(older).get("paging", {}).get("next")
    url = listing.get("paging", {}).get("next")
PY
graph_pages=$(grep -c '^url' graph_urls.cfg)
graph_messages=$(graph_stat meta_messenger_messages)
graph_conversations=$(graph_stat meta_messenger_conversations)
cat >graph_loop.sh <<'SH'
# bash graph_loop.sh FIRST_URL: follows paging.next (and each conversation's messages.paging.next).
get() { curl -sS --compressed -H "Authorization: Bearer $META_PAGE_TOKEN" "$1"; }
next=$1
while [ -n "$next" ]; do
  page=$(get "$next")
  for older in $(jq -r '.data[].messages.paging.next // empty' <<<"$page"); do
    while [ -n "$older" ]; do older=$(get "$older" | jq -r '.paging.next // empty'); done
  done
  next=$(jq -r '.paging.next // empty' <<<"$page")
done
SH
cat >graph.toml <<TOML
[state]
path = "graph.db"

[identity]
default_region = "DE"

[connectors.fb]
type = "meta-messenger"
page_id = "$graph_page"
token_env = "META_PAGE_TOKEN"
base_url = "$base"
TOML
echo "bench: Graph, $graph_conversations Messenger conversations, $graph_messages messages, $graph_pages pages" >&2
timed graph_curl curl -sS -g --compressed -H "Authorization: Bearer $META_PAGE_TOKEN" -K graph_urls.cfg
timed graph_loop bash graph_loop.sh "$(sed -n '1s/^url = "\(.*\)"$/\1/p' graph_urls.cfg)"
g0=$(graph_stat meta_requests)
timed graph_pull "$root/build/chansync" --config graph.toml -q pull fb
graph_requests=$(($(graph_stat meta_requests) - g0))
graph_stored=$(sqlite3 graph.db "SELECT count(*) FROM messages")
[ "$graph_stored" = "$graph_messages" ] || echo "bench: chansync stored $graph_stored Graph messages of $graph_messages" >&2
g0=$(graph_stat meta_requests)
timed graph_repull "$root/build/chansync" --config graph.toml -q pull fb
graph_repull_requests=$(($(graph_stat meta_requests) - g0))
graph_rows() {
  cat <<EOF
| curl, $graph_pages Graph pages, keep-alive (baseline) | ${wall[graph_curl]} | $(rate "$graph_messages" "${wall[graph_curl]}") | $((rss[graph_curl] / 1024)) | Messenger: conversations 25 a page with their newest 100 messages, then long conversations' older messages; one connection, gzip |
| curl + jq loop following paging.next | ${wall[graph_loop]} | $(rate "$graph_messages" "${wall[graph_loop]}") | $((rss[graph_loop] / 1024)) | a process and a connection per page |
| chansync pull meta-messenger | ${wall[graph_pull]} | $(rate "$graph_messages" "${wall[graph_pull]}") | $((rss[graph_pull] / 1024)) | **$(ratio "${wall[graph_curl]}" "${wall[graph_pull]}")× curl**, $(ratio "${wall[graph_loop]}" "${wall[graph_pull]}")× the jq loop; $graph_requests requests ($graph_pages for curl); $graph_stored of $graph_messages messages stored, $graph_conversations conversations |
| chansync re-pull meta-messenger, nothing new | ${wall[graph_repull]} | | $((rss[graph_repull] / 1024)) | $graph_repull_requests requests |
EOF
}
