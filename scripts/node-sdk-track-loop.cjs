// The official OpenPartner Node SDK's sequential trackEvent loop (the reference of
// scripts/server-bench.sh and tests/benches/server_bench.rs):
//
//   OPENPARTNER_NODE_SDK=DIR OPENPARTNER_BASE_URL=URL OPENPARTNER_API_KEY=KEY \
//     NODE_LOOP_SECONDS=60 node scripts/node-sdk-track-loop.cjs EVENTS.ndjson
//
// DIR is where `npm install --prefix DIR @openpartner/sdk@0.1.0` put the SDK. Reads the
// NDJSON file (lines as `openpartner events import` reads them) and awaits
// `OpenPartnerServer.trackEvent({userId, type, value, currency, metadata, ts})` for each
// line, one after the other, as a merchant backend's loop would. Stops after the file or
// NODE_LOOP_SECONDS (default 60), whichever comes first. Prints one JSON line
// {"sent","seconds","eventsPerSecond"}; exits 1 on the first failed call. Values are sent
// as JS numbers because that is the SDK's type (`value?: number`); the bench compares
// rates, not sums.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const { createRequire } = require("node:module");

async function main() {
  const file = process.argv[2];
  const sdkDir = process.env.OPENPARTNER_NODE_SDK;
  if (!file || !sdkDir) {
    console.error("usage: OPENPARTNER_NODE_SDK=DIR node node-sdk-track-loop.cjs EVENTS.ndjson");
    process.exit(2);
  }
  const requireFromSdk = createRequire(path.join(path.resolve(sdkDir), "package.json"));
  const { OpenPartnerServer } = requireFromSdk("@openpartner/sdk/server");
  const op = new OpenPartnerServer({
    apiUrl: process.env.OPENPARTNER_BASE_URL,
    apiKey: process.env.OPENPARTNER_API_KEY,
  });
  const limitMs = 1000 * Number(process.env.NODE_LOOP_SECONDS || 60);
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  const started = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
  let sent = 0;
  for await (const line of lines) {
    if (!line.trim()) continue;
    if (elapsedMs() >= limitMs) break;
    const e = JSON.parse(line);
    const params = { userId: e.userId, type: e.type };
    if (e.value !== undefined) params.value = Number(e.value);
    if (e.currency !== undefined) params.currency = e.currency;
    if (e.metadata !== undefined) params.metadata = e.metadata;
    if (e.ts !== undefined) params.ts = e.ts;
    await op.trackEvent(params);
    sent += 1;
  }
  lines.close();
  const seconds = elapsedMs() / 1000;
  console.log(JSON.stringify({ sent, seconds, eventsPerSecond: sent / seconds }));
}

main().catch((err) => {
  console.error(`node-sdk-track-loop: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
