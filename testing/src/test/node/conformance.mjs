// Drives the emulator with Google's official Node SDK, unchanged but for the base URL.
// Usage: node conformance.mjs http://127.0.0.1:PORT
import { GoogleGenAI } from '@google/genai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const baseUrl = process.argv[2];
const ai = new GoogleGenAI({ apiKey: 'node-sdk-key', httpOptions: { baseUrl, apiVersion: 'v1beta' } });
const dir = mkdtempSync(join(tmpdir(), 'genai-'));
let checks = 0;
const ok = (what) => { checks++; console.log(`ok ${checks} - ${what}`); };

async function until(name, states) {
  for (;;) {
    const job = await ai.batches.get({ name });
    if (states.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// 16 MiB exactly: the SDK sends two 8 MiB chunks, the second with 'upload, finalize'.
const big = join(dir, 'big.txt');
writeFileSync(big, Buffer.alloc(16 * 1024 * 1024, 'a'));
const bigFile = await ai.files.upload({ file: big, config: { mimeType: 'text/plain' } });
assert.equal(bigFile.sizeBytes, String(16 * 1024 * 1024));
ok('files.upload of exactly 16 MiB');

// A JSONL batch input in the Batch API's format.
const lines = [];
for (let i = 0; i < 3; i++) {
  lines.push(JSON.stringify({ key: `k${i}`, request: { contents: [{ parts: [{ text: `prompt ${i}` }] }] } }));
}
const input = join(dir, 'input.jsonl');
writeFileSync(input, lines.join('\n') + '\n');
const file = await ai.files.upload({ file: input, config: { mimeType: 'jsonl', displayName: 'node-input' } });
assert.match(file.name, /^files\//);
assert.equal(file.sizeBytes, String(readFileSync(input).length));
ok('files.upload');

const fileJob = await ai.batches.create({ model: 'gemini-2.5-flash', src: file.name, config: { displayName: 'node-file' } });
const doneFile = await until(fileJob.name, ['JOB_STATE_SUCCEEDED']);
assert.match(doneFile.dest.fileName, /^files\/batch-/);
ok('batches.create (file) and get until JOB_STATE_SUCCEEDED');

const out = join(dir, 'out.jsonl');
await ai.files.download({ file: doneFile.dest.fileName, downloadPath: out });
// The Node SDK pipes the body to the file and may resolve before the pipe has flushed.
const complete = () => readFileSync(out, { flag: 'a+', encoding: 'utf8' }).split('\n').length > 3;
for (let wait = 0; wait < 500 && !complete(); wait++) {
  await new Promise((r) => setTimeout(r, 10));
}
const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
assert.equal(results.length, 3);
for (const r of results) {
  assert.equal(r.response.candidates[0].content.parts[0].text, `echo: prompt ${r.key.slice(1)}`);
}
ok('files.download of the result file, every line the echo of its prompt');

const inline = await ai.batches.create({
  model: 'gemini-2.5-flash',
  src: [{ contents: [{ parts: [{ text: 'inline one' }], role: 'user' }], metadata: { key: 'i1' } }],
  config: { displayName: 'node-inline' },
});
const doneInline = await until(inline.name, ['JOB_STATE_SUCCEEDED']);
assert.equal(doneInline.dest.inlinedResponses[0].response.candidates[0].content.parts[0].text, 'echo: inline one');
ok('batches.create (inline) and its inlined responses');

const embed = await ai.batches.createEmbeddings({
  model: 'gemini-embedding-001',
  src: { inlinedRequests: { contents: [{ parts: [{ text: 'embed me' }] }], config: { outputDimensionality: 8 } } },
  config: { displayName: 'node-embed' },
});
const doneEmbed = await until(embed.name, ['JOB_STATE_SUCCEEDED']);
const vector = doneEmbed.dest.inlinedEmbedContentResponses[0].response.embedding.values;
assert.equal(vector.length, 8);
ok('batches.createEmbeddings');

const seen = [];
const pager = await ai.batches.list({ config: { pageSize: 2 } });
for await (const job of pager) seen.push(job.name);
assert.ok(seen.length >= 3 && new Set(seen).size === seen.length);
ok(`batches.list paging (${seen.length} jobs, pages of 2)`);

const slow = await ai.batches.create({ model: 'gemini-2.5-flash', src: file.name, config: { displayName: 'node-cancel' } });
await ai.batches.cancel({ name: slow.name });
const cancelled = await until(slow.name, ['JOB_STATE_CANCELLED', 'JOB_STATE_SUCCEEDED']);
ok(`batches.cancel (${cancelled.state})`);

await ai.batches.delete({ name: fileJob.name });
await assert.rejects(ai.batches.get({ name: fileJob.name }), (e) => e.status === 404);
ok('batches.delete, then get is a 404');

await assert.rejects(ai.batches.get({ name: 'batches/nosuchjob' }), (e) => e.status === 404);
ok('unknown batch is a 404');

console.log(`${checks} passed, 0 failed`);
