import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScramClientExchange, ScramError, ScramServerExchange, credentialFromSaltedPassword, newCredential, passwordMatches, saltedPassword,
} from '../../../runtime/kafka/scram.js';

// RFC 7677 section 3: user "user", password "pencil", 4096 iterations.
const rfc7677 = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

function rfcCredential() {
  return credentialFromSaltedPassword('SCRAM-SHA-256', saltedPassword('SCRAM-SHA-256', 'pencil', rfc7677.salt, 4096), rfc7677.salt, 4096);
}

test('SCRAM-SHA-256: the RFC 7677 exchange, byte for byte, from both sides', () => {
  const client = new ScramClientExchange('SCRAM-SHA-256', 'user', 'pencil', rfc7677.clientNonce);
  assert.equal(client.clientFirst(), rfc7677.clientFirst);
  assert.equal(client.clientFinal(rfc7677.serverFirst), rfc7677.clientFinal);
  assert.ok(client.serverVerified(rfc7677.serverFinal));
  assert.ok(!client.serverVerified('v=AAAA'));

  const server = new ScramServerExchange('SCRAM-SHA-256', (user) => (user === 'user' ? rfcCredential() : undefined), rfc7677.serverNonce);
  assert.equal(server.respond(rfc7677.clientFirst), rfc7677.serverFirst);
  assert.equal(server.authenticatedUser, null);
  assert.equal(server.respond(rfc7677.clientFinal), rfc7677.serverFinal);
  assert.equal(server.authenticatedUser, 'user');
});

test('SCRAM refuses a wrong password, an unknown user, a changed nonce and channel binding', () => {
  const lookup = (user: string) => (user === 'user' ? rfcCredential() : undefined);
  const wrong = new ScramClientExchange('SCRAM-SHA-256', 'user', 'pen', rfc7677.clientNonce);
  const server = new ScramServerExchange('SCRAM-SHA-256', lookup, rfc7677.serverNonce);
  const serverFirst = server.respond(wrong.clientFirst());
  assert.throws(() => server.respond(wrong.clientFinal(serverFirst)), (e: Error) => e instanceof ScramError && /Invalid user credentials/.test(e.message));
  assert.throws(() => new ScramServerExchange('SCRAM-SHA-256', lookup).respond('n,,n=nobody,r=abc'), /Invalid user credentials/);
  const replay = new ScramServerExchange('SCRAM-SHA-256', lookup, 'other-nonce');
  replay.respond(rfc7677.clientFirst);
  assert.throws(() => replay.respond(rfc7677.clientFinal), /nonce does not match/);
  assert.throws(() => new ScramServerExchange('SCRAM-SHA-256', lookup).respond('p=tls-unique,,n=user,r=abc'), /channel binding/);
  // librdkafka's client-final repeats its nonce in front of the combined one; Kafka accepts that, and so does logmesh.
  const librdkafka = new ScramServerExchange('SCRAM-SHA-256', lookup, rfc7677.serverNonce);
  librdkafka.respond(rfc7677.clientFirst);
  assert.throws(() => librdkafka.respond(rfc7677.clientFinal.replace('r=', `r=${rfc7677.clientNonce}`)), /Invalid user credentials/, 'the nonce passes; the proof was made for the other message');
  assert.throws(() => new ScramServerExchange('SCRAM-SHA-256', lookup).respond('garbage'), ScramError);
});

test('SCRAM-SHA-512 end to end, names with = and , escaped; PLAIN checks passwords against the credential', () => {
  const credential = newCredential('SCRAM-SHA-512', 'hunter2', 4096);
  assert.equal(credential.storedKey.length, 64);
  const name = 'a,b=c';
  const client = new ScramClientExchange('SCRAM-SHA-512', name, 'hunter2');
  const server = new ScramServerExchange('SCRAM-SHA-512', (user) => (user === name ? credential : undefined));
  const serverFinal = server.respond(client.clientFinal(server.respond(client.clientFirst())));
  assert.ok(client.serverVerified(serverFinal));
  assert.equal(server.authenticatedUser, name);
  assert.ok(passwordMatches('SCRAM-SHA-512', credential, 'hunter2'));
  assert.ok(!passwordMatches('SCRAM-SHA-512', credential, 'hunter3'));
});
