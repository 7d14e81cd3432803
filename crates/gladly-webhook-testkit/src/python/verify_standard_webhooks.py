"""Verifies captured Standard Webhooks deliveries with the official
`standardwebhooks` package (v1) and with `cryptography`'s ed25519 (v1a).

Reads a JSON file: {"deliveries": [{"secret": "whsec_...", "public_keys":
["whpk_..."], "headers": {...}, "body_b64": "..."}]}. Prints how many
verified; exits 1 naming each delivery that did not.
"""

import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook


def v1a_matches(public_key, headers, body):
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key[len("whpk_"):]))
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    for entry in headers["webhook-signature"].split(" "):
        if not entry.startswith("v1a,"):
            continue
        try:
            key.verify(base64.b64decode(entry[len("v1a,"):]), content)
            return True
        except InvalidSignature:
            pass
    return False


def main(path):
    with open(path, encoding="utf-8") as f:
        deliveries = json.load(f)["deliveries"]
    failures, v1a = [], 0
    for n, d in enumerate(deliveries):
        body = base64.b64decode(d["body_b64"])
        headers = {k.lower(): v for k, v in d["headers"].items()}
        try:
            Webhook(d["secret"]).verify(body, headers)
        except Exception as err:  # the package raises WebhookVerificationError
            failures.append(f"delivery {n} ({headers.get('webhook-id')}): v1: {err}")
            continue
        for public_key in d.get("public_keys", []):
            if v1a_matches(public_key, headers, body):
                v1a += 1
            else:
                failures.append(f"delivery {n} ({headers.get('webhook-id')}): v1a does not verify")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"verified {len(deliveries)} deliveries (v1a: {v1a})")


if __name__ == "__main__":
    main(sys.argv[1])
