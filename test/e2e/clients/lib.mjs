// Shared plumbing for the end-to-end suite's Node.js clients. Each script
// reads its configuration from a JSON argument (or $E2E_CONFIG), prints
// exactly one JSON line on stdout — {"ok":true,...} or
// {"ok":false,"step":...,"error":...} — and exits non-zero on failure, so the
// Go harness can say which client failed at which step and what came back.

/** StepError carries the name of the step that failed. */
export class StepError extends Error {
  constructor(step, message, detail) {
    super(message);
    this.step = step;
    this.detail = detail;
  }
}

/** step runs fn and labels any error it throws with name. */
export async function step(name, fn) {
  try {
    return await fn();
  } catch (err) {
    if (err && typeof err === 'object' && !err.step) {
      err.step = name;
    }
    throw err;
  }
}

/** check throws a StepError for step when cond is false. */
export function check(stepName, cond, message, detail) {
  if (!cond) {
    throw new StepError(stepName, message, detail);
  }
}

/** describe turns an error from any of the clients into plain JSON. */
export function describe(err) {
  if (!err || typeof err !== 'object') {
    return { error: String(err) };
  }
  const out = { error: err.message ?? String(err) };
  for (const k of ['name', 'code', 'error', 'error_description', 'status', 'detail']) {
    if (err[k] !== undefined && typeof err[k] !== 'function') {
      out[k === 'error' ? 'oauthError' : k] = err[k];
    }
  }
  if (err.cause !== undefined) {
    const c = err.cause;
    if (c && typeof c === 'object' && typeof c.status === 'number' && c.headers) {
      out.causeStatus = c.status;
    } else if (c instanceof Error) {
      out.cause = c.message;
    } else {
      try {
        out.cause = JSON.parse(JSON.stringify(c));
      } catch {
        out.cause = String(c);
      }
    }
  }
  return out;
}

/** run executes main(config) and reports its result as one JSON line. */
export async function run(client, main) {
  let cfg;
  try {
    cfg = JSON.parse(process.argv[2] ?? process.env.E2E_CONFIG ?? '{}');
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, client, step: 'config', error: `bad JSON config: ${err.message}` }) + '\n');
    process.exit(2);
  }
  try {
    const result = await main(cfg);
    process.stdout.write(JSON.stringify({ ok: true, client, ...result }) + '\n');
    process.exit(0);
  } catch (err) {
    const d = describe(err);
    process.stdout.write(JSON.stringify({ ok: false, client, step: err?.step ?? 'unknown', ...d }) + '\n');
    process.stderr.write(`${client}: step ${err?.step ?? 'unknown'} failed: ${d.error}\n`);
    process.exit(1);
  }
}

/** header returns a response header or "". */
export function header(res, name) {
  return res.headers.get(name) ?? '';
}
