// The peer of gladly-webhook-bench: @octokit/webhooks' createNodeMiddleware
// on Node's http server. It verifies GitHub's HMAC-SHA256 scheme
// (X-Hub-Signature-256) on the body and dispatches to a no-op handler.
// Prints "listening on 127.0.0.1:PORT" and serves until killed or until
// GLADLY_BENCH_MAX_SECONDS (default 600) pass.
import { createServer } from "node:http";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";

const secret = process.env.GLADLY_BENCH_SECRET;
if (!secret) {
  console.error("GLADLY_BENCH_SECRET is not set");
  process.exit(2);
}
const path = process.env.GLADLY_BENCH_PATH || "/hooks/gladly";
const webhooks = new Webhooks({ secret });
webhooks.onAny(() => {});
const middleware = createNodeMiddleware(webhooks, { path });
const server = createServer(middleware);
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on ${address}:${port}`);
});
setTimeout(() => process.exit(0), 1000 * Number(process.env.GLADLY_BENCH_MAX_SECONDS || 600)).unref();
