// The benchmark's reference: what a user writes with Google's Node SDK instead of running our jar,
// following the Batch API's documented file flow. Reads a prompts file (one prompt a line), writes
// the requests as JSONL, uploads it, creates the batch, polls it every second, downloads the result
// file, parses every line and writes one {"key","response"} line per result.
// Usage: node sdk-batch-flow.mjs BASE_URL API_KEY PROMPTS.txt OUTPUT.jsonl [MODEL]
// Prints "sdk: mark NAME EPOCH_MILLIS" at each phase's end and "sdk: results N KEYS_OK" at the end.
import { GoogleGenAI } from '@google/genai';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const [baseUrl, apiKey, promptsPath, outputPath, model = 'gemini-2.5-flash'] = process.argv.slice(2);
const mark = (name) => console.log(`sdk: mark ${name} ${Date.now()}`);
mark('started');

async function writeLines(path, lines) {
  const out = createWriteStream(path);
  for await (const line of lines) {
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

// Read and stage: one request per prompt, keyed by its line number.
const requestsPath = `${outputPath}.requests.jsonl`;
let prompts = 0;
await writeLines(requestsPath, (async function* () {
  for await (const text of createInterface({ input: createReadStream(promptsPath), crlfDelay: Infinity })) {
    if (text.trim() === '') continue;
    prompts++;
    yield JSON.stringify({ key: `p${prompts}`, request: { contents: [{ parts: [{ text }] }] } }) + '\n';
  }
})());
mark('staged');

const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl, apiVersion: 'v1beta' } });
const file = await ai.files.upload({ file: requestsPath, config: { mimeType: 'jsonl', displayName: 'sdk-benchmark' } });
mark('uploaded');

let job = await ai.batches.create({ model, src: file.name, config: { displayName: 'sdk-benchmark' } });
const done = ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED'];
while (!done.includes(job.state)) {
  await new Promise((r) => setTimeout(r, 1000));
  job = await ai.batches.get({ name: job.name });
}
if (job.state !== 'JOB_STATE_SUCCEEDED') throw new Error(`batch ended ${job.state}`);
mark('service');

const resultsPath = `${outputPath}.results.jsonl`;
await ai.files.download({ file: job.dest.fileName, downloadPath: resultsPath });
// The SDK pipes the body to the file and may resolve before the pipe has flushed.
const expected = Number((await ai.files.get({ name: job.dest.fileName })).sizeBytes);
while (statSync(resultsPath).size < expected) await new Promise((r) => setTimeout(r, 5));
mark('downloaded');

// Parse every result and write it out; count the keys that came back, each once.
const seen = new Uint8Array(prompts + 1);
let results = 0;
let keysOk = 0;
await writeLines(outputPath, (async function* () {
  for await (const line of createInterface({ input: createReadStream(resultsPath), crlfDelay: Infinity })) {
    if (line === '') continue;
    const r = JSON.parse(line);
    results++;
    const i = Number(r.key.slice(1));
    if (r.response && i >= 1 && i <= prompts && !seen[i]) {
      seen[i] = 1;
      keysOk++;
    }
    yield JSON.stringify({ key: r.key, response: r.response ?? null, error: r.error ?? null }) + '\n';
  }
})());
mark('written');
console.log(`sdk: results ${results} ${keysOk}`);
