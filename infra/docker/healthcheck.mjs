// The worker image's HEALTHCHECK: exit 0 when the worker's health endpoint (workers/health.ts) answers
// 200 on GET /healthz, 1 otherwise. Plain Node (no tsx, no project code) so that a check every 30 s costs
// milliseconds. Usage: node healthcheck.mjs [path]   (port from SIMCLR_HEALTH_PORT)
const port = process.env.SIMCLR_HEALTH_PORT;
if (!port) {
  console.error('healthcheck: SIMCLR_HEALTH_PORT is not set');
  process.exit(1);
}
const path = process.argv[2] || '/healthz';
fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) })
  .then(async (res) => {
    console.log(`${res.status} ${(await res.text()).trim()}`);
    process.exit(res.ok ? 0 : 1);
  })
  .catch((err) => {
    console.error(`healthcheck: ${err.message}`);
    process.exit(1);
  });
