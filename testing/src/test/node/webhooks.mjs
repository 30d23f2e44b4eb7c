// Drives the emulator's webhooks with Google's official Node SDK (ai.webhooks.*), unchanged but
// for the base URL, and receives the deliveries on a local endpoint that checks every signature
// with its own HMAC (Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body))).
// Usage: node webhooks.mjs http://127.0.0.1:PORT
import { GoogleGenAI } from '@google/genai';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import assert from 'node:assert/strict';

const baseUrl = process.argv[2];
const ai = new GoogleGenAI({ apiKey: 'node-sdk-key', httpOptions: { baseUrl, apiVersion: 'v1beta' } });
let checks = 0;
const ok = (what) => { checks++; console.log(`ok ${checks} - ${what}`); };

// The receiver: records deliveries, answers 204.
const received = [];
const waiting = [];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const d = { headers: req.headers, body: Buffer.concat(chunks) };
    res.writeHead(204).end();
    const w = waiting.shift();
    if (w) w(d); else received.push(d);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${server.address().port}/hook`;
const next = () => {
  if (received.length) return Promise.resolve(received.shift());
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no delivery within 20 s')), 20000);
    waiting.push((d) => { clearTimeout(t); resolve(d); });
  });
};
const valid = (d, secret) => {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key)
    .update(`${d.headers['webhook-id']}.${d.headers['webhook-timestamp']}.`)
    .update(d.body)
    .digest('base64');
  return d.headers['webhook-signature'].split(' ').filter((s) => s === `v1,${mac}`).length;
};

const hook = await ai.webhooks.create({
  name: 'node-hook',
  uri: hookUrl,
  subscribed_events: ['batch.succeeded', 'batch.failed'],
});
assert.match(hook.new_signing_secret, /^whsec_[A-Za-z0-9+/=]{32,}$/);
assert.equal(hook.state, 'enabled');
assert.deepEqual(hook.subscribed_events, ['batch.succeeded', 'batch.failed']);
ok('webhooks.create returns the signing secret once');

const got = await ai.webhooks.get(hook.id);
assert.equal(got.uri, hookUrl);
assert.equal(got.new_signing_secret, undefined);
assert.equal(got.signing_secrets.length, 1);
ok('webhooks.get');

const second = await ai.webhooks.create({ uri: 'http://127.0.0.1:9/x', subscribed_events: ['batch.expired'] });
const page = await ai.webhooks.list({ page_size: 1 });
assert.equal(page.webhooks.length, 1);
assert.ok(page.next_page_token);
const rest = await ai.webhooks.list({ page_size: 1, page_token: page.next_page_token });
assert.equal(rest.webhooks.length, 1);
assert.notEqual(rest.webhooks[0].id, page.webhooks[0].id);
ok('webhooks.list with paging');

const updated = await ai.webhooks.update(second.id, { name: 'renamed', state: 'disabled', update_mask: 'name,state' });
assert.equal(updated.name, 'renamed');
assert.equal(updated.state, 'disabled');
ok('webhooks.update with update_mask');

await ai.webhooks.ping(hook.id);
const ping = await next();
assert.equal(valid(ping, hook.new_signing_secret), 1);
ok('webhooks.ping delivers a signed event');

const rotated = await ai.webhooks.rotateSigningSecret(hook.id, { revocation_behavior: 'revoke_previous_secrets_after_h24' });
assert.match(rotated.secret, /^whsec_/);
assert.equal((await ai.webhooks.get(hook.id)).signing_secrets.length, 2);
ok('webhooks.rotateSigningSecret keeps the previous secret for 24 h');

const job = await ai.batches.create({
  model: 'gemini-2.5-flash',
  src: [{ contents: [{ parts: [{ text: 'hooked' }], role: 'user' }] }],
  config: { displayName: 'node-hooked' },
});
const done = await next();
const event = JSON.parse(done.body.toString('utf8'));
assert.equal(event.type, 'batch.succeeded');
assert.equal(event.data.id, job.name);
assert.equal(valid(done, hook.new_signing_secret), 1);
assert.equal(valid(done, rotated.secret), 1);
ok('a batch that ends is delivered, signed with both valid secrets');

const dynamicSecret = (await (await fetch(`${baseUrl}/_emulator/webhooks`)).json()).dynamicSigningSecret;
const own = await ai.batches.create({
  model: 'gemini-2.5-flash',
  src: [{ contents: [{ parts: [{ text: 'own hook' }], role: 'user' }] }],
  config: { displayName: 'node-own-hook', webhookConfig: { uris: [hookUrl], userMetadata: { run: 'n1' } } },
});
const dyn = await next();
const dynEvent = JSON.parse(dyn.body.toString('utf8'));
assert.equal(dynEvent.data.id, own.name);
assert.deepEqual(dynEvent.data.user_metadata, { run: 'n1' });
assert.equal(valid(dyn, dynamicSecret), 1);
ok('batches.create with config.webhookConfig: delivered to its URIs with user_metadata');

await ai.webhooks.delete(hook.id);
await ai.webhooks.delete(second.id);
await assert.rejects(ai.webhooks.get(hook.id), (e) => /404/.test(String(e.statusCode ?? e.status ?? e.message)));
ok('webhooks.delete, then get is a 404');

server.close();
console.log(`${checks} passed, 0 failed`);
