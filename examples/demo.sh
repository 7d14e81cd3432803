#!/usr/bin/env bash
# The main job, end to end, on this machine: a receiving service with a
# SQLite inbox that runs a command per event, and Gladly-faithful deliveries
# sent to it.
#
#   1. `gladly-webhook listen` on a free loopback port, inbox in a new
#      temporary folder, `--exec` appending each event it handles to a log;
#   2. `gladly-webhook trigger` of several event types (one of them twice
#      with the same id, as Gladly's retry would, and one signed with the
#      wrong secret);
#   3. `gladly-webhook inbox stats` once the workers are done, then the
#      listener is stopped (SIGTERM: a graceful shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."

# Ask cargo where it put the binary: CARGO_TARGET_DIR may point anywhere.
# Its progress and any compiler error go to the terminal (stderr); only the
# JSON messages on stdout are read.
echo "demo: building gladly-webhook (the first build takes a few minutes)" >&2
gladly_webhook=$(cargo build --package gladly-webhook-cli --bin gladly-webhook \
    --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -n "$gladly_webhook" ] || { echo "demo: the build produced no gladly-webhook binary" >&2; exit 1; }

# The example subscription's secret. Secrets are read from the environment
# or a file, never from an argument.
export GLADLY_SECRET=whsec_example_0123456789abcdef
export WRONG_SECRET=whsec_not_the_subscriptions_secret

work=$(mktemp -d)
listener=
cleanup() {
  if [ -n "$listener" ] && kill -0 "$listener" 2>/dev/null; then kill -TERM "$listener"; wait "$listener" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

show() { printf '\n$ %s\n' "$*"; }

show "gladly-webhook listen --addr 127.0.0.1:0 --path /hooks/gladly --secret-env GLADLY_SECRET --inbox sqlite:\$TMP/inbox.db --exec '...'"
"$gladly_webhook" listen --addr 127.0.0.1:0 --path /hooks/gladly --secret-env GLADLY_SECRET \
  --inbox "sqlite:$work/inbox.db" --workers 2 \
  --exec 'echo "handled $GLADLY_EVENT_TYPE $GLADLY_EVENT_ID (attempt $GLADLY_ATTEMPT, $(wc -c) bytes)" >> "'"$work"'/handled.log"' \
  >"$work/deliveries.log" 2>"$work/listen.err" &
listener=$!

# The listener says where it listens on stderr; wait for it (at most 30 s).
url=
for _ in $(seq 300); do
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/listen.err" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$listener" 2>/dev/null || { cat "$work/listen.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "demo: the listener did not start" >&2; exit 1; }
echo "(listening on $url)"

trigger() {
  show "gladly-webhook trigger $* --to $url --secret-env GLADLY_SECRET"
  "$gladly_webhook" trigger "$@" --to "$url" --secret-env GLADLY_SECRET 2>&1
}
trigger CONVERSATION_CLOSED --set '/id="evt_demo_closed"'
trigger CONVERSATION_CLOSED --set '/id="evt_demo_closed"'   # Gladly's retry: the same id
trigger MESSAGE_CREATED --set '/content/channel="SMS"'
trigger TASK_CLOSED
trigger AGENT_STATE_CHANGED
trigger PING
show "gladly-webhook trigger TASK_CREATED --to $url --secret-env WRONG_SECRET"
"$gladly_webhook" trigger TASK_CREATED --to "$url" --secret-env WRONG_SECRET --schedule none 2>&1 \
  || echo "(exit $?: rejected, as it should be)"

# Wait for the workers to run every stored event (at most 30 s).
for _ in $(seq 300); do
  "$gladly_webhook" inbox stats --inbox "sqlite:$work/inbox.db" --format json \
    | grep -q '"pending":0,"running":0' && break
  sleep 0.1
done

show "gladly-webhook inbox stats --inbox sqlite:\$TMP/inbox.db"
"$gladly_webhook" inbox stats --inbox "sqlite:$work/inbox.db"

kill -TERM "$listener"
wait "$listener" || true
listener=

printf '\nWhat listen printed, one line per delivery:\n'
cat "$work/deliveries.log"
printf '\nWhat --exec ran, one line per event:\n'
sort "$work/handled.log"
