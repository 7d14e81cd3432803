#!/usr/bin/env bash
# The main job, end to end, with the example files: validate the example
# subscription, then sign the example request with its secret and verify the
# signed request through a pipe, as a receiver would.
set -euo pipefail
cd "$(dirname "$0")/.."

# Ask cargo where it put the binary: CARGO_TARGET_DIR may point anywhere.
gladly_webhook=$(cargo build --quiet --package gladly-webhook-cli --bin gladly-webhook --message-format=json \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)

# The example subscription's secret (examples/subscription.json). Secrets are
# read from the environment or a file, never from an argument.
export GLADLY_SECRET=whsec_example_0123456789abcdef

echo '$ gladly-webhook validate examples/subscription.json'
"$gladly_webhook" validate examples/subscription.json

echo
echo '$ gladly-webhook sign --secret-env GLADLY_SECRET --sign-header x-request-id examples/request.http | gladly-webhook verify --secret-env GLADLY_SECRET -'
"$gladly_webhook" sign --secret-env GLADLY_SECRET --sign-header x-request-id examples/request.http \
  | "$gladly_webhook" verify --secret-env GLADLY_SECRET -
