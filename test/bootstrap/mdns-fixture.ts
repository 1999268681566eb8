/**
 * A process for the mDNS tests, run inside a network namespace:
 *   announce PUBKEYHEX PORT INVITEID INVITEPORT  announces a server and an invite until its stdin closes
 *   browse                                       prints a JSON line per server heard or gone, until stdin closes
 *   find-invite ID TIMEOUTMS                     prints the JSON list of addresses found
 *   flood PUBKEYHEX PORT N                       a hostile LAN: announces N servers with random fingerprints and
 *                                                N/4 more claiming PUBKEY's at PORT, where it accepts and drops TCP
 *                                                connections; at the end (stdin closed) prints how many it got
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Bonjour } from 'bonjour-service';
import { keyFingerprint, openMdns, SERVER_TYPE } from '../../src/bootstrap/mdns.js';

const [mode, ...args] = process.argv.slice(2);
const untilStdinCloses = () => new Promise<void>((resolve) => process.stdin.on('end', resolve).resume());
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

if (mode === 'announce') {
  const mdns = openMdns((err) => say({ error: err.message }));
  mdns.announceServer({ publicKey: Buffer.from(args[0], 'hex'), port: Number(args[1]), hostname: 'fixture-host' });
  mdns.announceInvite(Number(args[2]), Number(args[3]));
  say({ ready: true });
  await untilStdinCloses();
  await mdns.close();
} else if (mode === 'browse') {
  const mdns = openMdns((err) => say({ error: err.message }));
  mdns.browseServers(
    (heard) => say({ heard }),
    (fingerprint) => say({ gone: fingerprint }),
  );
  say({ ready: true });
  await untilStdinCloses();
  await mdns.close();
} else if (mode === 'find-invite') {
  const mdns = openMdns();
  say(await mdns.findInvite(Number(args[0]), Number(args[1])));
  await mdns.close();
} else if (mode === 'flood') {
  const [keyHex, port, n] = [args[0], Number(args[1]), Number(args[2])];
  let dials = 0;
  const listener = createServer((socket) => {
    dials++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(port, resolve));
  // bonjour-service itself, not the wrapper: an attacker is free to vary what the wrapper keeps fixed (instance names).
  const bonjour = new Bonjour({}, () => {});
  const publish = (name: string, fp: string) =>
    bonjour.publish({ name, host: `${name}.local`, type: SERVER_TYPE, port, probe: false, disableIPv6: true, txt: { fp, host: name, v: '1' } });
  for (let i = 0; i < n; i++) publish(`flood-${i}`, keyFingerprint(randomBytes(32)));
  for (let i = 0; i < n / 4; i++) publish(`claims-${i}`, keyFingerprint(Buffer.from(keyHex, 'hex')));
  say({ ready: true });
  await untilStdinCloses();
  say({ dials });
  listener.close();
  bonjour.destroy();
} else {
  throw new Error(`unknown mode ${mode}`);
}
