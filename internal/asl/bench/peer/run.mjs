// Runs one make bench-engine workload on aws-local-stepfunctions: the
// definition, input and stub responses the Go driver wrote to DIR. Prints
// one JSON line: {"seconds", "runs", "status", "output"}.
//
// usage: node run.mjs DIR RUNS
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3 asks for Node 22 and uses Promise.withResolvers
// in Task states; this machine runs Node 20, which lacks it.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const [dir, runsText] = process.argv.slice(2);
const definition = JSON.parse(readFileSync(join(dir, 'definition.json'), 'utf8'));
const input = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8'));
const stubs = JSON.parse(readFileSync(join(dir, 'stubs.json'), 'utf8'));
const runs = Number(runsText);

// Wait states take no time, as on the embedded engine's virtual clock.
const waits = {};
const tasks = [];
(function collect(machine) {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    if (state.Type === 'Wait') waits[name] = 0;
    if (state.Type === 'Task') tasks.push(name);
    for (const b of state.Branches ?? []) collect(b);
    if (state.ItemProcessor) collect(state.ItemProcessor);
    if (state.Iterator) collect(state.Iterator);
  }
})(definition);

// Every Task gets a local handler, so that none reaches AWS; one without a
// stub fails, naming itself.
function handlers() {
  const out = {};
  for (const state of tasks) {
    out[state] = async () => { throw new Error(`no stub for the Task state ${state}`); };
  }
  for (const [state, responses] of Object.entries(stubs)) {
    let n = 0;
    out[state] = async () => responses[Math.min(n++, responses.length - 1)];
  }
  return out;
}

// The context object, which aws-local-stepfunctions leaves empty unless given.
function context() {
  return {
    Execution: {
      Id: 'arn:aws:states:us-east-1:000000000000:execution:bench:bench', Name: 'bench', Input: input,
      StartTime: new Date().toISOString(), RoleArn: 'arn:aws:iam::000000000000:role/bench', RedriveCount: 0,
    },
    StateMachine: { Id: 'arn:aws:states:us-east-1:000000000000:stateMachine:bench', Name: 'bench' },
  };
}

function runOnce(sm) {
  const ex = sm.run(input, { overrides: { taskResourceLocalHandlers: handlers(), waitTimeOverrides: waits }, context: context() });
  return ex.result;
}

try {
  const sm = new StateMachine(definition, { validationOptions: { checkPaths: false, checkArn: false } });
  const output = await runOnce(sm); // warm-up, and the output to compare
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await runOnce(sm);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ seconds, runs, status: 'SUCCEEDED', output: JSON.stringify(output) }));
} catch (err) {
  console.log(JSON.stringify({ seconds: 0, runs: 0, status: 'UNSUPPORTED', output: String(err && err.message || err).slice(0, 300) }));
}
