/**
 * A process for the mDNS tests, run inside a network namespace:
 *   announce PUBKEYHEX PORT INVITEID INVITEPORT  announces a server and an invite until its stdin closes
 *   browse                                       prints a JSON line per server heard or gone, until stdin closes
 *   find-invite ID TIMEOUTMS                     prints the JSON list of addresses found
 */
import { findInvite, openMdns } from '../../src/bootstrap/mdns.js';

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
  say(await findInvite(Number(args[0]), Number(args[1])));
} else {
  throw new Error(`unknown mode ${mode}`);
}
