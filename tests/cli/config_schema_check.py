#!/usr/bin/python3
"""schemas/config.schema.json against real configs, with a real JSON Schema validator.

Usage: config_schema_check.py SOURCE_DIR [CHANSYNC_BINARY]

The example configs of README.md and chansync.conf(5) must be valid; configs chansync refuses (an
unknown key, an inline secret, a missing required key, a wrong value type, ...) must be invalid, and
for the reason expected. Given the chansync binary, every case is also loaded with
`chansync --config FILE config show`, which must agree: exit 0 for a valid config, 78 otherwise.
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import jsonschema


def read(source, rel):
    with open(os.path.join(source, rel), encoding="utf-8") as f:
        return f.read()


def readme_example(source):
    text = read(source, "README.md")
    m = re.search(r"^```toml\n(.*?)^```", text, re.S | re.M)
    assert m, "README.md has no ```toml block"
    return m.group(1)


def roff_to_text(roff):
    for escape, plain in ((r"\-", "-"), (r"\(aq", "'"), (r"\(dq", '"'), (r"\&", ""), (r"\e", "\\")):
        roff = roff.replace(escape, plain)
    return roff


def man_example(source):
    text = read(source, "man/chansync.conf.5")
    m = re.search(r"^\.SH EXAMPLE\n\.nf\n(.*?)^\.fi$", text, re.S | re.M)
    assert m, "chansync.conf(5) has no EXAMPLE .nf/.fi block"
    return roff_to_text(m.group(1))


def toml_key(key):
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_value(v):
    """JSON's strings, numbers and string lists are TOML values too; an object is an inline table."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


def to_toml(config):
    """The (simple) config as TOML."""
    out = [f"{toml_key(k)} = {json.dumps(v)}" for k, v in config.items() if not isinstance(v, dict)]
    for table, body in config.items():
        if not isinstance(body, dict):
            continue
        nested = {k: v for k, v in body.items() if isinstance(v, dict)}
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        if scalars or not nested:
            out.append(f"\n[{toml_key(table)}]")
            out += [f"{toml_key(k)} = {json.dumps(v)}" for k, v in scalars.items()]
        for name, entries in nested.items():
            out.append(f"\n[{toml_key(table)}.{toml_key(name)}]")
            out += [f"{toml_key(k)} = {toml_value(v)}" for k, v in entries.items()]
    return "\n".join(out) + "\n"


def reasons(errors):
    """Every message, nested (oneOf/allOf) context message and instance path, as one text."""
    text = []
    for e in errors:
        text.append(e.message)
        text.append("/".join(str(p) for p in e.absolute_path))
        text.append(reasons(e.context))
    return "\n".join(text)


def edit(base, change):
    config = copy.deepcopy(base)
    change(config)
    return config


