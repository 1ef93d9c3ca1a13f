# Sourced by scripts/demo.sh and tests/scenarios/lib.sh: a chansync config for the simulator.
# Usage: write_sim_config FILE PORT   (state.db and persons.ndjson land beside FILE)
write_sim_config() {
  cat >"$1" <<TOML
[state]
path = "state.db"

[identity]
default_region = "DE"

[connectors.sms]
type = "twilio-messaging"
account_sid = "AC00000000000000000000000000000000"
auth_token_env = "TWILIO_AUTH_TOKEN"
own_numbers = ["+4930123456", "030 123457"]
base_url = "http://127.0.0.1:$2"
status_page = "http://127.0.0.1:$2"   # the simulator's Statuspage summary (real: https://status.twilio.com)
status_components = ["SMS"]

[connectors.crm]
type = "hubspot-contacts"
token_env = "HUBSPOT_TOKEN"
base_url = "http://127.0.0.1:$2"
status_page = "http://127.0.0.1:$2"
status_components = ["CRM"]

[targets.out]
type = "ndjson"
path = "persons.ndjson"
TOML
}
# Usage: add_sim_voice_and_chat FILE PORT   appends the simulator's calls (twilio-calls) and Twilio
# Conversations (SMS, WhatsApp and web chat) connectors, for the demo and the cross-channel scenario.
add_sim_voice_and_chat() {
  cat >>"$1" <<TOML

[connectors.calls]
type = "twilio-calls"
account_sid = "AC00000000000000000000000000000000"
auth_token_env = "TWILIO_AUTH_TOKEN"
own_numbers = ["+4930123456", "030 123457"]
base_url = "http://127.0.0.1:$2"

[connectors.conv]
type = "twilio-conversations"
account_sid = "AC00000000000000000000000000000000"
auth_token_env = "TWILIO_AUTH_TOKEN"
own_numbers = ["+4930123456", "030 123457"]
agent_identities = ["agent.lena", "agent.jonas"]
base_url = "http://127.0.0.1:$2"
TOML
}
# The simulator's own credentials; real ones come from the job's environment the same way.
export TWILIO_AUTH_TOKEN=sim-twilio-token HUBSPOT_TOKEN=sim-hubspot-token