def cases(readme):
    sms = lambda c: c["connectors"]["sms"]  # noqa: E731
    people = {"type": "csv-contacts", "path": "people.csv",
              "columns": {"id": "Record ID", "email": "Email", "phone": ["Phone", "Mobile"], "birth_date": "Born"}}
    with_people = lambda change=None: edit(readme, lambda c: (c["connectors"].update(people=copy.deepcopy(people)),  # noqa: E731
                                                            change and change(c["connectors"]["people"])))
    hubspot_target = {"type": "hubspot-contacts", "token_env": "HUBSPOT_TOKEN"}
    # (name, config, valid, a word the schema's error must contain when invalid)
    return [
        ("README example", readme, True, None),
        ("secret from a file instead", edit(readme, lambda c: (sms(c).pop("auth_token_env"),
                                                               sms(c).update(auth_token_file="/run/token"))), True, None),
        ("only optional keys left out", edit(readme, lambda c: sms(c).pop("own_numbers")), True, None),
        ("unknown key", edit(readme, lambda c: sms(c).update(colour="blue")), False, "'colour'"),
        # Beside a valid auth_token_env, so the inline value is the only thing wrong.
        ("inline secret", edit(readme, lambda c: sms(c).update(auth_token="x")), False, "'auth_token'"),
        ("missing required key", edit(readme, lambda c: sms(c).pop("account_sid")), False, "account_sid"),
        ("missing required secret", edit(readme, lambda c: sms(c).pop("auth_token_env")), False, "auth_token_env"),
        ("secret twice", edit(readme, lambda c: sms(c).update(auth_token_file="/run/token")), False,
         "auth_token_file"),
        ("empty secret variable name", edit(readme, lambda c: sms(c).update(auth_token_env="")), False,
         "auth_token_env"),
        ("string where a list is expected", edit(readme, lambda c: sms(c).update(own_numbers="+4930123456")), False,
         "own_numbers"),
        ("integer where a string is expected", edit(readme, lambda c: sms(c).update(account_sid=5)), False,
         "account_sid"),
        ("list element not a string", edit(readme, lambda c: sms(c).update(own_numbers=[4930123456])), False,
         "own_numbers"),
        ("missing type", edit(readme, lambda c: sms(c).pop("type")), False, "type"),
        ("unknown type", edit(readme, lambda c: sms(c).update(type="twilio-messages")), False, "twilio-messages"),
        ("a source declared as a target", edit(readme, lambda c: c["targets"].update(crm=hubspot_target)), False,
         "hubspot-contacts"),
        ("a target declared as a connector", edit(readme, lambda c: c["connectors"].update(out=c["targets"]["out"])),
         False, "ndjson"),
        ("connector name with a space", edit(readme, lambda c: c["connectors"].update({"my sms": sms(c)})), False,
         "my sms"),
        ("unknown top-level table", edit(readme, lambda c: c.update(statee={"path": "x.db"})), False, "statee"),
        ("unknown key in [state]", edit(readme, lambda c: c.update(state={"paht": "x.db"})), False, "paht"),
        ("csv-contacts columns: a string or a list for email and phone", with_people(), True, None),
        ("csv-contacts columns: an unknown key", with_people(lambda p: p["columns"].update(emial="E")), False, "emial"),
        ("csv-contacts columns: no id", with_people(lambda p: p["columns"].pop("id")), False, "'id'"),
        ("csv-contacts columns: not a table", with_people(lambda p: p.update(columns="Record ID")), False, "columns"),
        ("csv-contacts: the flat keys of before", with_people(lambda p: p.update(id_column="Record ID")), False,
         "id_column"),
        ("default_region not a region code", edit(readme, lambda c: c["identity"].update(default_region="Germany")),
         False, "default_region"),
    ]


def chansync_exit(binary, config, workdir):
    path = os.path.join(workdir, "case.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_toml(config))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir}
    run = subprocess.run([binary, "--config", path, "config", "show"], env=env, capture_output=True, text=True)
    return run.returncode, run.stderr.strip()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    source = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) == 3 else None
    schema = json.loads(read(source, "schemas/config.schema.json"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    readme = tomllib.loads(readme_example(source))
    man = tomllib.loads(man_example(source))
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        for name, config, valid, word in [("chansync.conf(5) example", man, True, None)] + cases(readme):
            errors = list(validator.iter_errors(config))
            why = reasons(errors)
            problems = []
            if valid and errors:
                problems.append(f"schema rejects it: {why}")
            if not valid and not errors:
                problems.append("schema accepts it")
            if not valid and errors and word not in why:
                problems.append(f"schema rejects it, but not for {word!r}: {why}")
            if binary:
                code, stderr = chansync_exit(binary, config, workdir)
                if code != (0 if valid else 78):
                    problems.append(f"`chansync config show` exits {code} (schema says {'valid' if valid else 'invalid'}): "
                                    f"{stderr}")
            print(f"{'FAIL' if problems else 'ok  '} {name}{' (valid)' if valid else ' (rejected)'}")
            for p in problems:
                print(f"     {p}")
            failures += bool(problems)
    if failures:
        sys.exit(f"{failures} case(s) failed")


if __name__ == "__main__":
    main()
